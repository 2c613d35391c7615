"""`mlseries.special`: PyTorch's torch.special, on SciPy's special functions.

What the engine already has is reused (erf, erfinv, sigmoid, softmax, logsumexp, log1p, expm1,
exp2, round); the rest are small primitives here (forward in SciPy, derivative as a Tensor
expression, so second derivatives work) or compositions. Differentiable where PyTorch's are;
bessel_j0/j1 are not (neither are PyTorch's). The top-level names PyTorch also has
(`torch.lgamma`, `torch.digamma`, `x.xlogy(y)`, ...) are added where the engine lacks them.
"""
import math

import numpy as np
from scipy import special as _sc

from . import _functions as _fn
from ._tensor import Function, Tensor

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln", "digamma", "psi",
           "polygamma", "multigammaln", "log_softmax", "softmax", "logsumexp", "entr", "sinc", "log1p", "expm1",
           "exp2", "ndtr", "ndtri", "log_ndtr", "i0", "i0e", "i1", "i1e", "round", "bessel_j0", "bessel_j1"]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _t(x):
    if isinstance(x, Tensor):
        return x
    return Tensor._make(np.asarray(x, dtype=np.float32 if isinstance(x, float) else None))


def _float(x):
    x = _t(x)
    if x._data.dtype.kind != "f":
        from . import _dtype
        x = x.type(_dtype.default_float)
    return x


def _const(a):
    return Tensor._make(a)


def _scipy(fn, a, *args):
    with np.errstate(all="ignore"):
        return np.asarray(fn(*args, a)).astype(a.dtype, copy=False)


class _Erfc(Function):
    def forward(self, a):
        return _scipy(_sc.erfc, a)

    def backward(self, g):
        (a,) = self.inputs
        return (g * _fn.exp(-(a * a)) * (-2.0 / _SQRT_PI),)


class _Erfcx(Function):
    save_output = True

    def forward(self, a):
        return _scipy(_sc.erfcx, a)

    def backward(self, g):
        (a,) = self.inputs
        return (g * (2.0 * a * self.output - 2.0 / _SQRT_PI),)


class _Polygamma(Function):
    """ψ⁽ⁿ⁾(x); n = −1 stands for log Γ(x) (gammaln), n = 0 for digamma."""

    def forward(self, a, n):
        self.n = n
        if n == -1:
            return _scipy(_sc.gammaln, a)
        if n == 0:
            return _scipy(_sc.digamma, a)
        with np.errstate(all="ignore"):
            return np.asarray(_sc.polygamma(n, a)).astype(a.dtype, copy=False)

    def backward(self, g):
        (a,) = self.inputs
        return (g * _Polygamma.apply(a, n=self.n + 1),)


class _Ndtri(Function):
    save_output = True

    def forward(self, a):
        return _scipy(_sc.ndtri, a)

    def backward(self, g):
        y = self.output
        return (g * _fn.exp(y * y * 0.5) * _SQRT_2PI,)


class _LogNdtr(Function):
    save_output = True

    def forward(self, a):
        return _scipy(_sc.log_ndtr, a)

    def backward(self, g):
        (a,) = self.inputs
        return (g * _fn.exp(-(a * a) * 0.5 - self.output) * (1.0 / _SQRT_2PI),)


class _Bessel(Function):
    """i0, i0e, i1, i1e (modified Bessel functions of the first kind, e: scaled by e^−|x|)."""
    _fns = {"i0": _sc.i0, "i0e": _sc.i0e, "i1": _sc.i1, "i1e": _sc.i1e}

    def forward(self, a, kind):
        self.kind = kind
        return _scipy(self._fns[kind], a)

    def backward(self, g):
        (a,) = self.inputs
        k = self.kind
        if k == "i0":  # I0' = I1
            return (g * _Bessel.apply(a, kind="i1"),)
        if k == "i0e":  # (e^−|x| I0)' = I1e − sign(x)·I0e
            return (g * (_Bessel.apply(a, kind="i1e") - _fn.sign(a) * _Bessel.apply(a, kind="i0e")),)
        # I1' = I0 − I1/x (½ at x = 0); i1e adds −sign(x)·i1e
        safe = _fn.where(a == 0, _const(np.ones((), a._data.dtype)), a)
        base = "i0" if k == "i1" else "i0e"
        ratio = _fn.where(a == 0, _const(np.full((), 0.5, a._data.dtype)), _Bessel.apply(a, kind=k) / safe)
        d = _Bessel.apply(a, kind=base) - ratio
        if k == "i1e":
            d = d - _fn.sign(a) * _Bessel.apply(a, kind="i1e")
        return (g * d,)


# ---- the functions --------------------------------------------------------------------------------
def erf(input, *, out=None):
    return _fn.erf(_float(input))


def erfc(input, *, out=None):
    """1 − erf(x), accurate where erf(x) is near 1."""
    return _Erfc.apply(_float(input))


def erfcx(input, *, out=None):
    """The scaled complementary error function e^{x²}·erfc(x)."""
    return _Erfcx.apply(_float(input))


def erfinv(input, *, out=None):
    from . import _functions_more
    return _functions_more.erfinv(_float(input))


def expit(input, *, out=None):
    """The logistic sigmoid."""
    return _fn.sigmoid(_float(input))


def logit(input, eps=None, *, out=None):
    """log(p / (1 − p)); with eps, p is first clamped to [eps, 1 − eps]."""
    p = _float(input)
    if eps is not None:
        p = _fn.clamp(p, float(eps), 1.0 - float(eps))
    return _fn.log(p / (1.0 - p))


def _pair(name, input, other):
    a, b = _t(input), _t(other)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        a = _float(a)
    dt = np.result_type(a._data.dtype if a._data.ndim or isinstance(input, Tensor) else np.float32,
                        b._data.dtype if b._data.ndim or isinstance(other, Tensor) else np.float32)
    if dt.kind != "f":
        dt = np.dtype(np.float32)
    if not isinstance(input, Tensor):
        a = _const(np.asarray(input, dt))
    if not isinstance(other, Tensor):
        b = _const(np.asarray(other, dt))
    return a.type(dt) if a._data.dtype != dt else a, b.type(dt) if b._data.dtype != dt else b


def xlogy(input, other, *, out=None):
    """x·log(y), and 0 where x = 0 (unless y is NaN), as in entropy sums: 0·log 0 counts as 0."""
    x, y = _pair("xlogy", input, other)
    # only where log y is not finite is y replaced: there x·log y is 0 and x's gradient too
    zero = (x._data == 0) & (y._data <= 0)
    safe_y = _fn.where(_const(zero), _const(np.ones((), y._data.dtype)), y)
    return x * _fn.log(safe_y)


def xlog1py(input, other, *, out=None):
    """x·log(1 + y), and 0 where x = 0 (unless y is NaN)."""
    x, y = _pair("xlog1py", input, other)
    zero = (x._data == 0) & (y._data <= -1)
    safe_y = _fn.where(_const(zero), _const(np.zeros((), y._data.dtype)), y)
    return x * _fn.log1p(safe_y)


def gammaln(input, *, out=None):
    """log |Γ(x)|; its derivative is digamma."""
    return _Polygamma.apply(_float(input), n=-1)


def digamma(input, *, out=None):
    """ψ(x) = d/dx log Γ(x)."""
    return _Polygamma.apply(_float(input), n=0)


psi = digamma


def polygamma(n, input, *, out=None):
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n ≥ 0)."""
    if int(n) != n or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    return _Polygamma.apply(_float(input), n=int(n))


def multigammaln(input, p, *, out=None):
    """The multivariate log-gamma log Γ_p(a) = p(p−1)/4·log π + Σ_{i<p} log Γ(a − i/2)."""
    a = _float(input)
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1, got {p}")
    if np.any(a._data <= (p - 1) / 2):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    offsets = _const(-np.arange(p, dtype=a._data.dtype) / 2)
    terms = gammaln(_fn.unsqueeze(a, -1) + offsets)
    return _fn.sum(terms, -1) + p * (p - 1) / 4 * math.log(math.pi)


def log_softmax(input, dim, *, dtype=None):
    return _fn.log_softmax(input, dim, dtype=dtype)


def softmax(input, dim, *, dtype=None):
    return _fn.softmax(input, dim, dtype=dtype)


def logsumexp(input, dim, keepdim=False, *, out=None):
    return _fn.logsumexp(input, dim, keepdim)


class _Entr(Function):
    def forward(self, a):
        with np.errstate(all="ignore"):
            pos = a > 0
            safe = np.where(pos, a, 1)
            return np.where(pos, -safe * np.log(safe), np.where(a == 0, 0.0, -np.inf)).astype(a.dtype, copy=False)

    def backward(self, g):
        # −(1 + log x): +inf at 0 and NaN below, as PyTorch's
        (a,) = self.inputs
        return (g * -(_fn.log(a) + 1.0),)


def entr(input, *, out=None):
    """−x·log x elementwise: 0 at x = 0, −inf for x < 0."""
    return _Entr.apply(_float(input))


def sinc(input, *, out=None):
    """sin(πx)/(πx), and 1 at x = 0."""
    x = _float(input)
    zero = x._data == 0
    safe = _fn.where(_const(zero), _const(np.ones((), x._data.dtype)), x) * math.pi
    return _fn.where(_const(zero), _const(np.ones((), x._data.dtype)), _fn.sin(safe) / safe)


def log1p(input, *, out=None):
    return _fn.log1p(_float(input))


def expm1(input, *, out=None):
    return _fn.expm1(_float(input))


def exp2(input, *, out=None):
    return _fn.exp2(_float(input))


def ndtr(input, *, out=None):
    """Φ(x), the standard normal distribution function."""
    return erfc(-_float(input) * (1.0 / math.sqrt(2.0))) * 0.5


def ndtri(input, *, out=None):
    """Φ⁻¹(p), the standard normal quantile."""
    return _Ndtri.apply(_float(input))


def log_ndtr(input, *, out=None):
    """log Φ(x), accurate far into the left tail."""
    return _LogNdtr.apply(_float(input))


def i0(input, *, out=None):
    return _Bessel.apply(_float(input), kind="i0")


def i0e(input, *, out=None):
    return _Bessel.apply(_float(input), kind="i0e")


def i1(input, *, out=None):
    return _Bessel.apply(_float(input), kind="i1")


def i1e(input, *, out=None):
    return _Bessel.apply(_float(input), kind="i1e")


def round(input, decimals=0, *, out=None):  # noqa: A001
    """Rounded to `decimals` places, halves to even; its gradient is zero, as PyTorch's."""
    r = _fn.round(input, decimals=decimals)
    if isinstance(input, Tensor) and input.requires_grad:
        r = r + input * 0.0
    return r


def bessel_j0(input, *, out=None):
    """J₀(x); not differentiable (nor is PyTorch's)."""
    x = _float(input)
    return _const(_scipy(_sc.j0, x._data))


def bessel_j1(input, *, out=None):
    """J₁(x); not differentiable (nor is PyTorch's)."""
    x = _float(input)
    return _const(_scipy(_sc.j1, x._data))


# ---- the top-level names and Tensor methods PyTorch also has --------------------------------------
def _mvlgamma(input, p):
    return multigammaln(input, p)


def _polygamma_method(self, n):
    return polygamma(n, self)


_TOP = {"lgamma": gammaln, "digamma": digamma, "polygamma": polygamma, "erfc": erfc, "i0": i0, "sinc": sinc,
        "logit": logit, "xlogy": xlogy, "mvlgamma": _mvlgamma}
_METHODS = {"lgamma": gammaln, "digamma": digamma, "polygamma": _polygamma_method, "erfc": erfc, "i0": i0,
            "sinc": sinc, "logit": logit, "xlogy": xlogy, "mvlgamma": _mvlgamma}
for _name, _f in _METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _f)


def _top_level(namespace):
    """Add the names torch has at the top level that the package lacks (called from __init__)."""
    for name, f in _TOP.items():
        if f is not None and name not in namespace:
            namespace[name] = f
