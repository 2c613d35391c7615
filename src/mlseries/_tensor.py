"""The Tensor: a NumPy array plus what autograd needs (requires_grad, grad, the Function that made it).

Every differentiable operation is a `Function` subclass in `_ops.py`; the methods here only pick
the Function and normalise arguments, so all the calculus sits in one file.
"""
import builtins
import numbers
import time
import traceback
import weakref

import numpy as np

from . import _device, _dtype, _threads
from ._grad_mode import _anomaly, _enabled

_default_float = np.dtype(np.float32)
_monotonic = time.monotonic
_threads_state = _threads._state


class Function:
    """One node of the graph: `forward` works on arrays, `backward` on Tensors.

    Writing `backward` with Tensor operations (DeZero's idea) means the gradient computation is
    itself recorded when `create_graph=True`, which gives second derivatives for free.
    Subclasses set `save_output = True` to read their result in backward through `self.output`.
    """

    __slots__ = ("inputs", "parents", "needs_input_grad", "versions", "_out", "_out_version", "_retained", "__dict__")
    save_output = False
    uses_input_values = True  # False where backward needs only shapes: in-place edits are then harmless
    # True where the result may be a view of the first input's memory (reshape, permute, basic
    # indexing, expand, flip): the result then shares that input's version counter, so an
    # in-place edit through either is seen by every node that saved the values.
    is_view = False

    @classmethod
    def apply(cls, *inputs, **params):
        if _monotonic() >= _threads_state["next"]:
            _threads.adapt()  # every half second: fit BLAS threads to how busy the machine is
        fn = cls()
        out = fn.forward(*[t._data for t in inputs], **params)
        if _enabled[0]:
            needs = tuple(t.requires_grad for t in inputs)
            if True in needs:
                result = Tensor._make(out, True, fn)
                if cls.is_view:
                    _share_version(result, inputs[0])
                fn.inputs = inputs
                # The edges are taken now: `x[i] = v` later re-points x at a new node, and the
                # operations that used x before must keep flowing into the node they saw.
                fn.parents = tuple([t.grad_fn for t in inputs])
                fn.needs_input_grad = needs
                if cls.uses_input_values:
                    fn.versions = tuple([t._vc[0] for t in inputs])
                if cls.save_output:
                    fn._out = weakref.ref(result)
                    fn._out_version = result._vc[0]
                if _anomaly[0]:  # autograd.detect_anomaly(): where this node was made, for its error
                    fn._anomaly_stack = traceback.format_stack()[:-1]
                return result
        result = Tensor._make(out, False, None)
        if cls.is_view:
            _share_version(result, inputs[0])
        return result

    @property
    def output(self):
        """The Tensor this node produced (alive for as long as anything downstream of it is)."""
        return self._out()

    @property
    def name(self):
        return type(self).__name__

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


def _share_version(view, base):
    """Give `view` the version counter of `base` when its array lies in base's memory."""
    if view._data is base._data or np.may_share_memory(view._data, base._data):
        view._vc = base._vc


class FusedFunction(Function):
    """A composite operation computed as one graph node (layer norm, a recurrent layer, attention).

    Subclasses write `compute(*arrays, **params)` (the forward, on NumPy arrays),
    `backward_arrays(grad_array)` (the gradients, also on arrays: one pass of NumPy, no graph)
    and `composite(*tensors, **params)`: the same computation in Tensor operations. Ordinary
    backward passes use the array path, which is fast. Under `create_graph=True` the gradient
    is instead taken through `composite`, so that it is itself differentiable (second
    derivatives, gradient penalties) without a second hand-written derivation; the parity
    tests check that both paths agree.
    """

    __slots__ = ()

    def forward(self, *arrays, **params):
        self.params = params
        return self.compute(*arrays, **params)

    def compute(self, *arrays, **params):
        raise NotImplementedError

    def backward_arrays(self, grad):
        raise NotImplementedError

    @staticmethod
    def composite(*tensors, **params):
        raise NotImplementedError

    def backward(self, g):
        if _enabled[0]:
            from .autograd import partial_grads
            return partial_grads(type(self).composite, self.inputs, self.needs_input_grad, g, self.params)
        return tuple([None if a is None else Tensor._make(a) for a in self.backward_arrays(g._data)])


def _as_array(data, np_dtype=None):
    if isinstance(data, Tensor):
        arr = data._data
        return arr if np_dtype is None else arr.astype(np_dtype, copy=False)
    if np_dtype is None:
        if isinstance(data, np.ndarray):
            if data.dtype.kind == "f" or data.dtype.kind in "iub":
                return data
        arr = np.asarray(data)
        if arr.dtype == np.float64 and not isinstance(data, np.ndarray) and not isinstance(data, np.floating):
            # Python floats become the default float dtype, like torch.tensor([1.0]) -> float32.
            arr = arr.astype(_default_float)
        elif arr.dtype.kind in "iu" and arr.dtype != np.uint8 and not isinstance(data, (np.ndarray, np.generic)):
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "O":
            # A list of tensors or of mixed objects: build element by element.
            arr = np.asarray([_as_array(d) for d in data])
        _dtype.from_np(arr.dtype)  # refuses strings, objects, complex with a clear message
        return arr
    return np.asarray(data, dtype=np_dtype)


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    `.data` follows PyTorch: a Tensor sharing this tensor's memory, outside the graph. The raw
    NumPy array is `.numpy()` (shares memory too) and, inside the engine, `._data`.
    """

    # `_vc` is a one-element list, the version counter: bumped by every in-place change, and
    # shared by tensors that see the same memory (views, `detach()`, `.data`), as in PyTorch.
    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_vc", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # so that `ndarray * Tensor` calls Tensor.__rmul__

    def __init__(self, *args, dtype=None, requires_grad=False, device=None):
        _device.check(device, "Tensor(): ")
        if type(self) is Tensor and dtype is None:
            # `torch.Tensor(3, 4)` / `torch.Tensor([1, 2])`: PyTorch's legacy constructor, which
            # makes float tensors of the default dtype from sizes or from data.
            self._data = _legacy_array(args, _dtype.default_float.np, "Tensor")
        else:
            # Subclasses (Parameter) and an explicit dtype keep the data's or the given dtype.
            if len(args) > 1:
                raise TypeError(f"{type(self).__name__}() takes the data as its one positional argument")
            data = args[0] if args else np.empty(0, _dtype.default_float.np)
            self._data = _as_array(data, None if dtype is None else _dtype.to_np(dtype))
        self.grad = None
        self.grad_fn = None
        self._vc = [0]
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, array, requires_grad=False, grad_fn=None):
        t = object.__new__(Tensor)
        t._data = array if type(array) is np.ndarray else np.asarray(array)
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._vc = [0]
        t._retains_grad = False
        return t

    @property
    def _version(self):
        """How many times this tensor's memory was changed in place (shared with its views)."""
        return self._vc[0]

    @_version.setter
    def _version(self, value):
        self._vc[0] = value

    # ---- attributes -------------------------------------------------------------------------
    @property
    def data(self):
        # As in PyTorch, edits through `.data` are not counted (unlike `detach()`): it is the
        # untracked door that old-style update code (`p.data.add_(...)`) goes through.
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        self._data = _as_array(value)

    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    @property
    def dtype(self):
        return _dtype.from_np(self._data.dtype)

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def nelement(self):
        return self._data.size

    def element_size(self):
        return self._data.itemsize

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def device(self):
        return _device.CPU

    @property
    def is_cuda(self):
        return False

    @property
    def is_cpu(self):
        return True

    @property
    def is_meta(self):
        return False

    def get_device(self):
        """-1: the CPU (PyTorch's answer for CPU tensors)."""
        return -1

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients (this one is {self.dtype})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) only works on leaf tensors; use .detach() on the result of an operation")
        self.requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward (leaves keep theirs anyway)."""
        if self.grad_fn is not None and not self._retains_grad:
            self._retains_grad = True
            self.grad_fn._retained = weakref.ref(self)
        return self

    @property
    def retains_grad(self):
        return self._retains_grad

    # ---- conversion -------------------------------------------------------------------------
    def numpy(self):
        return self._data

    def item(self):
        if self._data.size != 1:
            raise ShapeError(f"item(): only a tensor with one element can be converted to a Python number, "
                             f"this one has shape {tuple(self._data.shape)}")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                               "use .any() or .all()")
        return builtins.bool(self._data.reshape(-1)[0])

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        # As PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}"); anything else accepts
        # only the empty format, which gives str().
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self):
        body = _format_values(self._data)
        extras = []
        shown = (_dtype.default_float.np,) if self._data.size == 0 else (_dtype.default_float.np, np.int64, np.bool_)
        if self._data.dtype not in shown:
            extras.append(f"dtype={self.dtype!r}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- graph ------------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        from .autograd import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def detach(self):
        """The same values outside the graph. It shares memory and the version counter with this
        tensor, so an in-place edit through it is caught by backward, as in PyTorch."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self):
        return ops.Clone.apply(self)

    def contiguous(self, memory_format=None):
        return self

    # ---- dtype / device ---------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
        """`x.to(dtype)`, `x.to(device)`, `x.to(device, dtype)`, `x.to(other)`; only CPU devices
        are accepted. Returns `x` itself when nothing changes (a new tensor with copy=True)."""
        if len(args) > 2:
            raise TypeError(f"to() takes at most 2 positional arguments ({len(args)} given)")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (_dtype.dtype, type, np.dtype)):
                dtype = a
            elif _device.is_device_like(a):
                _device.check(a, "to(): ")
            else:
                raise TypeError(f"to() received an invalid argument {a!r}: expected a dtype, a device or a tensor")
        _device.check(device, "to(): ")
        out = self if dtype is None else self.type(dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None, non_blocking=False):
        """With no argument, the legacy type name ('torch.FloatTensor', as PyTorch answers, so that
        comparisons written for PyTorch hold); otherwise a cast to a dtype, a legacy tensor type
        (`mlseries.LongTensor`) or its name ('torch.LongTensor')."""
        if dtype is None:
            return "torch." + _LEGACY_NAMES[self._data.dtype]
        npd = _legacy_dtype(dtype)
        if npd == self._data.dtype:
            return self
        return ops.Cast.apply(self, dtype=npd)

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        raise _device.refuse("tensor.cuda()")

    def pin_memory(self, device=None):
        # PyTorch raises here too when no accelerator is present: pinned memory only speeds up
        # copies to a GPU.
        raise _device.refuse("pin_memory() only helps copies to a GPU; drop the call")

    def is_pinned(self, device=None):
        return False

    def share_memory_(self):
        return self

    def is_shared(self):
        return False

    def float(self):
        return self.type(_dtype.float32)

    def double(self):
        return self.type(_dtype.float64)

    def half(self):
        return self.type(_dtype.float16)

    def long(self):
        return self.type(_dtype.int64)

    def int(self):
        return self.type(_dtype.int32)

    def bool(self):
        return self.type(_dtype.bool)

    # ---- in-place (outside the graph: used by init, optimisers, and under no_grad) ------------
    def _check_inplace(self):
        if _enabled[0] and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place operation; "
                               "wrap the update in `with mlseries.no_grad():`")
        if _enabled[0] and self.grad_fn is not None:
            raise RuntimeError("in-place arithmetic on a tensor that is part of a graph is not supported; "
                               "use the out-of-place form (x = x + y)")

    def _inplace(self, array):
        self._check_inplace()
        self._version += 1
        return self

    def zero_(self):
        self._check_inplace()
        self._data[...] = 0
        self._version += 1
        return self

    def fill_(self, value):
        self._check_inplace()
        self._data[...] = _scalar(value)
        self._version += 1
        return self

    def copy_(self, src):
        self._check_inplace()
        np.copyto(self._data, _as_array(src), casting="unsafe")
        self._version += 1
        return self

    def add_(self, other, alpha=1):
        self._check_inplace()
        o = _as_array(other)
        if alpha != 1:
            o = o * alpha
        np.add(self._data, o, out=self._data, casting="unsafe")
        self._version += 1
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        self._check_inplace()
        np.multiply(self._data, _as_array(other), out=self._data, casting="unsafe")
        self._version += 1
        return self

    def div_(self, other):
        self._check_inplace()
        np.divide(self._data, _as_array(other), out=self._data, casting="unsafe")
        self._version += 1
        return self

    def clamp_(self, min=None, max=None):
        self._check_inplace()
        np.clip(self._data, min, max, out=self._data)
        self._version += 1
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import _gen
        self._check_inplace()
        self._data[...] = _gen(generator).uniform(a, b, self._data.shape)
        self._version += 1
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import _gen
        self._check_inplace()
        self._data[...] = _gen(generator).normal(mean, std, self._data.shape)
        self._version += 1
        return self

    def __iadd__(self, other):
        if not _enabled[0] or (not self.requires_grad):
            return self.add_(other)
        return self + other

    def __isub__(self, other):
        if not _enabled[0] or (not self.requires_grad):
            return self.sub_(other)
        return self - other

    def __imul__(self, other):
        if not _enabled[0] or (not self.requires_grad):
            return self.mul_(other)
        return self * other

    def __itruediv__(self, other):
        if not _enabled[0] or (not self.requires_grad):
            return self.div_(other)
        return self / other

    # ---- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, other, self)

    def __truediv__(self, other):
        a, b = _operands(self, other, "div")
        return ops.Div.apply(*_float_pair(a, b))

    def __rtruediv__(self, other):
        a, b = _operands(other, self, "div")
        return ops.Div.apply(*_float_pair(a, b))

    def __floordiv__(self, other):
        a, b = _operands(self, other, "floor_divide")
        check_integer_divisor("floor_divide", a._data, b._data)
        return Tensor._make(np.floor_divide(a._data, b._data))

    def __rfloordiv__(self, other):
        a, b = _operands(other, self, "floor_divide")
        check_integer_divisor("floor_divide", a._data, b._data)
        return Tensor._make(np.floor_divide(a._data, b._data))

    def __mod__(self, other):
        a, b = _operands(self, other, "remainder")
        check_integer_divisor("remainder", a._data, b._data)
        return Tensor._make(np.mod(a._data, b._data))

    def __rmod__(self, other):
        a, b = _operands(other, self, "remainder")
        check_integer_divisor("remainder", a._data, b._data)
        return Tensor._make(np.mod(a._data, b._data))

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return pow(self, exponent)

    def __rpow__(self, base):
        return pow(_operands(base, self, "pow")[0], self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(tensor(other) if not isinstance(other, Tensor) else other, self)

    def __abs__(self):
        return ops.Abs.apply(self)

    # comparisons give bool tensors outside the graph
    def __eq__(self, other):
        return _compare(np.equal, self, other)

    def __ne__(self, other):
        return _compare(np.not_equal, self, other)

    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    def __invert__(self):
        if self._data.dtype != np.bool_:
            return Tensor._make(np.invert(self._data))
        return Tensor._make(~self._data)

    def __and__(self, other):
        return _compare(np.logical_and if self._data.dtype == np.bool_ else np.bitwise_and, self, other)

    def __or__(self, other):
        return _compare(np.logical_or if self._data.dtype == np.bool_ else np.bitwise_or, self, other)

    def __xor__(self, other):
        return _compare(np.logical_xor if self._data.dtype == np.bool_ else np.bitwise_xor, self, other)

    # ---- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_normalize_index(index))

    def __setitem__(self, index, value):
        index = _normalize_index(index)
        value_t = value if isinstance(value, Tensor) else None
        if not _enabled[0] or not (self.requires_grad or (value_t is not None and value_t.requires_grad)):
            self._data[index] = _as_array(value)
            self._version += 1
            return
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place operation "
                               "(x[...] = v); use `with mlseries.no_grad():` or build a new tensor")
        if value_t is None:
            value_t = Tensor._make(np.asarray(value, dtype=self._data.dtype))
        # Out of place underneath: the old value becomes an input of a SetItem node and this
        # Tensor object is re-pointed at the result, so earlier uses keep the value they saw.
        old = Tensor._make(self._data, self.requires_grad, self.grad_fn)
        old._vc = self._vc  # the old memory, seen by earlier views, keeps its counter
        if self.grad_fn is not None and self._retains_grad:
            old._retains_grad = True
        new = ops.SetItem.apply(old, value_t.type(self._data.dtype), index=index)
        self._data, self.grad_fn, self.requires_grad = new._data, new.grad_fn, new.requires_grad
        self._vc = [old._vc[0] + 1]

    # ---- the op methods, defined once below with the functions -------------------------------


# What mlseries.set_printoptions changes (`_functions_basic.py`); sci_mode None picks by range.
_print_options = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def _format_values(arr):
    """The values as PyTorch prints them: floats with 4 decimals ("1.5000"), or as "1." when all
    are whole numbers; scientific notation for a wide range (NumPy and PyTorch pick it alike)."""
    opts = _print_options
    kwargs = dict(separator=", ", prefix="tensor(", max_line_width=opts["linewidth"],
                  threshold=builtins.min(opts["threshold"], np.iinfo(np.int64).max), edgeitems=opts["edgeitems"])
    if arr.dtype.kind == "f" and arr.size:
        finite = arr[np.isfinite(arr)]
        whole = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        kwargs.update(precision=opts["precision"], floatmode="maxprec" if whole else "fixed")
        if opts["sci_mode"] is False:
            kwargs.update(suppress_small=True)
        elif opts["sci_mode"]:
            p = opts["precision"]

            def sci(v):
                return np.format_float_scientific(v, precision=p, unique=False, exp_digits=2)
            width = builtins.max(len(sci(v)) for v in arr.reshape(-1)[:100000])  # PyTorch right-aligns
            kwargs.update(formatter={"float_kind": lambda v: sci(v).rjust(width)})
    return np.array2string(arr, **kwargs)


class Size(tuple):
    """Shape of a tensor: a tuple that prints like torch.Size."""

    def __repr__(self):
        return f"mlseries.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


def _scalar(value):
    return value.item() if isinstance(value, Tensor) else value


def _normalize_index(index):
    """Turn Tensors inside an index into arrays; keep slices, ints, None and Ellipsis."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        arr = np.asarray([i._data if isinstance(i, Tensor) else i for i in index])
        return arr
    return index


def _scalar_operand(value, ref_dtype):
    """A Python number beside a tensor takes the tensor's dtype unless its kind is higher
    (an int tensor times 0.5 is float32), as in PyTorch."""
    if isinstance(value, builtins.bool):
        npd = ref_dtype
    elif isinstance(value, numbers.Integral):
        npd = ref_dtype if ref_dtype.kind != "b" else np.dtype(np.int64)
    elif isinstance(value, numbers.Real):
        npd = ref_dtype if ref_dtype.kind == "f" else _default_float
    else:
        raise TypeError(f"unsupported operand type {type(value).__name__!r} for a tensor operation")
    return Tensor._make(np.asarray(value, dtype=npd))


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together (a Linear layer given the wrong number of features, matmul,
    cat, reshape, broadcasting). PyTorch raises RuntimeError for these, and Python code expects
    ValueError for a bad argument: this is both, so that either `except` catches it."""


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """Integer division or remainder by zero. PyTorch raises RuntimeError("ZeroDivisionError")
    here (NumPy would warn and give 0); this is both, so either `except` catches it."""


def check_integer_divisor(name, a, b):
    """Refuse an integer (or bool) division whose divisor holds a zero: there is no integer
    infinity or NaN to give, and NumPy's silent 0 would be a wrong answer."""
    if np.result_type(a, b).kind in "iub" and not np.all(b):
        raise IntegerDivisionByZero(f"{name}: integer division by zero (the divisor holds a 0); "
                                    "divide floating-point tensors to get inf or nan instead")


def _operands(a, b, name):
    """Two Tensors with PyTorch's promoted dtype."""
    if not isinstance(a, Tensor):
        if isinstance(a, np.ndarray):
            a = Tensor._make(a)
        elif not isinstance(b, (Tensor, np.ndarray)):
            # two Python numbers (torch.where(mask, 1.0, 0.0)): each its own default dtype, as
            # torch.tensor(number) gives — bool, int64 or the default float
            a = _scalar_operand(a, np.dtype(np.bool_))
        else:
            a = _scalar_operand(a, b._data.dtype if isinstance(b, Tensor) else b.dtype)
    if not isinstance(b, Tensor):
        if isinstance(b, np.ndarray):
            b = Tensor._make(b)
        else:
            b = _scalar_operand(b, a._data.dtype)
    da, db = a._data.dtype, b._data.dtype
    if da != db:
        # A 0-d tensor of the same kind does not widen a bigger one (float32 * float64 scalar stays float32).
        ca, cb = _dtype.category(da), _dtype.category(db)
        if a._data.ndim == 0 and b._data.ndim > 0 and ca <= cb:
            target = db
        elif b._data.ndim == 0 and a._data.ndim > 0 and cb <= ca:
            target = da
        else:
            target = _dtype.promote(da, db)
        if da != target:
            a = a.type(target)
        if db != target:
            b = b.type(target)
    return a, b


def _binary(fn, a, b):
    a, b = _operands(a, b, fn.__name__.lower())
    return fn.apply(a, b)


def _float_pair(a, b):
    if a._data.dtype.kind != "f":
        a = a.type(_default_float)
        b = b.type(_default_float) if b._data.dtype.kind != "f" else b
    return a, b


def _compare(ufunc, a, b):
    a, b = _operands(a, b, ufunc.__name__)
    try:
        return Tensor._make(ufunc(a._data, b._data))
    except ValueError:
        raise ShapeError(f"{ufunc.__name__}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together") from None


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor copied from data (nested lists, NumPy arrays, numbers or tensors)."""
    _device.check(device, "tensor(): ")
    if isinstance(data, Tensor):
        arr = data._data.copy() if dtype is None else data._data.astype(_dtype.to_np(dtype))
    else:
        arr = _as_array(data, None if dtype is None else _dtype.to_np(dtype))
        if isinstance(data, np.ndarray) and arr is data:
            arr = arr.copy()
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like `tensor` but shares memory with a NumPy array or Tensor when it can."""
    _device.check(device, "as_tensor(): ")
    if isinstance(data, Tensor):
        return data if dtype is None else data.type(dtype)
    return Tensor._make(_as_array(data, None if dtype is None else _dtype.to_np(dtype)))


def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    _dtype.from_np(array.dtype)
    return Tensor._make(array)


# ---- the legacy tensor types (torch.FloatTensor, ...) ----------------------------------------------
_LEGACY_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
                 np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
                 np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
                 np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor", np.dtype(np.bool_): "BoolTensor"}
_LEGACY_BY_NAME = {name: npd for npd, name in _LEGACY_NAMES.items()}


def _legacy_dtype(value):
    """The NumPy dtype named by a dtype, a legacy type class or a name such as 'torch.FloatTensor'."""
    if isinstance(value, type):
        if getattr(value, "_is_cuda_type", False):
            raise _device.refuse(f"type(torch.cuda.{value.__name__})")
        legacy = getattr(value, "_legacy_dtype", None)
        if legacy is not None:
            return legacy
    if isinstance(value, str):
        prefix, _, name = value.rpartition(".")
        if name in _LEGACY_BY_NAME:
            if prefix.endswith("cuda"):
                raise _device.refuse(f"type({value!r})")
            if prefix in ("torch", "mlseries", ""):
                return _LEGACY_BY_NAME[name]
        if prefix not in ("torch", "mlseries", "") or name not in _dtype._BY_NAME:
            raise ValueError(f"invalid type: {value!r} (expected a dtype or a name such as 'torch.FloatTensor')")
        return _dtype.to_np(name)
    return _dtype.to_np(value)


def _legacy_array(args, npd, name):
    """What `torch.FloatTensor(*args)` holds: sizes give a new (zero-filled) tensor, data is
    converted to the type, no argument gives an empty tensor."""
    if not args:
        return np.empty(0, npd)
    if builtins.all(isinstance(a, (builtins.int, np.integer)) and not isinstance(a, builtins.bool) for a in args):
        return np.zeros(tuple(builtins.int(a) for a in args), npd)  # PyTorch leaves it uninitialised
    if len(args) == 1:
        data = args[0]
        if isinstance(data, Size):
            return np.zeros(tuple(data), npd)
        if isinstance(data, Tensor):
            if data._data.dtype != npd:
                raise TypeError(f"{name}(tensor): the tensor is {data.dtype}, but {name} holds "
                                f"{_dtype.from_np(npd)}; convert it with tensor.to(...)")
            return data._data
        if isinstance(data, (list, tuple, np.ndarray)):
            return np.array(data, dtype=npd)
        raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
    raise TypeError(f"{name}() takes sizes (ints) or one sequence of data, got "
                    f"({', '.join(type(a).__name__ for a in args)})")


from . import _ops as ops  # noqa: E402  (ops need Tensor and Function defined above)
from ._functions import matmul, pow  # noqa: E402,A004
