"""Cholesky factorisation and triangular solves for MultivariateNormal, as differentiable
primitives (the engine has no linear-algebra module). Backward rules are Tensor operations
built on the same two primitives, so second derivatives work too.

cholesky: A = L Lᵀ. With Ḡ the gradient for L, the gradient for A is the symmetric
L⁻ᵀ S L⁻¹, where S = ½(M + strict_lower(M)ᵀ) and M = tril(Lᵀ Ḡ) (Murray 2016, arXiv:1602.07527).
solve_triangular: X = A⁻¹ B for triangular A. Then B̄ = A⁻ᵀ X̄ and Ā = −tri(B̄ Xᵀ), keeping
only A's triangle (the other one is never read).
"""
import numpy as np

from .._ops import sum_to
from .._tensor import Function


class _Cholesky(Function):
    save_output = True
    uses_input_values = False

    def forward(self, a):
        try:
            return np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed because the input is not "
                               "positive-definite; check that the matrix is symmetric with positive eigenvalues "
                               "(add a small multiple of the identity if it is only semi-definite)") from None

    def backward(self, g):
        L = self.output
        m = (L.mT @ g).tril()
        s = 0.5 * (m + m.tril(-1).mT)
        y = solve_triangular(L.mT, s, upper=True)                # L⁻ᵀ S
        return (solve_triangular(L.mT, y.mT, upper=True).mT,)  # (L⁻ᵀ (L⁻ᵀ S)ᵀ)ᵀ = L⁻ᵀ S L⁻¹


class _SolveTriangular(Function):
    save_output = True

    def forward(self, a, b, upper):
        self.upper = upper
        tri = np.triu(a) if upper else np.tril(a)
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        tri = np.broadcast_to(tri, shape + a.shape[-2:])
        rhs = np.broadcast_to(b, shape + b.shape[-2:])
        with np.errstate(all="ignore"):
            try:
                return np.linalg.solve(tri, rhs)
            except np.linalg.LinAlgError:
                # a zero on the diagonal: PyTorch's triangular solve gives inf/nan rather than failing
                d = np.diagonal(tri, axis1=-2, axis2=-1)
                out = np.full(np.broadcast_shapes(tri.shape[:-1], rhs.shape[:-2] + rhs.shape[-2:-1])
                              + rhs.shape[-1:], np.nan, dtype=np.result_type(a, b))
                ok = (d != 0).all(-1)
                out[ok] = np.linalg.solve(tri[ok], rhs[ok])
                return out

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        gb = solve_triangular(a.mT, g, upper=not self.upper)
        ga = None
        if na:
            x = self.output
            ga = -(gb @ x.mT)
            ga = sum_to(ga.triu() if self.upper else ga.tril(), a._data.shape)
        return ga, sum_to(gb, b._data.shape) if nb else None


def cholesky(a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"cholesky: expected a batch of square matrices, got shape {tuple(a.shape)}")
    return _Cholesky.apply(a)


def solve_triangular(a, b, *, upper):
    """X with A X = B for triangular A (..., n, n) and B (..., n, k); batch dims broadcast."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve_triangular: A must be (..., n, n) and B (..., n, k), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if b.dtype != a.dtype:
        b = b.to(a.dtype)
    return _SolveTriangular.apply(a, b, upper=bool(upper))
