"""Every differentiable primitive and its derivative, in one file (tinygrad's derivative table is the model).

Each class has `forward(*arrays, **params) -> array` and `backward(grad) -> one gradient per
input` (None where an input needs none). Backward rules are written with Tensor operations so
that, under `create_graph=True`, the gradient is itself differentiable (second derivatives,
WGAN-GP, MAML). Composite operations (var, logsumexp, cross-entropy, ...) live in
`_functions.py` and `nn/functional.py` and get their gradients from these.

Broadcasting is undone by `sum_to`: the gradient of an input that was broadcast is summed back
to the input's shape.
"""
import numpy as np
from scipy import special as _special

from . import _parallel
from ._tensor import Function, ShapeError, Tensor, check_integer_divisor


def _const(array):
    return Tensor._make(array)


def sum_to(g, shape):
    """Sum a gradient back to `shape` after broadcasting (DeZero's sum_to)."""
    gshape = g._data.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    out = Sum.apply(g, dim=axes, keepdim=True)
    if lead:
        out = Reshape.apply(out, shape=shape)
    return out


def _broadcast_error(name, a, b):
    return ShapeError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together")


class _Binary(Function):
    __slots__ = ()
    ufunc = None

    def forward(self, a, b):
        try:
            return self.ufunc(a, b)
        except ValueError:
            raise _broadcast_error(type(self).__name__.lower(), a, b) from None


# ---- elementwise arithmetic -------------------------------------------------------------------
class Add(_Binary):
    uses_input_values = False
    ufunc = np.add

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(g, a._data.shape) if na else None, sum_to(g, b._data.shape) if nb else None)


class Sub(_Binary):
    uses_input_values = False
    ufunc = np.subtract

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(g, a._data.shape) if na else None, sum_to(-g, b._data.shape) if nb else None)


class Mul(_Binary):
    ufunc = np.multiply

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(g * b, a._data.shape) if na else None, sum_to(g * a, b._data.shape) if nb else None)


class Div(_Binary):
    ufunc = np.true_divide

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(g / b, a._data.shape) if na else None
        gb = sum_to(-g * a / (b * b), b._data.shape) if nb else None
        return ga, gb


class Neg(Function):
    uses_input_values = False
    def forward(self, a):
        return np.negative(a)

    def backward(self, g):
        return (-g,)


class Pow(_Binary):
    """Tensor ** Tensor."""
    ufunc = np.power

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(g * b * a ** (b - 1), a._data.shape) if na else None
        gb = None
        if nb:
            # d(a^b)/db = a^b log a; where a == 0 the limit is 0 for b > 0 (PyTorch's choice too).
            safe = Where.apply(a, _const(np.ones((), a._data.dtype)), cond=a._data > 0)
            gb = sum_to(Where.apply(g * a ** b * Log.apply(safe), _const(np.zeros((), g._data.dtype)),
                                    cond=a._data > 0), b._data.shape)
        return ga, gb


class PowScalar(Function):
    """Tensor ** number."""

    def forward(self, a, exponent):
        self.exponent = exponent
        if exponent == 2:
            return a * a
        return np.power(a, a.dtype.type(exponent)) if a.dtype.kind == "f" else np.power(a, exponent)

    def backward(self, g):
        (a,) = self.inputs
        p = self.exponent
        if p == 0:
            return (g * 0.0,)
        if p == 2:
            return (g * a * 2.0,)
        if p == 1:
            return (g,)
        return (g * PowScalar.apply(a, exponent=p - 1) * float(p),)


class Exp(Function):
    save_output = True

    def forward(self, a):
        return np.exp(a)

    def backward(self, g):
        return (g * self.output,)


class Log(Function):
    def forward(self, a):
        return np.log(a)

    def backward(self, g):
        return (g / self.inputs[0],)


class Log1p(Function):
    def forward(self, a):
        return np.log1p(a)

    def backward(self, g):
        return (g / (self.inputs[0] + 1.0),)


class Sqrt(Function):
    save_output = True

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, g):
        return (g / (self.output * 2.0),)


class Sin(Function):
    def forward(self, a):
        return np.sin(a)

    def backward(self, g):
        return (g * Cos.apply(self.inputs[0]),)


class Cos(Function):
    def forward(self, a):
        return np.cos(a)

    def backward(self, g):
        return (-g * Sin.apply(self.inputs[0]),)


class Tanh(Function):
    save_output = True

    def forward(self, a):
        return np.tanh(a)

    def backward(self, g):
        y = self.output
        return (g * (1.0 - y * y),)


class Sigmoid(Function):
    save_output = True

    def forward(self, a):
        # exp of a negative number only, so large |a| neither overflows nor warns
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)

    def backward(self, g):
        y = self.output
        return (g * y * (1.0 - y),)


class Erf(Function):
    def forward(self, a):
        return _special.erf(a).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.inputs
        return (g * Exp.apply(-(a * a)) * (2.0 / np.sqrt(np.pi)),)


class Relu(Function):
    def forward(self, a):
        # large activations (a conv layer's) are split between idle cores; empty_like keeps
        # the memory order, so a channels-last result stays channels-last
        return _parallel.elementwise(np.maximum, np.empty_like(a), a, 0)

    def backward(self, g):
        # where(x > 0, g, 0) selects without turning the mask into floats first
        x = self.inputs[0]._data
        cond = _parallel.elementwise(np.greater, np.empty_like(x, dtype=bool), x, 0)
        return (Where.apply(g, _const(np.zeros((), g._data.dtype)), cond=cond),)


class Abs(Function):
    def forward(self, a):
        return np.abs(a)

    def backward(self, g):
        return (g * _const(np.sign(self.inputs[0]._data)),)


class Clamp(Function):
    def forward(self, a, min=None, max=None):
        self.bounds = (min, max)
        return np.clip(a, min, max)

    def backward(self, g):
        x = self.inputs[0]._data
        lo, hi = self.bounds
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        return (g * _const(mask),)


class Maximum(_Binary):
    ufunc = np.maximum

    def backward(self, g):
        return _select_backward(self, g, np.greater)


class Minimum(_Binary):
    ufunc = np.minimum

    def backward(self, g):
        return _select_backward(self, g, np.less)


def _select_backward(fn, g, better):
    # The chosen input gets the gradient; on a tie each gets half (as PyTorch does).
    a, b = fn.inputs
    na, nb = fn.needs_input_grad
    wins = better(a._data, b._data)
    ties = a._data == b._data
    dt = g._data.dtype
    wa = wins.astype(dt) + ties.astype(dt) * 0.5
    ga = sum_to(g * _const(wa), a._data.shape) if na else None
    gb = sum_to(g * _const(1.0 - wa), b._data.shape) if nb else None
    return ga, gb


_BITS = {4: np.int32, 8: np.int64}


def _select(cond, a, b):
    """np.where(cond, a, b) without branches. np.where branches per element, so a mask that is
    half true at random (ReLU's) runs ~15x slower than a multiply. For floats, pick the bits
    instead: (a & m) | (b & ~m) with m all ones where cond holds — exact for every value
    (inf, NaN, -0.0), and in the memory order of the inputs. Large selections are split between
    idle cores along the first axis."""
    dt = a.dtype
    if dt != b.dtype or dt.kind != "f" or dt.itemsize not in _BITS or np.ndim(cond) == 0 or cond.size < 4096:
        return np.where(cond, a, b)  # small: branches cost nothing
    full = a if a.ndim else b
    if full.shape == cond.shape and (a.ndim == 0 or b.ndim == 0 or a.shape == b.shape):
        out = np.empty_like(full)  # the inputs' memory order
        return _parallel.elementwise(lambda c, x, y, out: _select_bits(c, x, y, out), out, cond, a, b)
    return _select_bits(cond, a, b)  # a or the mask broadcasts


def _select_bits(cond, a, b, out=None):
    dt = a.dtype
    it = _BITS[dt.itemsize]
    o = None if out is None else out.view(it)
    m = cond.astype(it)
    np.negative(m, out=m)  # 1 -> all bits set
    if b.ndim == 0 and not b.view(it):  # b is +0.0: keep a where cond, zero bits elsewhere
        res = np.bitwise_and(a.view(it), m, out=o)
    elif a.ndim == 0 and not a.view(it):
        res = np.bitwise_and(b.view(it), np.invert(m, out=m), out=o)
    else:
        picked_a = np.bitwise_and(a.view(it), m)
        picked_b = np.bitwise_and(b.view(it), np.invert(m, out=m))
        if o is None and picked_a.shape == np.broadcast_shapes(picked_a.shape, picked_b.shape):
            o = picked_a
        res = np.bitwise_or(picked_a, picked_b, out=o)  # a (or the mask) may broadcast up to b's shape
    return res.view(dt)


class Where(Function):
    """where(cond, a, b); cond is a boolean array, not differentiated."""

    def forward(self, a, b, cond):
        self.cond = cond
        return _select(cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        zero = _const(np.zeros((), g._data.dtype))
        ga = sum_to(Where.apply(g, zero, cond=self.cond), a._data.shape) if na else None
        gb = sum_to(Where.apply(zero, g, cond=self.cond), b._data.shape) if nb else None
        return ga, gb


class Cast(Function):
    uses_input_values = False
    def forward(self, a, dtype):
        return a.astype(dtype)

    def backward(self, g):
        src = self.inputs[0]._data.dtype
        return (Cast.apply(g, dtype=src) if src.kind == "f" else None,)


class Alias(Function):
    """The same array under a new node: where autograd.partial_grads stops its walk."""
    uses_input_values = False
    is_view = True

    def forward(self, a):
        return a

    def backward(self, g):
        return (g,)


class Clone(Function):
    uses_input_values = False
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


# ---- reductions -------------------------------------------------------------------------------
def _keepdim_shape(shape, dim):
    if dim is None:
        return (1,) * len(shape)
    dims = {d % len(shape) for d in dim} if len(shape) else set()
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


_BLAS_SUM_MIN = 1 << 16  # below this a reduction is too small for the matrix-vector product to pay


def _sum_outer(a, dim, keepdim):
    """a.sum(dim) as one matrix-vector product, ones @ M, when the summed axes are the outer ones
    in memory and the kept axes a C-ordered block inside them, so that M is a (summed, kept) view
    of `a` without a copy — a bias gradient over (N, H, W) of a channels-last image gradient, or
    over the rows of a matrix. NumPy adds such rows one at a time; BLAS is about 8× faster there
    (64 × 32 × 28 × 28 float32: 0.65 → 0.08 ms) and, summing in blocks, more accurate. None when
    the layout does not allow it."""
    if a.dtype not in (np.float32, np.float64) or a.size < _BLAS_SUM_MIN or dim is None:
        return None
    axes = sorted({d % a.ndim for d in ((dim,) if isinstance(dim, int) else dim)})
    kept = [d for d in range(a.ndim) if d not in axes]
    if not axes or not kept:
        return None
    k = int(np.prod([a.shape[d] for d in kept]))
    stride = a.itemsize
    for d in reversed(kept):  # the kept axes: C-contiguous among themselves, innermost in memory
        if a.shape[d] != 1 and a.strides[d] != stride:
            return None
        stride *= a.shape[d]
    stride = k * a.itemsize
    for d in sorted(axes, key=lambda d: a.strides[d]):  # the summed ones: one uniform row stride
        if a.shape[d] != 1 and a.strides[d] != stride:
            return None
        stride *= a.shape[d]
    rows = a.size // k
    m = np.lib.stride_tricks.as_strided(a, (rows, k), (k * a.itemsize, a.itemsize), writeable=False)
    out = np.ones(rows, a.dtype) @ m  # (k,)
    shape = [1 if d in axes else a.shape[d] for d in range(a.ndim)] if keepdim else [a.shape[d] for d in kept]
    return out.reshape(shape)


class Sum(Function):
    uses_input_values = False
    def forward(self, a, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim
        if a.dtype.kind in "bu" or (a.dtype.kind == "i" and a.dtype != np.int64):
            return np.sum(a, axis=dim, keepdims=keepdim, dtype=np.int64)
        out = _sum_outer(a, dim, keepdim)
        return np.sum(a, axis=dim, keepdims=keepdim) if out is None else out

    def backward(self, g):
        shape = self.inputs[0]._data.shape
        if not self.keepdim:
            g = Reshape.apply(g, shape=_keepdim_shape(shape, self.dim))
        return (Expand.apply(g, shape=shape),)


class Mean(Function):
    uses_input_values = False
    def forward(self, a, dim=None, keepdim=False):
        if a.dtype.kind != "f":
            raise TypeError(f"mean(): input dtype must be floating point, got {a.dtype}; use .float() first")
        self.dim, self.keepdim = dim, keepdim
        out = np.mean(a, axis=dim, keepdims=keepdim)
        return out.astype(a.dtype, copy=False) if isinstance(out, np.ndarray) else np.asarray(out, a.dtype)

    def backward(self, g):
        shape = self.inputs[0]._data.shape
        kshape = _keepdim_shape(shape, self.dim)
        n = int(np.prod(shape)) // int(np.prod(kshape)) if shape else 1
        if not self.keepdim:
            g = Reshape.apply(g, shape=kshape)
        return (Expand.apply(g, shape=shape) * (1.0 / n),)


class Amax(Function):
    """max/min over dims returning values only; ties share the gradient equally (torch.amax)."""

    def forward(self, a, dim=None, keepdim=False, largest=True):
        self.dim, self.keepdim = dim, keepdim
        red = np.max if largest else np.min
        out = red(a, axis=dim, keepdims=True)
        self.mask = a == out
        return out if keepdim else (out.reshape(()) if dim is None else np.squeeze(out, axis=dim))

    def backward(self, g):
        shape = self.inputs[0]._data.shape
        if not self.keepdim:
            g = Reshape.apply(g, shape=_keepdim_shape(shape, self.dim))
        m = self.mask
        weight = m / m.sum(axis=self.dim, keepdims=True)
        return (Expand.apply(g, shape=shape) * _const(weight.astype(g._data.dtype)),)


# ---- shape ------------------------------------------------------------------------------------
class Reshape(Function):
    uses_input_values = False
    is_view = True
    def forward(self, a, shape):
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: shape {tuple(shape)} is invalid for a tensor of shape "
                             f"{tuple(a.shape)} ({a.size} elements)") from None

    def backward(self, g):
        return (Reshape.apply(g, shape=self.inputs[0]._data.shape),)


class Permute(Function):
    uses_input_values = False
    is_view = True
    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return (Permute.apply(g, dims=tuple(np.argsort(self.dims))),)


class Expand(Function):
    uses_input_values = False
    is_view = True
    def forward(self, a, shape):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"expand: the tensor of shape {tuple(a.shape)} cannot be expanded to {tuple(shape)}") from None

    def backward(self, g):
        return (sum_to(g, self.inputs[0]._data.shape),)


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype != np.bool_:
            return False
    return True


class GetItem(Function):
    uses_input_values = False
    is_view = True
    def forward(self, a, index):
        self.index = index
        try:
            out = a[index]
        except IndexError as e:
            raise IndexError(f"index into a tensor of shape {tuple(a.shape)}: {e}") from None
        return out if isinstance(out, np.ndarray) else np.asarray(out)

    def backward(self, g):
        return (IndexAddZeros.apply(g, shape=self.inputs[0]._data.shape, index=self.index),)


class IndexAddZeros(Function):
    uses_input_values = False
    """zeros(shape) with g added at `index` (duplicates accumulate): the adjoint of indexing."""

    def forward(self, g, shape, index):
        self.index = index
        return _index_add_zeros(g, shape, index)

    def backward(self, gg):
        return (GetItem.apply(gg, index=self.index),)


class SetItem(Function):
    uses_input_values = False
    """A copy of `base` with `value` written at `index` (out of place underneath `x[i] = v`)."""

    def forward(self, base, value, index):
        self.index = index
        out = base.copy()
        out[index] = value
        return out

    def backward(self, g):
        base, value = self.inputs
        nb, nv = self.needs_input_grad
        gb = SetItem.apply(g, _const(np.zeros((), g._data.dtype)), index=self.index) if nb else None
        gv = sum_to(GetItem.apply(g, index=self.index), value._data.shape) if nv else None
        return gb, gv


class Cat(Function):
    uses_input_values = False
    def forward(self, *arrays, dim):
        self.dim = dim
        try:
            return np.concatenate(arrays, axis=dim)
        except ValueError:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ShapeError(f"cat: tensors must have the same shape except in dimension {dim}; got {shapes}") from None

    def backward(self, g):
        grads, start = [], 0
        nd = g._data.ndim
        dim = self.dim % nd
        for t, need in zip(self.inputs, self.needs_input_grad):
            n = t._data.shape[dim]
            if need:
                idx = (slice(None),) * dim + (slice(start, start + n),)
                grads.append(GetItem.apply(g, index=idx))
            else:
                grads.append(None)
            start += n
        return tuple(grads)


class Flip(Function):
    uses_input_values = False
    is_view = True
    def forward(self, a, dims):
        self.dims = dims
        return np.flip(a, axis=dims)

    def backward(self, g):
        return (Flip.apply(g, dims=self.dims),)


class ConstantPad(Function):
    uses_input_values = False
    """Pad with a constant; `widths` is NumPy's ((before, after), ...) per dimension."""

    def forward(self, a, widths, value=0.0):
        self.widths = widths
        return np.pad(a, widths, mode="constant", constant_values=value)

    def backward(self, g):
        shape = g._data.shape
        idx = tuple(slice(b, shape[i] - e) for i, (b, e) in enumerate(self.widths))
        return (GetItem.apply(g, index=idx),)


class Gather(Function):
    uses_input_values = False
    def forward(self, a, dim, index):
        self.dim, self.index = dim, index
        return np.take_along_axis(a, index, axis=dim)

    def backward(self, g):
        return (ScatterAdd.apply(g, dim=self.dim, index=self.index, shape=self.inputs[0]._data.shape),)


class ScatterAdd(Function):
    uses_input_values = False
    """zeros(shape).scatter_add_(dim, index, src): the adjoint of gather."""

    def forward(self, src, dim, index, shape):
        self.dim, self.index = dim, index
        return _scatter_add_zeros(src, dim, index, shape)

    def backward(self, gg):
        return (_gather_corner(gg, self.dim, self.index),)


# ---- scatter-adds: the adjoints of indexing, gather and embedding -------------------------------
# np.add.at with whole rows (out[idx] += g) is slow. Rows are summed instead by a sparse
# (rows x N) matrix with one entry per column times the (N, D) gradient, which scipy does in one
# compiled pass. Measured for 64x50 indices into a 5000x128 table: np.add.at 2.6 ms, sort +
# np.add.reduceat 1.8 ms, np.bincount on flat positions 0.9 ms, the sparse product 0.11 ms
# (PyTorch's whole forward + backward: 0.43 ms). Single elements (gather's adjoint) go through
# np.add.at on flat positions, which NumPy 2 runs fast: 0.85 ms for 3200 elements into
# 3200x5000, where np.bincount (a float64 array of the full size) took 7.7 ms.
def _add_rows(n_rows, rows, values, weights=None):
    """(n_rows, D) zeros with values[k] * weights[k] added to row rows[k]; values is (N, D),
    rows holds N row numbers in [0, n_rows)."""
    n = rows.shape[0]
    if values.dtype.kind not in "fiu" or n == 0 or values.shape[1] == 0:
        out = np.zeros((n_rows, values.shape[1]), dtype=values.dtype)
        if n:
            np.add.at(out, rows, values if weights is None else values * weights[:, None])
        return out
    from scipy import sparse
    data = np.ones(n, dtype=values.dtype) if weights is None else weights.astype(values.dtype, copy=False)
    # column k holds one entry, at row rows[k]: CSC needs no sorting for that
    m = sparse.csc_matrix((data, rows, np.arange(n + 1)), shape=(n_rows, n))
    out = m @ values
    return out if out.dtype == values.dtype else out.astype(values.dtype)


def _scatter_add_flat(size, positions, values):
    """A flat array of `size` zeros with values added at positions (duplicates accumulate)."""
    out = np.zeros(size, dtype=values.dtype)
    np.add.at(out, positions.reshape(-1), values.reshape(-1))
    return out


def _single_array_axis(index, ndim):
    """(axis, array) when `index` is one integer array along one axis with full slices elsewhere
    (x[idx], x[:, idx], x[..., idx]: index_select, embedding rows); otherwise None."""
    items = index if isinstance(index, tuple) else (index,)
    arrays = [k for k, i in enumerate(items) if isinstance(i, np.ndarray) and i.dtype != np.bool_]
    if len(arrays) != 1:
        return None
    k = arrays[0]
    rest = items[:k] + items[k + 1:]
    if any(not (i is Ellipsis or (isinstance(i, slice) and i == slice(None))) for i in rest):
        return None
    if Ellipsis in items[:k]:
        if Ellipsis in items[k + 1:]:
            return None
        axis = ndim - (len(items) - k)
    else:
        axis = k
    return axis, items[k]


def _index_add_zeros(g, shape, index):
    out_dtype = g.dtype
    if _is_basic(index) or all(not isinstance(i, np.ndarray) or i.dtype == np.bool_
                               for i in (index if isinstance(index, tuple) else (index,))):
        # slices and boolean masks never pick an element twice: plain assignment
        out = np.zeros(shape, dtype=out_dtype)
        out[index] = g
        return out
    single = _single_array_axis(index, len(shape))
    if single is None:
        out = np.zeros(shape, dtype=out_dtype)
        np.add.at(out, index, g)
        return out
    axis, idx = single
    n = shape[axis]
    rows = idx.reshape(-1)
    if rows.size and rows.min() < 0:
        rows = np.where(rows < 0, rows + n, rows)
    pre, post = shape[:axis], shape[axis + 1:]
    npre, npost = int(np.prod(pre)), int(np.prod(post))
    if axis == 0:
        return _add_rows(n, rows, g.reshape(rows.size, npost)).reshape(shape)
    # bring the indexed axis to the front, sum rows, and put it back
    g3 = g.reshape(npre, rows.size, npost).transpose(1, 0, 2).reshape(rows.size, npre * npost)
    out = _add_rows(n, rows, g3).reshape(n, npre, npost).transpose(1, 0, 2)
    return np.ascontiguousarray(out).reshape(shape)


def _scatter_positions(dim, index, shape):
    """Flat positions in an array of `shape` that scatter/gather along `dim` with `index` touch."""
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    pos = index.astype(np.int64, copy=False) * strides[dim]
    for d in range(index.ndim):
        if d != dim:
            ar = np.arange(index.shape[d], dtype=np.int64) * strides[d]
            pos = pos + ar.reshape((-1,) + (1,) * (index.ndim - 1 - d))
    return pos


def _scatter_add_zeros(src, dim, index, shape):
    pos = _scatter_positions(dim, index, shape)
    return _scatter_add_flat(int(np.prod(shape)), pos, src).reshape(shape)


# ---- linear algebra ---------------------------------------------------------------------------
def _mT(t):
    nd = t._data.ndim
    return Permute.apply(t, dims=tuple(range(nd - 2)) + (nd - 1, nd - 2))


class MatMul(Function):
    """Batched matrix product of tensors with at least two dimensions (1-D cases are reshaped
    by `matmul` in _functions.py)."""

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align "
                             f"({a.shape[-1]} ≠ {b.shape[-2]})")
        if a.ndim == 2 and b.ndim == 2:
            return _parallel.matmul(a, b)  # large products: rows split between idle cores
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                             "cannot be broadcast together") from None

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(MatMul.apply(g, _mT(b)), a._data.shape) if na else None
        gb = sum_to(MatMul.apply(_mT(a), g), b._data.shape) if nb else None
        return ga, gb


class Linear(Function):
    """y = x @ W.T + b in one node, flattening leading dimensions into one matrix product."""

    def forward(self, x, w, b=None):
        if x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: input of shape {tuple(x.shape)} has {x.shape[-1]} features "
                             f"but the weight of shape {tuple(w.shape)} expects {w.shape[1]}")
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        y = _parallel.matmul(x2, w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim != 2 else y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        needs = self.needs_input_grad
        nd = x._data.ndim
        g2 = g if nd == 2 else Reshape.apply(g, shape=(-1, g._data.shape[-1]))
        gx = gw = gb = None
        if needs[0]:
            gx = MatMul.apply(g2, w)
            if nd != 2:
                gx = Reshape.apply(gx, shape=x._data.shape)
        if needs[1]:
            x2 = x if nd == 2 else Reshape.apply(x, shape=(-1, x._data.shape[-1]))
            gw = MatMul.apply(_mT(g2), x2)
        if len(needs) > 2 and needs[2]:
            gb = Sum.apply(g2, dim=(0,))
        return (gx, gw, gb) if len(needs) > 2 else (gx, gw)


# ---- normalised exponentials ------------------------------------------------------------------
class Softmax(Function):
    save_output = True

    def forward(self, a, dim):
        self.dim = dim
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    def backward(self, g):
        y = self.output
        return (y * (g - Sum.apply(g * y, dim=self.dim, keepdim=True)),)


class LogSoftmax(Function):
    save_output = True

    def forward(self, a, dim):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return shifted

    def backward(self, g):
        y = self.output
        return (g - Exp.apply(y) * Sum.apply(g, dim=self.dim, keepdim=True),)


# ---- more elementwise functions ---------------------------------------------------------------
class Sinh(Function):
    def forward(self, a):
        return np.sinh(a)

    def backward(self, g):
        return (g * Cosh.apply(self.inputs[0]),)


class Cosh(Function):
    def forward(self, a):
        return np.cosh(a)

    def backward(self, g):
        return (g * Sinh.apply(self.inputs[0]),)


class Asinh(Function):
    def forward(self, a):
        return np.arcsinh(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g / Sqrt.apply(x * x + 1.0),)


class Acosh(Function):
    def forward(self, a):
        return np.arccosh(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g / Sqrt.apply(x * x - 1.0),)


class Atanh(Function):
    def forward(self, a):
        return np.arctanh(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g / (1.0 - x * x),)


class Asin(Function):
    def forward(self, a):
        return np.arcsin(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g / Sqrt.apply(1.0 - x * x),)


class Acos(Function):
    def forward(self, a):
        return np.arccos(a)

    def backward(self, g):
        x = self.inputs[0]
        return (-g / Sqrt.apply(1.0 - x * x),)


class Atan(Function):
    def forward(self, a):
        return np.arctan(a)

    def backward(self, g):
        x = self.inputs[0]
        return (g / (x * x + 1.0),)


class Atan2(_Binary):
    """atan2(a, b): the angle of the point (b, a)."""
    ufunc = np.arctan2

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        r2 = a * a + b * b
        ga = sum_to(g * b / r2, a._data.shape) if na else None
        gb = sum_to(-g * a / r2, b._data.shape) if nb else None
        return ga, gb


class Expm1(Function):
    save_output = True

    def forward(self, a):
        return np.expm1(a)

    def backward(self, g):
        return (g * (self.output + 1.0),)


class _Modulo(_Binary):
    """a − b·q with q = a/b rounded (toward zero for fmod, down for remainder); q is piecewise
    constant, so d/da = 1 and d/db = −q."""

    def forward(self, a, b):
        check_integer_divisor(type(self).__name__.lower(), a, b)
        return super().forward(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(g, a._data.shape) if na else None
        gb = None
        if nb:
            q = self.rounding(a._data / b._data).astype(g._data.dtype)
            gb = sum_to(g * _const(-q), b._data.shape)
        return ga, gb


class Fmod(_Modulo):
    ufunc = np.fmod
    rounding = staticmethod(np.trunc)


class Remainder(_Modulo):
    ufunc = np.remainder
    rounding = staticmethod(np.floor)


# ---- cumulative sums and products -------------------------------------------------------------
class Cumsum(Function):
    uses_input_values = False

    def forward(self, a, dim):
        self.dim = dim
        if a.dtype.kind in "biu" and a.dtype != np.int64:
            return np.cumsum(a, axis=dim, dtype=np.int64)
        return np.cumsum(a, axis=dim)

    def backward(self, g):
        # each input adds into every later output, so its gradient is the reversed cumulative sum
        d = (self.dim,)
        return (Flip.apply(Cumsum.apply(Flip.apply(g, dims=d), dim=self.dim), dims=d),)


class Cumprod(Function):
    save_output = True

    def forward(self, a, dim):
        self.dim = dim
        if a.dtype.kind in "biu" and a.dtype != np.int64:
            return np.cumprod(a, axis=dim, dtype=np.int64)
        return np.cumprod(a, axis=dim)

    def backward(self, g):
        # d y_j / d x_i = y_j / x_i for j >= i. Dividing fails at zeros, so each row is split at
        # its first zero z: before z the quotient is exact; at z the gradient is the reversed
        # cumsum of g times the products with x_z left out; after z it is zero.
        (x,) = self.inputs
        dim, d = self.dim, (self.dim,)
        xa = x._data
        zeros = xa == 0
        seen = np.cumsum(zeros, axis=dim)
        before = seen == 0

        def rev_cumsum(t):
            return Flip.apply(Cumsum.apply(Flip.apply(t, dims=d), dim=dim), dims=d)

        zero = _const(np.zeros((), g._data.dtype))
        one = _const(np.ones((), xa.dtype))
        if before.all():
            return (rev_cumsum(g * self.output) / x,)
        safe_x = Where.apply(x, one, cond=before)
        grad = Where.apply(rev_cumsum(g * self.output) / safe_x, zero, cond=before)
        first = zeros & (seen == 1)
        without_zero = Cumprod.apply(Where.apply(one, x, cond=first), dim=dim)
        return (grad + Where.apply(rev_cumsum(g * without_zero), zero, cond=first),)


# ---- diagonals --------------------------------------------------------------------------------
def _diagonal_index(shape, offset, dim1, dim2):
    """Row and column numbers of the `offset` diagonal of the (dim1, dim2) planes."""
    n1, n2 = shape[dim1], shape[dim2]
    if offset >= 0:
        n = max(0, min(n1, n2 - offset))
        rows = np.arange(n)
        return rows, rows + offset
    n = max(0, min(n1 + offset, n2))
    cols = np.arange(n)
    return cols - offset, cols


class Diagonal(Function):
    """The `offset` diagonal of the planes (dim1, dim2), as a new last dimension (a copy)."""
    uses_input_values = False

    def forward(self, a, offset, dim1, dim2):
        self.params = (offset, dim1, dim2)
        rows, cols = _diagonal_index(a.shape, offset, dim1, dim2)
        return np.moveaxis(a, (dim1, dim2), (-2, -1))[..., rows, cols]

    def backward(self, g):
        return (DiagonalScatter.apply(g, shape=self.inputs[0]._data.shape, params=self.params),)


class DiagonalScatter(Function):
    """zeros(shape) with `src` written on a diagonal: the adjoint of Diagonal (and diag(v))."""
    uses_input_values = False

    def forward(self, src, shape, params):
        self.params = params
        offset, dim1, dim2 = params
        out = np.zeros(shape, dtype=src.dtype)
        rows, cols = _diagonal_index(shape, offset, dim1, dim2)
        np.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = src
        return out

    def backward(self, gg):
        offset, dim1, dim2 = self.params
        return (Diagonal.apply(gg, offset=offset, dim1=dim1, dim2=dim2),)


# ---- einsum -----------------------------------------------------------------------------------
def _contract2(a, la, b, lb, out):
    """einsum of two operands with distinct labels each, as one batched matrix product (the
    shape PyTorch uses too): NumPy's einsum does not use BLAS when batch labels are present."""
    for x_labels, y_labels, which in ((la, lb, 0), (lb, la, 1)):
        lone = [c for c in x_labels if c not in y_labels and c not in out]
        if lone:  # only here and not wanted: sum it out first
            axes = tuple(x_labels.index(c) for c in lone)
            if which == 0:
                a, la = a.sum(axis=axes), "".join(c for c in la if c not in lone)
            else:
                b, lb = b.sum(axis=axes), "".join(c for c in lb if c not in lone)
    size = {c: n for c, n in zip(la, a.shape)}
    size.update(zip(lb, b.shape))
    batch = [c for c in out if c in la and c in lb]
    summed = [c for c in la if c in lb and c not in out]
    keep_a = [c for c in la if c not in lb]
    keep_b = [c for c in lb if c not in la]

    def prod(labels):
        return int(np.prod([size[c] for c in labels])) if labels else 1

    A = a.transpose([la.index(c) for c in batch + keep_a + summed]).reshape(prod(batch), prod(keep_a), prod(summed))
    B = b.transpose([lb.index(c) for c in batch + summed + keep_b]).reshape(prod(batch), prod(summed), prod(keep_b))
    C = np.matmul(A, B).reshape([size[c] for c in batch + keep_a + keep_b])
    got = batch + keep_a + keep_b
    return C.transpose([got.index(c) for c in out])


class Einsum(Function):
    """einsum over operands whose labels are distinct within each operand and agree in size
    (`mlseries.einsum` takes diagonals and squeezes broadcast dimensions first). The gradient
    of an operand is an einsum of the output gradient with the other operands."""

    def forward(self, *arrays, subs, out):
        self.subs, self.out = subs, out
        if len(arrays) == 2:
            return _contract2(arrays[0], subs[0], arrays[1], subs[1], out)
        res = np.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2)
        if len(arrays) == 1 and np.may_share_memory(res, arrays[0]):
            res = res.copy()  # a transpose comes back as a view of the input
        return np.asarray(res)

    def backward(self, g):
        subs, out = self.subs, self.out
        grads = []
        for i, (t, need) in enumerate(zip(self.inputs, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            others = [x for j, x in enumerate(self.inputs) if j != i]
            other_subs = [s for j, s in enumerate(subs) if j != i]
            seen = set(out).union(*other_subs)
            keep = "".join(c for c in subs[i] if c in seen)
            gi = Einsum.apply(g, *others, subs=(out, *other_subs), out=keep)
            if keep != subs[i]:
                # labels summed away inside this operand alone: their gradient is broadcast
                shape1 = tuple(n if c in seen else 1 for c, n in zip(subs[i], t._data.shape))
                gi = Expand.apply(Reshape.apply(gi, shape=shape1), shape=t._data.shape)
            grads.append(gi)
        return tuple(grads)


# ---- scatter ----------------------------------------------------------------------------------
def _take_corner(a, dim, index):
    """The array form of _gather_corner."""
    corner = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
    return np.take_along_axis(a[corner], index, axis=dim)


def _gather_corner(t, dim, index):
    """gather from a tensor that may be larger than `index` outside `dim` (PyTorch allows it)."""
    shape = t._data.shape
    if any(n != s for d, (n, s) in enumerate(zip(index.shape, shape)) if d != dim):
        t = GetItem.apply(t, index=tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape)))
    return Gather.apply(t, dim=dim, index=index)


class Scatter(Function):
    """A copy of `base` with `src` (0-d, or shaped like index) written where `index` points
    along `dim` (torch.scatter)."""
    uses_input_values = False

    def forward(self, base, src, dim, index):
        self.dim, self.index = dim, index
        out = base.copy()
        pos = _scatter_positions(dim, index, base.shape)
        out.reshape(-1)[pos.reshape(-1)] = np.broadcast_to(src, index.shape).reshape(-1)
        return out

    def backward(self, g):
        base, src = self.inputs
        nb, ns = self.needs_input_grad
        gb = gs = None
        if nb:
            gb = Scatter.apply(g, _const(np.zeros((), g._data.dtype)), dim=self.dim, index=self.index)
        if ns:
            gs = sum_to(_gather_corner(g, self.dim, self.index), src._data.shape)
        return gb, gs


_SCATTER_REDUCE = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum, "mean": np.add}


def _reduce_identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


class ScatterReduce(Function):
    """torch.scatter_reduce: `src` (shaped like index) reduced into a copy of `base` along `dim`
    at `index` ('sum', 'prod', 'mean', 'amax', 'amin'), with or without base's own values."""

    def forward(self, base, src, dim, index, reduce, include_self):
        self.dim, self.index, self.reduce, self.include_self = dim, index, reduce, include_self
        pos = _scatter_positions(dim, index, base.shape).reshape(-1)
        self.pos = pos
        vals = src.reshape(-1)
        flat = base.copy().reshape(-1)
        if not include_self:
            flat[pos] = _reduce_identity(reduce, base.dtype)
        _SCATTER_REDUCE[reduce].at(flat, pos, vals)
        if reduce == "mean":
            count = np.bincount(pos, minlength=flat.size) + (1 if include_self else 0)
            self.count = np.maximum(count, 1)
            if flat.dtype.kind == "f":
                flat /= self.count
            else:
                flat //= self.count  # PyTorch floors integer means
        return flat.reshape(base.shape)

    def backward(self, g):
        base, src = self.inputs
        nb, ns = self.needs_input_grad
        dim, index, reduce = self.dim, self.index, self.reduce
        shape = base._data.shape
        dt = g._data.dtype
        # base's own values count where include_self, or where nothing was scattered
        own = np.ones(base._data.size, dtype=bool)
        if not self.include_self:
            own[self.pos] = False
        own = own.reshape(shape)
        src_c = src._data
        zero = _const(np.zeros((), dt))

        def gather(t):
            return _gather_corner(t, dim, index)

        if reduce == "sum":
            gb = Where.apply(g, zero, cond=own) if nb else None
            gs = gather(g) if ns else None
            return gb, gs
        if reduce == "mean":
            gc = g / _const(self.count.reshape(shape).astype(dt))
            gb = Where.apply(gc, zero, cond=own) if nb else None
            gs = gather(gc) if ns else None
            return gb, gs
        # the output, computed again rather than saved: sum and mean do not need it, and a saved
        # output would refuse later in-place edits of the result for them too
        y = ScatterReduce.apply(base, src, dim=dim, index=index, reduce=reduce, include_self=self.include_self)
        out = y._data
        if reduce in ("amax", "amin"):
            # ties share the gradient equally, base's own value included (as PyTorch)
            hit_base = own & (base._data == out)
            hit_src = src_c == _take_corner(out, dim, index)
            ties = hit_base.astype(dt).reshape(-1)
            ties += _scatter_add_flat(ties.size, self.pos, hit_src.astype(dt))
            ties = np.maximum(ties, 1).reshape(shape)
            gt = g / _const(ties)
            gb = gt * _const(hit_base.astype(dt)) if nb else None
            gs = gather(gt) * _const(hit_src.astype(dt)) if ns else None
            return gb, gs
        # prod: d out / d x = out / x where no factor is zero (in Tensor operations, so it is
        # differentiable again); with zeros, the product of the other factors (first order only)
        if not (base._data[own] == 0).any() and not (src_c == 0).any():
            gy = g * y
            gb = Where.apply(gy / base, zero, cond=own) if nb else None
            gs = gather(gy) / src if ns else None
            return gb, gs
        flat_n = base._data.size
        zb = (own & (base._data == 0)).reshape(-1)
        nz = zb.astype(np.int64) + np.bincount(self.pos, weights=(src_c == 0).reshape(-1), minlength=flat_n).astype(np.int64)
        nonzero = np.where(own, np.where(base._data == 0, 1, base._data), 1).reshape(-1).astype(dt)
        np.multiply.at(nonzero, self.pos, np.where(src_c == 0, 1, src_c).reshape(-1).astype(dt))
        nz, nonzero = nz.reshape(shape), nonzero.reshape(shape)

        def weight(x, nz_at, prod_at):
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(x == 0, np.where(nz_at == 1, prod_at, 0), np.where(nz_at == 0, prod_at / np.where(x == 0, 1, x), 0))

        gb = gs = None
        if nb:
            gb = g * _const((weight(base._data, nz, nonzero) * own).astype(dt))
        if ns:
            w = weight(src_c, _take_corner(nz, dim, index), _take_corner(nonzero, dim, index))
            gs = gather(g) * _const(w.astype(dt))
        return gb, gs


# ---- embedding --------------------------------------------------------------------------------
def _embedding_weights(rows, n_rows, padding_idx, scale_grad_by_freq, dtype):
    """Per-index factors of the embedding gradient: 0 at padding_idx, 1/count with scaling."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    w = np.ones(rows.shape[0], dtype=dtype)
    if scale_grad_by_freq:
        w /= np.bincount(rows, minlength=n_rows)[rows]
    if padding_idx is not None:
        w[rows == padding_idx] = 0
    return w


class Embedding(Function):
    """weight[indices] (rows of a table); the gradient adds rows back, skipping padding_idx and
    dividing by each index's count in the batch with scale_grad_by_freq."""
    uses_input_values = False

    def forward(self, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        self.indices, self.padding_idx, self.scale = indices, padding_idx, scale_grad_by_freq
        return weight.take(indices, axis=0)

    def backward(self, g):
        w = self.inputs[0]
        return (EmbeddingBackward.apply(g, indices=self.indices, n_rows=w._data.shape[0],
                                        padding_idx=self.padding_idx, scale_grad_by_freq=self.scale),)


class EmbeddingBackward(Function):
    uses_input_values = False

    def forward(self, g, indices, n_rows, padding_idx, scale_grad_by_freq):
        self.indices, self.padding_idx, self.scale = indices, padding_idx, scale_grad_by_freq
        rows = indices.reshape(-1)
        tail = g.shape[indices.ndim:]
        self.factors = _embedding_weights(rows, n_rows, padding_idx, scale_grad_by_freq, g.dtype)
        out = _add_rows(n_rows, rows, g.reshape(rows.size, int(np.prod(tail))), self.factors)
        return out.reshape((n_rows,) + tail)

    def backward(self, gg):
        # Linear in g, so its adjoint picks the rows again, the padding row zeroed. The 1/count
        # factors are left out: the lookup's own backward (the next node on the way to the
        # weight) divides by the counts again, and with both the result would no longer be the
        # derivative of the first gradient (checked by finite differences; PyTorch agrees).
        picked = Embedding.apply(gg, indices=self.indices)
        if self.padding_idx is not None:
            keep = (self.indices != self.padding_idx).astype(gg._data.dtype)
            picked = picked * _const(keep.reshape(self.indices.shape + (1,) * (gg._data.ndim - 1)))
        return (picked,)
