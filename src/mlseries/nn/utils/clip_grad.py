"""Gradient clipping: rescale (or clamp) gradients in place before the optimizer step."""
import math

import numpy as np

from ..._tensor import Tensor


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The `norm_type`-norm of all `tensors` taken together, as if they were one long vector
    (a 0-d tensor in their dtype). `norm_type` may be inf (largest |x|) or -inf (smallest)."""
    arrays = [t._data if isinstance(t, Tensor) else np.asarray(t)
              for t in ([tensors] if isinstance(tensors, Tensor) else tensors) if t is not None]
    norm_type = float(norm_type)
    if not arrays:
        return _scalar(0.0, np.float32)
    total = _vector_norm(np.array([_vector_norm(a, norm_type) for a in arrays]), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    return _scalar(total, arrays[0].dtype)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of `parameters` by min(1, max_norm / (total_norm + 1e-6)): the second
    half of `clip_grad_norm_`, for a norm computed elsewhere (e.g. over several models)."""
    total = float(total_norm)
    coef = float(max_norm) / (total + 1e-6)
    if not coef < 1.0 and not math.isnan(coef):
        return
    # A non-finite norm gives NaN or zero factors, as in PyTorch: the step is then visibly spoiled.
    with np.errstate(invalid="ignore"):
        for p in _with_grads(parameters):
            g = p.grad
            g._data *= g._data.dtype.type(coef)
            g._version += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their combined norm is at most `max_norm`.

    The norm is taken over every gradient as if they were one long vector; returns that norm
    (before clipping) as a 0-d tensor, which is worth logging: spikes show instability.
    """
    params = _with_grads(parameters)
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    if params:
        clip_grads_with_norm_(params, max_norm, total)
    return total


def _vector_norm(a, p):
    a = np.abs(a.astype(np.float64, copy=False).ravel())
    if a.size == 0:
        return 0.0 if p >= 0 else math.inf
    if p == 2.0:
        return math.sqrt(float(np.dot(a, a)))
    if p == 1.0:
        return float(a.sum())
    if p == 0.0:
        return float(np.count_nonzero(a))
    if p == math.inf:
        return float(a.max())
    if p == -math.inf:
        return float(a.min())
    with np.errstate(divide="ignore"):
        return float((a ** p).sum() ** (1.0 / p))


def _scalar(value, dtype):
    return Tensor._make(np.asarray(value, dtype=dtype))


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def grads_of(parameters):
    """The gradient arrays of `parameters` (one tensor or an iterable), skipping those without one."""
    return [p.grad._data for p in _with_grads(parameters)]


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
        p.grad._version += 1
