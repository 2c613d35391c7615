"""PyTorch's other spellings and small compositions that real programs use: `torch.divide`,
`torch.greater`, `x.ravel()`, `torch.nansum`, `torch.fmax`, `torch.cov`, `torch.trapezoid`,
`torch.hsplit`, top-level `torch.conv2d` ... Each is written with the engine's differentiable
operations, so gradients come for free and match PyTorch's (tests/test_functions_aliases.py)."""
import math

from . import _dtype
from . import _functions as _fn
from . import _functions_basic as _basic
from ._factories import ones_like
from ._tensor import Tensor, as_tensor

# ---- other names for existing operations (torch.divide is torch.div, ...)
divide, multiply, subtract, negative = _fn.div, _fn.mul, _fn.sub, _fn.neg
greater, greater_equal, less, less_equal, not_equal = _fn.gt, _fn.ge, _fn.lt, _fn.le, _fn.ne


def positive(input):
    """input itself (unary +), as torch.positive."""
    return input


def detach(input):
    return input.detach()


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """torch.asarray: shares memory with a tensor or NumPy array when it can (copy=True forces a copy)."""
    out = as_tensor(obj, dtype=dtype)
    if copy:
        out = out.clone()
    if requires_grad:
        out = out.detach().requires_grad_(True) if out is obj else out.requires_grad_(True)
    return out


def ravel(input):
    """A 1-D view when the memory allows (else a copy), as torch.ravel."""
    return input.reshape(-1)


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum treating NaN as 0 (no gradient flows to the NaNs)."""
    clean = _fn.masked_fill(input, _fn.isnan(input), 0.0)
    out = clean.sum() if dim is None else clean.sum(dim=dim, keepdim=keepdim)
    return out if dtype is None else out.type(dtype)


def _nan_aware(pick):
    def f(input, other):
        """Elementwise max/min where a NaN loses to a number (NaN only where both are NaN)."""
        a, b = (v if isinstance(v, Tensor) else as_tensor(v) for v in (input, other))
        best = pick(a, b)
        return _fn.where(_fn.isnan(a), b, _fn.where(_fn.isnan(b), a, best))
    return f


fmax, fmin = _nan_aware(_fn.maximum), _nan_aware(_fn.minimum)
fmax.__name__, fmin.__name__ = "fmax", "fmin"


def isposinf(input):
    return _fn.isinf(input) & (input > 0)


def isneginf(input):
    return _fn.isinf(input) & (input < 0)


def isreal(input):
    """True everywhere: the engine has no complex tensors."""
    return ones_like(input, dtype=_dtype.bool)


def _split_along(dim, name, min_ndim):
    def f(input, indices_or_sections):
        if input.ndim < min_ndim:
            raise ValueError(f"{name} needs a tensor of at least {min_ndim} dimensions, got {input.ndim}")
        if isinstance(indices_or_sections, int) and input.shape[dim] % indices_or_sections:
            raise ValueError(f"{name}: dimension {dim} of size {input.shape[dim]} is not divisible by "
                             f"{indices_or_sections}; use tensor_split for uneven pieces")
        return _basic.tensor_split(input, indices_or_sections, dim)
    f.__name__ = name
    return f


vsplit = _split_along(0, "vsplit", 2)
dsplit = _split_along(2, "dsplit", 3)
_hsplit_columns, _hsplit_vector = _split_along(1, "hsplit", 2), _split_along(0, "hsplit", 1)


def hsplit(input, indices_or_sections):
    """Along dimension 1 (dimension 0 of a 1-D tensor)."""
    return (_hsplit_columns if input.ndim > 1 else _hsplit_vector)(input, indices_or_sections)


def diagflat(input, offset=0):
    return _fn.diag(input.reshape(-1), offset)


def vdot(input, other):
    """The dot product of two 1-D tensors (no conjugation: the engine is real)."""
    if input.ndim != 1 or other.ndim != 1:
        raise ValueError(f"vdot: 1-D tensors expected, got shapes {tuple(input.shape)} and {tuple(other.shape)}")
    return (input * other).sum()


def ger(input, vec2):
    return _fn.outer(input, vec2)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta · input + alpha · outer(vec1, vec2)."""
    return input * beta + _fn.outer(vec1, vec2) * alpha


def logaddexp2(input, other):
    """log2(2^a + 2^b), computed stably through logaddexp."""
    ln2 = math.log(2.0)
    return _fn.logaddexp(input * ln2, other * ln2) / ln2


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule along `dim`: with sample points x (1-D or y's shape) or spacing dx (default 1)."""
    n = y.shape[dim]
    left, right = y.narrow(dim, 0, n - 1), y.narrow(dim, 1, n - 1)
    if x is None:
        return ((left + right) * (0.5 * (1.0 if dx is None else dx))).sum(dim=dim)
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[dim] = n - 1
        widths = (x[1:] - x[:-1]).reshape(shape)
    else:
        widths = x.narrow(dim, 1, n - 1) - x.narrow(dim, 0, n - 1)
    return ((left + right) * widths * 0.5).sum(dim=dim)


trapz = trapezoid


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of `input` (observations in the columns), with
    optional integer frequency weights and real observation weights, as torch.cov."""
    x = input if input.ndim == 2 else input.reshape(1, -1)            # (variables, observations)
    if not x.is_floating_point():
        x = x.float()
    n = x.shape[1]
    w = None
    for given, name in ((fweights, "fweights"), (aweights, "aweights")):
        if given is None:
            continue
        g = given if isinstance(given, Tensor) else as_tensor(given)
        if g.ndim != 1 or g.shape[0] != n:
            raise ValueError(f"cov: {name} must be 1-D with one weight per observation ({n}), got shape {tuple(g.shape)}")
        if bool((g < 0).any()):
            raise ValueError(f"cov: {name} cannot be negative")
        w = g if w is None else w * g
    if w is None:
        mean = x.mean(dim=1, keepdim=True)                             # (variables, 1)
        norm = n - correction
        xm = x - mean
        c = (xm @ xm.transpose(0, 1)) / max(norm, 0)
    else:
        w = w.type(x.dtype)
        w_sum = w.sum()
        mean = (x * w).sum(dim=1, keepdim=True) / w_sum
        if aweights is not None:
            aw = (aweights if isinstance(aweights, Tensor) else as_tensor(aweights)).type(x.dtype)
            norm = w_sum - correction * (w * aw).sum() / w_sum
        else:
            norm = w_sum - correction
        xm = x - mean
        c = ((xm * w) @ xm.transpose(0, 1)) / _fn.clamp(norm, min=0)
    return c.reshape(()) if input.ndim < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows, clipped to [-1, 1] as torch.corrcoef."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = _fn.sqrt(_fn.diagonal(c))
    return _fn.clamp(c / d[:, None] / d[None, :], -1, 1)


__all__ = ["divide", "multiply", "subtract", "negative", "positive", "greater", "greater_equal", "less",
           "less_equal", "not_equal", "detach", "asarray", "ravel", "nansum", "fmax", "fmin", "isposinf",
           "isneginf", "isreal", "vsplit", "hsplit", "dsplit", "diagflat", "vdot", "ger", "addr", "logaddexp2",
           "trapezoid", "trapz", "cov", "corrcoef"]

for _f in (ravel, nansum, fmax, fmin, isposinf, isneginf, isreal, vsplit, hsplit, dsplit, diagflat, vdot, ger,
           addr, logaddexp2, cov, corrcoef, positive):
    setattr(Tensor, _f.__name__, _f)
for _name in ("greater", "greater_equal", "less", "less_equal", "not_equal"):   # divide, ... are methods already
    setattr(Tensor, _name, globals()[_name])
del _f, _name


def _bernoulli_method(self, p=None, *, generator=None):
    """x.bernoulli(): 1 with probability x (or with probability p for every element)."""
    from ._factories import bernoulli, full_like
    return bernoulli(self if p is None else full_like(self, p), generator=generator)


Tensor.bernoulli = _bernoulli_method
Tensor.is_signed = lambda self: self._data.dtype.kind in "fi"  # noqa: E731
Tensor.is_same_size = lambda self, other: tuple(self.shape) == tuple(other.shape)  # noqa: E731
Tensor.is_inference = lambda self: False  # noqa: E731  (inference-mode tensors are ordinary ones here)
Tensor.real = property(lambda self: self)    # a real tensor is its own real part
Tensor.split_with_sizes = lambda self, split_sizes, dim=0: _fn.split(self, list(split_sizes), dim)  # noqa: E731
