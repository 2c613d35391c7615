"""The public operations, as functions (`mlseries.exp(x)`) and as Tensor methods (`x.exp()`).

Each normalises its arguments the way PyTorch does (dim, keepdim, *shape or a tuple, negative
dims) and calls a primitive from `_ops.py`, or composes primitives; no calculus here.
"""
import builtins
import collections
import math

import numpy as np

from . import _dtype
from . import _ops as ops
from ._tensor import Tensor, _binary, _float_pair, _operands, _compare

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
        raise ValueError(f"where: shapes {tuple(cond.shape)}, {tuple(a.shape)} and {tuple(b.shape)} "
                         "cannot be broadcast together") from None


def masked_fill(input, mask, value):
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: the mask must be a bool tensor, got {m.dtype}")
    val = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, dtype=input._data.dtype))
    return where(Tensor._make(m), val.type(input._data.dtype), input)


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


def prod(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._make(np.asarray(np.prod(input._data)))
    return Tensor._make(np.prod(input._data, axis=_dim1(dim, input.ndim), keepdims=keepdim))


def all(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._make(np.asarray(np.all(input._data, axis=_dims(dim, input.ndim), keepdims=keepdim)))


def any(input, dim=None, keepdim=False):  # noqa: A001
    return Tensor._make(np.asarray(np.any(input._data, axis=_dims(dim, input.ndim), keepdims=keepdim)))


def cumsum(input, dim):
    # cumsum is a matrix product with a triangular matrix of ones, so its gradient is the reverse cumsum
    d = _dim1(dim, input.ndim)
    n = input.shape[d]
    tri = Tensor._make(np.triu(np.ones((n, n), dtype=input._data.dtype)))
    moved = transpose(input, d, -1)
    return transpose(matmul(moved, tri), d, -1)


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


def sort(input, dim=-1, descending=False):
    d = _dim1(dim, input.ndim)
    idx = np.argsort(-input._data if descending else input._data, axis=d, kind="stable")
    return collections.namedtuple("sort", ["values", "indices"])(ops.Gather.apply(input, dim=d, index=idx),
                                                                 Tensor._make(idx.astype(np.int64)))


def argsort(input, dim=-1, descending=False):
    return sort(input, dim, descending).indices


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    d = _dim1(dim, input.ndim)
    idx = np.argsort(-input._data if largest else input._data, axis=d, kind="stable")
    idx = np.take(idx, np.arange(k), axis=d)
    return collections.namedtuple("topk", ["values", "indices"])(ops.Gather.apply(input, dim=d, index=idx),
                                                                 Tensor._make(idx.astype(np.int64)))


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
        raise ValueError(f"permute: got {len(dims)} dims for a tensor with {input.ndim} dimensions")
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
    tensors = [x if x._data.dtype == dt else x.type(dt) for x in tensors]
    return ops.Cat.apply(*tensors, dim=_dim1(dim, tensors[0].ndim))


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {tuple(x.shape) for x in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def split(input, split_size_or_sections, dim=0):
    d = _dim1(dim, input.ndim)
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} do not add up to the dimension's size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(input, d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks, dim=0):
    n = input.shape[_dim1(dim, input.ndim)]
    return split(input, -(-n // chunks), dim)


def unbind(input, dim=0):
    d = _dim1(dim, input.ndim)
    return tuple(select(input, d, i) for i in range(input.shape[d]))


def narrow(input, dim, start, length):
    d = _dim1(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, start + length),)]


def select(input, dim, index):
    d = _dim1(dim, input.ndim)
    return input[(slice(None),) * d + (index,)]


def flip(input, dims):
    return ops.Flip.apply(input, dims=_dims(dims, input.ndim))


def index_select(input, dim, index):
    d = _dim1(dim, input.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    return ops.GetItem.apply(input, index=(slice(None),) * d + (idx.astype(np.int64),))


def gather(input, dim, index):
    d = _dim1(dim, input.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim != input.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dimensions but the input has {input.ndim}")
    if idx.shape != input.shape:
        # PyTorch allows a smaller index outside `dim`: gather from the matching corner.
        corner = tuple(slice(None) if i == d else slice(0, s) for i, s in enumerate(idx.shape))
        input = input[corner]
    return ops.Gather.apply(input, dim=d, index=idx)


def tril(input, diagonal=0):
    return input * Tensor._make(np.tril(np.ones(input.shape[-2:], dtype=input._data.dtype), diagonal))


def triu(input, diagonal=0):
    return input * Tensor._make(np.triu(np.ones(input.shape[-2:], dtype=input._data.dtype), diagonal))


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
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align ({a.shape[0]} ≠ {b.shape[0]})")
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


# ---- Tensor methods -----------------------------------------------------------------------------
_METHODS = [
    add, sub, mul, div, pow, exp, log, log1p, sqrt, rsqrt, sin, cos, tan, tanh, sigmoid, erf, relu, abs,
    square, reciprocal, exp2, log2, log10, clamp, clip, maximum, minimum, masked_fill, sign, floor, ceil,
    round, trunc, isnan, isinf, isfinite, logical_not, logical_and, logical_or, eq, ne, lt, le, gt, ge,
    equal, allclose, isclose,
    sum, mean, max, min, amax, amin, argmax, argmin, var, std, logsumexp, norm, prod, all, any, cumsum,
    nonzero, sort, argsort, topk, unique,
    reshape, view, view_as, reshape_as, flatten, unflatten, squeeze, unsqueeze, permute, transpose,
    swapaxes, t, expand, expand_as, broadcast_to, repeat, split, chunk, unbind, narrow, select, flip,
    index_select, gather, tril, triu, matmul, mm, bmm, dot, outer, softmax, log_softmax,
]
for _f in _METHODS:
    setattr(Tensor, _f.__name__, _f)
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
]
