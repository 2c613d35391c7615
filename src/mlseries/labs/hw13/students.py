"""HW13's networks: the teacher (chapter 7's residual network) and two students of ≤ 100 000 parameters.

The students see the same 14×14 Fashion-MNIST images as the teacher. The first is the TA's kind
of sample student, a plain CNN of 3×3 convolutions; the second spends its parameters on
depthwise-separable convolutions (深度可分离卷积): a 3×3 filter per channel (`groups=C`, 9·C
weights) followed by a 1×1 convolution that mixes channels (C·C' weights), instead of a full
3×3 convolution's 9·C·C'. For the same parameters it can be about 8× wider.
"""
from mlseries import nn

from ...course.ch07.resnet import Net


def teacher(widths):
    """Chapter 7's residual network of 8 layers (one block per stage) with the given widths."""
    return Net(1, True, widths)


def conv_bn(c_in, c_out, kernel=3, groups=1):
    return [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU()]


def cnn_student(widths=(16, 32, 64)):
    """conv-pool-conv-pool-conv → global average pool → 10 logits, for (B, 1, 14, 14) images."""
    a, b, c = widths
    return nn.Sequential(
        *conv_bn(1, a), nn.MaxPool2d(2),          # (B, a, 7, 7)
        *conv_bn(a, b), nn.MaxPool2d(2),          # (B, b, 3, 3)
        *conv_bn(b, c),                           # (B, c, 3, 3)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),    # (B, c)
        nn.Linear(c, 10),                         # (B, 10)
    )


def separable(c_in, c_out):
    """A depthwise 3×3 convolution (one filter per channel) then a pointwise 1×1 one (mixing them)."""
    return conv_bn(c_in, c_in, 3, groups=c_in) + conv_bn(c_in, c_out, 1)


def separable_student(widths=(64, 128, 256)):
    """The same layout as cnn_student with depthwise-separable convolutions after the first layer
    (a single input channel has nothing to separate)."""
    a, b, c = widths
    return nn.Sequential(
        *conv_bn(1, a), nn.MaxPool2d(2),          # (B, a, 7, 7)
        *separable(a, b), nn.MaxPool2d(2),        # (B, b, 3, 3)
        *separable(b, c),                         # (B, c, 3, 3)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),    # (B, c)
        nn.Linear(c, 10),                         # (B, 10)
    )
