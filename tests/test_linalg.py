"""mlseries.linalg and the top-level linear-algebra names against torch.linalg: values and
gradients in float64 (and float32), batched inputs, errors, and a small real program."""
import numpy as np
import pytest
import torch

import mlseries as ms

rng = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy()


def check(fn_t, fn_m, *arrays, tol=1e-9, dtype=np.float64):
    """Run one function in both frameworks; compare every output and the gradient of a random
    weighted sum of them with respect to every input."""
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    mss = [ms.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ot, om = fn_t(*ts), fn_m(*mss)
    ot = ot if isinstance(ot, (tuple, list)) else (ot,)
    om = om if isinstance(om, (tuple, list)) else (om,)
    assert len(ot) == len(om)
    ws = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in ot]
    for a, b in zip(ot, om):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(b.numpy(), _np(a), rtol=tol, atol=tol)
    lt = sum(((o * torch.tensor(w)).sum() for o, w in zip(ot, ws) if o.requires_grad))
    lm = sum(((o * ms.tensor(w)).sum() for o, w in zip(om, ws) if o.requires_grad))
    assert isinstance(lt, torch.Tensor) == isinstance(lm, ms.Tensor)
    if not isinstance(lt, torch.Tensor):  # nothing differentiable (matrix_power(A, 0))
        return
    lt.backward()
    lm.backward()
    for a, b in zip(ts, mss):
        ga = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        np.testing.assert_allclose(b.grad.numpy(), ga, rtol=tol, atol=tol)


A = rng.standard_normal((2, 3, 4, 4))
B = rng.standard_normal((2, 3, 4, 2))
SPD = A @ np.swapaxes(A, -1, -2) + 4 * np.eye(4)
TALL = rng.standard_normal((2, 5, 3))
WIDE = np.swapaxes(TALL, -1, -2).copy()


def _abs(*fs):
    """Outputs up to sign (eigen/singular vectors are defined up to ±1 per column)."""
    return lambda *r: tuple(x.abs() if i in fs else x for i, x in enumerate(r))


@pytest.mark.parametrize("name,args", [
    ("inv", (A,)), ("det", (A,)), ("cholesky", (SPD,)), ("svdvals", (TALL,)), ("svdvals", (WIDE,)),
    ("pinv", (TALL,)), ("pinv", (WIDE,)), ("eigvalsh", (SPD,)), ("matrix_exp", (A * 0.5,)),
])
def test_single_input(name, args):
    check(getattr(torch.linalg, name), getattr(ms.linalg, name), *args)


def test_solve_forms():
    check(torch.linalg.solve, ms.linalg.solve, A, B)
    check(torch.linalg.solve, ms.linalg.solve, A, B[..., 0])  # batch of vectors
    check(torch.linalg.solve, ms.linalg.solve, A, B[0, 0])  # broadcast B over A's batch
    check(lambda a, b: torch.linalg.solve(a, b, left=False), lambda a, b: ms.linalg.solve(a, b, left=False),
          A, np.swapaxes(B, -1, -2).copy())
    for upper in (True, False):
        check(lambda a, b: torch.linalg.solve_triangular(a, b, upper=upper),
              lambda a, b: ms.linalg.solve_triangular(a, b, upper=upper), A + 3 * np.eye(4), B)


def test_slogdet_logdet():
    check(lambda a: torch.linalg.slogdet(a), lambda a: ms.linalg.slogdet(a), A)
    check(torch.logdet, ms.logdet, SPD)


def test_eigh_and_svd_vectors():
    check(lambda a: _abs(1)(*torch.linalg.eigh(a)), lambda a: _abs(1)(*ms.linalg.eigh(a)), SPD)
    check(lambda a: _abs(1)(*torch.linalg.eigh(a, UPLO="U")), lambda a: _abs(1)(*ms.linalg.eigh(a, UPLO="U")), SPD)
    for M in (TALL, WIDE, A[0]):
        check(lambda a: _abs(0, 2)(*torch.linalg.svd(a, full_matrices=False)),
              lambda a: _abs(0, 2)(*ms.linalg.svd(a, full_matrices=False)), M)
    # the old torch.svd returns V, not Vᴴ
    check(lambda a: _abs(0, 2)(*torch.svd(a)), lambda a: _abs(0, 2)(*ms.svd(a)), TALL)
    u, s, vh = ms.linalg.svd(ms.tensor(TALL))  # full_matrices=True: square U
    assert tuple(u.shape) == (2, 5, 5) and tuple(vh.shape) == (2, 3, 3)


def test_qr():
    check(torch.linalg.qr, ms.linalg.qr, TALL)
    check(torch.linalg.qr, ms.linalg.qr, A)
    q, r = ms.linalg.qr(ms.tensor(TALL), mode="complete")
    np.testing.assert_allclose((q @ r).numpy(), TALL, atol=1e-12)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf])
def test_matrix_norm(ord):
    check(lambda a: torch.linalg.matrix_norm(a, ord), lambda a: ms.linalg.matrix_norm(a, ord), TALL)
    check(lambda a: torch.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True),
          lambda a: ms.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=True), TALL)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, np.inf, -np.inf])
def test_vector_norm(ord):
    check(lambda a: torch.linalg.vector_norm(a, ord, dim=(0, -1)),
          lambda a: ms.linalg.vector_norm(a, ord, dim=(0, -1)), TALL)
    check(lambda a: torch.linalg.vector_norm(a, ord, keepdim=True),
          lambda a: ms.linalg.vector_norm(a, ord, keepdim=True), TALL)


def test_norm_dispatch_and_zero_vector_gradient():
    check(torch.linalg.norm, ms.linalg.norm, TALL)
    check(lambda a: torch.linalg.norm(a, dim=1), lambda a: ms.linalg.norm(a, dim=1), TALL)
    check(lambda a: torch.linalg.norm(a, "nuc"), lambda a: ms.linalg.norm(a, "nuc"), TALL[0])
    check(lambda a: torch.linalg.norm(a, 3), lambda a: ms.linalg.norm(a, 3), TALL[0, 0])
    z = np.zeros((2, 3))
    check(lambda a: torch.linalg.vector_norm(a, dim=1), lambda a: ms.linalg.vector_norm(a, dim=1), z)
    with pytest.raises(RuntimeError, match="1D or 2D"):
        ms.linalg.norm(ms.tensor(TALL), 2)
    np.testing.assert_allclose(ms.linalg.vector_norm(ms.tensor([0.0, 2.0, 0.0]), 0).item(), 1.0)


def test_products_and_helpers():
    check(lambda a: torch.linalg.matrix_power(a, 3), lambda a: ms.linalg.matrix_power(a, 3), A)
    check(lambda a: torch.linalg.matrix_power(a, -2), lambda a: ms.linalg.matrix_power(a, -2), A)
    check(lambda a: torch.linalg.matrix_power(a, 0), lambda a: ms.linalg.matrix_power(a, 0), A)
    check(torch.linalg.cross, ms.linalg.cross, rng.standard_normal((4, 3)), rng.standard_normal((1, 3)))
    check(lambda a, b, c: torch.linalg.multi_dot([a, b, c]), lambda a, b, c: ms.linalg.multi_dot([a, b, c]),
          rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
    check(lambda a, b: torch.linalg.lstsq(a, b).solution, lambda a, b: ms.linalg.lstsq(a, b).solution,
          TALL, rng.standard_normal((2, 5, 2)))
    check(lambda a: torch.linalg.diagonal(a, offset=1), lambda a: ms.linalg.diagonal(a, offset=1), A)
    check(lambda a, b: torch.cholesky_solve(b, torch.linalg.cholesky(a)),
          lambda a, b: ms.cholesky_solve(b, ms.linalg.cholesky(a)), SPD, B)
    for M in (TALL, np.ones((3, 3)), A):
        assert np.array_equal(ms.linalg.matrix_rank(ms.tensor(M)).numpy(), torch.linalg.matrix_rank(
            torch.tensor(M)).numpy())


def test_tensor_methods_and_aliases():
    t, m = torch.tensor(A), ms.tensor(A)
    np.testing.assert_allclose(m.det().numpy(), t.det().numpy(), rtol=1e-10)
    np.testing.assert_allclose(m.inverse().numpy(), t.inverse().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ms.inverse(m).numpy(), torch.inverse(t).numpy(), rtol=1e-10)
    np.testing.assert_allclose(ms.det(m).numpy(), torch.det(t).numpy(), rtol=1e-10)
    np.testing.assert_allclose(ms.pinverse(ms.tensor(TALL)).numpy(), torch.pinverse(torch.tensor(TALL)).numpy(),
                               atol=1e-10)


def test_float32():
    check(torch.linalg.inv, ms.linalg.inv, A, tol=1e-4, dtype=np.float32)
    check(torch.linalg.cholesky, ms.linalg.cholesky, SPD, tol=1e-4, dtype=np.float32)
    assert ms.linalg.inv(ms.tensor(A.astype(np.float32))).dtype == ms.float32


def test_second_derivative_of_inverse_and_det():
    def run(L):
        x = L.tensor(A[0, 0], requires_grad=True)
        (g,) = L.autograd.grad(L.linalg.det(x) + L.linalg.inv(x).sum(), x, create_graph=True)
        (g * g).sum().backward()
        return g, x.grad
    (gt, ht), (gm, hm) = run(torch), run(ms)
    np.testing.assert_allclose(gm.detach().numpy(), _np(gt), rtol=1e-9)
    np.testing.assert_allclose(hm.numpy(), ht.numpy(), rtol=1e-8)


def test_det_gradient_of_singular_matrix():
    """Where det A = 0 the gradient is the cofactor matrix (the adjugate's transpose), checked by
    central differences: PyTorch 2.13 returns zeros for this rank-2 matrix, which is not the
    derivative (docs/engine.md)."""
    S = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = ms.tensor(S, requires_grad=True)
    ms.linalg.det(x).backward()
    h = 1e-6
    fd = np.zeros_like(S)
    for i in range(3):
        for j in range(3):
            E = np.zeros_like(S)
            E[i, j] = h
            fd[i, j] = (np.linalg.det(S + E) - np.linalg.det(S - E)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), fd, atol=1e-8)
    assert np.abs(fd).max() > 1  # a real, non-zero derivative


def test_errors():
    sing = ms.tensor([[1.0, 2.0], [2.0, 4.0]])
    for fn in (ms.linalg.inv, lambda a: ms.linalg.solve(a, ms.ones(2))):
        with pytest.raises(ms.linalg.LinAlgError, match="singular"):
            fn(sing)
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.inv(torch.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert issubclass(ms.linalg.LinAlgError, RuntimeError)
    with pytest.raises(ms.linalg.LinAlgError, match="positive-definite"):
        ms.linalg.cholesky(ms.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match="square"):
        ms.linalg.inv(ms.ones(2, 3))
    with pytest.raises(RuntimeError, match="floating"):
        ms.linalg.det(ms.ones(2, 2, dtype=ms.int64))
    with pytest.raises(RuntimeError, match="length 3"):
        ms.linalg.cross(ms.ones(2, 4), ms.ones(2, 4))
    r = ms.linalg.inv_ex(sing)
    assert int(r.info) != 0
    assert int(ms.linalg.cholesky_ex(ms.tensor([[1.0, 2.0], [2.0, 1.0]])).info) != 0


def test_real_program_gaussian_log_likelihood_fit():
    """Fit a 2-D Gaussian's Cholesky factor by gradient descent on the negative log-likelihood
    (slogdet + solve + cholesky + matrix norm regulariser), step for step in both frameworks."""
    data = rng.standard_normal((64, 2)) @ np.array([[2.0, 0.0], [0.7, 0.5]])
    L0 = np.eye(2)

    def run(L):
        raw = L.tensor(L0, requires_grad=True)
        x = L.tensor(data)
        opt = L.optim.SGD([raw], lr=0.05)
        losses = []
        for _ in range(5):
            Lc = L.tril(raw)
            cov = Lc @ Lc.T + 1e-3 * L.eye(2, dtype=L.float64)
            chol = L.linalg.cholesky(cov)
            z = L.linalg.solve_triangular(chol, x.T, upper=False)  # (2, 64)
            nll = 0.5 * (z ** 2).sum(0).mean() + L.linalg.slogdet(cov)[1] * 0.5
            loss = nll + 1e-3 * L.linalg.matrix_norm(raw, "nuc")
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses
    np.testing.assert_allclose(run(ms), run(torch), rtol=1e-10)
