"""Normalisation and smooth activations as fused graph nodes: layer norm, RMS norm, GELU.

Each is one `FusedFunction`: the forward keeps what the closed-form backward needs (x̂ and 1/σ
for the norms, Φ(x) for GELU), the backward is one pass of NumPy, and `composite` is the same
formula in Tensor operations, which autograd differentiates when `create_graph=True`.

Why fused: written with Tensor operations, a layer norm is about ten graph nodes, each with its
own temporary arrays and Python overhead, forward and backward; a Transformer block has two of
them. As one node it is a handful of array passes.
"""
import math

import numpy as np
from scipy import special as _special

from ._tensor import FusedFunction

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715


def _rows(a, n):
    """View (or copy, if the memory order needs it) `a` as (rows, n)."""
    return a.reshape(-1, n)


class LayerNorm(FusedFunction):
    """y = (x − mean) / √(var + eps) · weight + bias over the last `n_dims` dimensions
    (biased variance, as PyTorch). Inputs: x, then weight and bias where given."""

    def compute(self, x, *affine, n_dims, eps, has_weight, has_bias):
        n = math.prod(x.shape[x.ndim - n_dims:])
        x2 = _rows(x, n)  # (M, n)
        mean = x2.mean(axis=1, keepdims=True)  # (M, 1)
        xhat = x2 - mean  # centred for now
        var = np.einsum("ij,ij->i", xhat, xhat)  # (M,)
        var *= 1.0 / n
        var += eps
        rstd = np.sqrt(var, out=var)
        np.reciprocal(rstd, out=rstd)
        rstd = rstd[:, None]  # (M, 1)
        xhat *= rstd
        self.xhat, self.rstd, self.n = xhat, rstd, n
        if has_weight:
            out = xhat * affine[0].reshape(-1)
            if has_bias:
                out += affine[1].reshape(-1)
        elif has_bias:
            out = xhat + affine[0].reshape(-1)
        else:
            out = xhat.copy()
        return out.reshape(x.shape)

    def backward_arrays(self, g):
        p = self.params
        x = self.inputs[0]._data
        xhat, rstd, n = self.xhat, self.rstd, self.n
        g2 = _rows(g, n)
        needs = self.needs_input_grad
        grads = [None]
        if p["has_weight"]:
            w = self.inputs[1]._data
            grads.append(np.einsum("ij,ij->j", g2, xhat).reshape(w.shape) if needs[1] else None)
        if p["has_bias"]:
            grads.append(g2.sum(axis=0).reshape(self.inputs[-1]._data.shape) if needs[-1] else None)
        if needs[0]:
            # dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ, where ĝ = g·weight is the gradient of x̂.
            gh = g2 * w.reshape(-1) if p["has_weight"] else g2.copy()
            mean_g = gh.mean(axis=1, keepdims=True)  # (M, 1)
            mean_gx = np.einsum("ij,ij->i", gh, xhat)[:, None]  # (M, 1)
            mean_gx *= 1.0 / n
            gh -= mean_g
            gh -= xhat * mean_gx
            gh *= rstd
            grads[0] = gh.reshape(x.shape)
        return tuple(grads)

    @staticmethod
    def composite(x, *affine, n_dims, eps, has_weight, has_bias):
        dims = tuple(range(-n_dims, 0))
        centred = x - x.mean(dims, keepdim=True)
        var = (centred * centred).mean(dims, keepdim=True)
        y = centred * (var + eps) ** -0.5
        if has_weight:
            y = y * affine[0]
        if has_bias:
            y = y + affine[-1]
        return y


class RMSNorm(FusedFunction):
    """y = x / √(mean(x²) + eps) · weight over the last `n_dims` dimensions."""

    def compute(self, x, *affine, n_dims, eps, has_weight):
        n = math.prod(x.shape[x.ndim - n_dims:])
        x2 = _rows(x, n)  # (M, n)
        ms = np.einsum("ij,ij->i", x2, x2)  # (M,)
        ms *= 1.0 / n
        ms += eps
        rstd = np.sqrt(ms, out=ms)
        np.reciprocal(rstd, out=rstd)
        rstd = rstd[:, None]  # (M, 1)
        xhat = x2 * rstd
        self.xhat, self.rstd, self.n = xhat, rstd, n
        out = xhat * affine[0].reshape(-1) if has_weight else xhat.copy()
        return out.reshape(x.shape)

    def backward_arrays(self, g):
        x = self.inputs[0]._data
        xhat, rstd, n = self.xhat, self.rstd, self.n
        g2 = _rows(g, n)
        needs = self.needs_input_grad
        has_weight = self.params["has_weight"]
        grads = [None]
        if has_weight:
            w = self.inputs[1]._data
            grads.append(np.einsum("ij,ij->j", g2, xhat).reshape(w.shape) if needs[1] else None)
        if needs[0]:
            # dx = (ĝ − x̂·mean(ĝ·x̂)) / rms, with ĝ = g·weight.
            gh = g2 * w.reshape(-1) if has_weight else g2.copy()
            mean_gx = np.einsum("ij,ij->i", gh, xhat)[:, None]  # (M, 1)
            mean_gx *= 1.0 / n
            gh -= xhat * mean_gx
            gh *= rstd
            grads[0] = gh.reshape(x.shape)
        return tuple(grads)

    @staticmethod
    def composite(x, *affine, n_dims, eps, has_weight):
        dims = tuple(range(-n_dims, 0))
        y = x * ((x * x).mean(dims, keepdim=True) + eps) ** -0.5
        return y * affine[0] if has_weight else y


# ---- GELU ---------------------------------------------------------------------------------------
# Abramowitz & Stegun 7.1.26: erfc(a) ≈ t·P(t)·exp(−a²) with t = 1/(1 + p·a), for a ≥ 0, absolute
# error below 1.5e-7. SciPy's erf runs in double precision one element at a time (about 5 ms
# for the 400k activations of a small GPT's MLP, against 0.1 ms for PyTorch's GELU); this form
# is a dozen vectorised float32 passes. Float64 inputs keep SciPy's exact Φ.
_AS_P = 0.3275911
_AS_COEF = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def _normal_cdf_and_exp(x):
    """Φ(x) and exp(−x²/2) for a float32 array, to about 1e-7 absolute."""
    f = x.dtype.type
    a = np.abs(x)
    a *= f(_SQRT_HALF)  # a = |x|/√2, so erfc(a) = 2·Φ(−|x|)
    t = a * f(_AS_P)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * f(_AS_COEF[0])
    for c in _AS_COEF[1:]:
        poly += f(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    e = np.exp(a, out=a)  # exp(−x²/2)
    poly *= e
    poly *= -0.5
    poly += 0.5  # ½ − Φ(−|x|) = |Φ(x) − ½|
    # Φ(x) = ½ ± that, the sign of x chosen without a branch (np.where on random signs is ~5×
    # slower than the whole formula).
    np.copysign(poly, x, out=poly)
    poly += 0.5
    return poly, e


class Gelu(FusedFunction):
    """x·Φ(x) ('none') or its tanh approximation ('tanh'), one node."""

    def compute(self, x, approximate):
        if approximate == "tanh":
            u = x * x
            u *= _GELU_TANH_C
            u += 1
            u *= x
            u *= _SQRT_2_OVER_PI
            th = np.tanh(u, out=u)
            self.th = th
            out = th + 1
            out *= x
            out *= 0.5
            return out
        if x.dtype == np.float32:
            cdf, e = _normal_cdf_and_exp(x)
        else:
            cdf = _special.ndtr(x).astype(x.dtype, copy=False)
            e = None
        self.cdf, self.e = cdf, e
        return x * cdf

    def backward_arrays(self, g):
        x = self.inputs[0]._data
        if self.params["approximate"] == "tanh":
            th = self.th
            # d/dx ½x(1 + tanh u) = ½(1 + tanh u) + ½x(1 − tanh²u)·u′, u′ = √(2/π)(1 + 3c·x²)
            du = x * x
            du *= 3 * _GELU_TANH_C
            du += 1
            du *= _SQRT_2_OVER_PI
            sech2 = th * th
            np.subtract(1, sech2, out=sech2)
            du *= sech2
            du *= x
            du += th
            du += 1
            du *= 0.5
            du *= g
            return (du,)
        e = self.e
        if e is None:
            e = x * x
            e *= -0.5
            np.exp(e, out=e)
        d = x * e
        d *= _INV_SQRT_2PI  # x·φ(x)
        d += self.cdf
        d *= g
        return (d,)

    @staticmethod
    def composite(x, approximate):
        from . import _functions as fn
        if approximate == "tanh":
            inner = (x + _GELU_TANH_C * x * x * x) * _SQRT_2_OVER_PI
            return x * 0.5 * (1.0 + fn.tanh(inner))
        return x * 0.5 * (1.0 + fn.erf(x * _SQRT_HALF))
