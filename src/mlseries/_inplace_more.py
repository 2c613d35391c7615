"""The in-place `_` forms of PyTorch's elementwise methods (`x.relu_()`, `x.clamp_min_(0)`, ...),
made here from the out-of-place methods by one generator, plus the in-place methods that change a
tensor's shape (`unsqueeze_`, `t_`, ...) and `fill_diagonal_`.

Every generated method goes through `_functions._write_inplace`, the path the existing in-place
methods (`masked_fill_`, `scatter_`, `lerp_`, ...) take, so they all behave alike: the version
counter is bumped (backward then refuses nodes that saved the old value, as PyTorch does), a leaf
that requires grad is refused with PyTorch's message, and on a non-leaf the tensor is re-pointed
at the result's graph node, so `h = fc(x); h.relu_()` trains. Two things are added on top:

- PyTorch refuses a result that its dtype cannot hold (`int_tensor.sqrt_()`: "result type Float
  can't be cast to the desired output type Long"); NumPy would truncate silently, so it is checked.
- An operation with no gradient (`floor_`, `sign_`, `lt_`, ...) on a tensor in the graph must still
  cut the old gradient path: the tensor becomes `where(True, result, old)`, whose gradient to the
  old value is zero, as PyTorch's FloorBackward gives.
"""
import weakref

import numpy as np

from . import _dtype
from ._functions import _write_inplace, masked_fill, where
from ._grad_mode import _enabled
from ._tensor import Tensor
from . import _functions_basic  # noqa: F401  (defines the out-of-place copysign, ldexp, bitwise_*, ...)

# The out-of-place Tensor methods that get an in-place form here. Each is looked up on Tensor when
# called, so methods attached later at import (special functions: digamma, i0, logit, ...) work too.
_ELEMENTWISE = (
    # unary
    "abs absolute neg negative reciprocal sqrt rsqrt square exp exp2 expm1 log log1p log2 log10 "
    "sin cos tan sinh cosh tanh asin acos atan asinh acosh atanh arcsin arccos arctan arcsinh arccosh "
    "arctanh sigmoid relu erf erfc erfinv floor ceil round trunc fix frac sign sgn logical_not "
    "nan_to_num deg2rad rad2deg digamma lgamma i0 sinc logit polygamma mvlgamma "
    # with other operands
    "pow fmod remainder clamp_min clamp_max clip hypot atan2 arctan2 xlogy copysign ldexp float_power "
    "true_divide floor_divide multiply divide subtract nextafter logical_and logical_or logical_xor "
    "bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift "
    "eq ne lt le gt ge greater greater_equal less less_equal not_equal cumsum cumprod"
).split()

# PyTorch also offers these as top-level functions (torch.relu_(x), torch.clamp_(x, 0, 1), ...)
_TOP_LEVEL = (
    "abs sqrt exp log neg negative reciprocal sigmoid tanh relu floor ceil round clamp_min clamp_max clip "
    "log1p expm1 sin cos erf trunc frac nan_to_num deg2rad rad2deg rsqrt square exp2 log2 log10 tan sinh "
    "cosh asin acos atan asinh acosh atanh arcsin arccos arctan erfc fix sinc i0 logit xlogy ldexp"
).split()

_KIND_NAME = {"b": "Bool", "u": "Byte", "i": "Long", "f": "Float"}


def _type_name(npd):
    return {np.dtype(np.float64): "Double", np.dtype(np.float16): "Half", np.dtype(np.int32): "Int",
            np.dtype(np.int16): "Short", np.dtype(np.int8): "Char"}.get(npd, _KIND_NAME[npd.kind])


def _check_fits(self, result, name):
    """Refuse a result of a higher kind than self's dtype (float into int, int into bool)."""
    rd, sd = result._data.dtype, self._data.dtype
    if _dtype.category(rd) > _dtype.category(sd):
        raise RuntimeError(f"{name}: result type {_type_name(rd)} can't be cast to the desired output type "
                           f"{_type_name(sd)}; convert the tensor first (x = x.float()) or use the "
                           f"out-of-place {name[:-1]}")


def _inplace(name, function=None):
    """`self.<name>_(*args)`: the method `name` (or `function`, F.leaky_relu say) computed out of
    place, written back into self."""
    method_name = name + "_"

    def method(self, *args, **kwargs):
        fn = function or getattr(Tensor, name, None)
        if fn is None:
            raise RuntimeError(f"{method_name}: mlseries has no {name}, so no in-place form either")

        made = []

        def compute(old):
            result = fn(old, *args, **kwargs)
            _check_fits(self, result, method_name)
            if _enabled[0] and old.requires_grad and not result.requires_grad:
                # No gradient through this op (floor, sign, a comparison): keep self in the graph
                # with a zero gradient to its old value, as PyTorch does.
                result = where(Tensor._make(np.ones((), np.bool_)), result.type(old._data.dtype), old)
            made.append(result)
            return result

        _write_inplace(self, compute)
        node = self.grad_fn
        if node is not None and made and node is made[0].grad_fn and node.save_output:
            # exp_, sqrt_, sigmoid_, tanh_: the node reads its output in backward, and that output
            # is now self (the result tensor it pointed at is gone)
            node._out = weakref.ref(self)
            node._out_version = self._vc[0]
        return self

    method.__name__ = method.__qualname__ = method_name
    method.__doc__ = f"In-place {name}: `x.{method_name}(...)` is `x.copy_(x.{name}(...))`, tracked by autograd."
    return method


def _top_level(name):
    def fn(input, *args, **kwargs):
        return getattr(input, name + "_")(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name + "_"
    return fn


for _name in _ELEMENTWISE:
    if not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _inplace(_name))


# ---- in-place changes of shape: the tensor becomes a view of its own memory -----------------------
def _reshape_inplace(self, compute, name):
    """`self` re-pointed at `compute(self)`, a view of the same memory with another shape; like
    PyTorch, this counts as an in-place change (the version is bumped) and refuses leaves that
    require grad."""
    if _enabled[0] and self.requires_grad and self.grad_fn is None:
        raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation; "
                           "use the out-of-place form, or wrap it in `with mlseries.no_grad():`")
    old = Tensor._make(self._data, self.requires_grad, self.grad_fn)
    old._vc = self._vc
    result = compute(old)
    self._data = result._data
    if result.requires_grad:
        self.grad_fn, self.requires_grad = result.grad_fn, True
    self._version += 1
    return self


def squeeze_(self, dim=None):
    return _reshape_inplace(self, lambda x: x.squeeze() if dim is None else x.squeeze(dim), "squeeze_")


def unsqueeze_(self, dim):
    return _reshape_inplace(self, lambda x: x.unsqueeze(dim), "unsqueeze_")


def t_(self):
    if self.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return _reshape_inplace(self, lambda x: x.t(), "t_")


def transpose_(self, dim0, dim1):
    return _reshape_inplace(self, lambda x: x.transpose(dim0, dim1), "transpose_")


def tril_(self, diagonal=0):
    return _write_inplace(self, lambda x: x.tril(diagonal))


def triu_(self, diagonal=0):
    return _write_inplace(self, lambda x: x.triu(diagonal))


def fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal: of a matrix, or of a tensor whose dims are all equal.
    With wrap=True a tall matrix's diagonal starts again every (columns + 1) rows, as PyTorch."""
    if self.ndim < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1 (got a {self.ndim}-D tensor)")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length, got shape "
                           f"{tuple(self.shape)}")
    mask = np.zeros(self._data.shape, np.bool_)  # (*self.shape)
    np.fill_diagonal(mask, True, wrap=bool(wrap))
    return _write_inplace(self, lambda x: masked_fill(x, Tensor._make(mask), fill_value))


Tensor.squeeze_ = squeeze_
Tensor.unsqueeze_ = unsqueeze_
Tensor.t_ = t_
Tensor.transpose_ = transpose_
Tensor.swapaxes_ = transpose_
Tensor.swapdims_ = transpose_
Tensor.tril_ = tril_
Tensor.triu_ = triu_
Tensor.fill_diagonal_ = fill_diagonal_


def clamp_(input, min=None, max=None):  # noqa: A002
    return input.clamp_(min, max)


__all__ = ["clamp_"]
for _name in _TOP_LEVEL:
    globals()[_name + "_"] = _top_level(_name)
    __all__.append(_name + "_")
del _name
