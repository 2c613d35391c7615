"""`mlseries.linalg`: PyTorch's torch.linalg on NumPy's LAPACK, differentiable.

Each factorisation is one primitive of `_ops_linalg.py` (its derivative rule is written there);
norms, products and the like are composed from existing Tensor operations. Inputs are batched
over leading dimensions, (…, m, n), as in PyTorch. A matrix the operation cannot handle raises
`LinAlgError`, a RuntimeError, as torch.linalg.LinAlgError does.

Differs from PyTorch: only real inputs (no complex numbers, so no `eig`/`eigvals`); the gradients
of `eigh` and `svd` assume distinct eigen/singular values, as PyTorch's do, but where those
coincide the result is inf/NaN here too; `qr`'s gradient needs m ≥ n; `svd(full_matrices=True)`
differentiates through the reduced factors only (the extra columns of U or V get no gradient).
"""
import builtins
import collections
import math
import numbers

import numpy as np

from . import _functions as _fn
from . import _ops_linalg as _ol
from ._ops_linalg import LinAlgError
from ._tensor import Tensor

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "det", "slogdet", "solve",
           "solve_ex", "solve_triangular", "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "svd", "svdvals",
           "pinv", "matrix_rank", "lstsq", "cross", "matrix_power", "multi_dot", "diagonal", "vecdot", "matmul",
           "cond", "vander", "matrix_exp"]

_inf = float("inf")
_slogdet = collections.namedtuple("slogdet", ["sign", "logabsdet"])
_eigh = collections.namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_svd = collections.namedtuple("svd", ["U", "S", "Vh"])
_qr = collections.namedtuple("qr", ["Q", "R"])
_lstsq = collections.namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
_inv_ex = collections.namedtuple("inv_ex", ["inverse", "info"])
_cholesky_ex = collections.namedtuple("cholesky_ex", ["L", "info"])
_solve_ex = collections.namedtuple("solve_ex", ["result", "info"])


def _t(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def _float_input(name, A):
    A = _t(A)
    if A._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: expected a floating-point tensor (float32 or float64), got {A.dtype}; "
                           "convert it with .float() or .double()")
    return A


def _square(name, A, ndim=2):
    A = _float_input(name, A)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: the input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return A


def _matrix(name, A):
    A = _float_input(name, A)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: the input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    return A


def _out(result, out):
    if out is not None:
        out._data = result._data.astype(out._data.dtype, copy=False)
        return out
    return result


# ---- norms ----------------------------------------------------------------------------------------
class _VectorNorm(_ol.Function):
    """‖x‖_p over `dims` for finite p ≠ 0, with gradient x|x|^(p−2)/‖x‖^(p−1) (0 where ‖x‖ = 0,
    where the p-norm has no derivative: PyTorch's choice)."""
    save_output = True

    def forward(self, x, p, dims, keepdim):
        self.p, self.dims, self.keepdim = p, dims, keepdim
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            a = np.abs(x)
            if p == 2:
                r = np.sqrt(np.sum(a * a, axis=dims, keepdims=True))
            elif p == 1:
                r = np.sum(a, axis=dims, keepdims=True)
            else:
                r = np.sum(a ** p, axis=dims, keepdims=True) ** (1.0 / p)
        return r.astype(x.dtype, copy=False) if keepdim else np.squeeze(r, axis=dims).astype(x.dtype, copy=False)

    def backward(self, g):
        (x,) = self.inputs
        p, dims = self.p, self.dims
        n = self.output
        if not self.keepdim:
            n = _fn.reshape(n, tuple(1 if i in dims else s for i, s in enumerate(x._data.shape)))
            g = _fn.reshape(g, n._data.shape)
        zero = n._data == 0
        dt = x._data.dtype
        safe = _ol._where(zero, _ol._const(np.ones((), dt)), n)
        if p == 2:
            return (x * (g / safe),)
        sign = _ol._const(np.sign(x._data))
        if p == 1:
            return (sign * g,)
        return (sign * _fn.abs(x) ** (p - 1) * (g / safe ** (p - 1)),)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """‖x‖_ord over `dim` (all elements when None), treating the input as a vector:
    ord = 2 (default), 1, any real p, inf (max |x|), -inf (min |x|), 0 (count of non-zeros)."""
    x = _t(x)
    if dtype is not None:
        x = x.type(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: expected a floating point input, but got {x.dtype}")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r} (use linalg.matrix_norm "
                           "for 'fro' and 'nuc')")
    dims = _fn._dims(dim, x.ndim) if dim is not None else tuple(range(x.ndim))
    if x.ndim == 0:
        dims = None
    if ord == _inf or ord == -_inf:
        a = _fn.abs(x)
        res = (_fn.amax if ord == _inf else _fn.amin)(a, dims, keepdim=keepdim) if dims != () else a
        return _out(res, out)
    if ord == 0:
        # a count; x·0 keeps it in the graph, with the zero gradient PyTorch gives
        res = _fn.sum((x != 0).type(x.dtype) + x * 0.0, dims, keepdim=keepdim)
        return _out(res, out)
    if dims is None or x.ndim == 0:
        res = _fn.abs(x)
        return _out(res, out)
    return _out(_VectorNorm.apply(x, p=float(ord), dims=dims, keepdim=bool(keepdim)), out)


def _svdvals_for_norm(A, dims):
    # move the two matrix dims last
    d0, d1 = dims
    rest = [i for i in range(A.ndim) if i not in dims]
    return svdvals(_fn.permute(A, *rest, d0, d1)), rest


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """The matrix norm of the matrices in `dim`: 'fro', 'nuc', 2 / -2 (largest / smallest singular
    value), 1 / -1 (max / min column sum of |a|), inf / -inf (max / min row sum of |a|)."""
    A = _t(A)
    if dtype is not None:
        A = A.type(dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: the input tensor A must have at least 2 dimensions, "
                           f"got shape {tuple(A.shape)}")
    dims = _fn._dims(dim, A.ndim)
    if len(dims) != 2 or dims[0] == dims[1]:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple of different dimensions, got {dim}")
    if ord == "fro":
        res = vector_norm(A, 2, dims, keepdim)
    elif ord == "nuc" or ord in (2, -2):
        s, rest = _svdvals_for_norm(A, dims)
        if ord == "nuc":
            res = _fn.sum(s, -1)
        else:
            res = (_fn.amax if ord == 2 else _fn.amin)(s, -1)
        if keepdim:
            for d in sorted(dims):
                res = _fn.unsqueeze(res, d)
    elif ord in (1, -1, _inf, -_inf):
        sum_dim, pick_dim = (dims[0], dims[1]) if ord in (1, -1) else (dims[1], dims[0])
        sums = _fn.sum(_fn.abs(A), sum_dim, keepdim=True)
        pick = _fn.amax if ord > 0 else _fn.amin
        res = pick(sums, pick_dim, keepdim=True)
        if not keepdim:
            res = _fn.squeeze(res, tuple(sorted(dims)))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported (use 'fro', 'nuc', 2, -2, 1, -1, "
                           "inf or -inf)")
    return _out(res, out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm or a matrix norm, as torch.linalg.norm chooses: with `dim` an int (or a
    1-tuple) a vector norm; with a 2-tuple, or a string `ord`, a matrix norm; with neither
    `ord` nor `dim`, the 2-norm of all the elements; with `ord` alone the input must be 1-D
    or 2-D."""
    A = _t(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    if A.ndim == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: a string ord ({ord!r}) needs a matrix, got a vector")
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                       f"{A.ndim}D (pass dim=)")


def cond(A, p=None):
    """The condition number ‖A‖·‖A⁻¹‖ (σ_max/σ_min for p None or 2)."""
    A = _matrix("cond", A)
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        big, small = _fn.amax(s, -1), _fn.amin(s, -1)
        return big / small if p != -2 else small / big
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


# ---- inverses, determinants, solves ---------------------------------------------------------------
def inv(A, *, out=None):
    """A⁻¹ for each square matrix of A (…, n, n); a singular one raises LinAlgError."""
    A = _square("inv", A)
    return _out(_ol.Inv.apply(A), out)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0 where the inverse exists; without check_errors a singular
    matrix gives info > 0 instead of an error (and a NaN inverse)."""
    A = _square("inv_ex", A)
    try:
        return _inv_ex(inv(A), Tensor._make(np.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        info = np.zeros(A.shape[:-2], np.int32)
        flat = A._data.reshape((-1,) + A.shape[-2:])
        res = np.full(flat.shape, np.nan, A._data.dtype)
        for i, a in enumerate(flat):
            try:
                res[i] = np.linalg.inv(a)
            except np.linalg.LinAlgError:
                info.reshape(-1)[i] = 1
        return _inv_ex(Tensor._make(res.reshape(A.shape)), Tensor._make(info))


def det(A, *, out=None):
    """The determinant of each square matrix, (…, n, n) -> (…)."""
    A = _square("det", A)
    return _out(_ol.Det.apply(A), out)


def slogdet(A, *, out=None):
    """(sign, log|det A|): the determinant without overflow; log|det| is differentiable."""
    A = _square("slogdet", A)
    logabs = _ol.LogAbsDet.apply(A)
    sign = Tensor._make(np.sign(np.linalg.det(A._data)).astype(A._data.dtype))
    return _slogdet(sign, logabs)


def _solve_shapes(name, A, B, left):
    A = _square(name, A)
    B = _float_input(name, B)
    if not left:
        # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
        res = _solve_impl(name, _fn.transpose(A, -2, -1), _fn.transpose(B, -2, -1))
        return _fn.transpose(res, -2, -1)
    return _solve_impl(name, A, B)


def _solve_impl(name, A, B):
    n = A.shape[-1]
    # B is a (batch of) vector(s) when it has one dimension fewer than A and matches its shape
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = _fn.unsqueeze(B, -1) if vector else B
    if Bm.shape[-2] != n:
        raise RuntimeError(f"linalg.{name}: incompatible shapes of A {tuple(A.shape)} and B {tuple(B.shape)}: "
                           f"B must have {n} rows")
    dt = np.result_type(A._data.dtype, B._data.dtype)
    A, Bm = A.type(dt), Bm.type(dt)
    batch = tuple(np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2])))
    A = _fn.expand(A, batch + tuple(A.shape[-2:]))
    Bm = _fn.expand(Bm, batch + tuple(Bm.shape[-2:]))
    X = _ol.Solve.apply(A, Bm)
    return _fn.squeeze(X, -1) if vector else X


def solve(A, B, *, left=True, out=None):
    """X with A X = B (left=True) or X A = B; B may be a vector (…, n) or matrices (…, n, k), and
    the batch dimensions broadcast. A singular A raises LinAlgError."""
    return _out(_solve_shapes("solve", A, B, left), out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    A = _t(A)
    return _solve_ex(solve(A, B, left=left), Tensor._make(np.zeros(A.shape[:-2], np.int32)))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (or X A = B), A triangular: only its upper or lower triangle is read."""
    A = _square("solve_triangular", A)
    B = _float_input("solve_triangular", B)
    if B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must have at least 2 dimensions, got {tuple(B.shape)}")
    if not left:
        res = _ol.SolveTriangular.apply(_fn.transpose(A, -2, -1), _fn.transpose(B, -2, -1), upper=not upper,
                                        unitriangular=unitriangular)
        return _out(_fn.transpose(res, -2, -1), out)
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve_triangular: incompatible shapes of A {tuple(A.shape)} and B "
                           f"{tuple(B.shape)}")
    return _out(_ol.SolveTriangular.apply(A, B, upper=bool(upper), unitriangular=bool(unitriangular)), out)


def cholesky(A, *, upper=False, out=None):
    """L (lower triangular) with A = L Lᵀ, for symmetric positive-definite A (…, n, n); only the
    lower triangle of A is read. upper=True gives Lᵀ. Not positive-definite: LinAlgError."""
    A = _square("cholesky", A)
    L = _ol.Cholesky.apply(A)
    return _out(_fn.transpose(L, -2, -1) if upper else L, out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    A = _square("cholesky_ex", A)
    try:
        return _cholesky_ex(cholesky(A, upper=upper), Tensor._make(np.zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        return _cholesky_ex(Tensor._make(np.full(A._data.shape, np.nan, A._data.dtype)),
                            Tensor._make(np.ones(A.shape[:-2], np.int32)))


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore–Penrose pseudo-inverse (…, n, m) of A (…, m, n): singular values below
    max(atol, rtol·σ_max) count as zero. Its gradient assumes the rank does not change nearby."""
    A = _matrix("pinv", A)
    if atol is not None:
        # numpy takes a relative cutoff only: fold the absolute one in per matrix
        smax = np.linalg.svd(A._data, compute_uv=False)[..., :1] if A._data.size else np.zeros(1)
        r = 0.0 if rtol is None else float(rtol)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.maximum(float(atol) / np.where(smax > 0, smax, 1.0), r)
        rtol_arr = rel.squeeze(-1)
    else:
        m, n = A.shape[-2:]
        rtol_arr = (builtins.max(m, n) * np.finfo(A._data.dtype).eps) if rtol is None else float(rtol)
    return _out(_ol.Pinv.apply(A, rtol=rtol_arr), out)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The number of singular values above max(atol, rtol·σ_max) (rtol defaults to eps·max(m, n))."""
    A = _matrix("matrix_rank", A)
    s = np.linalg.svd(A._data, compute_uv=False)
    m, n = A.shape[-2:]
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else builtins.max(m, n) * np.finfo(A._data.dtype).eps
    tol = np.maximum(0.0 if atol is None else float(atol), float(rtol) * smax)
    return _out(Tensor._make((s > tol).sum(-1).astype(np.int64)), out)


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X ≈ B (through the pseudo-inverse, so rank-deficient A
    works too and it is differentiable). residuals, rank and singular_values are returned as
    PyTorch's CPU default driver ('gelsy') does: rank filled, the other two empty."""
    A = _matrix("lstsq", A)
    B = _float_input("lstsq", B)
    vector = B.ndim == A.ndim - 1
    Bm = _fn.unsqueeze(B, -1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"linalg.lstsq: input.size(-2) should match other.size(-2) (A has {A.shape[-2]} "
                           f"rows, B has {Bm.shape[-2]})")
    kw = {} if rcond is None else {"rtol": rcond}
    X = pinv(A, **kw) @ Bm
    if vector:
        X = _fn.squeeze(X, -1)
    rank = matrix_rank(A, **kw)
    empty = Tensor._make(np.zeros(0, A._data.dtype))
    return _lstsq(X, empty, rank, empty)


# ---- factorisations -------------------------------------------------------------------------------
def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric A (…, n, n); only the
    triangle UPLO ('L' or 'U') is read. The gradient assumes distinct eigenvalues and depends
    only on quantities invariant under each eigenvector's sign."""
    A = _square("eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    both = _ol.Eigh.apply(A, uplo=UPLO)
    return _eigh(both[..., 0, :], both[..., 1:, :])


def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues (ascending) of symmetric A; gradient V diag(g) Vᵀ."""
    return _out(eigh(A, UPLO).eigenvalues, out)


def svd(A, full_matrices=True, *, driver=None, out=None):
    """A = U diag(S) Vh, singular values descending. With full_matrices=True (the default) U and
    Vh are square; the gradient then flows through their first min(m, n) columns / rows only."""
    A = _matrix("svd", A)
    m, n = A.shape[-2:]
    k = builtins.min(m, n)
    both = _ol.Svd.apply(A)
    U, S, V = both[..., :m, :], both[..., m, :], both[..., m + 1:, :]
    Vh = _fn.transpose(V, -2, -1)
    if full_matrices and m != n:
        u_full, _, vh_full = np.linalg.svd(A._data, full_matrices=True)
        if m > k:
            U = _fn.cat([U, Tensor._make(np.ascontiguousarray(u_full[..., :, k:]))], -1)
        if n > k:
            Vh = _fn.cat([Vh, Tensor._make(np.ascontiguousarray(vh_full[..., k:, :]))], -2)
    return _svd(U, S, Vh)


def svdvals(A, *, driver=None, out=None):
    """The singular values, descending; gradient U diag(g) Vᵀ."""
    A = _matrix("svdvals", A)
    m = A.shape[-2]
    return _out(_ol.Svd.apply(A)[..., m, :], out)


def qr(A, mode="reduced", *, out=None):
    """A = QR with Q's columns orthonormal and R upper triangular: mode 'reduced' (Q m×k, R k×n),
    'complete' (Q m×m) or 'r' (R only, Q empty)."""
    A = _matrix("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    m, n = A.shape[-2:]
    k = builtins.min(m, n)
    np_mode = "complete" if mode == "complete" else "reduced"
    both = _ol.Qr.apply(A, mode=np_mode)
    qcols = m if np_mode == "complete" else k
    rrows = m if np_mode == "complete" else k
    Q = both[..., :m, :qcols]
    R = both[..., m:m + rrows, :n]
    if mode == "r":
        Q = Tensor._make(np.zeros(0, A._data.dtype))
    return _qr(Q, R)


def matrix_exp(A):
    """e^A by scaling and squaring of a Taylor series, in Tensor operations (so differentiable)."""
    A = _square("matrix_exp", A)
    nrm = float(np.max(np.abs(A._data).sum(-1))) if A._data.size else 0.0
    s = builtins.max(0, int(math.ceil(math.log2(nrm))) + 1) if nrm > 0.5 else 0
    X = A / float(2 ** s)
    n = A.shape[-1]
    eye = Tensor._make(np.eye(n, dtype=A._data.dtype))
    result, term = eye + X, X
    for k in range(2, 18):
        term = term @ X / float(k)
        result = result + term
    for _ in range(s):
        result = result @ result
    return result


# ---- products and small helpers ---------------------------------------------------------------------
def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along `dim` (the inputs broadcast)."""
    a, b = _t(input), _t(other)
    if a.ndim != b.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions (got {a.ndim} and "
                           f"{b.ndim}); unsqueeze the smaller one")
    shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    a, b = _fn.expand(a, shape), _fn.expand(b, shape)
    d = _fn._dim1(dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and "
                           f"{b.shape[d]}")
    a0, a1, a2 = _fn.unbind(a, d)
    b0, b1, b2 = _fn.unbind(b, d)
    return _out(_fn.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d), out)


def matrix_power(A, n, *, out=None):
    """A to the integer power n by repeated squaring; n = 0 gives the identity, n < 0 inverts."""
    if not isinstance(n, numbers.Integral):
        raise TypeError(f"linalg.matrix_power: the exponent must be an integer, got {type(n).__name__}")
    A = _t(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, got shape {tuple(A.shape)}")
    if n == 0:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A._data.shape).copy()
        return _out(Tensor._make(eye) + A * 0.0, out)  # in the graph, with a zero gradient, as PyTorch
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return _out(result, out)


def multi_dot(tensors, *, out=None):
    """The product of several matrices in one call; the first may be a row vector (1-D) and the
    last a column vector, as in torch.linalg.multi_dot. Multiplied left to right."""
    tensors = [_t(t) for t in tensors]
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        ok = t.ndim == 2 or (t.ndim == 1 and i in (0, len(tensors) - 1))
        if not ok:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D (only the first and last may be 1D), got "
                               f"{t.ndim}D")
    result = tensors[0]
    for t in tensors[1:]:
        result = result @ t
    return _out(result, out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of each matrix (the last two dimensions by default)."""
    return _fn.diagonal(_t(A), offset, dim1, dim2)


def vecdot(x, y, *, dim=-1, out=None):
    """Σ x·y along `dim` (broadcasting)."""
    return _out(_fn.sum(_t(x) * _t(y), dim), out)


def matmul(input, other, *, out=None):
    return _out(_fn.matmul(_t(input), _t(other)), out)


def vander(x, *, N=None):
    """The Vandermonde matrix: columns x⁰, x¹, …, x^(N−1)."""
    x = _t(x)
    N = x.shape[-1] if N is None else int(N)
    if N < 1:
        raise RuntimeError("linalg.vander: N must be greater than 1.")
    cols = [Tensor._make(np.ones(x._data.shape, x._data.dtype))]
    for _ in range(1, N):
        cols.append(cols[-1] * x)
    return _fn.stack(cols, -1)
