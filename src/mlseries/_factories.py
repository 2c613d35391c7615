"""Tensor factories with PyTorch's signatures: zeros, ones, full, arange, linspace, eye, rand, ..."""
import numpy as np

from . import _dtype
from ._functions import _shape_args
from ._tensor import Tensor
from .random import _gen


def _np_dtype(dtype, default=None):
    if dtype is None:
        return np.dtype(default) if default is not None else _dtype.default_float.np
    return _dtype.to_np(dtype)


def _finish(array, requires_grad):
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.zeros(_shape_args(size), _np_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.ones(_shape_args(size), _np_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.empty(_shape_args(size), _np_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else _dtype.default_float.np)
    return _finish(np.full(_shape_args((size,)), fill_value, _np_dtype(dtype)), requires_grad)


def _like(input, dtype):
    return input._data.dtype if dtype is None else _dtype.to_np(dtype)


def zeros_like(input, dtype=None, requires_grad=False):
    return _finish(np.zeros(input.shape, _like(input, dtype)), requires_grad)


def ones_like(input, dtype=None, requires_grad=False):
    return _finish(np.ones(input.shape, _like(input, dtype)), requires_grad)


def empty_like(input, dtype=None, requires_grad=False):
    return _finish(np.empty(input.shape, _like(input, dtype)), requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    return _finish(np.full(input.shape, fill_value, _like(input, dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    out = np.arange(start, end, step, dtype=_np_dtype(dtype, np.int64 if integral else None))
    return _finish(out, requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _finish(np.linspace(start, end, steps, dtype=_np_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False):
    return _finish(np.logspace(start, end, steps, base=base, dtype=_np_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    npd = _np_dtype(dtype)
    return _finish(_gen(generator).random(_shape_args(size), dtype=np.float64).astype(npd), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    npd = _np_dtype(dtype)
    return _finish(_gen(generator).standard_normal(_shape_args(size)).astype(npd), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, requires_grad=False, device=None):
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() needs size=, e.g. randint(0, 10, (3,))")
    return _finish(_gen(generator).integers(low, high, size=_shape_args((size,)), dtype=_np_dtype(dtype, np.int64)),
                   requires_grad)


def rand_like(input, dtype=None, generator=None):
    return rand(*input.shape, generator=generator, dtype=dtype or input.dtype)


def randn_like(input, dtype=None, generator=None):
    return randn(*input.shape, generator=generator, dtype=dtype or input.dtype)


def randint_like(input, low, high=None, dtype=None, generator=None):
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype)


def randperm(n, generator=None, dtype=None):
    return _finish(_gen(generator).permutation(n).astype(_np_dtype(dtype, np.int64)), False)


def normal(mean, std, size, generator=None, dtype=None):
    return _finish(_gen(generator).normal(mean, std, _shape_args((size,))).astype(_np_dtype(dtype)), False)


def bernoulli(input, p=None, generator=None):
    probs = input._data if p is None else np.full(input.shape, p)
    return _finish((_gen(generator).random(probs.shape) < probs).astype(input._data.dtype), False)


def multinomial(input, num_samples, replacement=False, generator=None):
    """Draw class indices from (batched) unnormalised probabilities."""
    rng = _gen(generator)
    probs = np.atleast_2d(input._data.astype(np.float64))
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    probs = probs / probs.sum(axis=1, keepdims=True)
    out = np.stack([rng.choice(probs.shape[1], size=num_samples, replace=replacement, p=row) for row in probs])
    return _finish(out.astype(np.int64) if input.ndim == 2 else out[0].astype(np.int64), False)


__all__ = [
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "rand",
    "randn",
    "randint",
    "rand_like",
    "randn_like",
    "randint_like",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
]
