"""Photographs for the convolution and style lessons: scikit-learn's two sample images."""

import numpy as np

from .transforms import Resize

SAMPLE_IMAGES = ("china.jpg", "flower.jpg")  # both 427×640 colour photographs


def sample_image(name="china.jpg", gray=False, size=None):
    """A scikit-learn sample photo as a uint8 array (H, W, 3), or (H, W) when `gray`.

    `size` (int or (h, w)) resizes it, e.g. to keep a by-hand convolution loop quick.
    """
    from sklearn.datasets import load_sample_image  # imported here: sklearn is slow to import

    if name not in SAMPLE_IMAGES:
        raise ValueError(f"sample_image: unknown image {name!r}; choose one of {SAMPLE_IMAGES}")
    img = np.asarray(load_sample_image(name), dtype=np.uint8)
    if gray:
        # ITU-R BT.601 luma, the weights PIL's convert("L") uses
        luma = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        img = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    if size is not None:
        img = Resize(size)(img)
    return img
