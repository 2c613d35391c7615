"""Gradient clipping: rescale (or clamp) gradients in place before the optimizer step."""
import math

import numpy as np

from ..._tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their combined norm is at most `max_norm`.

    The norm is taken over every gradient as if they were one long vector; returns that norm
    (before clipping) as a 0-d tensor, which is worth logging: spikes show instability.
    """
    grads = grads_of(parameters)
    norm_type = float(norm_type)
    if not grads:
        return _scalar(0.0, np.float32)
    dtype = grads[0].dtype
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per_grad = np.array([_vector_norm(g, norm_type) for g in grads])
        total = float(_vector_norm(per_grad, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0 or not math.isfinite(total):
        for g in grads:
            g *= g.dtype.type(coef)
    return _scalar(total, dtype)


def _vector_norm(a, p):
    a = a.astype(np.float64, copy=False).ravel()
    if p == 2.0:
        return math.sqrt(float(np.dot(a, a)))
    if p == 1.0:
        return float(np.abs(a).sum())
    if p == 0.0:
        return float(np.count_nonzero(a))
    return float((np.abs(a) ** p).sum() ** (1.0 / p))


def _scalar(value, dtype):
    return Tensor._make(np.asarray(value, dtype=dtype))


def grads_of(parameters):
    """The gradient arrays of `parameters` (one tensor or an iterable), skipping those without one."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in grads_of(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
