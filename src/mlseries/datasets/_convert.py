"""NumPy arrays -> engine tensors: the one place the data sets touch the engine.

Loaders work in NumPy (that is what files and generators give) and convert at the edge, so
the data code stays readable and the engine stays free to change its internals.
"""

import numpy as np


def to_tensor(array, dtype=None):
    """Wrap a NumPy array as an `mlseries.Tensor` without copying when the dtype already fits."""
    import mlseries  # imported late: the engine imports nothing from here, and may import us

    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return mlseries.from_numpy(np.ascontiguousarray(array))


def to_numpy(x):
    """The NumPy array behind a Tensor (or the array itself)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x)
