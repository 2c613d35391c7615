"""More of PyTorch's tensor functions: stacking helpers, diff, tensordot, kron, cross, rot90,
block_diag, the add-a-product family (addmm, baddbmm, ...), masked_select, take, index tuples,
erfinv and a few integer and elementwise functions.

Everything differentiable is composed from existing Tensor operations (whose rules live in
`_ops.py`), except erfinv, which has no composite. Statistics and searches are in
`_functions_stats.py`, Tensor memory and in-place methods in `_tensor_methods_more.py`; this
module gathers their exports and attaches the methods.
"""
import builtins
import itertools
import math

import numpy as np
from scipy import special as _special

from . import _dtype
from . import _ops as ops
from ._functions import (_dim1, _float, _numpy_keywords, _operands, abs, cat, clone, cumprod, exp, expand, flip,
                         index_select, matmul, meshgrid, narrow, pad, permute, reshape, stack, sum,
                         transpose, where)
from ._functions_stats import *  # noqa: F401,F403
from ._functions_stats import METHODS as _STATS_METHODS
from ._functions_stats import __all__ as _stats_all
from ._tensor import Function, ShapeError, Tensor


def _tensors_arg(name, tensors):
    """f(a, b, c) or f([a, b, c]) -> a list of tensors."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected tensors, got {type(t).__name__}")
    return tensors


def _promoted(tensors):
    dt = tensors[0]._data.dtype
    for x in tensors[1:]:
        dt = _dtype.promote(dt, x._data.dtype)
    return [x if x._data.dtype == dt else x.type(dt) for x in tensors]


# ---- dimensions and stacking ----------------------------------------------------------------------
def _atleast(nd, name, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    out = []
    for t in _tensors_arg(name, tensors):
        if t.ndim >= nd:
            out.append(t)
        elif nd == 3 and t.ndim == 2:
            out.append(reshape(t, tuple(t.shape) + (1,)))                  # (m, n) -> (m, n, 1)
        elif nd == 3 and t.ndim == 1:
            out.append(reshape(t, (1, t.shape[0], 1)))                     # (n,) -> (1, n, 1)
        else:
            out.append(reshape(t, (1,) * (nd - t.ndim) + tuple(t.shape)))  # leading ones
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d one becomes shape (1,))."""
    return _atleast(1, "atleast_1d", tensors)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions: (n,) becomes (1, n)."""
    return _atleast(2, "atleast_2d", tensors)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast(3, "atleast_3d", tensors)


def _as_list(x):
    return list(x) if isinstance(x, tuple) else [x]


def hstack(tensors):
    """Concatenate along the second dimension (the first for 1-D tensors)."""
    ts = _as_list(atleast_1d(_tensors_arg("hstack", (tensors,))))
    return cat(ts, 0 if builtins.all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors):
    """Concatenate along the first dimension, 1-D tensors as rows."""
    return cat(_as_list(atleast_2d(_tensors_arg("vstack", (tensors,)))), 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate along the third dimension (depth)."""
    return cat(_as_list(atleast_3d(_tensors_arg("dstack", (tensors,)))), 2)


def column_stack(tensors):
    """1-D (and 0-d) tensors as columns, beside 2-D ones."""
    ts = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in _tensors_arg("column_stack", (tensors,))]
    return cat(ts, 1)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views; gradients sum back)."""
    ts = _tensors_arg("broadcast_tensors", tensors)
    try:
        shape = np.broadcast_shapes(*[tuple(t.shape) for t in ts])
    except ValueError:
        raise ValueError("broadcast_tensors: shapes " + ", ".join(str(tuple(t.shape)) for t in ts)
                         + " cannot be broadcast together") from None
    return tuple(expand(t, shape) for t in ts)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim (x[i+1] − x[i]), after prepend/append are joined on;
    bool tensors give x[i+1] != x[i], as PyTorch."""
    if input.ndim == 0:
        raise ValueError("diff: the input must have at least one dimension")
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    d = _dim1(dim, input.ndim)
    parts = []
    for extra, where_ in ((prepend, "prepend"), (None, None), (append, "append")):
        if where_ is None:
            parts.append(input)
        elif extra is not None:
            e = extra if isinstance(extra, Tensor) else Tensor._make(np.asarray(extra, input._data.dtype))
            if e.ndim == 0:  # a number: one slice of it along dim
                e = expand(e, tuple(1 if i == d else s for i, s in enumerate(input.shape)))
            if e.ndim != input.ndim:
                raise ValueError(f"diff: {where_} must have the input's number of dimensions ({input.ndim}), "
                                 f"got shape {tuple(e.shape)}")
            parts.append(e)
    x = cat(_promoted(parts), d) if len(parts) > 1 else input
    for _ in range(int(n)):
        m = x.shape[d]
        if m == 0:
            break
        a, b = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = Tensor._make(a._data != b._data) if x._data.dtype == np.bool_ else a - b
    return x


# ---- products -----------------------------------------------------------------------------------
def tensordot(a, b, dims=2, out=None):
    """Sum over the last `dims` dimensions of a and the first of b, or over the listed pairs:
    dims=([1, 0], [0, 1]) contracts a's 1 with b's 0 and a's 0 with b's 1."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        k = int(dims)
        if k < 0:
            raise ValueError(f"tensordot: dims must be non-negative, got {k}")
        if k > builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: cannot contract {k} dimensions of tensors of shapes {tuple(a.shape)} "
                             f"and {tuple(b.shape)}")
        da, db = list(range(a.ndim - k, a.ndim)), list(range(k))
    else:
        if len(dims) != 2:
            raise ValueError(f"tensordot: dims must be an int or a pair of lists, got {dims!r}")
        da, db = ([x] if isinstance(x, (int, np.integer)) else list(x) for x in dims)
        if len(da) != len(db):
            raise ValueError(f"tensordot: both lists of dims must have the same length, got {da} and {db}")
        da = [_dim1(x, a.ndim) for x in da]
        db = [_dim1(x, b.ndim) for x in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: contracted dimension {i} of a (size {a.shape[i]}) does not match "
                             f"dimension {j} of b (size {b.shape[j]})")
    a, b = _operands(a, b, "tensordot")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    ka = int(np.prod([a.shape[i] for i in da]))
    a2 = reshape(permute(a, free_a + da), (-1, ka))                         # (free a, contracted)
    b2 = reshape(permute(b, db + free_b), (ka, -1))                         # (contracted, free b)
    res = reshape(matmul(a2, b2), tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))
    if out is not None:
        out.copy_(res)
        return out
    return res


def kron(input, other):
    """The Kronecker product: each element of input times all of other, laid out in blocks."""
    a, b = _operands(input, other, "kron")
    nd = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # interleave: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...), multiply, merge pairs
    prod = reshape(a, tuple(v for s in sa for v in (s, 1))) * reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(prod, tuple(x * y for x, y in zip(sa, sb)))


def cross(input, other, dim=None):
    """The cross product of 3-vectors along dim (by default the first dimension of size 3)."""
    a, b = _operands(input, other, "cross")
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise ShapeError(f"cross: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together") from None
    if dim is None:
        sizes3 = [i for i, s in enumerate(shape) if s == 3]
        if not sizes3:
            raise ValueError(f"cross: no dimension of size 3 in shape {tuple(shape)}")
        d = sizes3[0]
    else:
        d = _dim1(dim, len(shape))
    if shape[d] != 3:
        raise ValueError(f"cross: dimension {dim} must have size 3, got {shape[d]} (shape {tuple(shape)})")
    a, b = expand(a, shape), expand(b, shape)
    a0, a1, a2 = (narrow(a, d, i, 1) for i in range(3))
    b0, b1, b2 = (narrow(b, d, i, 1) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90° k times in the plane of dims, from the first towards the second."""
    dims = list(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must name two dimensions, got {dims}")
    if input.ndim < 2:
        raise ValueError(f"rot90: the input must have at least 2 dimensions, got shape {tuple(input.shape)}")
    d0, d1 = _dim1(dims[0], input.ndim), _dim1(dims[1], input.ndim)
    if d0 == d1:
        raise ValueError(f"rot90: the two dims must differ, got {dims}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)


def cartesian_prod(*tensors):
    """All tuples (a_i, b_j, ...) of the 1-D inputs, one per row, in lexicographic order."""
    ts = _tensors_arg("cartesian_prod", tensors)
    for t in ts:
        if t.ndim != 1:
            raise ValueError(f"cartesian_prod: expects 1-D tensors, got shape {tuple(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*_promoted(ts), indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """All r-element combinations of a 1-D tensor's elements, one per row (itertools' order)."""
    if input.ndim != 1:
        raise ValueError(f"combinations: expects a 1-D tensor, got shape {tuple(input.shape)}")
    if r < 0:
        raise ValueError(f"combinations: r must be non-negative, got {r}")
    if r == 0:
        return Tensor._make(np.empty(0, input._data.dtype))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return reshape(index_select(input, 0, idx.reshape(-1)), (idx.shape[0], r))


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) as blocks along the diagonal of a zero matrix."""
    ts = _tensors_arg("block_diag", tensors)
    if not ts:
        return Tensor._make(np.zeros((1, 0), np.float32))
    mats = []
    for t in ts:
        if t.ndim > 2:
            raise ValueError(f"block_diag: tensors must have at most 2 dimensions, got shape {tuple(t.shape)}")
        mats.append(reshape(t, (1, 1)) if t.ndim == 0 else reshape(t, (1, -1)) if t.ndim == 1 else t)
    mats = _promoted(mats)
    width = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(pad(m, (left, width - left - m.shape[1])))
        left += m.shape[1]
    return cat(rows, 0)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of a 1-D x: columns x^(N−1), ..., x, 1 (reversed with increasing)."""
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D, got shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise ValueError(f"vander: N must be non-negative, got {n}")
    if x._data.dtype.kind in "bu" or x._data.dtype.kind == "i":
        x = x.type(np.int64)
    if n == 0:
        return Tensor._make(np.empty((x.shape[0], 0), x._data.dtype))
    ones = Tensor._make(np.ones((x.shape[0], 1), x._data.dtype))
    # running products keep the gradient exact at x = 0 (x ** 0 would not)
    cols = cumprod(cat([ones, expand(reshape(x, (-1, 1)), (x.shape[0], n - 1))], 1), 1) if n > 1 else ones
    return cols if increasing else flip(cols, 1)


def _check_dims(name, **shapes):
    for label, (t, nd) in shapes.items():
        if t.ndim != nd:
            raise ValueError(f"{name}: {label} must be {nd}-D, got shape {tuple(t.shape)}")


def _beta_alpha(input, prod, beta, alpha):
    """beta·input + alpha·prod; with beta = 0 input is ignored (NaN in it does not spread)."""
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(prod.shape))
    except ValueError:
        raise ShapeError(f"the input of shape {tuple(input.shape)} cannot be broadcast to the product's shape "
                         f"{tuple(prod.shape)}") from None
    scaled = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return scaled if tuple(scaled.shape) == tuple(np.broadcast_shapes(tuple(input.shape), tuple(prod.shape))) \
            else expand(scaled, np.broadcast_shapes(tuple(input.shape), tuple(prod.shape)))
    return (input if beta == 1 else input * beta) + scaled


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta·input + alpha·(mat1 @ mat2), input broadcast to the product's shape."""
    _check_dims("addmm", mat1=(mat1, 2), mat2=(mat2, 2))
    return _out(_beta_alpha(input, matmul(mat1, mat2), beta, alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta·input + alpha·(mat @ vec)."""
    _check_dims("addmv", mat=(mat, 2), vec=(vec, 1))
    return _out(_beta_alpha(input, matmul(mat, vec), beta, alpha), out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta·input + alpha·Σ_b batch1[b] @ batch2[b]."""
    _check_dims("addbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    return _out(_beta_alpha(input, sum(matmul(batch1, batch2), 0), beta, alpha), out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta·input + alpha·(batch1 @ batch2), batch by batch."""
    _check_dims("baddbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    return _out(_beta_alpha(input, matmul(batch1, batch2), beta, alpha), out)


def _out(result, out):
    if out is None:
        return result
    out.copy_(result)
    return out


# ---- selecting ----------------------------------------------------------------------------------
def masked_select(input, mask):
    """The elements of input where mask is True, as a 1-D tensor (the two broadcast together)."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_select: the mask must be a bool tensor (e.g. x > 0), got {m.dtype}")
    try:
        shape = np.broadcast_shapes(tuple(input.shape), m.shape)
    except ValueError:
        raise ShapeError(f"masked_select: the mask of shape {tuple(m.shape)} cannot be broadcast with the "
                         f"input's shape {tuple(input.shape)}") from None
    x = expand(input, shape)
    return ops.GetItem.apply(x, index=np.broadcast_to(m, shape))


def take(input, index):
    """input treated as 1-D, read at `index` (negative counts from the end); index's shape."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: the index must be an integer tensor (int64), got {idx.dtype}")
    n = input.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < -n else int(idx.max())
        raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements")
    return ops.GetItem.apply(reshape(input, -1), index=(np.where(idx < 0, idx + n, idx).astype(np.int64),))


def _tri_indices(name, row, col, offset, dtype, upper):
    if row < 0 or col < 0:
        raise ValueError(f"{name}: row and col must be non-negative, got {row} and {col}")
    keep = np.tri(row, col, offset - 1 if upper else offset, dtype=bool)
    r, c = np.nonzero(~keep if upper else keep)
    return Tensor._make(np.stack([r, c]).astype(_dtype.to_np(dtype)))


def triu_indices(row, col, offset=0, *, dtype=_dtype.int64, device=None, layout=None):
    """(2, N): the row and column indices of the upper triangle of a row × col matrix."""
    return _tri_indices("triu_indices", row, col, offset, dtype, True)


def tril_indices(row, col, offset=0, *, dtype=_dtype.int64, device=None, layout=None):
    """(2, N): the row and column indices of the lower triangle of a row × col matrix."""
    return _tri_indices("tril_indices", row, col, offset, dtype, False)


# ---- elementwise ---------------------------------------------------------------------------------
class Erfinv(Function):
    save_output = True

    def forward(self, a):
        return _special.erfinv(a).astype(a.dtype, copy=False)

    def backward(self, g):
        # d erfinv(x)/dx = (√π / 2) · exp(erfinv(x)²)
        y = self.output
        return (g * (exp(y * y) * (math.sqrt(math.pi) / 2)),)


def erfinv(input):
    """The inverse of erf on (−1, 1) (±inf at ±1, NaN outside)."""
    return Erfinv.apply(_float(input))


def _integer_pair(name, input, other):
    a, b = _operands(input, other, name)
    if a._data.dtype.kind not in "iub" or a._data.dtype == np.bool_:
        raise TypeError(f"{name}: expects integer tensors, got {a.dtype}")
    return a._data, b._data


def gcd(input, other):
    """The greatest common divisor, elementwise (non-negative; gcd(0, 0) = 0)."""
    return Tensor._make(np.gcd(*_integer_pair("gcd", input, other)))


def lcm(input, other):
    """The least common multiple, elementwise (non-negative)."""
    return Tensor._make(np.lcm(*_integer_pair("lcm", input, other)))


def heaviside(input, values):
    """0 where input < 0, 1 where input > 0, `values` where input == 0. Not differentiable."""
    a, v = _operands(input, values, "heaviside")
    return Tensor._make(np.heaviside(a._data, v._data).astype(a._data.dtype, copy=False))


def polar(abs, angle):  # noqa: A002
    raise NotImplementedError("polar: mlseries has no complex numbers; keep the real part abs * cos(angle) "
                              "and the imaginary part abs * sin(angle) as two real tensors")


def renorm(input, p, dim, maxnorm):
    """Each slice along dim whose p-norm exceeds maxnorm scaled down to norm maxnorm."""
    if p <= 0:
        raise ValueError(f"renorm: p must be positive, got {p}")
    if maxnorm < 0:
        raise ValueError(f"renorm: maxnorm must be non-negative, got {maxnorm}")
    x = _float(input)
    d = _dim1(dim, x.ndim)
    others = tuple(i for i in range(x.ndim) if i != d)
    norms = sum(abs(x) ** p, others, keepdim=True) ** (1.0 / p)
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), Tensor._make(np.ones((), x._data.dtype)))
    return x * scale


# ---- exports and Tensor methods ---------------------------------------------------------------------
__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "broadcast_tensors", "diff", "tensordot", "kron", "cross", "rot90", "cartesian_prod", "combinations",
           "block_diag", "vander", "addmm", "addmv", "addbmm", "baddbmm", "masked_select", "take", "triu_indices",
           "tril_indices", "erfinv", "gcd", "lcm", "heaviside", "polar", "renorm"] + list(_stats_all)

for _name in __all__:
    globals()[_name] = _numpy_keywords(globals()[_name])  # dim= also as axis=, keepdim= as keepdims=
for _f in [masked_select, take, diff, kron, cross, rot90, erfinv, addmm, addmv, addbmm, baddbmm, gcd, lcm,
           heaviside, renorm] + _STATS_METHODS:
    setattr(Tensor, _f.__name__, globals()[_f.__name__])
del _f, _name

from ._tensor_methods_more import _inplace_of  # noqa: E402  (memory layout, in-place and random methods)
for _f in (erfinv, addmm, addmv, addbmm, baddbmm, renorm, gcd, lcm, heaviside):
    setattr(Tensor, _f.__name__ + "_", _inplace_of(_f))
del _f
