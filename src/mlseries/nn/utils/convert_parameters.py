"""Flatten parameters into one vector and back (used by second-order and evolutionary methods)."""
from ... import _functions as _fn
from ..._tensor import Tensor


def parameters_to_vector(parameters):
    """All parameters concatenated into one 1-D tensor (differentiable, like PyTorch's)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return _fn.cat([_fn.reshape(p, -1) for p in params])


def vector_to_parameters(vec, parameters):
    """Point each parameter at its slice of `vec` (they then share memory with it, as in PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got {type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec has {vec.numel()} elements but the parameters hold {total}")
    flat = vec._data.reshape(-1)
    start = 0
    for p in params:
        n = p.numel()
        p._data = flat[start:start + n].reshape(p._data.shape)
        start += n
