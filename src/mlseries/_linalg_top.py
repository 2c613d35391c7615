"""The linear-algebra names PyTorch keeps at the top level and on Tensor (`torch.det`,
`x.inverse()`, the old `torch.svd` that returns V rather than Vᴴ, ...), built on `mlseries.linalg`.
Only names the engine does not already have are added (`__all__` is filled at import)."""
import collections
import sys

import numpy as np

from . import _functions as _fn
from . import linalg as _la
from ._tensor import Tensor

_svd_old = collections.namedtuple("svd", ["U", "S", "V"])
_qr_old = collections.namedtuple("qr", ["Q", "R"])


def det(input):
    return _la.det(input)


def inverse(input, *, out=None):
    return _la.inv(input, out=out)


def logdet(input):
    """log det A: NaN where det < 0 and -inf where det = 0, as PyTorch."""
    sign, logabs = _la.slogdet(input)
    fix = np.where(sign._data < 0, np.nan, np.where(sign._data == 0, -np.inf, 0.0)).astype(logabs._data.dtype)
    return logabs + Tensor._make(fix)


def slogdet(input):
    return _la.slogdet(input)


def svd(input, some=True, compute_uv=True):
    """The old torch.svd: (U, S, V) with A = U diag(S) Vᵀ (V, not Vᴴ); some=True is the reduced
    form; compute_uv=False gives zero U and V."""
    U, S, Vh = _la.svd(input, full_matrices=not some)
    if not compute_uv:
        return _svd_old(Tensor._make(np.zeros(U._data.shape, U._data.dtype)), S,
                        Tensor._make(np.zeros(Vh._data.shape, Vh._data.dtype)))
    return _svd_old(U, S, _fn.transpose(Vh, -2, -1))


def cholesky(input, upper=False, *, out=None):
    return _la.cholesky(input, upper=upper, out=out)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B, given A's Cholesky factor L (or U with upper=True)."""
    if upper:
        y = _la.solve_triangular(_fn.transpose(L, -2, -1), B, upper=False)
        return _la.solve_triangular(L, y, upper=True)
    y = _la.solve_triangular(L, B, upper=False)
    return _la.solve_triangular(_fn.transpose(L, -2, -1), y, upper=True)


def cholesky_inverse(L, upper=False, *, out=None):
    """A⁻¹ from A's Cholesky factor."""
    n = L.shape[-1]
    eye = Tensor._make(np.broadcast_to(np.eye(n, dtype=L._data.dtype), L._data.shape).copy())
    return cholesky_solve(eye, L, upper)


def pinverse(input, rcond=1e-15):
    return _la.pinv(input, rtol=rcond)


def matrix_power(input, n):
    return _la.matrix_power(input, n)


def matrix_exp(input):
    return _la.matrix_exp(input)


def qr(input, some=True, *, out=None):
    return _qr_old(*_la.qr(input, "reduced" if some else "complete"))


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """The old torch.triangular_solve: (solution, A clone) solving A X = b (Aᵀ X = b with transpose)."""
    M = _fn.transpose(A, -2, -1) if transpose else A
    X = _la.solve_triangular(M, b, upper=upper != transpose, unitriangular=unitriangular)
    return collections.namedtuple("triangular_solve", ["solution", "cloned_coefficient"])(X, A.clone())


def _missing(obj, name):
    return name not in getattr(obj, "__dict__", {}) and not hasattr(obj, name)


_CANDIDATES = [det, inverse, logdet, slogdet, svd, cholesky, cholesky_solve, cholesky_inverse, pinverse,
               matrix_power, matrix_exp, qr, triangular_solve]
for _f in _CANDIDATES:
    if _missing(Tensor, _f.__name__):
        setattr(Tensor, _f.__name__, _f)
# the package as imported so far: a name another part of the engine already defines is kept
_defined = sys.modules[__package__].__dict__
__all__ = [_f.__name__ for _f in _CANDIDATES if _f.__name__ not in _defined]
