"""Tensor factories with PyTorch's signatures: zeros, ones, full, arange, linspace, eye, rand, ..."""
import math

import numpy as np

from . import _device, _dtype
from ._functions import _shape_args
from ._tensor import Tensor, tensor
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
    _device.check(device, "zeros(): ")
    return _finish(np.zeros(_shape_args(size), _np_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    _device.check(device, "ones(): ")
    return _finish(np.ones(_shape_args(size), _np_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    _device.check(device, "empty(): ")
    return _finish(np.empty(_shape_args(size), _np_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    _device.check(device, "full(): ")
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else _dtype.default_float.np)
    return _finish(np.full(_shape_args((size,)), fill_value, _np_dtype(dtype)), requires_grad)


def _like(input, dtype, device=None):
    _device.check(device, "*_like(): ")
    return input._data.dtype if dtype is None else _dtype.to_np(dtype)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.zeros(input.shape, _like(input, dtype, device)), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.ones(input.shape, _like(input, dtype, device)), requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.empty(input.shape, _like(input, dtype, device)), requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    return _finish(np.full(input.shape, _number(fill_value), _like(input, dtype, device)), requires_grad)


def _number(value):
    """A Python number from a number or a one-element tensor (PyTorch accepts both)."""
    return value.item() if isinstance(value, Tensor) else value


def arange(start, end=None, step=1, *, dtype=None, layout=None, device=None, requires_grad=False):
    """start, start + step, ... up to (not including) end; int64 when all three are integers,
    the default float dtype otherwise (arange(5.) is float32)."""
    _device.check(device, "arange(): ")
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    npd = _np_dtype(dtype, np.int64 if integral else None)
    if integral and npd.kind in "iu":
        return _finish(np.arange(start, end, step, dtype=npd), requires_grad)
    # computed in float64 and rounded once, as PyTorch, so float32 values do not drift with length
    n = max(int(math.ceil((end - start) / step)), 0)
    out = (start + np.arange(n, dtype=np.float64) * step).astype(npd)
    return _finish(out, requires_grad)


def linspace(start, end, steps, *, dtype=None, layout=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end inclusive."""
    _device.check(device, "linspace(): ")
    steps = int(steps)
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    out = np.linspace(_number(start), _number(end), steps, dtype=np.float64)
    npd = _np_dtype(dtype)
    return _finish(out.astype(npd) if npd.kind == "f" else np.trunc(out).astype(npd), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    _device.check(device, "logspace(): ")
    return _finish(np.logspace(start, end, steps, base=base, dtype=_np_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    _device.check(device, "eye(): ")
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None):
    _device.check(device, "rand(): ")
    npd = _np_float("rand", dtype)
    return _finish(_gen(generator).random(_shape_args(size), dtype=np.float64).astype(npd), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None):
    _device.check(device, "randn(): ")
    npd = _np_float("randn", dtype)
    return _finish(_gen(generator).standard_normal(_shape_args(size)).astype(npd), requires_grad)


def _np_float(name, dtype):
    npd = _np_dtype(dtype)
    if npd.kind != "f":
        raise TypeError(f"{name}: random floats need a floating-point dtype, got {_dtype.from_np(npd)}")
    return npd


def randint(low, high=None, size=None, *, generator=None, dtype=None, layout=None, device=None,
            requires_grad=False):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size)."""
    _device.check(device, "randint(): ")
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() needs a size, e.g. randint(10, (3,)) or randint(0, 10, (3,))")
    low, high = int(_number(low)), int(_number(high))
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be larger than low ({low})")
    return _finish(_gen(generator).integers(low, high, size=_shape_args((size,)), dtype=_np_dtype(dtype, np.int64)),
                   requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
              generator=None):
    return rand(*input.shape, generator=generator, dtype=_like(input, dtype, device), requires_grad=requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
               generator=None):
    return randn(*input.shape, generator=generator, dtype=_like(input, dtype, device), requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=_like(input, dtype, device),
                   requires_grad=requires_grad)


def randperm(n, generator=None, dtype=None, device=None):
    _device.check(device, "randperm(): ")
    return _finish(_gen(generator).permutation(n).astype(_np_dtype(dtype, np.int64)), False)


def normal(mean, std, size, generator=None, dtype=None, device=None):
    _device.check(device, "normal(): ")
    return _finish(_gen(generator).normal(mean, std, _shape_args((size,))).astype(_np_dtype(dtype)), False)


def bernoulli(input, p=None, generator=None):
    probs = input._data if p is None else np.full(input.shape, p)
    return _finish((_gen(generator).random(probs.shape) < probs).astype(input._data.dtype), False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Class indices drawn from the (unnormalised) probabilities in each row of input (1-D or
    2-D). Without replacement no index repeats, so num_samples can be at most the number of
    nonzero probabilities."""
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: probabilities must be 1-D or 2-D, got shape {tuple(input.shape)}")
    num_samples = int(num_samples)
    probs = input._data.reshape(-1, input.shape[-1]).astype(np.float64)
    n = probs.shape[1]
    if num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    totals = probs.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError("multinomial: each row of probabilities must have a positive sum")
    rng = _gen(generator)
    if replacement:
        cdf = np.cumsum(probs, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((probs.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        out = np.minimum(out, n - 1)
    else:
        if num_samples > n:
            raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from {n} categories")
        if ((probs > 0).sum(axis=1) < num_samples).any():
            raise ValueError(f"multinomial: a row has fewer than {num_samples} categories with nonzero probability, "
                             "so it cannot give that many samples without replacement")
        # exponential race: category i finishes at E_i / p_i; the order of finishing is a draw
        # without replacement (the same law as drawing one at a time and renormalising)
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=probs.shape) / probs
        if num_samples == 1:
            out = np.argmin(keys, axis=1)[:, None]
        elif num_samples * 8 < n:  # a few samples from a large vocabulary: no full sort
            part = np.argpartition(keys, num_samples - 1, axis=1)[:, :num_samples]
            out = np.take_along_axis(part, np.argsort(np.take_along_axis(keys, part, axis=1), axis=1), axis=1)
        else:
            out = np.argsort(keys, axis=1)[:, :num_samples]
    out = out.astype(np.int64)
    return _finish(out if input.ndim == 2 else out[0], False)


def _new_dtype(self, dtype):
    return self._data.dtype if dtype is None else dtype


def _new_zeros(self, *size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return zeros(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def _new_ones(self, *size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return ones(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def _new_empty(self, *size, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    return empty(*size, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def _new_full(self, size, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              pin_memory=False):
    return full(size, fill_value, dtype=_new_dtype(self, dtype), device=device, requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A copy of data with this tensor's dtype (not the data's), as PyTorch."""
    _device.check(device, "new_tensor(): ")
    return tensor(data, dtype=_dtype.from_np(_new_dtype(self, dtype)) if dtype is None else dtype,
                  requires_grad=requires_grad)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


Tensor.new_zeros = _new_zeros
Tensor.new_ones = _new_ones
Tensor.new_empty = _new_empty
Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
Tensor.multinomial = _multinomial_method


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
