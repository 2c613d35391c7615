"""Basic tensor functions PyTorch programs reach for: order statistics (kthvalue, aminmax),
splitting and tiling, bincount, dtype questions (result_type, can_cast, promote_types, finfo,
iinfo), bitwise and sign-manipulation functions, print options and the spectral windows.

Differentiable ones are composed from existing Tensor operations (their derivative rules live in
`_ops.py`); the rest (integer, boolean and piecewise-constant results) build no graph node.
"""
import builtins
import collections
import math
import numbers

import numpy as np

from . import _dtype
from . import _ops as ops
from . import _tensor
from ._functions import (_dim1, _float, _numpy_keywords, _shape_args, abs, amax, amin, matmul, nonzero,
                         pow, repeat, reshape, sum, where)
from ._functions_more import tensordot
from ._tensor import Tensor, _compare, _operands

_kthvalue_result = collections.namedtuple("kthvalue", ["values", "indices"])
_aminmax_result = collections.namedtuple("aminmax", ["min", "max"])
_frexp_result = collections.namedtuple("frexp", ["mantissa", "exponent"])


def _t(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


# ---- order statistics -----------------------------------------------------------------------------
def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest value along dim (k counts from 1) and its index; NaN counts as largest.
    The values are differentiable (the gradient goes to the chosen element)."""
    x = input if input.ndim else reshape(input, 1)
    d = _dim1(dim, x.ndim)
    n = x.shape[d]
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} (k={k}, size {n})")
    order = np.argsort(x._data, axis=d, kind="stable")
    idx = np.take(order, [k - 1], axis=d)  # (..., 1, ...)
    values = ops.Gather.apply(x, dim=d, index=idx)
    indices = Tensor._make(idx.astype(np.int64))
    if not keepdim or input.ndim == 0:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return _kthvalue_result(values, indices)


def aminmax(input, *, dim=None, keepdim=False):
    """(amin, amax) in one call; differentiable like amin and amax (equal extremes share the gradient)."""
    if dim is None and input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                           "no identity")
    if dim is None and keepdim:
        return _aminmax_result(reshape(amin(input), (1,) * input.ndim), reshape(amax(input), (1,) * input.ndim))
    return _aminmax_result(amin(input, dim, keepdim), amax(input, dim, keepdim))


# ---- splitting, tiling, products -------------------------------------------------------------------
def tensor_split(input, indices_or_sections, dim=0):
    """Views of input split along dim: into n nearly equal parts (the first size % n parts one
    longer) for an int, or at the given indices for a sequence (or a 1-D integer tensor)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _dim1(dim, input.ndim)
    size = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.dtype.kind not in "iu" or ios.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional integer tensor, but got a {ios.ndim}-D {ios.dtype} tensor")
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, (builtins.int, np.integer)):
        n = builtins.int(ios)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [i * q + builtins.min(i, r) for i in range(n + 1)]
    else:
        bounds = [0] + [builtins.int(i) for i in ios] + [size]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        a, b = builtins.min(builtins.max(a if a >= 0 else a + size, 0), size), \
            builtins.min(builtins.max(b if b >= 0 else b + size, 0), size)
        parts.append(input[(slice(None),) * d + (slice(a, builtins.max(a, b)),)])
    return tuple(parts)


def tile(input, dims):
    """input repeated dims[i] times along each dim; fewer dims than the tensor's count from the
    right (missing ones are 1), more add leading dims, unlike repeat, which needs them all."""
    dims = _shape_args((dims,) if isinstance(dims, (builtins.int, np.integer)) else tuple(dims))
    dims = (1,) * builtins.max(input.ndim - len(dims), 0) + dims
    return repeat(input, dims)


def inner(input, other):
    """Sum over the last dims of both: shape input.shape[:-1] + other.shape[:-1]; a 0-d operand multiplies."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    a, b = _operands(input, other, "inner")
    return tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 1]))


def mv(input, vec):
    """Matrix (n, m) times vector (m,) -> (n,)."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {tuple(input.shape)} and {tuple(vec.shape)}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    return matmul(input, vec)


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ..., max occurs in a 1-D non-negative integer tensor (summing
    weights instead of ones if given); at least minlength bins. Not differentiable, as PyTorch."""
    if input.ndim != 1 or input._data.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got a {input.ndim}-D "
                           f"{input.dtype} tensor")
    if minlength < 0:
        raise RuntimeError(f"minlength should be >= 0, got {minlength}")
    if input.numel() and input._data.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs (the input holds a negative value)")
    if weights is None:
        return Tensor._make(np.bincount(input._data, minlength=minlength).astype(np.int64))
    w = _t(weights)
    if w.shape != input.shape:
        raise RuntimeError(f"weights should be 1-d and have the same length as input (got shapes "
                           f"{tuple(w.shape)} and {tuple(input.shape)})")
    out_dtype = np.float32 if w._data.dtype == np.float32 else np.float64
    return Tensor._make(np.bincount(input._data, weights=w._data.astype(np.float64), minlength=minlength)
                        .astype(out_dtype))


def _sum_to_size(self, *size):
    """Sum this tensor down to `size`, which must broadcast to its shape (the reverse of expand)."""
    size = _shape_args(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or builtins.any(s not in (1, n) for s, n in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                           f"{{{', '.join(map(str, shape))}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, (s, n) in enumerate(zip(size, shape[lead:])) if s == 1 and n != 1)
    out = sum(self, dims, keepdim=True) if dims else self
    return reshape(out, size) if tuple(out.shape) != size else out


# ---- random, memory ---------------------------------------------------------------------------------
def poisson(input, generator=None):
    """Poisson samples with the rates in input, from mlseries' generator (manual_seed repeats them)."""
    from .random import _gen
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"poisson: the rates must be floating point, got {input.dtype}")
    if np.any(input._data < 0) or np.any(np.isnan(input._data)):
        raise RuntimeError("poisson: the rates must be non-negative")
    return Tensor._make(_gen(generator).poisson(input._data).astype(input._data.dtype))


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the memory of a buffer (bytes, bytearray, array.array, memoryview), shared
    with it as in PyTorch; read-only buffers (bytes) give a tensor that cannot be written."""
    npd = _dtype.to_np(dtype)
    try:
        arr = np.frombuffer(buffer, dtype=npd, count=count, offset=offset)
    except ValueError as e:
        raise ValueError(f"frombuffer: {e} (buffer of {len(memoryview(buffer).cast('B'))} bytes, "
                         f"offset {offset}, count {count}, {_dtype.from_np(npd)} elements)") from None
    t = Tensor._make(arr)
    return t.requires_grad_(True) if requires_grad else t


def as_strided(input, size, stride, storage_offset=None):
    return input.as_strided(size, stride, storage_offset)


# ---- dtype questions ---------------------------------------------------------------------------------
def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return False


def _is_complex_method(self):
    """Always False: mlseries has no complex dtypes."""
    return False


def is_nonzero(input):
    """The truth of a one-element tensor (PyTorch refuses any other size)."""
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input._data.reshape(-1)[0])


def _dtype_arg(name, d):
    if isinstance(d, _dtype.dtype):
        return d
    try:
        return _dtype.from_np(_dtype.to_np(d))
    except TypeError:
        raise TypeError(f"{name}: expected a dtype (such as mlseries.float32), got {d!r}") from None


def promote_types(type1, type2):
    """The dtype both convert to in arithmetic: floats beat integers beat bool, then the wider wins."""
    a, b = _dtype_arg("promote_types", type1), _dtype_arg("promote_types", type2)
    return _dtype.from_np(_dtype.promote(a.np, b.np))


def can_cast(from_, to):
    """False where PyTorch's casting rules refuse (a float into an integer or bool, an integer into bool)."""
    a, b = _dtype_arg("can_cast", from_), _dtype_arg("can_cast", to)
    return _dtype.category(a.np) <= _dtype.category(b.np)


def _scalar_dtype(value):
    if isinstance(value, builtins.bool):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Real):
        return _dtype.default_float.np
    raise TypeError(f"result_type: expected tensors or numbers, got {type(value).__name__}")


def result_type(tensor1, tensor2):
    """The dtype of an arithmetic result: tensors with dimensions decide, unless a 0-d tensor or a
    number is of a higher kind (float over integer over bool); a number of a higher kind gives
    that kind's default (float32, int64)."""
    groups = {0: [], 1: [], 2: []}  # dimensioned tensors, 0-d tensors, Python numbers
    for v in (tensor1, tensor2):
        if isinstance(v, Tensor):
            groups[0 if v.ndim else 1].append(v._data.dtype)
        else:
            groups[2].append(_scalar_dtype(v))
    result = None
    for g in (0, 1, 2):
        if not groups[g]:
            continue
        d = groups[g][0]
        for other in groups[g][1:]:
            d = _dtype.promote(d, other)
        if result is None or _dtype.category(d) > _dtype.category(result):
            if result is not None and g == 2 and _dtype.category(d) == 2:
                d = _dtype.default_float.np
            result = d
    return _dtype.from_np(result)


_BFLOAT16 = dict(bits=16, eps=0.0078125, max=3.3895313892515355e+38, tiny=1.1754943508222875e-38, resolution=0.01)


class finfo:
    """Machine limits of a floating-point dtype (the default dtype if none): bits, eps, max, min,
    tiny (= smallest_normal), resolution, dtype (its name)."""

    def __init__(self, type=None):  # noqa: A002  (PyTorch's name)
        d = _dtype.default_float if type is None else _dtype_arg("finfo", type)
        if not d.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{d!r}' (got {d.name})")
        if d.name == "bfloat16":
            info = _BFLOAT16
        else:
            f = np.finfo(d.np)
            info = dict(bits=f.bits, eps=builtins.float(f.eps), max=builtins.float(f.max),
                        tiny=builtins.float(f.smallest_normal), resolution=10.0 ** -builtins.int(f.precision))
        self.bits = info["bits"]
        self.eps = info["eps"]
        self.max = info["max"]
        self.min = -info["max"]
        self.tiny = self.smallest_normal = info["tiny"]
        self.resolution = info["resolution"]
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))


class iinfo:
    """Limits of an integer (or bool) dtype: bits, max, min, dtype (its name)."""

    def __init__(self, type):  # noqa: A002
        d = _dtype_arg("iinfo", type)
        if d.is_floating_point:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{d!r}'")
        if d.np.kind == "b":
            self.bits, self.min, self.max = 8, 0, 1
        else:
            i = np.iinfo(d.np)
            self.bits, self.min, self.max = i.bits, builtins.int(i.min), builtins.int(i.max)
        self.dtype = d.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))


class layout:
    """The memory layout of a tensor. mlseries tensors are all dense and strided (`mlseries.strided`)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"mlseries.{self.name}"

    def __reduce__(self):
        return self.name


strided = layout("strided")


# ---- searches ------------------------------------------------------------------------------------------
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """A bool tensor: is each element of `elements` among `test_elements`? (Either may be a number.)"""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin: expected at least one of elements and test_elements to be a tensor")
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return Tensor._make(np.isin(e, t, invert=builtins.bool(invert)).reshape(e.shape))


def argwhere(input):
    """The indices of the non-zero elements, one row per element: shape (count, input.ndim)."""
    return nonzero(input)


# ---- arithmetic variants --------------------------------------------------------------------------------
def true_divide(input, other):
    """The same as div: always a floating-point quotient."""
    return _t(input) / other


def floor_divide(input, other):
    """Quotient rounded toward minus infinity (integer or float); no gradient, as PyTorch."""
    return _t(input) // other


def deg2rad(input):
    return _float(input) * (math.pi / 180.0)


def rad2deg(input):
    return _float(input) * (180.0 / math.pi)


def fix(input):
    """trunc under its NumPy name."""
    return input.trunc()


def signbit(input):
    """True where the sign bit is set (negative numbers, -0.0, negative NaN)."""
    return Tensor._make(np.signbit(input._data))


def copysign(input, other):
    """|input| with the sign of other (its sign bit, so -0.0 counts as negative). Differentiable
    with respect to input (the gradient is sign(input) · sign(result), 0 at input = 0, as
    PyTorch's); other gets a zero gradient."""
    a, b = _operands(_t(input), _t(other) if not isinstance(other, numbers.Number) else other, "copysign")
    a, b = _float(a), _float(b)
    sign = Tensor._make(np.where(np.signbit(b._data), -1.0, 1.0).astype(a._data.dtype))
    out = abs(a) * sign
    if b.requires_grad and _enabled_grad():
        out = where(Tensor._make(np.ones((), np.bool_)), out, b)  # a zero gradient for other, as PyTorch
    return out


def _enabled_grad():
    from ._grad_mode import _enabled
    return _enabled[0]


def nextafter(input, other):
    """The next floating-point value after input towards other; not differentiable."""
    a, b = _operands(_t(input), other, "nextafter")
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"nextafter: expected floating-point tensors, got {a.dtype}")
    return Tensor._make(np.nextafter(a._data, b._data))


def ldexp(input, other):
    """input · 2**other, differentiable in both (as PyTorch's, which is the same product)."""
    base = Tensor._make(np.asarray(2.0, dtype=_float(_t(input))._data.dtype))
    return _float(_t(input)) * pow(base, _float(_t(other)))


def frexp(input):
    """(mantissa, exponent) with input = mantissa · 2**exponent and 0.5 ≤ |mantissa| < 1; exponent is int32."""
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes, got {input.dtype}")
    m, e = np.frexp(input._data)
    return _frexp_result(Tensor._make(m.astype(input._data.dtype)), Tensor._make(e.astype(np.int32)))


def float_power(input, exponent):
    """pow computed in float64 (the result is float64 whatever the inputs); differentiable."""
    x = _t(input).type(_dtype.float64)
    e = exponent.type(_dtype.float64) if isinstance(exponent, Tensor) else builtins.float(exponent)
    return pow(x, e)


def logical_xor(input, other):
    return _compare(np.logical_xor, _t(input), other)


def _integral(name, *tensors):
    for t in tensors:
        if isinstance(t, Tensor) and t._data.dtype.kind not in "iub":
            raise RuntimeError(f"{name}: only integer and bool tensors are supported, got {t.dtype}")
        if not isinstance(t, Tensor) and isinstance(t, builtins.float):
            raise RuntimeError(f"{name}: only integer and bool operands are supported, got the float {t}")


def _bitwise(ufunc, name):
    def op(input, other):
        _integral(name, input, other)
        return _compare(ufunc, _t(input), other)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} of integer or bool tensors (bool tensors give bool)."
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


def bitwise_not(input):
    _integral("bitwise_not", input)
    return Tensor._make(np.invert(input._data))


# ---- print options ----------------------------------------------------------------------------------------
_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print: decimals, the element count above which the middle is elided ('...'),
    the elements kept at each edge, the line width, and scientific notation (True, False, or None
    to choose by range). A profile ('default', 'short', 'full') sets the first four at once."""
    opts = _tensor._print_options
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        opts.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            opts[key] = value
    opts["sci_mode"] = sci_mode


def get_printoptions():
    return dict(_tensor._print_options)


# ---- windows for spectral analysis ----------------------------------------------------------------------------
def _window(name, window_length, periodic, dtype, requires_grad, values):
    """A window of window_length points; `values(n, N)` gives it at positions n of a symmetric
    window of N points. periodic=True computes N = window_length + 1 points and drops the last."""
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    npd = _dtype.default_float.np if dtype is None else _dtype.to_np(dtype)
    if npd.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {_dtype.from_np(npd)}")
    if window_length <= 1:
        arr = np.ones(window_length, npd)
    else:
        N = window_length + 1 if periodic else window_length
        arr = values(np.arange(window_length, dtype=np.float64), N).astype(npd)
    t = Tensor._make(arr)
    return t.requires_grad_(True) if requires_grad else t


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("hann_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 0.5 - 0.5 * np.cos(2 * np.pi * n / (N - 1)))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: alpha - beta * np.cos(2 * np.pi * n / (N - 1)))


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("blackman_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: 0.42 - 0.5 * np.cos(2 * np.pi * n / (N - 1)) + 0.08 * np.cos(4 * np.pi * n / (N - 1)))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad,
                   lambda n, N: np.i0(beta * np.sqrt(np.clip(1 - (2 * n / (N - 1) - 1) ** 2, 0, None))) / np.i0(beta))


# ---- exports and Tensor methods ----------------------------------------------------------------------------
__all__ = ["kthvalue", "aminmax", "tensor_split", "tile", "inner", "mv", "bincount", "poisson", "frombuffer",
           "as_strided", "is_floating_point", "is_complex", "is_nonzero", "promote_types", "can_cast", "result_type",
           "finfo", "iinfo", "layout", "strided", "isin", "argwhere", "true_divide", "floor_divide", "deg2rad",
           "rad2deg", "fix", "signbit", "copysign", "nextafter", "ldexp", "frexp", "float_power", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
           "set_printoptions", "get_printoptions", "hann_window", "hamming_window", "bartlett_window",
           "blackman_window", "kaiser_window"]

kthvalue = _numpy_keywords(kthvalue)
for _f in (kthvalue, aminmax, tensor_split, tile, inner, mv, bincount, is_nonzero, argwhere, true_divide,
           floor_divide, deg2rad, rad2deg, fix, signbit, copysign, nextafter, ldexp, frexp, float_power,
           logical_xor, bitwise_and, bitwise_or, bitwise_xor, bitwise_not, bitwise_left_shift, bitwise_right_shift):
    setattr(Tensor, _f.__name__, _f)
del _f
Tensor.isin = lambda self, test_elements, *, assume_unique=False, invert=False: isin(  # noqa: E731
    self, test_elements, assume_unique=assume_unique, invert=invert)
Tensor.sum_to_size = _sum_to_size
Tensor.is_complex = _is_complex_method
Tensor.byte = lambda self, memory_format=None: self.type(_dtype.uint8)  # noqa: E731
Tensor.char = lambda self, memory_format=None: self.type(_dtype.int8)  # noqa: E731
Tensor.short = lambda self, memory_format=None: self.type(_dtype.int16)  # noqa: E731
Tensor.layout = property(lambda self: strided)
Tensor.names = property(lambda self: (None,) * self.ndim)


# The shift and reflected bitwise operators (`1 << x`, `True & mask`, `m &= other`).
def _reflected(fn):
    return lambda self, other: fn(_operands(other, self, fn.__name__)[0], self)


Tensor.__lshift__ = bitwise_left_shift
Tensor.__rshift__ = bitwise_right_shift
Tensor.__rlshift__ = _reflected(bitwise_left_shift)
Tensor.__rrshift__ = _reflected(bitwise_right_shift)
Tensor.__rand__ = lambda self, other: self & other  # noqa: E731  (and, or, xor commute)
Tensor.__ror__ = lambda self, other: self | other  # noqa: E731
Tensor.__rxor__ = lambda self, other: self ^ other  # noqa: E731


def _inplace_operator(op):
    def method(self, other):
        self._check_inplace()
        result = op(self, other)
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        np.copyto(self._data, result._data, casting="unsafe")
        self._version += 1
        return self
    return method


Tensor.__iand__ = _inplace_operator(lambda a, b: a & b)
Tensor.__ior__ = _inplace_operator(lambda a, b: a | b)
Tensor.__ixor__ = _inplace_operator(lambda a, b: a ^ b)
Tensor.__ilshift__ = _inplace_operator(bitwise_left_shift)
Tensor.__irshift__ = _inplace_operator(bitwise_right_shift)
