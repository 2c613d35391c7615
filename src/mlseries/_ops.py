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

from ._tensor import Function, Tensor


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
    return ValueError(f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together")


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
        return np.maximum(a, 0)

    def backward(self, g):
        # where(x > 0, g, 0) selects without turning the mask into floats first
        return (Where.apply(g, _const(np.zeros((), g._data.dtype)), cond=self.inputs[0]._data > 0),)


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
    (inf, NaN, -0.0), and in the memory order of the inputs."""
    dt = a.dtype
    if dt != b.dtype or dt.kind != "f" or dt.itemsize not in _BITS or np.ndim(cond) == 0 or cond.size < 4096:
        return np.where(cond, a, b)  # small: branches cost nothing
    it = _BITS[dt.itemsize]
    m = cond.astype(it)
    np.negative(m, out=m)  # 1 -> all bits set
    if b.ndim == 0 and not b.view(it):  # b is +0.0: keep a where cond, zero bits elsewhere
        out = np.bitwise_and(a.view(it), m)
    elif a.ndim == 0 and not a.view(it):
        out = np.bitwise_and(b.view(it), np.invert(m, out=m))
    else:
        out = np.bitwise_and(a.view(it), m)
        out |= np.bitwise_and(b.view(it), np.invert(m, out=m))
    return out.view(dt)


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


class Sum(Function):
    uses_input_values = False
    def forward(self, a, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim
        if a.dtype.kind in "bu" or (a.dtype.kind == "i" and a.dtype != np.int64):
            return np.sum(a, axis=dim, keepdims=keepdim, dtype=np.int64)
        return np.sum(a, axis=dim, keepdims=keepdim)

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
            raise ValueError(f"reshape: shape {tuple(shape)} is invalid for a tensor of shape "
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
            raise ValueError(f"cat: tensors must have the same shape except in dimension {dim}; got {shapes}") from None

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
        return (Gather.apply(gg, dim=self.dim, index=self.index),)


# ---- scatter-adds: the adjoints of indexing, gather and embedding -------------------------------
# np.add.at is the obvious tool and a slow one (an unbuffered loop over the index pairs).
# Rows are summed by a sparse (rows x N) matrix with one entry per column times the (N, D)
# gradient, which scipy does in one compiled pass; single elements by np.bincount. Measured for
# 64x50 indices into a 5000x128 table: np.add.at 2.6 ms, sort + np.add.reduceat 1.8 ms,
# np.bincount 0.9 ms, the sparse product 0.11 ms (PyTorch's whole forward + backward: 0.5 ms).
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
    positions, values = positions.reshape(-1), values.reshape(-1)
    if values.dtype.kind == "f" and positions.size:
        return np.bincount(positions, weights=values, minlength=size).astype(values.dtype, copy=False)
    out = np.zeros(size, dtype=values.dtype)
    np.add.at(out, positions, values)
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
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not align "
                             f"({a.shape[-1]} ≠ {b.shape[-2]})")
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
        y = x2 @ w.T
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
