"""scikit-learn's 8×8 handwritten digits (1 797 images, 10 classes), optionally upsampled.

Small enough to train a CNN on in seconds, which is why the convolution, ResNet, compression
and domain-adaptation lessons use it beside MNIST.
"""

import numpy as np

from ._image_base import ImageClassification
from .transforms import resize


def upsample(images, size=28, margin=0):
    """Bilinearly resize uint8 (N, h, w) images to (N, size, size), leaving `margin` black
    pixels on every side (MNIST centres each digit in a 20×20 box inside 28×28: margin=4)."""
    images = np.asarray(images)
    inner = size - 2 * margin
    if inner <= 0:
        raise ValueError(f"upsample: margin {margin} leaves no room in a {size}×{size} image")
    out = np.clip(np.rint(resize(images.astype(np.float32), inner)), 0, 255).astype(np.uint8)
    if margin:
        out = np.pad(out, ((0, 0), (margin, margin), (margin, margin)))
    return out


def _stratified_split(labels, test_fraction, seed):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


class Digits(ImageClassification):
    """scikit-learn's digits as uint8 images (values 0–16 scaled to 0–255).

    train=True / False: a stratified split (`test_fraction`, fixed by `seed`); train=None: all
    1 797 images in scikit-learn's order. `size` upsamples (bilinear) from 8×8, `margin` keeps
    a black border, e.g. Digits(size=28, margin=4) looks like MNIST.
    """

    classes = tuple(str(d) for d in range(10))
    source = "sklearn"

    def __init__(self, train=True, transform=None, target_transform=None, size=8, margin=0,
                 test_fraction=0.2, seed=0):
        from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
        if size != 8 or margin:
            images = upsample(images, size, margin)
        labels = bunch.target.astype(np.int64)
        train_idx, test_idx = _stratified_split(labels, test_fraction, seed)
        # normalise with training statistics whichever split this is, as one must
        reference = images[train_idx] / 255.0
        self.mean, self.std = float(reference.mean()), float(reference.std())
        if train is not None:
            chosen = train_idx if train else test_idx
            images, labels = images[chosen], labels[chosen]
        self.location = "sklearn.datasets.load_digits"
        super().__init__(images, labels, train, transform, target_transform)
