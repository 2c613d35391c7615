"""The public operations, as functions (`mlseries.exp(x)`) and as Tensor methods (`x.exp()`).

Each normalises its arguments the way PyTorch does (dim, keepdim, *shape or a tuple, negative
dims) and calls a primitive from `_ops.py`, or composes primitives; no calculus here.
"""
import builtins
import collections
import functools
import inspect
import math

import numpy as np

from . import _dtype
from . import _ops as ops
from ._grad_mode import _enabled
from ._tensor import ShapeError, Tensor, _binary, _compare, _float_pair, _operands, check_integer_divisor

_Tensor = Tensor
_max_values = collections.namedtuple("max", ["values", "indices"])
_min_values = collections.namedtuple("min", ["values", "indices"])


def _t(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def _dims(dim, ndim):
    """None, an int or a sequence -> None or a tuple of non-negative dims (with a clear error)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise IndexError(f"dimension out of range (expected to be in range of "
                             f"[{-builtins.max(ndim, 1)}, {builtins.max(ndim, 1) - 1}], but got {d})")
        out.append(int(d) % builtins.max(ndim, 1))
    return tuple(out)


def _dim1(dim, ndim):
    return _dims(dim, ndim)[0]


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _float(x):
    return x if x._data.dtype.kind == "f" else x.type(_dtype.default_float)


# ---- elementwise ------------------------------------------------------------------------------
def add(input, other, alpha=1):
    return _binary(ops.Add, input, other if alpha == 1 else other * alpha)


def sub(input, other, alpha=1):
    return _binary(ops.Sub, input, other if alpha == 1 else other * alpha)


def mul(input, other):
    return _binary(ops.Mul, input, other)


def div(input, other, rounding_mode=None):
    if rounding_mode is None:
        return ops.Div.apply(*_float_pair(*_operands(input, other, "div")))
    a, b = _operands(input, other, "div")
    check_integer_divisor(f"div(rounding_mode={rounding_mode!r})", a._data, b._data)
    fn = np.floor_divide if rounding_mode == "floor" else (lambda x, y: np.trunc(x / y).astype(np.result_type(x, y)))
    return Tensor._make(fn(a._data, b._data))


def neg(input):
    return ops.Neg.apply(input)


def pow(input, exponent):  # noqa: A001
    if isinstance(exponent, Tensor):
        base = input if isinstance(input, Tensor) else None
        a, b = _operands(input, exponent, "pow")
        return ops.Pow.apply(a, b)
    if not isinstance(input, Tensor):
        input = _t(input)
    if input._data.dtype.kind != "f" and (not float(exponent).is_integer() or exponent < 0):
        input = _float(input)
    return ops.PowScalar.apply(input, exponent=exponent)


def _unary(fn, floating=True):
    def op(input):
        return fn.apply(_float(input) if floating else input)
    op.__name__ = fn.__name__.lower()
    return op


exp = _unary(ops.Exp)
log = _unary(ops.Log)
log1p = _unary(ops.Log1p)
sqrt = _unary(ops.Sqrt)
sin = _unary(ops.Sin)
cos = _unary(ops.Cos)
tanh = _unary(ops.Tanh)
sigmoid = _unary(ops.Sigmoid)
erf = _unary(ops.Erf)
relu = _unary(ops.Relu, floating=False)
abs = _unary(ops.Abs, floating=False)  # noqa: A001


def rsqrt(input):
    return sqrt(input) ** -1


def square(input):
    return input ** 2


def reciprocal(input):
    return 1.0 / _float(input)


def exp2(input):
    return exp(input * math.log(2.0))


def log2(input):
    return log(input) * (1.0 / math.log(2.0))


def log10(input):
    return log(input) * (1.0 / math.log(10.0))


def tan(input):
    return sin(input) / cos(input)


def clamp(input, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return ops.Clamp.apply(input, min=min, max=max)


clip = clamp


def maximum(input, other):
    return _binary(ops.Maximum, input, other)


def minimum(input, other):
    return _binary(ops.Minimum, input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = _operands(input, other, "where")
    try:
        return ops.Where.apply(a, b, cond=cond)
    except ValueError:
        raise ShapeError(f"where: shapes {tuple(cond.shape)}, {tuple(a.shape)} and {tuple(b.shape)} "
                         "cannot be broadcast together") from None


def _fill_value(name, value, dtype):
    """A number or a 0-d tensor as a 0-d tensor of `dtype` (a tensor value keeps its gradient)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"{name}: the value must be a number or a 0-dimensional tensor, "
                             f"got a tensor of shape {tuple(value.shape)}")
        return value if value._data.dtype == dtype else value.type(dtype)
    return Tensor._make(np.asarray(value, dtype=dtype))


def masked_fill(input, mask, value):
    """input with `value` where `mask` is True; the mask broadcasts (and may widen the result)."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: the mask must be a bool tensor (e.g. x > 0 or mask == 0), got {m.dtype}")
    val = _fill_value("masked_fill", value, input._data.dtype)
    try:
        return ops.Where.apply(val, input, cond=m)
    except ValueError:
        raise ShapeError(f"masked_fill: the mask of shape {tuple(m.shape)} cannot be broadcast to the "
                         f"input's shape {tuple(input.shape)}") from None


def _elementwise_no_grad(ufunc, name):
    """Piecewise-constant or boolean results: no gradient, so no graph node either."""
    def op(input):
        return Tensor._make(ufunc(input._data))
    op.__name__ = name
    return op


sign = _elementwise_no_grad(np.sign, "sign")
floor = _elementwise_no_grad(np.floor, "floor")
ceil = _elementwise_no_grad(np.ceil, "ceil")
trunc = _elementwise_no_grad(np.trunc, "trunc")
isnan = _elementwise_no_grad(np.isnan, "isnan")
isinf = _elementwise_no_grad(np.isinf, "isinf")
isfinite = _elementwise_no_grad(np.isfinite, "isfinite")


def round(input, decimals=0):  # noqa: A001
    return Tensor._make(np.round(input._data, decimals))


def logical_not(input):
    return Tensor._make(np.logical_not(input._data))


def logical_and(input, other):
    return _compare(np.logical_and, input, other)


def logical_or(input, other):
    return _compare(np.logical_or, input, other)


def eq(input, other):
    return _compare(np.equal, input, other)


def ne(input, other):
    return _compare(np.not_equal, input, other)


def lt(input, other):
    return _compare(np.less, input, other)


def le(input, other):
    return _compare(np.less_equal, input, other)


def gt(input, other):
    return _compare(np.greater, input, other)


def ge(input, other):
    return _compare(np.greater_equal, input, other)


def equal(input, other):
    return input.shape == other.shape and builtins.bool(np.array_equal(input._data, other._data))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return builtins.bool(np.allclose(input._data, _t(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return Tensor._make(np.isclose(input._data, _t(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


# ---- reductions -------------------------------------------------------------------------------
def sum(input, dim=None, keepdim=False, dtype=None):  # noqa: A001
    if dtype is not None:
        input = input.type(dtype)
    return ops.Sum.apply(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


def mean(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = input.type(dtype)
    return ops.Mean.apply(input, dim=_dims(dim, input.ndim), keepdim=keepdim)


def _extreme(input, dim, keepdim, other, largest):
    if isinstance(dim, Tensor) and other is None:
        dim, other = None, dim
    if other is not None:
        return maximum(input, other) if largest else minimum(input, other)
    if input.numel() == 0:
        raise RuntimeError(f"{'max' if largest else 'min'}(): cannot reduce an empty tensor")
    if dim is None:
        return ops.Amax.apply(input, dim=None, keepdim=False, largest=largest)
    d = _dim1(dim, input.ndim)
    idx = (np.argmax if largest else np.argmin)(input._data, axis=d, keepdims=True)
    values = ops.Gather.apply(input, dim=d, index=idx) if input.ndim else input
    if not keepdim and input.ndim:
        values = squeeze(values, d)
        idx = np.squeeze(idx, axis=d)
    cls = _max_values if largest else _min_values
    return cls(values, Tensor._make(idx.astype(np.int64)))


def max(input, dim=None, keepdim=False, other=None):  # noqa: A001
    return _extreme(input, dim, keepdim, other, True)


def min(input, dim=None, keepdim=False, other=None):  # noqa: A001
    return _extreme(input, dim, keepdim, other, False)


def amax(input, dim=None, keepdim=False):
    return ops.Amax.apply(input, dim=_dims(dim, input.ndim) if dim != () else None, keepdim=keepdim, largest=True)


def amin(input, dim=None, keepdim=False):
    return ops.Amax.apply(input, dim=_dims(dim, input.ndim) if dim != () else None, keepdim=keepdim, largest=False)


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._make(np.asarray(np.argmax(input._data), dtype=np.int64))
    return Tensor._make(np.argmax(input._data, axis=_dim1(dim, input.ndim), keepdims=keepdim).astype(np.int64))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._make(np.asarray(np.argmin(input._data), dtype=np.int64))
    return Tensor._make(np.argmin(input._data, axis=_dim1(dim, input.ndim), keepdims=keepdim).astype(np.int64))


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    dims = _dims(dim, input.ndim)
    n = input.numel() if dims is None else int(np.prod([input.shape[d] for d in dims]))
    centered = input - mean(input, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim=keepdim) * (1.0 / builtins.max(n - correction, 0) if n - correction > 0 else float("nan"))


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    return sqrt(var(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction))


def logsumexp(input, dim, keepdim=False):
    dims = _dims(dim, input.ndim)
    m = Tensor._make(np.max(input._data, axis=dims, keepdims=True))  # a constant shift; its gradient cancels
    m._data = np.where(np.isfinite(m._data), m._data, 0).astype(input._data.dtype)
    out = log(sum(exp(input - m), dims, keepdim=True)) + m
    return out if keepdim else squeeze(out, dims)


def norm(input, p=2, dim=None, keepdim=False):
    if p == 2 or p == "fro":
        return sqrt(sum(input * input, dim, keepdim=keepdim))
    if p == 1:
        return sum(abs(input), dim, keepdim=keepdim)
    if p == float("inf"):
        return amax(abs(input), dim, keepdim=keepdim)
    return sum(abs(input) ** p, dim, keepdim=keepdim) ** (1.0 / p)


def prod(input, dim=None, keepdim=False, dtype=None):
    """The product of the elements (along dim); integers multiply in int64, as PyTorch."""
    if dtype is not None:
        input = input.type(dtype)
    if input._data.dtype.kind != "f" or not (_enabled[0] and input.requires_grad):
        a = input._data
        red = np.prod(a, axis=None if dim is None else _dim1(dim, input.ndim), keepdims=keepdim and dim is not None,
                      dtype=np.int64 if a.dtype.kind in "biu" else None)
        return Tensor._make(np.asarray(red))
    # the last running product: Cumprod's gradient is exact where factors are zero
    if dim is None:
        return reshape(select(ops.Cumprod.apply(reshape(input, -1), dim=0), 0, -1), ())
    d = _dim1(dim, input.ndim)
    if input.ndim == 0:
        return input * 1.0
    out = narrow(ops.Cumprod.apply(input, dim=d), d, input.shape[d] - 1, 1)
    return out if keepdim else squeeze(out, d)


def all(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._make(np.asarray(np.all(input._data, axis=_dims(dim, input.ndim), keepdims=keepdim)))


def any(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._make(np.asarray(np.any(input._data, axis=_dims(dim, input.ndim), keepdims=keepdim)))


def _cumulative(fn, input, dim, dtype):
    if dtype is not None:
        input = input.type(dtype)
    d = _dim1(dim, input.ndim)
    if input.ndim == 0:
        return reshape(fn.apply(reshape(input, 1), dim=0), ())
    return fn.apply(input, dim=d)


def cumsum(input, dim, dtype=None):
    """Running sums along dim (integers and bools sum in int64, as PyTorch)."""
    return _cumulative(ops.Cumsum, input, dim, dtype)


def cumprod(input, dim, dtype=None):
    """Running products along dim; the gradient is exact at zeros too."""
    return _cumulative(ops.Cumprod, input, dim, dtype)


def nonzero(input, as_tuple=False):
    nz = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in nz)
    return Tensor._make(np.stack(nz, axis=1).astype(np.int64))


def unique(input, sorted=True, return_counts=False):  # noqa: A002
    out = np.unique(input._data, return_counts=return_counts)
    if return_counts:
        return Tensor._make(out[0]), Tensor._make(out[1].astype(np.int64))
    return Tensor._make(out)


_sort_result = collections.namedtuple("sort", ["values", "indices"])
_topk_result = collections.namedtuple("topk", ["values", "indices"])


def _argsort(a, axis, descending):
    """Stable ascending or descending order, NaN counted as the largest value (as PyTorch)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # reversing a stable sort of the reversed array keeps equal elements in their original order
    n = a.shape[axis]
    rev = np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)
    return (n - 1) - rev


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim; always stable (equal elements keep their order)."""
    if input.ndim == 0:
        return _sort_result(input, Tensor._make(np.zeros((), np.int64)))
    d = _dim1(dim, input.ndim)
    idx = _argsort(input._data, d, descending)
    return _sort_result(ops.Gather.apply(input, dim=d, index=idx), Tensor._make(idx))


def argsort(input, dim=-1, descending=False, stable=False):
    if input.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    return Tensor._make(_argsort(input._data, _dim1(dim, input.ndim), descending))


def msort(input):
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The k largest (or smallest) values along dim and their indices, largest first."""
    if input.ndim == 0:
        if k not in (0, 1):
            raise ValueError(f"topk: k ({k}) is out of range for a 0-d tensor")
        return _topk_result(input, Tensor._make(np.zeros((), np.int64)))
    d = _dim1(dim, input.ndim)
    n = input.shape[d]
    k = int(k)
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) must be between 0 and the size of dimension {dim} ({n})")
    a = input._data
    if 0 < k < n and k * 8 < n:
        # partition first: for top-k sampling over a vocabulary, sorting everything is waste
        part = np.argpartition(a, n - k if largest else k - 1, axis=d)
        cand = np.take(part, np.arange(n - k, n) if largest else np.arange(k), axis=d)
        order = _argsort(np.take_along_axis(a, cand, axis=d), d, largest)
        idx = np.take_along_axis(cand, order, axis=d)
    else:
        idx = np.take(_argsort(a, d, largest), np.arange(k), axis=d)
    return _topk_result(ops.Gather.apply(input, dim=d, index=idx), Tensor._make(idx.astype(np.int64, copy=False)))


# ---- shape ------------------------------------------------------------------------------------
def reshape(input, *shape):
    shape = _shape_args(shape)
    if shape == input._data.shape:
        return input
    return ops.Reshape.apply(input, shape=shape)


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], (_dtype.dtype, np.dtype)):
        return Tensor._make(input._data.view(_dtype.to_np(shape[0])))
    return reshape(input, *shape)


def view_as(input, other):
    return reshape(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = start_dim % nd, end_dim % nd
    shape = input.shape
    return reshape(input, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])


def unflatten(input, dim, sizes):
    d = _dim1(dim, input.ndim)
    shape = input.shape
    return reshape(input, shape[:d] + tuple(sizes) + shape[d + 1:])


def squeeze(input, dim=None):
    shape = input.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = _dims(dim, input.ndim)
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new)


def unsqueeze(input, dim):
    nd = input.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    d = dim % nd
    shape = input.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


def permute(input, *dims):
    dims = _shape_args(dims)
    if len(dims) != input.ndim:
        raise ShapeError(f"permute: got {len(dims)} dims for a tensor with {input.ndim} dimensions")
    dims = _dims(dims, input.ndim)
    if sorted(dims) != list(range(input.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of 0..{input.ndim - 1}")
    return ops.Permute.apply(input, dims=dims)


def transpose(input, dim0, dim1):
    nd = input.ndim
    if nd < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    d0, d1 = _dim1(dim0, nd), _dim1(dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return ops.Permute.apply(input, dims=tuple(dims))


swapaxes = transpose


def t(input):
    if input.ndim > 2:
        raise ValueError(f"t() expects a tensor with at most 2 dimensions, got {input.ndim}; use transpose or mT")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def expand(input, *sizes):
    sizes = _shape_args(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's dimensions ({input.ndim})")
    if builtins.any(s == -1 for s in sizes[:lead]):
        raise ValueError(f"expand: -1 is not allowed for a new leading dimension (sizes {sizes}, tensor of "
                         f"shape {tuple(input.shape)})")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    if shape == input._data.shape:
        return input
    return ops.Expand.apply(input, shape=shape)


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


def repeat(input, *sizes):
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(sizes)}) must be at least the tensor's "
                         f"number of dimensions ({input.ndim})")
    x = reshape(input, (1,) * (len(sizes) - input.ndim) + input.shape)
    # interleave a new axis before each dim, expand it, then merge: (s0, d0, s1, d1, ...)
    inter = reshape(x, tuple(v for d in x.shape for v in (1, d)))
    big = expand(inter, tuple(v for s, d in zip(sizes, x.shape) for v in (s, d)))
    return reshape(big, tuple(s * d for s, d in zip(sizes, x.shape)))


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    dt = tensors[0]._data.dtype
    for x in tensors[1:]:
        dt = _dtype.promote(dt, x._data.dtype)
    # as PyTorch, 1-D empty tensors (torch.tensor([]), a common starting value) are skipped
    kept = [x for x in tensors if not (x._data.ndim == 1 and x._data.shape[0] == 0)] or tensors[:1]
    kept = [x if x._data.dtype == dt else x.type(dt) for x in kept]
    nd = kept[0].ndim
    if nd == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    for x in kept[1:]:
        if x.ndim != nd:
            raise ValueError(f"cat: tensors must have the same number of dimensions; got shapes "
                             f"{tuple(kept[0].shape)} and {tuple(x.shape)}")
    if len(kept) == 1:
        return ops.Clone.apply(kept[0])  # a new tensor, as PyTorch
    return ops.Cat.apply(*kept, dim=_dim1(dim, nd))


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {tuple(x.shape) for x in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    nd = tensors[0].ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack: dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    d = dim % nd
    dt = tensors[0]._data.dtype
    for x in tensors[1:]:
        dt = _dtype.promote(dt, x._data.dtype)
    parts = [unsqueeze(x if x._data.dtype == dt else x.type(dt), d) for x in tensors]
    return ops.Cat.apply(*parts, dim=d)


def split(input, split_size_or_sections, dim=0):
    d = _dim1(dim, input.ndim)
    n = input.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and n):
            raise ValueError(f"split: split_size must be a positive integer, got {step}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to the size of dimension {dim} ({n})")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(input, d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    """Pieces of ceil(n / chunks) along dim (so there may be fewer than `chunks`, as PyTorch)."""
    if chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
    d = _dim1(dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        return tuple(narrow(input, d, 0, 0) for _ in range(chunks))
    return split(input, -(-n // chunks), d)


def unbind(input, dim=0):
    d = _dim1(dim, input.ndim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def narrow(input, dim, start, length):
    d = _dim1(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, start + length),)]


def select(input, dim, index):
    d = _dim1(dim, input.ndim)
    return input[(slice(None),) * d + (index,)]


def flip(input, *args, dims=None):
    """Reverse the order along dims: x.flip(0, 1), x.flip((0, 1)), torch.flip(x, dims=(0, 1))."""
    if dims is None:
        dims = args[0] if len(args) == 1 and not isinstance(args[0], (int, np.integer)) else args
    elif args:
        raise TypeError("flip() got dims both as positional arguments and as dims=")
    if input.ndim == 0:
        return ops.Clone.apply(input)
    return ops.Flip.apply(input, dims=_dims(dims, input.ndim))


def fliplr(input):
    if input.ndim < 2:
        raise ValueError(f"fliplr: the input must have at least 2 dimensions, got shape {tuple(input.shape)}")
    return flip(input, 1)


def flipud(input):
    if input.ndim < 1:
        raise ValueError("flipud: the input must have at least 1 dimension")
    return flip(input, 0)


def _index_array(name, index, size, dim):
    """An integer index as an int64 array, checked against the size of the dimension it indexes."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: the index must be an integer tensor (int64), got {idx.dtype}")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{name}: index {bad} is out of range for dimension {dim} of size {size}")
    return idx.astype(np.int64, copy=False)


def _index_vector(name, index, input, dim):
    d = _dim1(dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    idx = _index_array(name, index, size, d)
    if idx.ndim > 1:
        raise ValueError(f"{name}: the index must be 1-dimensional, got shape {tuple(idx.shape)}")
    return d, idx.reshape(-1)


def index_select(input, dim, index):
    """The entries at `index` (1-D) along dim: input[:, index] for dim=1."""
    d, idx = _index_vector("index_select", index, input, dim)
    if input.ndim == 0:
        return reshape(input, ()) if idx.size == 1 else ops.GetItem.apply(reshape(input, 1), index=(idx,))
    return ops.GetItem.apply(input, index=(slice(None),) * d + (idx,))


def _scatter_index(name, input, dim, index, src=None):
    """dim and index (int64) for gather/scatter, checked against PyTorch's shape rules."""
    d = _dim1(dim, input.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if input.ndim == 0 and idx.ndim <= 1:
        # a 0-d input behaves as 1-D of one element
        raise ValueError(f"{name}: the input must have at least one dimension")
    if idx.ndim != input.ndim:
        raise ValueError(f"{name}: the index has {idx.ndim} dimensions but the input has {input.ndim}")
    for i, (n, s) in enumerate(zip(idx.shape, input.shape)):
        if i != d and n > s:
            raise ValueError(f"{name}: the index of shape {tuple(idx.shape)} is larger than the input of shape "
                             f"{tuple(input.shape)} in dimension {i}")
    if src is not None:
        for i, (n, s) in enumerate(zip(idx.shape, src.shape)):
            if n > s:
                raise ValueError(f"{name}: the index of shape {tuple(idx.shape)} is larger than src of shape "
                                 f"{tuple(src.shape)} in dimension {i}")
    return d, _index_array(name, idx, input.shape[d], d)


def _corner(t, shape):
    """The leading block of t of the given shape (PyTorch uses only that much of src)."""
    if tuple(t.shape) == tuple(shape):
        return t
    return t[tuple(slice(0, n) for n in shape)]


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] for dim=0 (and so on): picks along dim."""
    d, idx = _scatter_index("gather", input, dim, index)
    return ops._gather_corner(input, d, idx)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(reshape(input, -1), 0, reshape(indices, -1))
    return gather(input, dim, indices)


def _tri(input, diagonal, lower):
    if input.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: the input must have at least 2 dimensions, "
                         f"got shape {tuple(input.shape)}")
    n, m = input.shape[-2:]
    keep = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1, dtype=bool)
    # where() rather than a multiply: -inf * 0 would give NaN
    return ops.Where.apply(input, Tensor._make(np.zeros((), input._data.dtype)), cond=keep)


def tril(input, diagonal=0):
    """The lower triangle of the last two dimensions (batched); above `diagonal` set to zero."""
    return _tri(input, diagonal, True)


def triu(input, diagonal=0):
    """The upper triangle of the last two dimensions (batched); below `diagonal` set to zero."""
    return _tri(input, diagonal, False)


def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's F.pad: `pad` lists (before, after) pairs starting from the last dimension."""
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: expected pairs for at most {input.ndim} dimensions, got {tuple(pad)}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        if builtins.any(b < 0 or a < 0 for b, a in widths):
            idx = tuple(slice(-b if b < 0 else 0, (s + a) if a < 0 else s) for (b, a), s in zip(widths, input.shape))
            input = input[idx]
            widths = [(builtins.max(b, 0), builtins.max(a, 0)) for b, a in widths]
        return ops.ConstantPad.apply(input, widths=tuple(widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: unknown mode {mode!r}; use 'constant', 'reflect', 'replicate' or 'circular'")
    # Other modes are gathers with a computed index per padded dimension, so their gradient is
    # the index's adjoint.
    out = input
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    for d, (b, a) in enumerate(widths):
        if b or a:
            idx = np.pad(np.arange(input.shape[d]), (b, a), mode=np_mode)
            out = index_select(out, d, idx)
    return out


# ---- linear algebra ---------------------------------------------------------------------------
def matmul(input, other):
    a, b = input, other
    if not isinstance(b, Tensor):
        b = Tensor._make(np.asarray(b))
    if a._data.dtype != b._data.dtype:
        a, b = _operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least one dimension, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape[0] != b.shape[0]:
            raise ShapeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align ({a.shape[0]} ≠ {b.shape[0]})")
        return reshape(ops.MatMul.apply(reshape(a, 1, -1), reshape(b, -1, 1)), ())
    if a.ndim == 1:
        return squeeze(ops.MatMul.apply(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(ops.MatMul.apply(a, unsqueeze(b, -1)), -1)
    return ops.MatMul.apply(a, b)


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise ValueError(f"bmm: expected 3-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def dot(input, other):
    return sum(input * other)


def outer(input, vec2):
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


def softmax(input, dim, dtype=None):
    x = _float(input) if dtype is None else input.type(dtype)
    return ops.Softmax.apply(x, dim=_dim1(dim, x.ndim))


def log_softmax(input, dim, dtype=None):
    x = _float(input) if dtype is None else input.type(dtype)
    return ops.LogSoftmax.apply(x, dim=_dim1(dim, x.ndim))


# ---- more elementwise functions -----------------------------------------------------------------
sinh = _unary(ops.Sinh)
cosh = _unary(ops.Cosh)
asinh = arcsinh = _unary(ops.Asinh)
acosh = arccosh = _unary(ops.Acosh)
atanh = arctanh = _unary(ops.Atanh)
asin = arcsin = _unary(ops.Asin)
acos = arccos = _unary(ops.Acos)
atan = arctan = _unary(ops.Atan)
expm1 = _unary(ops.Expm1)


def _float_binary(fn, input, other, name):
    a, b = _operands(input, other, name)
    return fn.apply(*_float_pair(a, b))


def atan2(input, other):
    """The angle of the point (other, input), in (−π, π]."""
    return _float_binary(ops.Atan2, input, other, "atan2")


arctan2 = atan2


def logaddexp(input, other):
    """log(eˣ + eʸ) without overflow."""
    a, b = _float_pair(*_operands(input, other, "logaddexp"))
    # the larger of the two as a constant shift: its gradient cancels exactly, as in logsumexp
    m = np.maximum(a._data, b._data)
    m = Tensor._make(np.where(np.isfinite(m), m, 0).astype(a._data.dtype, copy=False))
    return log(exp(a - m) + exp(b - m)) + m


def hypot(input, other):
    """sqrt(x² + y²)."""
    a, b = _float_pair(*_operands(input, other, "hypot"))
    return sqrt(a * a + b * b)


def lerp(input, end, weight):
    """input + weight · (end − input)."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    prod = tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    quot = tensor1 / tensor2
    return input + (quot if value == 1 else quot * value)


def fmod(input, other):
    """The remainder of input / other with the sign of input (C's fmod)."""
    return _binary(ops.Fmod, input, other)


def remainder(input, other):
    """The remainder of input / other with the sign of other (Python's %)."""
    if not isinstance(input, Tensor):
        a, b = _operands(input, other, "remainder")
        return ops.Remainder.apply(a, b)
    return _binary(ops.Remainder, input, other)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf (default: the largest finite value), -inf -> neginf; the
    gradient passes where the input was finite."""
    x = input._data
    if x.dtype.kind != "f":
        return clone(input)
    finfo = np.finfo(x.dtype)
    fixed = np.nan_to_num(x, nan=nan, posinf=finfo.max if posinf is None else posinf,
                          neginf=finfo.min if neginf is None else neginf)
    return ops.Where.apply(input, Tensor._make(fixed), cond=np.isfinite(x))


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


def sgn(input):
    """sign(x) (for real tensors the same as sign)."""
    return sign(input)


def frac(input):
    """x − trunc(x); the gradient is 1."""
    if input._data.dtype.kind != "f":
        raise TypeError(f"frac: the input must be floating point, got {input.dtype}")
    return input - Tensor._make(np.trunc(input._data))


# ---- scatter, index_* and their in-place forms -------------------------------------------------------
def _write_inplace(self, compute):
    """`self.op_(...)`: run `compute` out of place and make `self` hold the result.

    Outside the graph the result is copied into self's memory (views see it). In the graph the
    tensor is re-pointed at the result's node, as `x[i] = v` does: nodes that used the old
    value keep it, and those that saved it for their gradient are refused by the version check.
    """
    if _enabled[0]:
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place operation; "
                               "wrap it in `with mlseries.no_grad():` or use the out-of-place form")
        old = Tensor._make(self._data, self.requires_grad, self.grad_fn)
        old._vc = self._vc
        if self.grad_fn is not None and self._retains_grad:
            old._retains_grad = True
        result = compute(old)
        if result.requires_grad:
            if result._data.shape != self._data.shape:
                raise ValueError(f"in-place result of shape {tuple(result.shape)} does not match the tensor's "
                                 f"shape {tuple(self.shape)}")
            self._data = result._data.astype(self._data.dtype, copy=False)
            self.grad_fn, self.requires_grad = result.grad_fn, True
            self._vc = [old._vc[0] + 1]
            return self
    else:
        result = compute(self)
    if result._data.shape != self._data.shape:
        raise ValueError(f"in-place result of shape {tuple(result.shape)} does not match the tensor's "
                         f"shape {tuple(self.shape)} (the other operands must broadcast to it)")
    np.copyto(self._data, result._data, casting="unsafe")
    self._version += 1
    return self


def _as_src(name, src, dtype):
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}: src must be a tensor, got {type(src).__name__}")
    return src if src._data.dtype == dtype else src.type(dtype)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of input with src (a tensor, or a number) written at `index` along dim:
    out[index[i][j]][j] = src[i][j] for dim=0. `reduce='add'|'multiply'` combines instead."""
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if src is None or not isinstance(src, Tensor):
        val = value if src is None else src
        d, idx = _scatter_index("scatter", input, dim, index)
        src_t = _fill_value("scatter", val, input._data.dtype)
        if reduce is not None:
            src_t = expand(src_t, idx.shape)
    else:
        d, idx = _scatter_index("scatter", input, dim, index, src)
        src_t = _corner(_as_src("scatter", src, input._data.dtype), idx.shape)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        return ops.ScatterReduce.apply(input, src_t, dim=d, index=idx, reduce="sum" if reduce == "add" else "prod",
                                       include_self=True)
    return ops.Scatter.apply(input, src_t, dim=d, index=idx)


def scatter_add(input, dim, index, src):
    """A copy of input with src added at `index` along dim (repeated indices add up)."""
    d, idx = _scatter_index("scatter_add", input, dim, index, src)
    src_t = _corner(_as_src("scatter_add", src, input._data.dtype), idx.shape)
    return input + ops.ScatterAdd.apply(src_t, dim=d, index=idx, shape=input._data.shape)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """src reduced into a copy of input at `index` along dim; reduce is 'sum', 'prod', 'mean',
    'amax' or 'amin'; include_self=False leaves input's own values out where something lands."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got {reduce!r}")
    d, idx = _scatter_index("scatter_reduce", input, dim, index, src)
    src_t = _corner(_as_src("scatter_reduce", src, input._data.dtype), idx.shape)
    return ops.ScatterReduce.apply(input, src_t, dim=d, index=idx, reduce=reduce, include_self=include_self)


def _index_source(name, input, d, idx, source):
    source = _as_src(name, source, input._data.dtype)
    want = tuple(input.shape[:d]) + (idx.size,) + tuple(input.shape[d + 1:])
    if tuple(source.shape) != want:
        raise ValueError(f"{name}: source of shape {tuple(source.shape)} does not match: with an index of "
                         f"{idx.size} entries along dimension {d} of an input of shape {tuple(input.shape)} "
                         f"it must have shape {want}")
    return source


def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha·source added at `index` (1-D) along dim; repeated indices add up."""
    if input.ndim == 0:
        return reshape(index_add(reshape(input, 1), 0, index, reshape(source, -1), alpha=alpha), ())
    d, idx = _index_vector("index_add", index, input, dim)
    source = _index_source("index_add", input, d, idx, source)
    if alpha != 1:
        source = source * alpha
    return input + ops.IndexAddZeros.apply(source, shape=input._data.shape, index=(slice(None),) * d + (idx,))


def index_copy(input, dim, index, source):
    """input with the slices at `index` (1-D) along dim replaced by source's."""
    if input.ndim == 0:
        return reshape(index_copy(reshape(input, 1), 0, index, reshape(source, -1)), ())
    d, idx = _index_vector("index_copy", index, input, dim)
    source = _index_source("index_copy", input, d, idx, source)
    return ops.SetItem.apply(input, source, index=(slice(None),) * d + (idx,))


def index_fill(input, dim, index, value):
    """input with the slices at `index` (1-D) along dim set to value (a number or 0-d tensor)."""
    if input.ndim == 0:
        return reshape(index_fill(reshape(input, 1), 0, index, value), ())
    d, idx = _index_vector("index_fill", index, input, dim)
    val = _fill_value("index_fill", value, input._data.dtype)
    return ops.SetItem.apply(input, val, index=(slice(None),) * d + (idx,))


def masked_fill_(input, mask, value):
    return _write_inplace(input, lambda x: masked_fill(x, mask, value))


def scatter_(input, dim, index, src=None, value=None, *, reduce=None):
    return _write_inplace(input, lambda x: scatter(x, dim, index, src, value, reduce=reduce))


def scatter_add_(input, dim, index, src):
    return _write_inplace(input, lambda x: scatter_add(x, dim, index, src))


def scatter_reduce_(input, dim, index, src, reduce, *, include_self=True):
    return _write_inplace(input, lambda x: scatter_reduce(x, dim, index, src, reduce, include_self=include_self))


def index_add_(input, dim, index, source, *, alpha=1):
    return _write_inplace(input, lambda x: index_add(x, dim, index, source, alpha=alpha))


def index_copy_(input, dim, index, source):
    return _write_inplace(input, lambda x: index_copy(x, dim, index, source))


def index_fill_(input, dim, index, value):
    return _write_inplace(input, lambda x: index_fill(x, dim, index, value))


# ---- more shape functions -------------------------------------------------------------------------
def clone(input, *, memory_format=None):
    return ops.Clone.apply(input)


def swapdims(input, dim0, dim1):
    return transpose(input, dim0, dim1)


def movedim(input, source, destination):
    """Move dims `source` to positions `destination` (ints or sequences); the others keep their order."""
    src = _dims(source, input.ndim)
    dst = _dims(destination, input.ndim)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have the same length")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dims in source {source} or destination {destination}")
    order = [None] * input.ndim
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    if order == list(range(input.ndim)):
        return input
    return ops.Permute.apply(input, dims=tuple(order))


moveaxis = movedim


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along dim) repeated `repeats` times (an int or one count per
    element); repeat_interleave(counts) alone gives [0]*counts[0] + [1]*counts[1] + ...."""
    if repeats is None:
        counts = input._data
        if counts.ndim > 1 or counts.dtype.kind not in "iu":
            raise ValueError("repeat_interleave(repeats): repeats must be a 1-D integer tensor")
        if counts.size and counts.min() < 0:
            raise ValueError("repeat_interleave: repeats must be non-negative")
        return Tensor._make(np.repeat(np.arange(counts.size, dtype=np.int64), counts.reshape(-1)))
    if dim is None:
        input, d = reshape(input, -1), 0
    else:
        d = _dim1(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    r = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if r.dtype.kind not in "iu" or r.ndim > 1:
        raise ValueError("repeat_interleave: repeats must be an integer or a 1-D integer tensor")
    r = r.reshape(-1)
    if r.size not in (1, n):
        raise ValueError(f"repeat_interleave: repeats must have one entry or {n} (the size of dimension {d}), "
                         f"got {r.size}")
    if r.size and r.min() < 0:
        raise ValueError("repeat_interleave: repeats must be non-negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), np.broadcast_to(r, (n,)))
    if output_size is not None and idx.size != output_size:
        raise ValueError(f"repeat_interleave: output_size={output_size} but the repeats add up to {idx.size}")
    if input.ndim == 0:
        input = reshape(input, 1)
    return ops.GetItem.apply(input, index=(slice(None),) * d + (idx,))


def roll(input, shifts, dims=None):
    """Shift elements along dims, wrapping around; without dims the flattened tensor is rolled."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            if len(shifts) != 1:
                raise ValueError("roll: without dims, shifts must be a single number")
            shifts = shifts[0]
        return reshape(roll(reshape(input, -1), shifts, 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = _dims(dims, input.ndim)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = input
    for s, d in zip(shifts, dims):
        n = out.shape[d]
        s = int(s) % n if n else 0
        if s:
            # the last s entries move to the front: two slices joined, so the gradient is two slices
            head = (slice(None),) * d
            out = ops.Cat.apply(out[head + (slice(n - s, None),)], out[head + (slice(0, n - s),)], dim=d)
    return out


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with 'ij' the i-th output varies along dim i; 'xy'
    swaps the first two (matrix vs Cartesian indexing)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {tuple(t.shape)}")
    vecs = [reshape(t, -1) for t in tensors]
    # the dim along which each input varies: its own, with the first two swapped for 'xy'
    place = list(range(len(vecs)))
    if indexing == "xy" and len(vecs) >= 2:
        place[0], place[1] = 1, 0
    shape = [0] * len(vecs)
    for v, p in zip(vecs, place):
        shape[p] = v.shape[0]
    return tuple(expand(reshape(v, tuple(-1 if j == p else 1 for j in range(len(vecs)))), tuple(shape))
                 for v, p in zip(vecs, place))


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The `offset` diagonal of the (dim1, dim2) planes, as the last dimension."""
    d1, d2 = _dim1(dim1, input.ndim), _dim1(dim2, input.ndim)
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 cannot be the same dimension ({dim1})")
    return ops.Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices whose `offset` diagonal (in dims dim1, dim2 of the result) is the last dim of input."""
    nd = input.ndim + 1
    d1, d2 = _dim1(dim1, nd), _dim1(dim2, nd)
    if d1 == d2:
        raise ValueError("diag_embed: dim1 and dim2 cannot be the same dimension")
    n = input.shape[-1] + builtins.abs(int(offset))
    rest = list(input.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(n if i in (d1, d2) else rest.pop(0))
    return ops.DiagonalScatter.apply(input, shape=tuple(shape), params=(int(offset), d1, d2))


def diag(input, diagonal=0):
    """A 1-D tensor -> a square matrix with it on the `diagonal`; a matrix -> that diagonal."""
    if input.ndim == 1:
        n = input.shape[0] + builtins.abs(int(diagonal))
        return ops.DiagonalScatter.apply(input, shape=(n, n), params=(int(diagonal), 0, 1))
    if input.ndim == 2:
        return ops.Diagonal.apply(input, offset=int(diagonal), dim1=0, dim2=1)
    raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(input.shape)}")


def trace(input):
    """The sum of the main diagonal of a matrix."""
    if input.ndim != 2:
        raise ValueError(f"trace: expects a matrix, got a tensor of shape {tuple(input.shape)}")
    return sum(ops.Diagonal.apply(input, offset=0, dim1=0, dim2=1))


# ---- einsum -------------------------------------------------------------------------------------
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sublist_to_equation(args):
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]) -> ('ab,bc->ac', [op0, op1])."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < 52:
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum: sublist entries must be integers in [0, 52) or ..., got {s!r}")
        return "".join(out)
    body = args[:-1] if len(args) % 2 else args  # an odd count ends with the output sublist
    eq = ",".join(letters(s) for s in body[1::2])
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, list(body[0::2])


def einsum(equation, *operands):
    """Einstein summation: `einsum('bij,bjk->bik', a, b)` is a batched matrix product. Supports
    '...', repeated subscripts (diagonals), the implicit output (subscripts used once, sorted),
    broadcasting of size-1 dimensions, the operands as one list, and the sublist form."""
    if not isinstance(equation, str):
        equation, operands = _sublist_to_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [x if isinstance(x, Tensor) else Tensor._make(np.asarray(x)) for x in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand(s) but "
                         f"{len(operands)} tensor(s) were given")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ".,->"):
            raise ValueError(f"einsum: invalid subscript {ch!r} at index {i} of {equation!r}; subscripts "
                             "must be letters a-z, A-Z")
    # give the dims under '...' letters of their own, aligned from the right as in broadcasting
    used = set(eq)
    free = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for term, x in zip(terms, operands):
        if "..." in term:
            n_ell = builtins.max(n_ell, x.ndim - len(term.replace("...", "")))
    if n_ell > len(free):
        raise ValueError("einsum: too many dimensions under '...'")
    ell = "".join(free[:n_ell])
    subs = []
    for i, (term, x) in enumerate(zip(terms, operands)):
        named = term.replace("...", "")
        if term.count("...") > 1 or "." in named:
            raise ValueError(f"einsum: operand {i} ({term!r}) has a malformed ellipsis")
        if "..." in term:
            k = x.ndim - len(named)
            if k < 0:
                raise ValueError(f"einsum: operand {i} has {x.ndim} dimensions but {term!r} names {len(named)}")
            term = term.replace("...", ell[n_ell - k:])
        elif len(term) != x.ndim:
            raise ValueError(f"einsum: operand {i} has {x.ndim} dimensions but its subscripts {term!r} name "
                             f"{len(term)} (and there is no '...')")
        subs.append(term)
    if arrow:
        if rhs.count("...") > 1 or "." in rhs.replace("...", ""):
            raise ValueError(f"einsum: the output {rhs!r} has a malformed ellipsis")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears more than once")
            if not builtins.any(c in s for s in subs):
                raise ValueError(f"einsum: output subscript {c!r} does not appear in any input")
    else:
        counts = collections.Counter("".join(subs))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    # one size per subscript; size-1 dims broadcast
    size = {}
    for i, (s, x) in enumerate(zip(subs, operands)):
        for c, n in zip(s, x.shape):
            if size.get(c, 1) != 1 and n not in (1, size[c]):
                raise ValueError(f"einsum: subscript {c!r} has size {n} in operand {i} but size {size[c]} "
                                 "in an earlier operand")
            if size.get(c, 1) == 1:
                size[c] = n
    dt = operands[0]._data.dtype
    for x in operands[1:]:
        dt = _dtype.promote(dt, x._data.dtype)
    prepared, prepared_subs = [], []
    for s, x in zip(subs, operands):
        if x._data.dtype != dt:
            x = x.type(dt)
        if len(set(s)) != len(s):
            # a repeated subscript takes the diagonal: index every dim with its label's arange
            uniq = "".join(dict.fromkeys(s))
            grid = []
            for c in s:
                shape1 = [1] * len(uniq)
                shape1[uniq.index(c)] = -1
                grid.append(np.arange(x.shape[s.index(c)]).reshape(shape1))
            x, s = ops.GetItem.apply(x, index=tuple(grid)), uniq
        squeeze_at = [k for k, c in enumerate(s) if x.shape[k] == 1 and size[c] != 1]
        if squeeze_at:
            x = reshape(x, tuple(n for k, n in enumerate(x.shape) if k not in squeeze_at))
            s = "".join(c for k, c in enumerate(s) if k not in squeeze_at)
        prepared.append(x)
        prepared_subs.append(s)
    missing = [c for c in out if not builtins.any(c in s for s in prepared_subs)]
    if missing:
        # an output dim of size 1 that every operand broadcast: add it back at the end
        res = einsum(",".join(prepared_subs) + "->" + "".join(c for c in out if c not in missing), *prepared)
        return reshape(res, tuple(size[c] for c in out))
    return ops.Einsum.apply(*prepared, subs=tuple(prepared_subs), out=out)


# ---- Tensor methods -----------------------------------------------------------------------------
def _numpy_keywords(fn):
    """Accept NumPy's axis= for dim= and keepdims= for keepdim=, as PyTorch does."""
    params = inspect.signature(fn).parameters
    has_dim, has_keepdim = "dim" in params, "keepdim" in params
    if not (has_dim or has_keepdim):
        return fn

    @functools.wraps(fn)
    def with_aliases(*args, **kwargs):
        if kwargs:
            for alias, name, ok in (("axis", "dim", has_dim), ("keepdims", "keepdim", has_keepdim)):
                if ok and alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {name}= and its alias {alias}=")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return with_aliases


_METHODS = [
    add, sub, mul, div, pow, exp, log, log1p, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid, erf, relu, abs,
    square, reciprocal, exp2, log2, log10, clamp, maximum, minimum, masked_fill, sign, floor, ceil,
    round, trunc, isnan, isinf, isfinite, logical_not, logical_and, logical_or, eq, ne, lt, le, gt, ge,
    equal, allclose, isclose,
    sinh, cosh, asinh, acosh, atanh, asin, acos, atan, atan2, expm1, logaddexp, hypot, lerp, addcmul, addcdiv,
    fmod, remainder, nan_to_num, clamp_min, clamp_max, sgn, frac,
    sum, mean, max, min, amax, amin, argmax, argmin, var, std, logsumexp, norm, prod, all, any, cumsum,
    cumprod, nonzero, sort, argsort, msort, topk, unique,
    reshape, view, view_as, reshape_as, flatten, unflatten, squeeze, unsqueeze, permute, transpose,
    t, expand, expand_as, broadcast_to, repeat, repeat_interleave, split, chunk, unbind, narrow, select, flip,
    fliplr, flipud, roll, movedim, swapdims, diagonal, diag, diag_embed, trace, clone,
    index_select, gather, take_along_dim, scatter, scatter_add, scatter_reduce, index_add, index_copy, index_fill,
    masked_fill_, scatter_, scatter_add_, scatter_reduce_, index_add_, index_copy_, index_fill_,
    tril, triu, matmul, mm, bmm, dot, outer, softmax, log_softmax,
]
# wrapped once here, so mlseries.sum(x, axis=0) and x.sum(axis=0) both work
for _name, _value in list(globals().items()):
    if callable(_value) and getattr(_value, "__module__", None) == __name__ and not _name.startswith("_") \
            and inspect.isfunction(_value):
        globals()[_name] = _numpy_keywords(_value)
_METHODS = [globals()[f.__name__] for f in _METHODS]
for _f in _METHODS:
    setattr(Tensor, _f.__name__, _f)
# methods under a second name (their __name__ is the first one's)
absolute = abs
for _alias in ("clip", "swapaxes", "moveaxis", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
               "arctan2", "absolute"):
    setattr(Tensor, _alias, globals()[_alias])
Tensor.neg = neg
Tensor.divide = div
Tensor.multiply = mul
Tensor.subtract = sub
Tensor.negative = neg
Tensor.T = property(lambda self: permute(self, *reversed(range(self.ndim))) if self.ndim > 1 else self)
Tensor.mT = property(lambda self: transpose(self, -2, -1))


def _where_method(self, condition, other):
    return where(condition, self, other)


Tensor.where = _where_method


__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "rsqrt",
    "square",
    "reciprocal",
    "exp2",
    "log2",
    "log10",
    "tan",
    "clamp",
    "maximum",
    "minimum",
    "where",
    "masked_fill",
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "logical_and",
    "logical_or",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "equal",
    "allclose",
    "isclose",
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "var",
    "std",
    "logsumexp",
    "norm",
    "prod",
    "all",
    "any",
    "cumsum",
    "nonzero",
    "unique",
    "sort",
    "argsort",
    "topk",
    "reshape",
    "view",
    "view_as",
    "reshape_as",
    "flatten",
    "unflatten",
    "squeeze",
    "unsqueeze",
    "permute",
    "transpose",
    "t",
    "expand",
    "expand_as",
    "broadcast_to",
    "repeat",
    "cat",
    "stack",
    "split",
    "chunk",
    "unbind",
    "narrow",
    "select",
    "flip",
    "index_select",
    "gather",
    "tril",
    "triu",
    "pad",
    "matmul",
    "mm",
    "bmm",
    "dot",
    "outer",
    "softmax",
    "log_softmax",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "erf",
    "relu",
    "abs",
    "clip",
    "swapaxes",
    "concat",
    "cumprod",
    "msort",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "asin",
    "acos",
    "atan",
    "atan2",
    "arcsinh",
    "arccosh",
    "arctanh",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "absolute",
    "expm1",
    "logaddexp",
    "hypot",
    "lerp",
    "addcmul",
    "addcdiv",
    "fmod",
    "remainder",
    "nan_to_num",
    "clamp_min",
    "clamp_max",
    "sgn",
    "frac",
    "take_along_dim",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_add",
    "index_copy",
    "index_fill",
    "clone",
    "swapdims",
    "movedim",
    "moveaxis",
    "repeat_interleave",
    "roll",
    "meshgrid",
    "fliplr",
    "flipud",
    "diagonal",
    "diag",
    "diag_embed",
    "trace",
    "einsum",
    "concatenate",
]

# Distances (cdist, dist, cosine_similarity, pairwise_distance) live in their own file.
from ._distance import cdist, cosine_similarity, dist, pairwise_distance  # noqa: E402
__all__ += ["cdist", "dist", "cosine_similarity", "pairwise_distance"]
