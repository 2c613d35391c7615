"""HW09's filter visualisation (激活最大化, activation maximisation): the input a filter likes best.

Start from faint noise and climb the gradient of one channel's mean activation with respect to
the *image* (the network's weights stay fixed). Left alone, gradient ascent finds high-frequency
patterns no image has; three regularisers keep it an image: pixels are clipped to the range real
images have, an L2 penalty keeps it from saturating everywhere, and a light blur every few steps
damps pixel-to-pixel noise.
"""
import numpy as np

import mlseries as ms
from mlseries import nn


def truncate(model, layer):
    """The first `layer` modules of a Sequential: the network up to the activations to explain."""
    return nn.Sequential(*list(model)[:layer])


def channel_activation(features, x, channel):
    """Mean (post-ReLU) activation of `channel` for each image of x (N, C, H, W) → NumPy (N,)."""
    features.eval()
    with ms.no_grad():
        return features(ms.tensor(x.astype(np.float32))).numpy()[:, channel].mean(axis=(1, 2))


def blur(images):
    """A 3×3 binomial blur of (N, C, H, W), edges repeated."""
    kernel = np.array([1.0, 2.0, 1.0]) / 4
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    rows = sum(w * padded[:, :, i:i + images.shape[2], :] for i, w in enumerate(kernel))
    return sum(w * rows[:, :, :, j:j + images.shape[3]] for j, w in enumerate(kernel))


def visualise_filters(features, channels, shape, low, high, rng, steps=150, lr=0.1, l2=1e-4, blur_every=4, leak=0.3):
    """Gradient ascent on one image per channel (all at once): maximise channel k's mean
    activation on image k. Pass `features` ending at the convolution, before its ReLU: the
    objective is the mean of ReLU(a) + leak·a over the channel's map a, the ReLU'd activation
    with a small leak, so that a channel that is zero everywhere on the starting image still
    has a gradient (the pre-activation's mean alone is a poor goal: for a filter whose weights
    sum to about zero it barely depends on the pattern) − l2·‖x‖², pixels kept in [low, high]. Returns (len(channels), *shape)."""
    features.eval()
    channels = np.asarray(channels)
    x = rng.normal(0.0, 0.1, size=(len(channels),) + tuple(shape)) + (low + high) / 2       # (K, C, H, W)
    for step in range(steps):
        xt = ms.tensor(x.astype(np.float32), requires_grad=True)
        acts = features(xt)                                             # (K, channels, h, w)
        a = acts[np.arange(len(channels)), channels]                    # (K, h, w)
        objective = (a.relu() + leak * a).mean(dim=(1, 2)).sum() - l2 * (xt * xt).sum()
        objective.backward()
        g = xt.grad.numpy().astype(np.float64)
        g /= g.reshape(len(g), -1).std(axis=1)[:, None, None, None] + 1e-12   # a step of the same size per image
        x = np.clip(x + lr * g, low, high)
        if blur_every and (step + 1) % blur_every == 0 and step < steps - 1:
            x = blur(x)
    return x
