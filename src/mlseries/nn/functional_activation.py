"""More activation functions (re-exported by `F`): the clipped and shrinking ones, the smooth
self-gated ones, SELU/CELU, GLU and the learned PReLU.

Piecewise functions are one `Where` between the formula and a constant (the value outside the
formula's piece), with the condition chosen so the derivative at each kink is PyTorch's (e.g.
hardtanh passes no gradient at its bounds, hardswish uses its middle piece at ±3). Everything is
built from primitives, so second derivatives come for free. `inplace=True` is accepted so
PyTorch code runs; the result is always a new tensor (see `activation.py`).
"""
import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._tensor import Tensor
from ..random import _gen
from .functional import elu, leaky_relu, softplus

__all__ = ["relu6", "hardtanh", "hardsigmoid", "hardswish", "mish", "selu", "celu", "glu", "softsign", "tanhshrink",
           "threshold", "softshrink", "hardshrink", "prelu", "rrelu"]

# SELU's constants (Klambauer et al., 2017): the fixed point of mean 0 and variance 1.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _const(array):
    return Tensor._make(array)


def _zero(input):
    return _const(np.zeros((), input._data.dtype))


def _float_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {input.dtype}")
    return input._data


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside and 0 from the bounds on."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    x = _float_input("hardtanh", input)
    inside = (x > min_val) & (x < max_val)
    return _ops.Where.apply(input, _const(np.clip(x, min_val, max_val).astype(x.dtype)), cond=inside)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (MobileNet's activation)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """A piecewise-linear sigmoid: 0 below −3, 1 above 3, x/6 + 1/2 between."""
    x = _float_input("hardsigmoid", input)
    inside = (x > -3) & (x < 3)
    outside = (np.clip(x + 3, 0, 6) / 6).astype(x.dtype)
    return _ops.Where.apply(input * (1.0 / 6.0) + 0.5, _const(outside), cond=inside)


def hardswish(input, inplace=False):
    """x · hardsigmoid(x) (MobileNetV3): 0 below −3, x above 3, x(x + 3)/6 between. At −3 and 3
    themselves the derivative is the outer pieces' (0 and 1), as PyTorch's."""
    x = _float_input("hardswish", input)
    middle = (x > -3) & (x < 3)
    outside = _ops.Where.apply(input, _zero(input), cond=x >= 3)
    return _ops.Where.apply(input * (input + 3.0) * (1.0 / 6.0), outside, cond=middle)


def mish(input, inplace=False):
    """x · tanh(softplus(x)) (Misra, 2019)."""
    _float_input("mish", input)
    return input * _fn.tanh(softplus(input))


def selu(input, inplace=False):
    """scale · elu(x, alpha) with SELU's self-normalising constants."""
    _float_input("selu", input)
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha·(exp(x/alpha) − 1) otherwise: ELU made continuously differentiable."""
    _float_input("celu", input)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    negative = (_fn.exp(_fn.clamp(input, max=0.0) * (1.0 / alpha)) - 1.0) * alpha
    return _ops.Where.apply(input, negative, cond=input._data > 0)


def glu(input, dim=-1):
    """a · sigmoid(b), where a and b are the two halves of the input along `dim` (gated linear unit)."""
    _float_input("glu", input)
    if input.ndim == 0:
        raise ValueError("glu: does not support scalars because halving size must be even")
    d = _fn._dim1(dim, input.ndim)
    if input.shape[d] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {d} is size {input.shape[d]} "
                         f"(input of shape {tuple(input.shape)})")
    a, b = _fn.chunk(input, 2, d)
    return a * _fn.sigmoid(b)


def softsign(input):
    """x / (1 + |x|)."""
    _float_input("softsign", input)
    return input / (_fn.abs(input) + 1.0)


def tanhshrink(input):
    """x − tanh(x)."""
    _float_input("tanhshrink", input)
    return input - _fn.tanh(input)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, `value` elsewhere (no gradient there)."""
    x = _float_input("threshold", input)
    return _ops.Where.apply(input, _const(np.asarray(value, x.dtype)), cond=x > threshold)


def _check_lambd(name, lambd):
    if lambd < 0:
        raise ValueError(f"{name}: lambd must be greater or equal to 0, but found to be {lambd}")


def softshrink(input, lambd=0.5):
    """x − λ above λ, x + λ below −λ, 0 between (soft thresholding)."""
    _check_lambd("softshrink", lambd)
    x = _float_input("softshrink", input)
    above, below = x > lambd, x < -lambd
    shift = np.where(above, -lambd, np.where(below, lambd, 0.0)).astype(x.dtype)
    return _ops.Where.apply(input + _const(shift), _zero(input), cond=above | below)


def hardshrink(input, lambd=0.5):
    """x where |x| > λ, 0 elsewhere."""
    _check_lambd("hardshrink", lambd)
    x = _float_input("hardshrink", input)
    return _ops.Where.apply(input, _zero(input), cond=(x > lambd) | (x < -lambd))


def prelu(input, weight):
    """x for x > 0, weight·x otherwise, with one learned slope for all channels or one per channel
    (dimension 1 of the input; an input with fewer than 2 dimensions has one channel)."""
    x = _float_input("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: the weight must be a tensor, got {type(weight).__name__}")
    c = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() not in (1, c):
        raise ValueError(f"prelu: mismatch of parameter numbers and input channel size: the weight has "
                         f"{weight.numel()} elements, the input of shape {tuple(input.shape)} has {c} channels "
                         "(the weight needs 1 element or one per channel)")
    if weight.numel() == 1:
        w = _fn.reshape(weight, ())
    else:
        w = _fn.reshape(weight, (1, c) + (1,) * (input.ndim - 2))
    return _ops.Where.apply(input, input * w, cond=x > 0)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU: while training each non-positive element gets a slope drawn from
    U(lower, upper) (from the default generator); in evaluation the slope is their mean."""
    x = _float_input("rrelu", input)
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    slopes = _gen(None).uniform(lower, upper, x.shape)
    return input * _const(np.where(x > 0, 1.0, slopes).astype(x.dtype))
