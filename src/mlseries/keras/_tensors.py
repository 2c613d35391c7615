"""Converting what Keras users pass (NumPy arrays, lists, engine tensors) into engine tensors."""
import numpy as np

import mlseries as ms


def as_float(x):
    """float32 engine tensor: Keras casts inputs and float targets to its float type."""
    if isinstance(x, ms.Tensor):
        return x if x.dtype == ms.float32 else x.float()
    return ms.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def as_array(x):
    """A NumPy array without copying when possible (engine tensors give their data)."""
    return x.numpy() if isinstance(x, ms.Tensor) else np.asarray(x)
