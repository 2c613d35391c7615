"""Statistics, searches and running extremes: median, quantile, mode, var_mean, nanmean, histc,
searchsorted, bucketize, unique_consecutive, cummax/cummin and logcumsumexp.

Values are picked from the input with `gather` (or composed from other Tensor operations), so
their gradients are those of PyTorch: a chosen value's gradient goes to the element it came
from. The only new primitives are the two whose composite would be wrong: the all-elements
median (PyTorch spreads its gradient evenly over the elements equal to it) and logcumsumexp
(exp-then-cumsum underflows where the running values differ widely).
"""
import builtins
import collections

import numpy as np

from . import _ops as ops
from ._functions import (_dim1, _dims, _float, exp, gather, log, mean, movedim, reshape, sort, sqrt, squeeze,
                         unsqueeze, var, where)
from ._tensor import Function, Tensor

_median_result = collections.namedtuple("median", ["values", "indices"])
_nanmedian_result = collections.namedtuple("nanmedian", ["values", "indices"])
_mode_result = collections.namedtuple("mode", ["values", "indices"])
_cummax_result = collections.namedtuple("cummax", ["values", "indices"])
_cummin_result = collections.namedtuple("cummin", ["values", "indices"])


def _require_float(name, input):
    if input._data.dtype.kind != "f":
        raise TypeError(f"{name}: the input must be a floating-point tensor (float32 or float64), got "
                        f"{input.dtype}; convert it with .float()")


# ---- median and quantiles -------------------------------------------------------------------------
class Median(Function):
    """The value `value` (already computed) taken from `input`: the gradient is shared equally
    by the elements equal to it, as PyTorch's all-elements median and max do."""

    uses_input_values = False

    def forward(self, a, value):
        self.share = (np.isnan(a) if np.isnan(value) else a == value).astype(a.dtype)
        self.share /= builtins.max(self.share.sum(), 1)
        return np.asarray(value, dtype=a.dtype)

    def backward(self, g):
        return (g * Tensor._make(self.share),)


def _median_index(a, axis, ignore_nan):
    """Index (along axis, keepdims) of the lower median; a slice holding NaN gives the index of
    its first NaN (median) or the median of the rest (nanmedian; all-NaN slices: a NaN)."""
    order = np.argsort(a, axis=axis, kind="stable")  # NaN sorts last
    nan = np.isnan(a)
    n = a.shape[axis]
    if ignore_nan:
        valid = n - nan.sum(axis=axis, keepdims=True)
        k = np.where(valid > 0, (valid - 1) // 2, 0)
    else:
        k = np.full(nan.any(axis=axis, keepdims=True).shape, (n - 1) // 2)
    idx = np.take_along_axis(order, k, axis=axis)
    if not ignore_nan:
        has_nan = nan.any(axis=axis, keepdims=True)
        idx = np.where(has_nan, np.argmax(nan, axis=axis, keepdims=True), idx)
    return idx.astype(np.int64)


def _median(name, result, input, dim, keepdim, ignore_nan):
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{name}(): cannot compute the median of an empty tensor")
        flat = input._data.reshape(-1)
        value = flat[_median_index(flat, 0, ignore_nan)[0]]
        return Median.apply(input, value=value)
    if input.ndim == 0:
        return result(input * 1, Tensor._make(np.zeros((), np.int64)))
    d = _dim1(dim, input.ndim)
    if input.shape[d] == 0:
        raise IndexError(f"{name}(): dimension {dim} has size 0; there is no median to take")
    idx = _median_index(input._data, d, ignore_nan)
    values = gather(input, d, Tensor._make(idx))
    if not keepdim:
        values, idx = squeeze(values, d), np.squeeze(idx, axis=d)
    return result(values, Tensor._make(idx))


def median(input, dim=None, keepdim=False):
    """The lower median (of an even count, the smaller of the two middle values), as PyTorch.
    With dim: (values, indices); a slice holding NaN gives NaN."""
    return _median("median", _median_result, input, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaN (NaN only where a slice is all NaN)."""
    return _median("nanmedian", _nanmedian_result, input, dim, keepdim, ignore_nan=True)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    _require_float(name, input)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}: interpolation must be one of {', '.join(map(repr, _INTERPOLATIONS))}, "
                         f"got {interpolation!r}")
    scalar_q = not isinstance(q, Tensor) and np.ndim(q) == 0
    qs = (q._data if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)).astype(np.float64)
    if qs.ndim > 1:
        raise ValueError(f"{name}: q must be a number or a 1-D tensor, got shape {tuple(qs.shape)}")
    if isinstance(q, Tensor) and q.ndim == 0:
        scalar_q = True
    if np.any(np.isnan(qs)) or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"{name}: q values must be in the range [0, 1], got {qs.tolist()}")
    qs = qs.reshape(-1).astype(input._data.dtype)  # ranks in the input's precision, as PyTorch rounds them
    if input.numel() == 0:
        raise RuntimeError(f"{name}(): the input tensor is empty")
    # the reduced dimension goes last; q's dimension is added before it
    if dim is None:
        x = reshape(input, -1)
    else:
        d = _dim1(dim, input.ndim)
        x = movedim(input, d, -1) if input.ndim else reshape(input, 1)
    srt = sort(x, -1).values  # NaN last                                  # (..., n)
    n = srt.shape[-1]
    nan_count = np.isnan(x._data).sum(axis=-1, keepdims=True)             # (..., 1)
    if ignore_nan:
        last = (n - nan_count - 1).astype(qs.dtype)                        # all-NaN slices: -1
        rank = qs * np.maximum(last, 0)
        rank = np.where(last < 0, n - 1, rank).astype(qs.dtype)            # ... pick a NaN
    else:
        rank = np.where(nan_count > 0, n - 1, qs * qs.dtype.type(n - 1)).astype(qs.dtype)  # (..., Q)
    lo = np.floor(rank).astype(np.int64)
    hi = np.ceil(rank).astype(np.int64)
    if interpolation == "lower":
        out = gather(srt, -1, Tensor._make(lo))
    elif interpolation == "higher":
        out = gather(srt, -1, Tensor._make(hi))
    elif interpolation == "nearest":
        out = gather(srt, -1, Tensor._make(np.round(rank).astype(np.int64)))  # half to even, as PyTorch
    else:
        a, b = gather(srt, -1, Tensor._make(lo)), gather(srt, -1, Tensor._make(hi))
        w = 0.5 if interpolation == "midpoint" else (rank - lo).astype(x._data.dtype)
        out = a + (b - a) * (w if isinstance(w, float) else Tensor._make(w))
    # out: (..., Q) -> (Q, ...) with the reduced dimension restored when keepdim
    out = movedim(out, -1, 0)
    if keepdim:
        if dim is None:
            out = reshape(out, (out.shape[0],) + (1,) * input.ndim)
        elif input.ndim:
            out = unsqueeze(out, d + 1)
    return squeeze(out, 0) if scalar_q else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles along dim (of all elements without dim); q a number or a 1-D tensor
    (its dimension comes first in the result). A slice holding NaN gives NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile ignoring NaN (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along dim (the smallest of equally frequent
    ones) and the index of its last occurrence, as PyTorch."""
    if input.ndim == 0:
        return _mode_result(input * 1, Tensor._make(np.zeros((), np.int64)))
    d = _dim1(dim, input.ndim)
    if input.shape[d] == 0:
        raise IndexError(f"mode(): dimension {dim} has size 0")
    a = np.moveaxis(input._data, d, -1)
    rows = a.reshape(-1, a.shape[-1])
    idx = np.empty(rows.shape[0], np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)
        best = vals[np.argmax(counts)]  # unique sorts, argmax takes the first: the smallest
        hits = np.nonzero((row == best) | (np.isnan(row) & np.isnan(best)))[0]
        idx[r] = hits[-1]
    idx = np.expand_dims(idx.reshape(a.shape[:-1]), d)
    values = gather(input, d, Tensor._make(idx))
    if not keepdim:
        values, idx = squeeze(values, d), np.squeeze(idx, axis=d)
    return _mode_result(values, Tensor._make(idx))


# ---- moments ------------------------------------------------------------------------------------
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) along dim, with var's correction/unbiased (Bessel's correction by default)."""
    return (var(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction),
            mean(input, dim, keepdim=keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) along dim."""
    v, m = var_mean(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
    return sqrt(v), m


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none); NaN gets no gradient."""
    if dtype is not None:
        input = input.type(dtype)
    _require_float("nanmean", input)
    nan = np.isnan(input._data)
    dims = _dims(dim, input.ndim)
    kept = where(Tensor._make(~nan), input, Tensor._make(np.zeros((), input._data.dtype)))
    count = np.sum(~nan, axis=dims, keepdims=keepdim).astype(input._data.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ops.Sum.apply(kept, dim=dims, keepdim=keepdim) / Tensor._make(count)


def count_nonzero(input, dim=None):
    """How many elements are not zero (along dim: an int or a tuple of ints), as int64."""
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=_dims(dim, input.ndim))).astype(np.int64))


def histc(input, bins=100, min=0, max=0):  # noqa: A002
    """Counts of the elements in `bins` equal-width bins over [min, max] (the data's range when
    min == max); elements outside are ignored, max falls in the last bin. Not differentiable."""
    _require_float("histc", input)
    bins = int(bins)
    if bins <= 0:
        raise ValueError(f"histc: bins must be positive, got {bins}")
    a = input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise ValueError(f"histc: max ({hi}) must be larger than min ({lo})")
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"histc: range of [{lo}, {hi}] is not finite")
    keep = a[(a >= lo) & (a <= hi)]
    pos = np.floor((keep - lo) * bins / (hi - lo)).astype(np.int64)
    pos = np.clip(pos, 0, bins - 1)
    # rounding in the line above may land one bin off; the bin edges decide, as in PyTorch
    edges = np.linspace(lo, hi, bins + 1).astype(a.dtype)
    pos = np.where((pos > 0) & (keep < edges[pos]), pos - 1, pos)
    pos = np.where((pos < bins - 1) & (keep >= edges[np.minimum(pos + 1, bins)]), pos + 1, pos)
    return Tensor._make(np.bincount(pos, minlength=bins).astype(a.dtype))


# ---- searching ----------------------------------------------------------------------------------
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value of input would be inserted into sorted_sequence (along its last
    dimension) to keep it sorted; side='right' (or right=True) goes after equal values."""
    if side is not None:
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ValueError("searchsorted: side='left' and right=True contradict each other; give one of them")
        right = side == "right"
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = np.asarray(input, dtype=seq.dtype) if scalar else input._data
    if seq.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least one dimension")
    if sorter is not None:
        srt = sorter._data if isinstance(sorter, Tensor) else np.asarray(sorter)
        if srt.shape != seq.shape:
            raise ValueError(f"searchsorted: sorter of shape {tuple(srt.shape)} must have sorted_sequence's "
                             f"shape {tuple(seq.shape)}")
        if srt.size and (srt.min() < 0 or srt.max() >= seq.shape[-1]):
            raise IndexError(f"searchsorted: sorter holds an index outside [0, {seq.shape[-1]})")
        seq = np.take_along_axis(seq, srt.astype(np.int64), axis=-1)
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if scalar or vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
            raise ValueError(f"searchsorted: a sorted_sequence of shape {tuple(seq.shape)} needs values with the "
                             f"same leading dimensions {tuple(seq.shape[:-1])} (and any last one), got "
                             f"{tuple(np.shape(vals))}")
        s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(s2, v2)]).reshape(vals.shape)
    return Tensor._make(np.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value given 1-D increasing boundaries: i with boundaries[i-1] < x <=
    boundaries[i] (right=False) or boundaries[i-1] <= x < boundaries[i] (right=True)."""
    if boundaries.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D, got shape {tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (slices along dim); with return_inverse each
    element's run number, with return_counts each run's length."""
    a = input._data
    if dim is None:
        flat = a.reshape(-1)
        starts = np.ones(flat.shape[0], bool)
        starts[1:] = flat[1:] != flat[:-1]
        out = flat[starts]
        inverse_shape = a.shape
    else:
        d = _dim1(dim, input.ndim)
        moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        starts = np.ones(moved.shape[0], bool)
        starts[1:] = np.any(moved[1:] != moved[:-1], axis=1)
        out = np.compress(starts, a, axis=d)
        inverse_shape = (a.shape[d],)
    results = [Tensor._make(np.ascontiguousarray(out))]
    if return_inverse:
        results.append(Tensor._make((np.cumsum(starts) - 1).astype(np.int64).reshape(inverse_shape)))
    if return_counts:
        bounds = np.append(np.nonzero(starts)[0], starts.shape[0])
        results.append(Tensor._make(np.diff(bounds).astype(np.int64)))
    return results[0] if len(results) == 1 else tuple(results)


# ---- running extremes and log-sum-exp -----------------------------------------------------------------
def _cumulative_extreme(name, result, input, dim, better):
    if input.ndim == 0:
        return result(input * 1, Tensor._make(np.zeros((), np.int64)))
    d = _dim1(dim, input.ndim)
    a = np.moveaxis(input._data, d, 0)
    idx = np.zeros(a.shape, np.int64)
    if a.shape[0]:
        best = a[0].copy()
        cur = np.zeros(a.shape[1:], np.int64)
        for i in range(1, a.shape[0]):
            x = a[i]
            # PyTorch's rule: a NaN always takes over, then a tie moves the index to the later one
            take = np.isnan(x) | (~np.isnan(best) & better(x, best))
            best = np.where(take, x, best)
            cur = np.where(take, i, cur)
            idx[i] = cur
    idx = np.moveaxis(idx, 0, d)
    return result(gather(input, d, Tensor._make(idx)), Tensor._make(idx))


def cummax(input, dim):
    """(values, indices): the running maximum along dim and where it was last attained."""
    return _cumulative_extreme("cummax", _cummax_result, input, dim, np.greater_equal)


def cummin(input, dim):
    """(values, indices): the running minimum along dim and where it was last attained."""
    return _cumulative_extreme("cummin", _cummin_result, input, dim, np.less_equal)


class Logcumsumexp(Function):
    """log(cumsum(exp(x))) along dim, computed by running logaddexp (exact for any range)."""

    save_output = True

    def forward(self, a, dim):
        self.dim = dim
        if a.shape[dim] == 0:
            return a.copy()
        with np.errstate(invalid="ignore"):
            return np.logaddexp.accumulate(a, axis=dim)

    def backward(self, g):
        # d out_j / d x_i = exp(x_i − out_j) for j ≥ i. The sum over j runs backwards, in log
        # space, separately for the positive and negative parts of g so that logs stay real.
        x, out, d = self.inputs[0], self.output, self.dim
        neg_inf = Tensor._make(np.full((), -np.inf, g._data.dtype))
        one = Tensor._make(np.ones((), g._data.dtype))
        total = None
        for sign in (1.0, -1.0):
            part = g * sign
            if not (part._data > 0).any():
                continue
            positive = Tensor._make(part._data > 0)
            # log(g⁺) − out where g⁺ > 0, else −inf (masked, so no −inf − −inf = NaN reaches out)
            z = where(positive, log(where(positive, part, one)) - out, neg_inf)
            rev = ops.Flip.apply(Logcumsumexp.apply(ops.Flip.apply(z, dims=(d,)), dim=d), dims=(d,))
            term = exp(x + rev) * sign
            total = term if total is None else total + term
        return (g * 0 if total is None else total,)


def logcumsumexp(input, dim):
    """log(Σ_{j≤i} exp(x_j)) along dim, without overflow or underflow."""
    x = _float(input)
    if x.ndim == 0:
        return x * 1
    return Logcumsumexp.apply(x, dim=_dim1(dim, x.ndim))


__all__ = ["median", "nanmedian", "quantile", "nanquantile", "mode", "var_mean", "std_mean", "nanmean",
           "count_nonzero", "histc", "searchsorted", "bucketize", "unique_consecutive", "cummax", "cummin",
           "logcumsumexp"]
# as Tensor methods where PyTorch has them (searchsorted, bucketize, var_mean, std_mean are functions only)
METHODS = [median, nanmedian, quantile, nanquantile, mode, nanmean, count_nonzero, histc, unique_consecutive,
           cummax, cummin, logcumsumexp]
