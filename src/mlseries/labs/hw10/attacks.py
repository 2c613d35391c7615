"""HW10's attacks: FGSM and its iterative, momentum and input-diversity descendants, on one
proxy or a logit-averaged ensemble, and the JPEG defence.

Every attack here is an L∞ attack (无穷范数攻击): the adversarial image x' stays within ε of the
clean image x in every pixel, |x' − x| ≤ ε, and within the pixel range [0, 1]. It needs only
the gradient of the loss with respect to the input, ∂L/∂x, which the attacker can compute on
its own proxies and never on the black box.

- **FGSM** (fast gradient sign method, Goodfellow et al. 2015): one step of size ε along sign(∂L/∂x).
- **I-FGSM** (iterative FGSM, Kurakin et al. 2017): T steps of size α, each followed by projecting
  back onto the ε-ball and [0, 1] (投影).
- **MI-FGSM** (momentum, Dong et al. 2018): the step follows g ← μ·g + ∂L/∂x / ‖∂L/∂x‖₁, an
  accumulated direction that changes less from step to step, so it fits the proxy's quirks less
  and transfers better.
- **DIM** (diverse inputs, Xie et al. 2019): at each step, with probability p, the gradient is
  taken through a random resize and pad of the image, so the perturbation must work under
  small changes of scale and position — as it must on an unknown model.
- **Ensemble** (集成, Liu et al. 2017; logits averaged as in Dong et al.): the loss of the proxies'
  mean logits; a perturbation that fools several different models is more likely to fool
  another.

The defence, **JPEG compression** (JPEG 压缩), encodes and decodes each image with Pillow: the
small high-frequency perturbation is partly quantised away, and so is some of the image.
"""
import io

import numpy as np
from PIL import Image

import mlseries as ms
import mlseries.nn.functional as F


def input_gradient(models, x, y, transform=None):
    """∂ cross-entropy(mean of the models' logits, y) / ∂x for a NumPy batch x (B, C, H, W)."""
    xt = ms.tensor(x, requires_grad=True)
    seen = transform(xt) if transform is not None else xt                  # (B, C, H, W)
    logits = sum(m(seen) for m in models) / len(models)                    # (B, 10)
    loss = F.cross_entropy(logits, ms.tensor(y), reduction="sum")          # per image, not averaged away
    loss.backward()
    return xt.grad.numpy()


def project(x_adv, x, eps):
    """Back onto the ε-ball around x (L∞) and into the pixel range [0, 1]."""
    return np.clip(np.clip(x_adv, x - eps, x + eps), 0.0, 1.0)


def fgsm(models, x, y, eps, **_):
    return project(x + eps * np.sign(input_gradient(models, x, y)), x, eps)


def iterative(models, x, y, eps, steps=10, alpha=None, momentum=0.0, diversity=None, rng=None):
    """I-FGSM (momentum 0, no diversity), MI-FGSM (momentum μ) and DIM (diversity = DiverseInput);
    the step α defaults to ε / steps · 2.5 so that the ε-ball's edge can be reached and left."""
    alpha = alpha if alpha is not None else 2.5 * eps / steps
    x_adv, g = x.copy(), np.zeros_like(x)
    for _ in range(steps):
        transform = diversity.sample(rng) if diversity is not None else None
        grad = input_gradient(models, x_adv, y, transform)
        if momentum:
            l1 = np.abs(grad).mean(axis=(1, 2, 3), keepdims=True) + 1e-12   # per image
            g = momentum * g + grad / l1
        else:
            g = grad
        x_adv = project(x_adv + alpha * np.sign(g), x, eps)
    return x_adv


class DiverseInput:
    """DIM's random transform: with probability p, shrink the (H, W) image to a random r×r
    (nearest neighbour, r in [low, H]) and pad it back to H×W at a random place with zeros;
    else leave it. One draw per step for the whole batch, as in the paper."""

    def __init__(self, size=28, low=22, p=0.5):
        self.size, self.low, self.p = size, low, p

    def sample(self, rng):
        if rng.random() >= self.p:
            return None
        r = int(rng.integers(self.low, self.size + 1))
        top, left = (int(v) for v in rng.integers(0, self.size - r + 1, 2))
        bottom, right = self.size - r - top, self.size - r - left

        def transform(x):                                                   # (B, C, H, W)
            small = F.interpolate(x, size=(r, r), mode="nearest")           # (B, C, r, r)
            return F.pad(small, (left, right, top, bottom))                  # (B, C, H, W)
        return transform


def attack_in_batches(attack, models, x, y, eps, batch=250, **kw):
    """Run `attack` on x in batches (memory), models in eval mode; returns x' quantised to 8 bits
    (the images are submitted as PNGs) and still within ε."""
    for m in models:
        m.eval()
    out = np.concatenate([attack(models, x[i:i + batch], y[i:i + batch], eps, **kw)
                          for i in range(0, len(x), batch)])
    return to_8bit(project(out, x, eps))


def to_8bit(x):
    """Round to the 256 levels a PNG stores. From an 8-bit clean image and |δ| ≤ ε = k/255 the
    rounded image is still within ε."""
    return np.round(x * 255.0).astype(np.float32) / 255.0


def jpeg(x, quality=70):
    """Each (1 or 3, H, W) image in [0, 1] through a JPEG encode and decode at `quality`."""
    out = np.empty_like(x)
    for i, image in enumerate(x):
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)     # (C, H, W)
        pil = Image.fromarray(pixels[0] if len(pixels) == 1 else pixels.transpose(1, 2, 0))
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=quality)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())), dtype=np.float32) / 255.0
        out[i] = decoded[None] if decoded.ndim == 2 else decoded.transpose(2, 0, 1)
    return out
