"""HW10's networks: the proxies the attacker owns, and the black box it never looks inside.

All take images in the pixel range [0, 1] — the lab's garments on photographs, (B, 3, 32, 32),
or grey (B, 1, 28, 28) with channels=1, size=28 — and return 10 logits; the attack's ε is measured
in that range, as the original lab's is on CIFAR-10's pixels.

The proxies (代理模型) are small networks of the kinds the course's proxies are — its sample
attacks a pretrained CIFAR ResNet, and its proxies and the TAs' black boxes come from one zoo of
CIFAR-10 networks —, varied in the ways that make their gradients differ: kernel size, depth,
width, pooling against strided convolutions, batch normalisation or not, and one residual network.
The black box (黑盒) is chapter 7's residual network (`course/ch07/resnet.py`), 8 layers of widths
16/32/64; the residual proxy is of the same family but deeper and narrower (14 layers, 12/24/48)
and trained from its own seed — what an attacker who guesses the family, as the course's do, owns.
"""
from mlseries import nn

from ...course.ch07.resnet import Net


def plain_cnn(a=32, b=64, kernel=3, channels=1, size=28, bn=False):
    """The classic small CNN: conv-ReLU-pool twice (batch-normalised with `bn`), then two dense layers."""
    p, s = kernel // 2, size // 4

    def conv(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, kernel, padding=p)] + ([nn.BatchNorm2d(c_out)] if bn else []) + [nn.ReLU()]
    return nn.Sequential(
        *conv(channels, a), nn.MaxPool2d(2),                                # (B, a, 14, 14)
        *conv(a, b), nn.MaxPool2d(2),                                       # (B, b, 7, 7)
        nn.Flatten(), nn.Linear(b * s * s, 128), nn.ReLU(),                 # (B, 128)
        nn.Linear(128, 10),                                                 # (B, 10)
    )


def vgg_cnn(a=16, b=32, channels=1, size=28):
    """VGG's pattern, small: two 3×3 conv-BN-ReLU layers per stage, pooling between stages."""
    def conv(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    s = size // 4
    return nn.Sequential(
        *conv(channels, a), *conv(a, a), nn.MaxPool2d(2),                   # (B, a, 14, 14)
        *conv(a, b), *conv(b, b), nn.MaxPool2d(2),                          # (B, b, 7, 7)
        nn.Flatten(), nn.Linear(b * s * s, 10),                             # (B, 10)
    )


def strided_cnn(a=24, b=48, c=96, channels=1, size=28):
    """No pooling: strided 3×3 convolutions with batch normalisation, a global average at the end."""
    def block(c_in, c_out, stride):
        return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(
        *block(channels, a, 1), *block(a, b, 2),                                   # (B, b, 14, 14)
        *block(b, b, 1), *block(b, c, 2),                                   # (B, c, 7, 7)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10),            # (B, 10)
    )


def resnet(n=2, widths=(12, 24, 48), channels=1, size=None):
    """Chapter 7's residual network with n blocks per stage (6n + 2 layers), for `channels` inputs;
    it pools globally, so any image size works."""
    net = Net(n, True, widths)
    if channels != 1:      # chapter 7 built it for grey images; Net takes no channel argument
        net.stem[0] = nn.Conv2d(channels, widths[0], 3, padding=1, bias=False)
    return net


# name → (builder, what it is); the first is the single proxy of the first attacks
# (each builder takes channels= and size=: 3 × 32 × 32 for the lab's images and --data, 1 × 28 × 28 for grey)
PROXIES = {
    "vgg": (vgg_cnn, "VGG-style CNN, batch norm"),
    "cnn3": (lambda **shape: plain_cnn(32, 64, 3, **shape), "plain CNN, 3×3 kernels, no batch norm"),
    "cnn5": (lambda **shape: plain_cnn(16, 32, 5, bn=True, **shape), "CNN, 5×5 kernels, batch norm"),
    "strided": (strided_cnn, "strided CNN, batch norm, global pooling"),
    "resnet": (resnet, "residual network, 14 layers, widths 12/24/48"),
}


def black_box(channels=1, size=None):
    """The held-out model: chapter 7's residual network, 8 layers (one block per stage), widths
    16/32/64 — shallower and wider than the residual proxy, and trained from another seed."""
    return resnet(1, (16, 32, 64), channels, size)
