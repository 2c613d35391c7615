"""`torch.testing`: `assert_close` and `make_tensor`, as test suites written for PyTorch use them.

`assert_close(actual, expected)` passes where |actual - expected| <= atol + rtol * |expected|
holds elementwise (equal infinities count as close, NaN only with `equal_nan=True`), after
checking shape and (unless `check_dtype=False`) dtype. Without tolerances it takes PyTorch's
defaults for the dtype — float16 (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5), float32/complex64
(1.3e-6, 1e-5), float64/complex128 (1e-7, 1e-7), exact for integers and booleans — and for two
dtypes the looser of the two. Lists, tuples and dicts are compared item by item. The failure is an
AssertionError in PyTorch's words: how many elements mismatch, the greatest absolute and relative
differences and where, and which item of a nested structure failed.

Differs: the dtypes and sizes in messages are written as mlseries prints them
(`mlseries.float32`, `mlseries.Size([2])`); `check_device`, `check_layout` and `check_stride` are
accepted and check nothing (one device, one layout; NumPy strides are not PyTorch's).
"""
import collections.abc
import numbers

import numpy as np

from . import _dtype
from ._tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# PyTorch's default (rtol, atol) by dtype; every other dtype is compared exactly.
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
_SCALAR_TOLERANCES = {float: _TOLERANCES[np.dtype(np.float64)], complex: _TOLERANCES[np.dtype(np.complex128)]}


class _Mismatch(Exception):
    """A failure found deep in a nested structure; `path` is filled in on the way out."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, ""


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless `actual` and `expected` are close (see the module docstring)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}.")
    try:
        _compare(actual, expected, rtol, atol, equal_nan, check_dtype, allow_subclasses)
    except _Mismatch as failure:
        if failure.kind is TypeError:
            raise TypeError(failure.message) from None
        text = failure.message
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        elif failure.path:
            text += f"\n\nThe failure occurred for item {failure.path}"
        raise AssertionError(text) from None


def _is_tensor_like(x):
    return isinstance(x, (Tensor, np.ndarray))


def _is_number(x):
    return isinstance(x, numbers.Number) and not _is_tensor_like(x)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, allow_subclasses):
    if actual is None and expected is None:
        return
    if _is_tensor_like(actual) and _is_tensor_like(expected):
        both_tensors = isinstance(actual, Tensor) and isinstance(expected, Tensor)
        both_arrays = isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)
        if (both_tensors or both_arrays) and (allow_subclasses or type(actual) is type(expected)):
            return _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype)
    elif _is_number(actual) and _is_number(expected):
        return _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype)
    elif isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            lines = ["The keys of the mappings do not match:"]
            if missing:
                lines.append(f"Missing keys in the actual mapping: {sorted(missing, key=repr)}")
            if extra:
                lines.append(f"Additional keys in the actual mapping: {sorted(extra, key=repr)}")
            raise _Mismatch(AssertionError, "\n".join(lines))
        for k in expected:
            _descend(f"[{k!r}]", actual[k], expected[k], rtol, atol, equal_nan, check_dtype, allow_subclasses)
        return
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _descend(f"[{i}]", a, e, rtol, atol, equal_nan, check_dtype, allow_subclasses)
        return
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                               f"and {type(expected)}.")


def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _descend(key, a, e, *options):
    try:
        _compare(a, e, *options)
    except _Mismatch as failure:
        failure.path = key + failure.path
        raise


def _tolerance(dtypes, rtol, atol):
    if rtol is not None:
        return float(rtol), float(atol)
    pairs = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype):
    if isinstance(actual, bool) or isinstance(expected, bool):
        if type(actual) is not type(expected) and check_dtype:
            raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
        if bool(actual) is not bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {actual} is not {expected}")
        return
    kinds = [next(k for k in (int, float, complex) if isinstance(x, k)) if isinstance(x, (int, float, complex))
             else complex for x in (actual, expected)]
    if check_dtype and kinds[0] is not kinds[1]:
        raise _Mismatch(AssertionError, f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None:
        pairs = [_SCALAR_TOLERANCES.get(k, (0.0, 0.0)) for k in kinds]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    if _scalar_close(actual, expected, rtol, atol, equal_nan):
        return
    raise _Mismatch(AssertionError, _scalar_message(actual, expected, rtol, atol))


def _scalar_close(a, e, rtol, atol, equal_nan):
    if a == e:
        return True
    if equal_nan and a != a and e != e:
        return True
    diff = abs(a - e)
    return diff == diff and diff != float("inf") and diff <= atol + rtol * abs(e)


def _scalar_message(a, e, rtol, atol):
    exact = rtol == 0 and atol == 0
    diff = abs(a - e)
    rel = diff / abs(e) if e != 0 else (float("inf") if diff != 0 else float("nan"))
    if diff != diff:
        rel = diff
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "", f"Expected {e} but got {a}."]
    lines.append(f"Absolute difference: {diff}" + ("" if exact else f" (up to {atol} allowed)"))
    lines.append(f"Relative difference: {rel}" + ("" if exact else f" (up to {rtol} allowed)"))
    return "\n".join(lines)


def _array(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _common(a, b):
    """PyTorch's promotion for the comparison: an integer meeting a float takes the float's type."""
    if a.dtype == b.dtype:
        return a.dtype
    if a.dtype.kind in "biu" and b.dtype.kind in "fc":
        return b.dtype
    if b.dtype.kind in "biu" and a.dtype.kind in "fc":
        return a.dtype
    return np.promote_types(a.dtype, b.dtype)


def _describe_dtype(x):
    return repr(x.dtype) if isinstance(x, Tensor) else f"{x.dtype}"


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype):
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        raise _Mismatch(AssertionError, f"The values for attribute 'shape' do not match: "
                                        f"{_shape(actual)} != {_shape(expected)}.")
    if check_dtype and a.dtype != e.dtype:
        raise _Mismatch(AssertionError, f"The values for attribute 'dtype' do not match: "
                                        f"{_describe_dtype(actual)} != {_describe_dtype(expected)}.")
    rtol, atol = _tolerance((a.dtype, e.dtype), rtol, atol)
    if a.ndim == 0:
        originals = (a.item(), e.item())  # a 0-d mismatch is reported as scalars, in their own type
    common = _common(a, e)
    if common.kind == "b":  # booleans are compared as 0/1 so that differences can be reported
        common = np.dtype(np.int64)
    a, e = a.astype(common, copy=False), e.astype(common, copy=False)
    if a.size == 0:
        return
    close = _close(a, e, rtol, atol, equal_nan)
    if close.all():
        return
    if a.ndim == 0:
        raise _Mismatch(AssertionError, _scalar_message(*originals, rtol, atol))
    raise _Mismatch(AssertionError, _tensor_message(a, e, close, rtol, atol))


def _shape(x):
    return repr(x.shape) if isinstance(x, Tensor) else repr(x.shape)


def _close(a, e, rtol, atol, equal_nan):
    if a.dtype.kind in "iu":
        if rtol == 0 and atol == 0:
            return a == e
        a, e = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        close = a == e  # equal infinities are close
        finite = np.isfinite(a) & np.isfinite(e)
        close |= finite & (np.abs(a - e) <= atol + rtol * np.abs(e))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(e)
    return close


def _tensor_message(a, e, close, rtol, atol):
    exact = rtol == 0 and atol == 0
    total, bad = a.size, int((~close).sum())
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if a.dtype.kind in "iu":
            diff = np.abs(a.astype(np.int64) - e.astype(np.int64)).ravel()
            rel = diff.astype(np.float32) / np.abs(e.astype(np.float32)).ravel()
        else:
            diff = np.abs(a - e).ravel()
            rel = diff / np.abs(e).ravel()
        diff[close.ravel()] = 0  # only mismatched elements take part
        rel[close.ravel()] = 0
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {bad} / {total} ({bad / total:.1%})"]
    for name, values, tol in (("absolute", diff, atol), ("relative", rel, rtol)):
        at = int(np.argmax(values))  # argmax stops at the first NaN, which is what is reported
        where = tuple(int(i) for i in np.unravel_index(at, a.shape))
        lines.append(f"Greatest {name} difference: {values[at].item()} at index {where}"
                     + ("" if exact else f" (up to {tol} allowed)"))
    return "\n".join(lines)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of `shape` filled with random values from [low, high) (PyTorch's defaults: [-9, 9]
    for floats, [-9, 10) for integers, [0, 10) for unsigned), drawn from the engine's generator so
    `manual_seed` repeats it. `noncontiguous` and `memory_format` are accepted and change nothing."""
    from ._factories import rand, randint
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    npd = _dtype.to_np(dtype)
    if low is not None and high is not None and low > high:
        raise ValueError(f"make_tensor: low ({low}) must be less than or equal to high ({high})")
    if npd.kind == "b":
        out = randint(0, 2, shape).to(dtype)
    elif npd.kind in "iu":
        lo = int(np.ceil(low)) if low is not None else (0 if npd.kind == "u" else -9)
        hi = int(np.ceil(high)) if high is not None else 10
        out = randint(lo, max(hi, lo + 1), shape, dtype=dtype)
        if exclude_zero:
            out._data[out._data == 0] = 1
    elif npd.kind == "f":
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        out = (rand(*shape, dtype=_dtype.float64) * (hi - lo) + lo).to(dtype)
        if exclude_zero:
            out._data[out._data == 0] = np.finfo(npd).tiny
    else:
        raise TypeError(f"make_tensor: the requested dtype {dtype!r} is not supported")
    if requires_grad:
        out.requires_grad_(True)
    return out
