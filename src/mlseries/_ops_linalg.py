"""The linear-algebra primitives and their derivative rules (used by `mlseries.linalg`).

As in `_ops.py`, `forward` works on NumPy arrays (LAPACK through `numpy.linalg`, batched over
leading dimensions) and `backward` on Tensors, so each rule is itself differentiable under
`create_graph=True` (the rules use the node's own output, or other primitives of this file).

The rules, for real matrices (G is the incoming gradient, ᵀ the transpose of the last two dims):
  inv      Y = A⁻¹                 gA = −Yᵀ G Yᵀ
  det      d = det A               gA = g·d·A⁻ᵀ   (the adjugate where A is singular, once only)
  slogdet  l = log|det A|          gA = g·A⁻ᵀ
  solve    X = A⁻¹B                gB = A⁻ᵀG,  gA = −gB Xᵀ
  cholesky A = LLᵀ                 gA = ½(S + Sᵀ), S = L⁻ᵀ Φ(Lᵀ tril(G)) L⁻¹, Φ: lower part, diagonal halved
  eigh     A = V diag(λ) Vᵀ        gA = sym(V (diag(gλ) + (VᵀgV) / E) Vᵀ), E_ij = λ_j − λ_i (distinct λ),
                                   sym(X) = ½(X + Xᵀ): A is taken as symmetric, as PyTorch does
  svd      A = U diag(s) Vᵀ        Townsend's rule (distinct nonzero s), below
  qr       A = QR (m ≥ n)          M = R gRᵀ − gQᵀQ,  gA = (gQ + Q·sym(M)) R⁻ᵀ, sym from the lower part
  pinv     X = A⁺                  gA = −XᵀGXᵀ + (I − AX)GᵀXXᵀ + XᵀXGᵀ(I − XA)   (constant rank)
"""
import numpy as np

from ._tensor import Function, Tensor


class LinAlgError(RuntimeError):
    """A matrix the operation cannot handle (singular, not positive-definite, no convergence):
    PyTorch's torch.linalg.LinAlgError, also a RuntimeError."""


def _const(a):
    return Tensor._make(a)


def _mT(x):
    return x.transpose(-2, -1)


def _tril(x, k=0):
    from ._functions import tril
    return tril(x, k)


def _eye_like(n, dtype):
    return _const(np.eye(n, dtype=dtype))


def _sum_to(g, shape):
    from ._ops import sum_to
    return sum_to(g, shape)


def _lapack(name, fn, *args, **kwargs):
    """Call numpy.linalg, turning its errors into LinAlgError messages in PyTorch's words."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except np.linalg.LinAlgError as e:
        text = str(e).lower()
        if "singular" in text:
            raise LinAlgError(f"linalg.{name}: the input matrix is singular, so the {name} could not be completed "
                              "(use linalg.pinv or linalg.lstsq for singular or rank-deficient systems)") from None
        if "positive definite" in text:
            raise LinAlgError(f"linalg.{name}: the factorization could not be completed because the input is not "
                              "positive-definite (check that the matrix is symmetric with positive eigenvalues; "
                              "adding a small multiple of the identity often helps)") from None
        raise LinAlgError(f"linalg.{name}: {e}") from None


class Inv(Function):
    save_output = True
    uses_input_values = False

    def forward(self, a):
        return _lapack("inv", np.linalg.inv, a)

    def backward(self, g):
        yt = _mT(self.output)
        return (-(yt @ g @ yt),)


def _adjugate(a):
    """adj(A) for square (batched) A, singular ones included: with A = U S Vᵀ,
    adj(A) = det(U)·det(V) · V adj(S) Uᵀ, adj(S)_ii = ∏_{j≠i} s_j."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    prods = np.empty_like(s)
    for i in range(n):
        prods[..., i] = np.prod(np.delete(s, i, axis=-1), axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    return sign[..., None, None] * (np.swapaxes(vt, -1, -2) * prods[..., None, :]) @ np.swapaxes(u, -1, -2)


class Det(Function):
    save_output = True

    def forward(self, a):
        return np.linalg.det(a)

    def backward(self, g):
        (a,) = self.inputs
        d = self.output
        if np.all(d._data != 0):
            return ((g * d)[..., None, None] * _mT(Inv.apply(a)),)
        # singular: the cofactor matrix (adjugateᵀ), as a constant (not differentiable again)
        return (g[..., None, None] * _const(np.swapaxes(_adjugate(a._data), -1, -2)),)


class LogAbsDet(Function):
    def forward(self, a):
        sign, logabs = np.linalg.slogdet(a)
        self.sign = sign
        return logabs

    def backward(self, g):
        (a,) = self.inputs
        return (g[..., None, None] * _mT(Inv.apply(a)),)


class Solve(Function):
    """X = A⁻¹B for A (…, n, n) and B (…, n, k) with the same batch shape."""
    save_output = True

    def forward(self, a, b):
        return _lapack("solve", np.linalg.solve, a, b)

    def backward(self, g):
        a, b = self.inputs
        gb = Solve.apply(_mT(a), g)
        ga = -(gb @ _mT(self.output)) if self.needs_input_grad[0] else None
        return ga, gb


class SolveTriangular(Function):
    """X = A⁻¹B with A triangular (only that triangle read): scipy's triangular solve."""
    save_output = True

    def forward(self, a, b, upper, unitriangular):
        from scipy.linalg import solve_triangular
        self.upper, self.unit = upper, unitriangular
        diag = np.diagonal(a, axis1=-2, axis2=-1)
        if not unitriangular and np.any(diag == 0):
            raise LinAlgError("linalg.solve_triangular: the triangular matrix has a zero on its diagonal, so it is "
                              "singular")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a2 = np.broadcast_to(a, batch + a.shape[-2:]).reshape((-1,) + a.shape[-2:])
        b2 = np.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        out = np.empty(b2.shape, np.result_type(a, b))
        for i in range(a2.shape[0]):
            out[i] = solve_triangular(a2[i], b2[i], lower=not upper, unit_diagonal=unitriangular,
                                      check_finite=False)
        return out.reshape(batch + b.shape[-2:])

    def backward(self, g):
        a, b = self.inputs
        gb = SolveTriangular.apply(_mT(a), g, upper=not self.upper, unitriangular=self.unit)
        ga = None
        if self.needs_input_grad[0]:
            from ._functions import tril, triu
            full = -(gb @ _mT(self.output))
            k = 1 if self.unit else 0
            ga = _sum_to(triu(full, k) if self.upper else tril(full, -k), a._data.shape)
        gb = _sum_to(gb, b._data.shape) if self.needs_input_grad[1] else None
        return ga, gb


def _phi(x):
    """The lower triangle with its diagonal halved."""
    from ._functions import diag_embed, diagonal
    return _tril(x, -1) + diag_embed(diagonal(x, 0, -2, -1) * 0.5)


class Cholesky(Function):
    save_output = True
    uses_input_values = False

    def forward(self, a):
        return _lapack("cholesky", np.linalg.cholesky, a)

    def backward(self, g):
        L = self.output
        linv = Inv.apply(L)
        s = _mT(linv) @ _phi(_mT(L) @ _tril(g)) @ linv
        return ((s + _mT(s)) * 0.5,)


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors as one array (…, n+1, n): row 0 the values, the
    rest V, so the pair is one node; `linalg.eigh` splits it."""
    save_output = True
    uses_input_values = False

    def forward(self, a, uplo):
        w, v = _lapack("eigh", np.linalg.eigh, a, UPLO=uplo)
        return np.concatenate([w[..., None, :], v], axis=-2)

    def backward(self, g):
        from ._functions import diag_embed
        out = self.output
        w, v = out[..., 0, :], out[..., 1:, :]
        gw, gv = g[..., 0, :], g[..., 1:, :]
        inner = diag_embed(gw)
        if np.any(g._data[..., 1:, :]):
            e = w.unsqueeze(-2) - w.unsqueeze(-1)  # E_ij = λ_j − λ_i
            n = e._data.shape[-1]
            off = ~np.eye(n, dtype=bool)
            safe = _where(off, e, _const(np.ones((), e._data.dtype)))
            inner = inner + _where(off, (_mT(v) @ gv) / safe, _const(np.zeros((), e._data.dtype)))
        ga = v @ inner @ _mT(v)
        return ((ga + _mT(ga)) * 0.5,)  # symmetric, as PyTorch's


def _where(cond, a, b):
    from ._ops import Where
    return Where.apply(a, b, cond=np.broadcast_to(cond, np.broadcast_shapes(a._data.shape, b._data.shape)))


class Svd(Function):
    """The reduced SVD, as one array (…, m+1+n, k): U (m rows), s (one row), V (n rows), so the
    three are one node; `linalg.svd` splits them. V, not Vᵀ, is stored."""
    save_output = True
    uses_input_values = False

    def forward(self, a):
        u, s, vt = _lapack("svd", np.linalg.svd, a, full_matrices=False)
        self.m = a.shape[-2]
        return np.concatenate([u, s[..., None, :], np.swapaxes(vt, -1, -2)], axis=-2)

    def backward(self, g):
        from ._functions import diag_embed
        m = self.m
        out = self.output
        u, s, v = out[..., :m, :], out[..., m, :], out[..., m + 1:, :]
        gu, gs, gv = g[..., :m, :], g[..., m, :], g[..., m + 1:, :]
        inner = diag_embed(gs)
        ga = None
        if np.any(g._data[..., :m, :]) or np.any(g._data[..., m + 1:, :]):
            dt = s._data.dtype
            k = s._data.shape[-1]
            off = ~np.eye(k, dtype=bool)
            s2 = s * s
            f = s2.unsqueeze(-2) - s2.unsqueeze(-1)  # s_j² − s_i²
            f = _where(off, 1.0 / _where(off, f, _const(np.ones((), dt))), _const(np.zeros((), dt)))
            utgu = _mT(u) @ gu
            vtgv = _mT(v) @ gv
            j = f * (utgu - _mT(utgu))
            kk = f * (vtgv - _mT(vtgv))
            sd = diag_embed(s)
            inner = inner + j @ sd + sd @ kk
            sinv = 1.0 / s  # (…, k)
            ga = u @ inner @ _mT(v)
            n = v._data.shape[-2]
            if m > k:  # the part of gU outside U's columns
                ga = ga + ((gu - u @ utgu) * sinv.unsqueeze(-2)) @ _mT(v)
            if n > k:
                ga = ga + u @ _mT((gv - v @ vtgv) * sinv.unsqueeze(-2))
            return (ga,)
        return (u @ inner @ _mT(v),)


class Qr(Function):
    """Q (…, m, k) stacked above R (…, k, n) in one array, both padded with zeros to the wider of
    k and n columns, so the pair is one node; `linalg.qr` splits them."""
    save_output = True
    uses_input_values = False

    def forward(self, a, mode):
        q, r = _lapack("qr", np.linalg.qr, a, mode=mode)
        self.qshape = q.shape[-2:]
        self.rshape = r.shape[-2:]
        m, k = self.qshape
        kk, n = self.rshape
        width = max(k, n)
        out = np.zeros(a.shape[:-2] + (m + kk, width), dtype=q.dtype)
        out[..., :m, :k] = q
        out[..., m:, :n] = r
        return out

    def backward(self, g):
        from ._functions import diag_embed, diagonal
        m, k = self.qshape
        kk, n = self.rshape
        if m < n or k != n:
            raise NotImplementedError("linalg.qr: the gradient is implemented for reduced QR of inputs with at "
                                      "least as many rows as columns (m >= n)")
        out = self.output
        q, r = out[..., :m, :k], out[..., m:, :n]
        gq, gr = g[..., :m, :k], g[..., m:, :n]
        mm = r @ _mT(gr) - _mT(gq) @ q
        low = _tril(mm, -1)
        sym = low + _mT(low) + diag_embed(diagonal(mm, 0, -2, -1))
        b = gq + q @ sym
        # (…, m, n) · R⁻ᵀ: solve R X ᵀ = bᵀ
        return (_mT(SolveTriangular.apply(r, _mT(b), upper=True, unitriangular=False)),)


class Pinv(Function):
    save_output = True

    def forward(self, a, rtol):
        return np.linalg.pinv(a, rcond=rtol)

    def backward(self, g):
        (a,) = self.inputs
        x = self.output
        xt, gt = _mT(x), _mT(g)
        m, n = a._data.shape[-2:]
        dt = a._data.dtype
        return (-(xt @ g @ xt) + (_eye_like(m, dt) - a @ x) @ gt @ x @ xt
                + xt @ x @ gt @ (_eye_like(n, dt) - x @ a),)
