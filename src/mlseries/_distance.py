"""Distances and similarities: `cdist`, `dist`, `cosine_similarity`, `pairwise_distance`.

All are composed from the primitives in `_ops.py`, so their gradients (and second derivatives)
come from there. The one subtlety is the norm at zero: √(Σx²) has an infinite derivative there,
and chaining it blindly gives 0·∞ = NaN for a zero vector (two identical points, a padded row).
PyTorch's norms give a zero gradient there; `_vector_norm` does the same by taking the square
root of 1 wherever the sum is 0 and selecting 0 instead, so no infinity is ever formed.
"""
import math

import numpy as np

from . import _functions as _fn
from . import _ops as ops
from ._tensor import Tensor, _operands

__all__ = ["cdist", "dist", "cosine_similarity", "pairwise_distance"]

_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _const(array):
    return Tensor._make(array)


def _safe_root(s, p):
    """s ** (1/p) for s ≥ 0, with a zero (not NaN) gradient where s == 0."""
    positive = s._data > 0
    if positive.all():
        return _fn.sqrt(s) if p == 2 else s ** (1.0 / p)
    one = _const(np.ones((), s._data.dtype))
    safe = ops.Where.apply(s, one, cond=positive)
    root = _fn.sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return ops.Where.apply(root, _const(np.zeros((), s._data.dtype)), cond=positive)


def _vector_norm(x, p=2.0, dim=None, keepdim=False):
    """The p-norm over `dim` (None: every element), differentiable with a zero gradient at the
    zero vector (p ≥ 1), like torch.linalg.vector_norm."""
    p = float(p)
    if p == 2:
        return _safe_root(_fn.sum(x * x, dim, keepdim=keepdim), 2)
    if p == 1:
        return _fn.sum(_fn.abs(x), dim, keepdim=keepdim)
    if p == math.inf:
        return _fn.amax(_fn.abs(x), dim, keepdim=keepdim)
    if p == -math.inf:
        return _fn.amin(_fn.abs(x), dim, keepdim=keepdim)
    if p == 0:  # how many entries are non-zero: a count, with no gradient
        counts = np.sum(x._data != 0, axis=_fn._dims(dim, x.ndim), keepdims=keepdim)
        return _const(np.asarray(counts, x._data.dtype))
    if p < 0:
        raise ValueError(f"norm: p must be non-negative (or -inf), got {p}")
    return _safe_root(_fn.sum(_fn.abs(x) ** p, dim, keepdim=keepdim), p)


def _floats(a, b, name):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    a, b = _operands(a, b, name)
    if a._data.dtype.kind != "f":
        raise TypeError(f"{name}: expected floating-point tensors, got {a.dtype}")
    return a, b


def dist(input, other, p=2):
    """The p-norm of input − other over all elements (the two broadcast together); a 0-d tensor."""
    a, b = _floats(input, other, "dist")
    return _vector_norm(a - b, p)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Distances between every row of x1 (*, P, M) and every row of x2 (*, R, M): (*, P, R).

    For p = 2 with many rows (more than 25 on either side, or compute_mode asks for it) as PyTorch:
    ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b, one matrix product instead of a (P, R, M) difference array;
    slightly less exact for nearly equal rows (cancellation), much faster for large sets.
    """
    a, b = _floats(x1, x2, "cdist")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D, X2 got: {b.ndim}D "
                         "(rows are points: shapes (*, P, M) and (*, R, M))")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: X1 and X2 must have the same number of columns. X1: {a.shape[-1]} "
                         f"X2: {b.shape[-1]}")
    if compute_mode not in _MODES:
        raise ValueError(f"cdist: {compute_mode!r} is not a valid value for compute_mode (use one of {_MODES})")
    if p < 0:
        raise ValueError(f"cdist only supports non-negative p values, got {p}")
    batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    P, R, M = a.shape[-2], b.shape[-2], a.shape[-1]
    a = _fn.expand(a, *batch, P, M)
    b = _fn.expand(b, *batch, R, M)
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist"
                         or (compute_mode == _MODES[0] and (P > 25 or R > 25)))
    if use_mm:
        sq = (_fn.sum(a * a, -1, keepdim=True)  # (*, P, 1)
              + _fn.transpose(_fn.sum(b * b, -1, keepdim=True), -1, -2)  # (*, 1, R)
              - _fn.matmul(a, _fn.transpose(b, -1, -2)) * 2.0)  # (*, P, R)
        return _safe_root(_fn.clamp(sq, min=0.0), 2)
    diff = _fn.unsqueeze(a, -2) - _fn.unsqueeze(b, -3)  # (*, P, R, M)
    return _vector_norm(diff, p, dim=-1)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x1 − x2 + eps‖_p over the last dimension (the two broadcast together), as PyTorch: the eps
    keeps the distance of identical points away from the norm's kink at zero."""
    a, b = _floats(x1, x2, "pairwise_distance")
    diff = a - b + eps
    if diff.ndim == 0:
        diff = _fn.reshape(diff, 1)
    return _vector_norm(diff, p, dim=-1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) along `dim` (the two broadcast together).

    Each vector is divided by its norm before the product, which keeps the result in [−1, 1].
    As in PyTorch, the eps floor changes the value but not the path of the gradient: the norm's
    own derivative is used as if it had not been floored (the floor is a constant offset)."""
    a, b = _floats(x1, x2, "cosine_similarity")
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if not shape:
        raise ValueError("cosine_similarity: the inputs must have at least one dimension")
    d = _fn._dim1(dim, len(shape))
    a, b = _fn.expand(a, *shape), _fn.expand(b, *shape)

    def unit(v):
        n = _vector_norm(v, 2, dim=d, keepdim=True)
        floor = np.maximum(n._data, eps) - n._data  # 0 except where the norm is below eps
        if floor.any():
            n = n + _const(floor.astype(n._data.dtype))
        return v / n

    return _fn.sum(unit(a) * unit(b), d)


def _method_dist(self, other, p=2):
    return dist(self, other, p)


Tensor.dist = _method_dist
