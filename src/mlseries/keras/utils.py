"""Keras's small helpers: `to_categorical` and `set_random_seed`."""
import numpy as np

import mlseries as ms


def to_categorical(y, num_classes=None, dtype="float32"):
    """Integer labels (N,) -> one-hot rows (N, num_classes)."""
    y = np.asarray(y, dtype=np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in 0..{num_classes - 1}, "
                         f"got {y.min()}..{y.max()}")
    return np.eye(num_classes, dtype=dtype)[y]


def set_random_seed(seed):
    """Seed the engine's generator: initial weights, shuffling and dropout repeat.
    (Unlike Keras, Python's and NumPy's global generators are left alone: the engine does
    not use them.)"""
    ms.manual_seed(seed)
