"""The special functions the distributions need and the engine lacks (erfinv for Normal.icdf,
lgamma for Binomial's normalising constant). Each is a primitive whose backward is written in
Tensor operations, so gradients of gradients work as for the engine's own ops."""
import math

import numpy as np
from scipy import special as _sp

from .._tensor import Function


class _Erfinv(Function):
    save_output = True
    uses_input_values = False

    def forward(self, a):
        return _sp.erfinv(a).astype(a.dtype, copy=False)

    def backward(self, g):
        y = self.output
        # d erfinv(x)/dx = sqrt(pi)/2 * exp(erfinv(x)^2)
        return (g * (y * y).exp() * (math.sqrt(math.pi) / 2),)


class _Polygamma(Function):
    """polygamma(n, x): the n-th derivative of digamma; n = -1 is read as lgamma."""

    def forward(self, a, n):
        self.n = n
        out = _sp.gammaln(a) if n == -1 else _sp.polygamma(n, a)
        return np.asarray(out).astype(a.dtype, copy=False)

    def backward(self, g):
        (x,) = self.inputs
        return (g * _Polygamma.apply(x, n=self.n + 1),)


def _float(x):
    return x if x.is_floating_point() else x.float()


def erfinv(x):
    return _Erfinv.apply(_float(x))


def lgamma(x):
    return _Polygamma.apply(_float(x), n=-1)


def digamma(x):
    return _Polygamma.apply(_float(x), n=0)


__all__ = ["erfinv", "lgamma", "digamma"]
