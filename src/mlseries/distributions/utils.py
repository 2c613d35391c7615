"""Helpers shared by the distributions: turning parameters into tensors of one shape, the
probs <-> logits conversions, and a property computed once on first use."""
import functools
import numbers

import numpy as np

from .. import _dtype
from .._grad_mode import enable_grad
from .._tensor import Size, Tensor, tensor


def broadcast_all(*values):
    """Tensors of one broadcast shape from numbers and tensors (PyTorch's broadcast_all).

    Numbers take the dtype of the first tensor among the values (the default dtype when all are
    numbers), so `Normal(mu, 1.0)` keeps mu's precision. The results are expanded views, whose
    gradients flow back to the original parameters."""
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)):
            raise ValueError(f"Input arguments must all be instances of numbers.Number or Tensor, got "
                             f"{type(v).__name__}")
    ref = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else _dtype.default_float
    tensors = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype) for v in values]
    try:
        shape = np.broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        raise ValueError("shapes " + ", ".join(str(tuple(t.shape)) for t in tensors)
                         + " cannot be broadcast together") from None
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


def broadcast_shapes(*shapes):
    try:
        return Size(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ValueError("shapes " + ", ".join(str(tuple(s)) for s in shapes)
                         + " cannot be broadcast together") from None


def finfo_eps(t):
    return float(np.finfo(t._data.dtype).eps)


def finfo_min(t):
    return float(np.finfo(t._data.dtype).min)


def clamp_probs(probs):
    """Probabilities kept inside [eps, 1 - eps], so that their logs are finite."""
    eps = finfo_eps(probs)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Log-probabilities (categorical) or log-odds (binary) from probabilities."""
    ps = clamp_probs(probs)
    if is_binary:
        return ps.log() - (-ps).log1p()
    return ps.log()


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: a sigmoid for a binary variable, a softmax over the last dim
    for a categorical one."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def sum_rightmost(value, dim):
    """Sum over the `dim` rightmost dimensions (the batch dimensions Independent turns into
    event dimensions)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1)


class lazy_property:
    """A property computed on first access and then stored on the instance (so `probs` is
    derived from `logits` only when asked for). Computed with gradients on, as the attribute is
    a parameter that later losses differentiate through."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def standard_normal(shape, like):
    """N(0, 1) noise of `shape` in like's dtype, drawn from the engine's default generator (so
    `mlseries.manual_seed` fixes it)."""
    from ..random import _gen
    return Tensor._make(_gen().standard_normal(tuple(shape)).astype(like._data.dtype, copy=False))


def uniform(shape, like, low=0.0, high=1.0):
    """U[low, high) noise of `shape` in like's dtype, from the engine's default generator."""
    from ..random import _gen
    return Tensor._make(_gen().uniform(low, high, tuple(shape)).astype(like._data.dtype, copy=False))
