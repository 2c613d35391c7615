"""Tensor methods PyTorch programs use beyond the operations: memory layout (stride,
is_contiguous, data_ptr, as_strided, unfold), in-place edits (index_put_, masked_scatter_,
addcmul_, put_, resize_, apply_) and in-place random fills (bernoulli_, exponential_, ...).

A tensor's memory is its NumPy array; "storage" here is the array that owns that memory (the
end of the `.base` chain), so strides and offsets are counted in elements of it, as PyTorch
counts them in its storage. In-place methods go through `_functions._write_inplace` (or
`Tensor._check_inplace`), so they bump the version counter and refuse leaves that require grad.
Random fills draw from the engine's generator (`random.py`): `manual_seed` reproduces them.
"""
import builtins
import math

import numpy as np

from . import _dtype
from . import _ops as ops
from ._functions import _write_inplace, addcdiv, addcmul, expand, lerp, reshape
from ._grad_mode import _enabled
from ._tensor import Function, ShapeError, Tensor, _as_array, _scalar
from .random import _gen


# ---- memory layout --------------------------------------------------------------------------------
def _address(a):
    return a.__array_interface__["data"][0]


def _storage(a):
    """(flat array over the memory a lies in, a's offset in it, in elements), or None when that
    memory is not one plain contiguous array of a's dtype (then a is its own storage)."""
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.dtype != a.dtype or not root.flags.c_contiguous:
        return None
    offset, rem = divmod(_address(a) - _address(root), a.itemsize)
    if rem or offset < 0 or offset >= builtins.max(root.size, 1):
        return None
    return root.reshape(-1), offset


def type_as(self, other):
    """This tensor cast to other's dtype (itself when it already has it)."""
    return self.type(other.dtype)


def is_contiguous(self, memory_format=None):
    """True when the elements lie in memory in row-major order without gaps (NumPy's flag)."""
    return builtins.bool(self._data.flags.c_contiguous)


def stride(self, dim=None):
    """The step in elements between neighbours along each dimension (0 along expanded ones)."""
    steps = tuple(s // self._data.itemsize for s in self._data.strides)
    if dim is None:
        return steps
    nd = builtins.max(self._data.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"stride: dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    return steps[dim] if self._data.ndim else 1


def storage_offset(self):
    """Where this tensor starts in the memory it shares with its base, in elements."""
    found = _storage(self._data)
    return 0 if found is None else found[1]


def data_ptr(self):
    """The address of the first element (equal for tensors that start at the same memory)."""
    return _address(self._data)


def ndimension(self):
    return self._data.ndim


class AsStrided(Function):
    """A view of the storage with the given sizes and strides. Its gradient adds each output
    element's gradient into the storage position it reads, then reads the input's positions
    back (overlapping windows add up, as in PyTorch)."""

    uses_input_values = False
    is_view = True

    def forward(self, a, size, stride, offset, flat, in_offset, in_steps):
        self.in_shape = a.shape
        itemsize = a.itemsize
        out = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=[s * itemsize for s in stride],
                                              writeable=True)
        # storage positions of every output and input element
        self.out_pos = offset + sum(np.arange(n).reshape((-1,) + (1,) * (len(size) - i - 1)) * s
                                    for i, (n, s) in enumerate(zip(size, stride))) if size else np.asarray(offset)
        self.in_pos = in_offset + sum(np.arange(n).reshape((-1,) + (1,) * (a.ndim - i - 1)) * s
                                      for i, (n, s) in enumerate(zip(a.shape, in_steps))) if a.ndim \
            else np.asarray(in_offset)
        self.n = flat.size
        return out

    def backward(self, g):
        pos = np.broadcast_to(self.out_pos, g._data.shape).reshape(-1)
        storage_grad = ops.IndexAddZeros.apply(ops.Reshape.apply(g, shape=(-1,)) if g.ndim != 1 else g,
                                               shape=(self.n,), index=(pos,))
        in_pos = np.broadcast_to(self.in_pos, self.in_shape)
        return (ops.GetItem.apply(storage_grad, index=(in_pos,)),)


def as_strided(self, size, stride, storage_offset=None):
    """A view with the given sizes and strides (in elements) over this tensor's memory, starting
    `storage_offset` elements into it (by default where this tensor starts)."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise ValueError(f"as_strided: size {size} and stride {stride} must have the same length")
    if builtins.any(s < 0 for s in size) or builtins.any(s < 0 for s in stride):
        raise ValueError(f"as_strided: sizes and strides must be non-negative, got size {size}, stride {stride}")
    found = _storage(self._data)
    if found is None:  # memory NumPy cannot describe as one flat array: a copy of this tensor's elements is it
        flat, own = np.ascontiguousarray(self._data).reshape(-1), 0
        in_steps = np.empty(self._data.shape, np.int8).strides  # row-major steps, in elements
    else:
        flat, own = found
        in_steps = tuple(s // self._data.itemsize for s in self._data.strides)
    offset = own if storage_offset is None else int(storage_offset)
    last = offset + builtins.sum((n - 1) * s for n, s in zip(size, stride)) if builtins.all(size) else offset - 1
    if offset < 0 or last >= flat.size:
        raise RuntimeError(f"as_strided: size {list(size)}, stride {list(stride)} and storage offset {offset} reach "
                           f"element {last}, outside the storage of {flat.size} elements this tensor lies in")
    return AsStrided.apply(self, size=size, stride=stride, offset=offset, flat=flat, in_offset=own, in_steps=in_steps)


class Unfold(Function):
    """Sliding windows along one dimension, as a view; the gradient adds overlapping windows."""

    uses_input_values = False
    is_view = True

    def forward(self, a, dim, size, step):
        win = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim, writeable=True)
        out = win[(slice(None),) * dim + (slice(None, None, step),)]
        # the input position (along dim) of each output element: window * step + offset
        nd = out.ndim
        starts = (np.arange(out.shape[dim]) * step).reshape((-1,) + (1,) * (nd - dim - 1))
        along = starts + np.arange(size).reshape((1,) * (nd - 1) + (-1,))
        grids = [np.arange(n).reshape((1,) * i + (-1,) + (1,) * (nd - i - 1))
                 for i, n in enumerate(out.shape[:-1])]
        grids[dim] = along
        self.index = tuple(np.broadcast_to(gi, out.shape) for gi in grids)
        self.in_shape = a.shape
        return out

    def backward(self, g):
        return (ops.IndexAddZeros.apply(g, shape=self.in_shape, index=self.index),)


def unfold(self, dimension, size, step):
    """All windows of `size` elements, `step` apart, along dimension: that dimension becomes
    the window count and a last dimension of `size` is added. A view of this tensor."""
    size, step = int(size), int(step)
    if step <= 0:
        raise ValueError(f"unfold: step must be positive, got {step}")
    if size < 0:
        raise ValueError(f"unfold: size must be non-negative, got {size}")
    if self.ndim == 0:
        if size > 1:
            raise ValueError(f"unfold: maximum size for a 0-d tensor is 1 but size is {size}")
        return reshape(self, (1,))
    nd = self.ndim
    if not -nd <= dimension < nd:
        raise IndexError(f"unfold: dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                         f"but got {dimension})")
    d = dimension % nd
    if size > self.shape[d]:
        raise ValueError(f"unfold: maximum size for the tensor at dimension {d} is {self.shape[d]} but size is {size}")
    return Unfold.apply(self, dim=d, size=size, step=step)


def _nbytes(self):
    return self._data.nbytes


def _itemsize(self):
    return self._data.itemsize


def bfloat16(self, memory_format=None):
    """Refused with the message every bfloat16 use gives: NumPy has no bfloat16 arithmetic."""
    return self.type(_dtype.bfloat16)


def storage(self):
    raise NotImplementedError("storage(): mlseries tensors are NumPy arrays with no separate storage object; "
                              "ask data_ptr(), storage_offset(), stride() or nbytes instead, or use .numpy()")


# ---- in-place and indexed writes -------------------------------------------------------------------
def _index_tuple(name, self, indices):
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise TypeError(f"{name}: indices must be a tuple of tensors (one per indexed dimension)")
    out = []
    for i in indices:
        arr = i._data if isinstance(i, Tensor) else (i if i is None or isinstance(i, slice) else np.asarray(i))
        if isinstance(arr, np.ndarray) and arr.dtype.kind not in "iub":
            raise TypeError(f"{name}: index tensors must be integer (int64) or bool, got {arr.dtype}")
        out.append(arr)
    if len(out) > self.ndim:
        raise IndexError(f"{name}: too many indices ({len(out)}) for a tensor of {self.ndim} dimensions")
    return tuple(out)


def index_put(self, indices, values, accumulate=False):
    """A copy with self[indices] = values (values broadcast); accumulate=True adds instead, and
    repeated indices then add up."""
    idx = _index_tuple("index_put", self, indices)
    if not isinstance(values, Tensor):
        values = Tensor._make(np.asarray(values, self._data.dtype))
    if values._data.dtype != self._data.dtype:
        values = values.type(self._data.dtype)
    try:
        target = np.empty(self._data.shape, np.bool_)[idx].shape
        np.broadcast_shapes(tuple(values.shape), target)
    except IndexError as e:
        raise IndexError(f"index_put: {e}") from None
    except ValueError:
        raise ShapeError(f"index_put: values of shape {tuple(values.shape)} cannot be broadcast to the indexed "
                         f"shape {target}") from None
    if accumulate:
        return self + ops.IndexAddZeros.apply(expand(values, target), shape=self._data.shape, index=idx)
    return ops.SetItem.apply(self, values, index=idx)


def index_put_(self, indices, values, accumulate=False):
    return _write_inplace(self, lambda x: index_put(x, indices, values, accumulate))


def masked_scatter(self, mask, source):
    """A copy with source's first elements (in order) written where mask is True."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_scatter: the mask must be a bool tensor, got {m.dtype}")
    try:
        shape = np.broadcast_shapes(tuple(self.shape), m.shape)
    except ValueError:
        raise ShapeError(f"masked_scatter: the mask of shape {tuple(m.shape)} cannot be broadcast with the "
                         f"tensor's shape {tuple(self.shape)}") from None
    m = np.broadcast_to(m, shape)
    k = int(m.sum())
    if k > source.numel():
        raise ValueError(f"masked_scatter: the mask selects {k} elements but source has only {source.numel()}")
    src = reshape(source.type(self._data.dtype), -1)[:k]
    base = self if tuple(self.shape) == shape else expand(self, shape)
    return ops.SetItem.apply(base, src, index=m)


def masked_scatter_(self, mask, source):
    return _write_inplace(self, lambda x: masked_scatter(x, mask, source))


def put(self, index, source, accumulate=False):
    """A copy with source written at the flat positions `index` (as if 1-D)."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    n = self.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"put: index {int(idx.max() if idx.max() >= n else idx.min())} is out of range for a "
                         f"tensor of {n} elements")
    if idx.size != source.numel():
        raise ValueError(f"put: index ({idx.size} elements) and source ({source.numel()}) must have the same size")
    flat = index_put(reshape(self, -1), (np.where(idx < 0, idx + n, idx).reshape(-1),), reshape(source, -1),
                     accumulate)
    return reshape(flat, tuple(self.shape))


def put_(self, index, source, accumulate=False):
    return _write_inplace(self, lambda x: put(x, index, source, accumulate))


def addcmul_(self, tensor1, tensor2, *, value=1):
    return _write_inplace(self, lambda x: addcmul(x, tensor1, tensor2, value=value))


def addcdiv_(self, tensor1, tensor2, *, value=1):
    return _write_inplace(self, lambda x: addcdiv(x, tensor1, tensor2, value=value))


def lerp_(self, end, weight):
    return _write_inplace(self, lambda x: lerp(x, end, weight))


def _inplace_of(fn):
    def method(self, *args, **kwargs):
        return _write_inplace(self, lambda x: fn(x, *args, **kwargs))
    method.__name__ = fn.__name__ + "_"
    return method


def apply_(self, callable):  # noqa: A002
    """Replace each element by callable(element): a Python loop on the CPU, as in PyTorch."""
    self._check_inplace()
    flat = self._data.reshape(-1)
    out = np.array([callable(v) for v in flat.tolist()], dtype=self._data.dtype).reshape(self._data.shape)
    np.copyto(self._data, out, casting="unsafe")
    self._version += 1
    return self


def map_(self, tensor, callable):  # noqa: A002
    """Replace each element x by callable(x, y), y the matching element of tensor (broadcast)."""
    self._check_inplace()
    other = np.broadcast_to(_as_array(tensor), self._data.shape)
    pairs = zip(self._data.reshape(-1).tolist(), other.reshape(-1).tolist())
    out = np.array([callable(a, b) for a, b in pairs], dtype=self._data.dtype).reshape(self._data.shape)
    np.copyto(self._data, out, casting="unsafe")
    self._version += 1
    return self


def resize_(self, *sizes, memory_format=None):
    """Give the tensor a new shape over the same memory: the same number of elements or fewer
    (the first ones, in row-major order). Growing would need new memory: refused."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    shape = tuple(int(s) for s in sizes)
    if builtins.any(s < 0 for s in shape):
        raise ValueError(f"resize_: sizes must be non-negative, got {shape}")
    if self.requires_grad and _enabled[0]:
        raise RuntimeError("resize_: cannot resize a tensor that requires grad; resize its .detach() or "
                           "use reshape")
    n = math.prod(shape)
    if n > self._data.size:
        raise RuntimeError(f"resize_: growing from {self._data.size} to {n} elements is not supported (it would "
                           "need new, uninitialised memory); make a new tensor with torch.empty/zeros")
    flat = self._data.reshape(-1)  # a view when contiguous, else a copy (then views stop sharing)
    self._data = flat[:n].reshape(shape)
    self._version += 1
    return self


def resize_as_(self, other, memory_format=None):
    return resize_(self, tuple(other.shape))


# ---- random fills ----------------------------------------------------------------------------------
def _fill_random(self, values):
    self._check_inplace()
    np.copyto(self._data, values, casting="unsafe")
    self._version += 1
    return self


def bernoulli_(self, p=0.5, *, generator=None):
    """1 with probability p (a number or a tensor broadcast to this one), else 0."""
    probs = np.broadcast_to(_as_array(p), self._data.shape)
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("bernoulli_: p must be in [0, 1]")
    return _fill_random(self, _gen(generator).random(self._data.shape) < probs)


def exponential_(self, lambd=1.0, *, generator=None):
    """Exponential draws with rate lambd (mean 1/lambd)."""
    if lambd <= 0:
        raise ValueError(f"exponential_: lambd must be positive, got {lambd}")
    return _fill_random(self, _gen(generator).exponential(1.0 / lambd, self._data.shape))


def geometric_(self, p, *, generator=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p <= 1:
        raise ValueError(f"geometric_: p must be in (0, 1], got {p}")
    return _fill_random(self, _gen(generator).geometric(p, self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Cauchy draws: median + sigma · tan(π (U − ½))."""
    if sigma <= 0:
        raise ValueError(f"cauchy_: sigma must be positive, got {sigma}")
    return _fill_random(self, median + sigma * _gen(generator).standard_cauchy(self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """exp of normal draws with the given mean and std."""
    if std <= 0:
        raise ValueError(f"log_normal_: std must be positive, got {std}")
    return _fill_random(self, _gen(generator).lognormal(mean, std, self._data.shape))


def random_(self, *args, generator=None, **kwargs):
    """Integers drawn uniformly from [from, to): random_(to), random_(from, to), or, with no
    argument, from [0, 2^mantissa] for floats and [0, max] for integers, as PyTorch."""
    low = kwargs.pop("from", None)
    high = kwargs.pop("to", None)
    if kwargs:
        raise TypeError(f"random_() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    elif len(args) > 2:
        raise TypeError(f"random_() takes at most 2 positional arguments ({len(args)} given)")
    dt = self._data.dtype
    low = 0 if low is None else int(_scalar(low))
    if high is None:
        if dt.kind == "f":
            high = 2 ** (np.finfo(dt).nmant + 1) + 1
        elif dt == np.bool_:
            high = 2
        else:
            high = int(np.iinfo(dt).max) + 1
    high = int(_scalar(high))
    if low >= high:
        raise ValueError(f"random_: expects from < to, got from={low}, to={high}")
    return _fill_random(self, _gen(generator).integers(low, high - 1, self._data.shape, dtype=np.int64, endpoint=True))

for _f in [type_as, is_contiguous, stride, storage_offset, data_ptr, ndimension, as_strided, unfold, bfloat16,
           storage, index_put, index_put_, masked_scatter, masked_scatter_, put, put_, addcmul_, addcdiv_, lerp_,
           apply_, map_, resize_, resize_as_, bernoulli_, exponential_, geometric_, cauchy_, log_normal_, random_]:
    setattr(Tensor, _f.__name__, _f)
Tensor.untyped_storage = storage
Tensor.nbytes = property(_nbytes)
Tensor.itemsize = property(_itemsize)
del _f
