"""The paired and unpaired domains of ch10.pix2pix, and its networks: a small U-Net generator,
a PatchGAN discriminator, and the losses the lesson trains them with.

Everything here works on MNIST-sized images (B, 1, 28, 28) with pixel values in [0, 1]."""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn


# ---------------------------------------------------------------- the domains

def blocky(x, block=4):
    """The digit seen through a coarse grid: each 4×4 block replaced by its mean (a 7×7 mosaic
    drawn at 28×28). Which strokes made a block grey is no longer known: the lost detail is what
    the generator has to invent. x: (N, 1, 28, 28) → (N, 1, 28, 28)."""
    n, c, h, w = x.shape
    means = x.reshape(n, c, h // block, block, w // block, block).mean(axis=(3, 5))   # (N, 1, 7, 7)
    return np.repeat(np.repeat(means, block, axis=2), block, axis=3).astype(np.float32)


def thicken(x):
    """Domain B of the CycleGAN: the same digits written with a thicker pen, by a 3×3 grey-level
    dilation (each pixel becomes the brightest of its neighbours). x: (N, 1, 28, 28)."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))                             # (N, 1, 30, 30)
    h, w = x.shape[2:]
    shifted = [padded[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)]
    return np.max(shifted, axis=0).astype(np.float32)


# ---------------------------------------------------------------- the networks

class UNet(nn.Module):
    """A two-level U-Net: 28 → 14 → 7 and back, each decoder level concatenating the encoder
    maps of its size (the skip connections, 跳跃连接) so the output's fine detail can be copied
    from the input instead of squeezed through the 7×7 bottleneck. Sigmoid output in [0, 1]."""

    def __init__(self, width=16, c_in=1, c_out=1):
        super().__init__()
        w = width
        self.enc1 = nn.Sequential(nn.Conv2d(c_in, w, 3, padding=1), nn.LeakyReLU(0.2))
        self.enc2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2))
        self.enc3 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1), nn.BatchNorm2d(4 * w),
                                  nn.LeakyReLU(0.2))
        self.up3 = nn.Sequential(nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1), nn.BatchNorm2d(2 * w),
                                 nn.ReLU())
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, 4, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU())
        self.out = nn.Conv2d(2 * w, c_out, 3, padding=1)

    def forward(self, x):                            # x: (B, 1, 28, 28)
        e1 = self.enc1(x)                            # (B, w, 28, 28)
        e2 = self.enc2(e1)                           # (B, 2w, 14, 14)
        e3 = self.enc3(e2)                           # (B, 4w, 7, 7): the bottleneck
        d2 = self.up3(e3)                            # (B, 2w, 14, 14)
        d1 = self.up2(ms.cat([d2, e2], dim=1))       # skip: (B, 4w, 14, 14) → (B, w, 28, 28)
        return ms.sigmoid(self.out(ms.cat([d1, e1], dim=1)))   # skip: (B, 2w, 28, 28) → (B, 1, 28, 28)


class PatchGAN(nn.Module):
    """A discriminator that answers "real or fake?" for every patch rather than for the whole
    image: a 7×7 grid of logits, each seeing an 18×18-pixel patch. For Pix2Pix it reads the
    input and the output side by side (c_in=2), so it judges whether the output fits its input."""

    def __init__(self, width=16, c_in=2):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(c_in, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                             # (B, w, 14, 14)
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),     # (B, 2w, 7, 7)
            nn.Conv2d(2 * w, 1, 3, padding=1),                                                         # (B, 1, 7, 7)
        )

    def forward(self, *images):                      # one or two (B, 1, 28, 28) images
        return self.net(ms.cat(list(images), dim=1) if len(images) > 1 else images[0])


RECEPTIVE_FIELD = 1 + (3 - 1) * 4 + (4 - 1) * 2 + (4 - 1) * 1   # 18 pixels: how much each patch logit sees


# ---------------------------------------------------------------- the losses

def bce_logits(logits, real):
    """Binary cross-entropy of a grid of patch logits against all-real (1) or all-fake (0)."""
    target = ms.ones_like(logits) if real else ms.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def least_squares(scores, real):
    """LSGAN's loss (CycleGAN's choice, steadier than cross-entropy): (D − 1)² for real, D² for fake."""
    return ((scores - 1) ** 2).mean() if real else (scores ** 2).mean()


def cycle_loss(g_ab, g_ba, a, b):
    """Cycle consistency (循环一致性): |F(G(a)) − a| + |G(F(b)) − b|, mean absolute error. Zero
    when the two generators undo each other, e.g. both the identity."""
    return (g_ba(g_ab(a)) - a).abs().mean() + (g_ab(g_ba(b)) - b).abs().mean()


def identity_loss(g_ab, g_ba, a, b):
    """|G(b) − b| + |F(a) − a|: an image already in the target domain should pass unchanged."""
    return (g_ab(b) - b).abs().mean() + (g_ba(a) - a).abs().mean()


def translate(model, x, batch=500):
    """model(x) for a large array x (N, 1, 28, 28), in eval mode without gradients."""
    model.eval()
    with ms.no_grad():
        out = np.concatenate([model(ms.tensor(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])
    model.train()
    return out
