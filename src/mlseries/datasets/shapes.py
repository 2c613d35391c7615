"""Images of circles, squares and triangles on a noisy background, with their masks: a
segmentation task (U-Net) whose right answer is known exactly."""

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor

SHAPE_NAMES = ("circle", "square", "triangle")


def _shape_mask(kind, cy, cx, r, yy, xx):
    if kind == 0:
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind == 1:
        return (np.abs(yy - cy) <= r * 0.8) & (np.abs(xx - cx) <= r * 0.8)
    # an upward triangle: inside when on the inner side of all three edges
    corners = [(cy - r, cx), (cy + 0.5 * r, cx - 0.87 * r), (cy + 0.5 * r, cx + 0.87 * r)]
    inside = np.ones_like(yy, dtype=bool)
    for (y0, x0), (y1, x1) in zip(corners, corners[1:] + corners[:1]):
        inside &= (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) <= 0
    return inside


class Shapes(Dataset):
    """`n` grey images (1, size, size) in [0, 1], each with 1..`max_shapes` shapes.

    .images, .masks: float32 (N, 1, H, W), masks 1 where any shape is;
    .labels: int64 (N, H, W), 0 background, 1 circle, 2 square, 3 triangle (later shapes on
    top). Item i is (image, mask) as tensors. Use different seeds for training and test sets.
    """

    classes = ("background",) + SHAPE_NAMES

    def __init__(self, n=1000, size=32, max_shapes=3, noise=0.1, seed=0):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        images = np.empty((n, size, size), dtype=np.float32)
        labels = np.zeros((n, size, size), dtype=np.int64)
        for i in range(n):
            img = np.full((size, size), rng.uniform(0.0, 0.3), dtype=np.float32)
            for _ in range(rng.integers(1, max_shapes + 1)):
                kind = int(rng.integers(0, 3))
                r = rng.uniform(size / 10, size / 4)
                cy, cx = rng.uniform(r, size - r, size=2)
                inside = _shape_mask(kind, cy, cx, r, yy, xx)
                img[inside] = rng.uniform(0.6, 1.0)
                labels[i][inside] = kind + 1
            images[i] = img
        images += rng.normal(0.0, noise, size=images.shape).astype(np.float32)
        self.images = np.clip(images, 0.0, 1.0)[:, None]                  # (N, 1, H, W)
        self.masks = (labels > 0).astype(np.float32)[:, None]             # (N, 1, H, W)
        self.labels = labels                                              # (N, H, W)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return to_tensor(self.images[i]), to_tensor(self.masks[i])

    def tensors(self):
        """(images, masks), float32 tensors (N, 1, H, W)."""
        return to_tensor(self.images), to_tensor(self.masks)
