"""mlseries.special, autograd.functional and utils.checkpoint against PyTorch (values and
gradients in float64), with a small program using each."""
import warnings

import numpy as np
import pytest
import torch

import mlseries as ms

rng = np.random.default_rng(0)
Z = rng.standard_normal((3, 4))
POS = rng.uniform(0.2, 3.0, (3, 4))
UNIT = rng.uniform(-0.9, 0.9, (3, 4))


def _np(t):
    return t.detach().numpy()


def check(name, x, *args, tol=1e-10, **kw):
    a, b = torch.tensor(x, requires_grad=True), ms.tensor(x, requires_grad=True)
    ot = getattr(torch.special, name)(a, *args, **kw)
    om = getattr(ms.special, name)(b, *args, **kw)
    np.testing.assert_allclose(om.numpy(), _np(ot), rtol=tol, atol=tol)
    if ot.requires_grad:
        ot.sum().backward()
        om.sum().backward()
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=tol, atol=tol)
    else:
        assert not om.requires_grad


@pytest.mark.parametrize("name", ["erf", "erfc", "erfcx", "expit", "entr", "sinc", "log1p", "expm1", "exp2", "ndtr",
                                  "log_ndtr", "i0", "i0e", "i1", "i1e", "bessel_j0", "bessel_j1", "round"])
def test_unary(name):
    check(name, Z)


@pytest.mark.parametrize("name", ["gammaln", "digamma", "psi"])
def test_gamma_family(name):
    check(name, POS, tol=1e-8)  # SciPy's and PyTorch's trigamma differ by ~1e-9


def test_other_forms():
    check("erfinv", UNIT)
    check("ndtri", (UNIT + 1) / 2)
    check("logit", (UNIT + 1) / 2)
    check("logit", (UNIT + 1) / 2, eps=0.2)
    check("multigammaln", POS + 2, 3)
    check("log_softmax", Z, 1)
    check("softmax", Z, 0)
    check("logsumexp", Z, 1)
    a, b = torch.tensor(POS, requires_grad=True), ms.tensor(POS, requires_grad=True)
    torch.special.polygamma(2, a).sum().backward()
    ms.special.polygamma(2, b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-7)
    check("sinc", np.array([0.0, 1.0, -0.5]))
    check("entr", np.array([0.0, 0.5, 2.0]))
    np.testing.assert_array_equal(ms.special.entr(ms.tensor([-1.0])).numpy(), [-np.inf])


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family(name):
    x = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 1.5])
    y = np.array([0.0, 1.0, 0.5, 3.0, 2.0, 0.25])
    a, b = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    c, d = ms.tensor(x, requires_grad=True), ms.tensor(y, requires_grad=True)
    ot, om = getattr(torch.special, name)(a, b), getattr(ms.special, name)(c, d)
    np.testing.assert_allclose(om.numpy(), _np(ot))
    ot.sum().backward()
    om.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), a.grad.numpy())
    finite = np.isfinite(b.grad.numpy())  # PyTorch: NaN for y's gradient at x = y = 0 (here 0)
    np.testing.assert_allclose(d.grad.numpy()[finite], b.grad.numpy()[finite])
    np.testing.assert_allclose(getattr(ms.special, name)(2.0, ms.tensor(y)).numpy(),
                               getattr(torch.special, name)(2.0, torch.tensor(y)).numpy())


def test_top_level_names_and_errors():
    x = ms.tensor(POS)
    np.testing.assert_allclose(ms.lgamma(x).numpy(), torch.lgamma(torch.tensor(POS)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.digamma().numpy(), torch.tensor(POS).digamma().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.polygamma(1).numpy(), torch.tensor(POS).polygamma(1).numpy(), rtol=1e-8)
    np.testing.assert_allclose(ms.xlogy(x, x).numpy(), torch.xlogy(torch.tensor(POS), torch.tensor(POS)).numpy())
    np.testing.assert_allclose(ms.mvlgamma(x + 2, 2).numpy(), torch.mvlgamma(torch.tensor(POS) + 2, 2).numpy())
    with pytest.raises(RuntimeError, match=r"\(p-1\)/2"):
        ms.special.multigammaln(ms.tensor([0.1]), 3)
    with pytest.raises(RuntimeError, match="negative n"):
        ms.special.polygamma(-1, x)
    assert ms.special.erf(ms.tensor([1, 2])).dtype == ms.float32  # integers are promoted


# ---- autograd.functional ---------------------------------------------------------------------------
AF, MF = torch.autograd.functional, ms.autograd.functional


def _cmp(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _cmp(x, y)
    else:
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(b.detach().numpy(), _np(a), rtol=1e-10, atol=1e-12)


def _fns(L):
    def f(x, y):
        return (L.tanh(x) * y).sum(0) ** 2, (x ** 3).sum()

    def g(x):
        return (L.sin(x) ** 2).sum()

    def h(x, y):
        return (L.sin(x) ** 2).sum() * y.sum()
    return f, g, h


A2, B3 = rng.standard_normal((2, 3)), rng.standard_normal(3)
T = lambda *a: tuple(torch.tensor(x) for x in a)  # noqa: E731
M = lambda *a: tuple(ms.tensor(x) for x in a)  # noqa: E731


def test_jacobian_structures():
    (ft, gt, _), (fm, gm, _) = _fns(torch), _fns(ms)
    _cmp(AF.jacobian(ft, T(A2, B3)), MF.jacobian(fm, M(A2, B3)))  # tuple out, tuple in: [i][j]
    _cmp(AF.jacobian(lambda x: ft(x, torch.tensor(B3))[0], torch.tensor(A2)),
         MF.jacobian(lambda x: fm(x, ms.tensor(B3))[0], ms.tensor(A2)))  # one out, one in: a tensor
    _cmp(AF.jacobian(lambda x, y: ft(x, y)[0], T(A2, B3)), MF.jacobian(lambda x, y: fm(x, y)[0], M(A2, B3)))
    _cmp(AF.jacobian(lambda x: ft(x, torch.tensor(B3)), torch.tensor(A2)),
         MF.jacobian(lambda x: fm(x, ms.tensor(B3)), ms.tensor(A2)))
    j = MF.jacobian(lambda x: ms.ones(2), ms.tensor(B3))  # independent of the input: zeros
    np.testing.assert_array_equal(j.numpy(), np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="independent"):
        MF.jacobian(lambda x: ms.ones(2), ms.tensor(B3), strict=True)


def test_hessian_vjp_jvp_hvp():
    (ft, gt, ht), (fm, gm, hm) = _fns(torch), _fns(ms)
    _cmp(AF.hessian(gt, torch.tensor(A2)), MF.hessian(gm, ms.tensor(A2)))
    _cmp(AF.hessian(ht, T(A2, B3)), MF.hessian(hm, M(A2, B3)))
    v = (rng.standard_normal(3), rng.standard_normal(()))
    _cmp(AF.vjp(ft, T(A2, B3), T(*v)), MF.vjp(fm, M(A2, B3), M(*v)))
    _cmp(AF.vjp(gt, torch.tensor(A2)), MF.vjp(gm, ms.tensor(A2)))
    _cmp(AF.jvp(ft, T(A2, B3), T(A2 * 0.5, B3 * 2)), MF.jvp(fm, M(A2, B3), M(A2 * 0.5, B3 * 2)))
    _cmp(AF.hvp(gt, torch.tensor(A2), torch.tensor(A2 + 1)), MF.hvp(gm, ms.tensor(A2), ms.tensor(A2 + 1)))
    _cmp(AF.vhp(ht, T(A2, B3), T(A2, B3)), MF.vhp(hm, M(A2, B3), M(A2, B3)))
    with pytest.raises(RuntimeError, match="v can only be None"):
        MF.vjp(lambda x: x * 2, ms.tensor(B3))
    with pytest.raises(TypeError, match="Tensor"):
        MF.jacobian(gm, [1.0, 2.0])


def test_create_graph_through_jacobian():
    def run(L, F):
        x = L.tensor(B3, requires_grad=True)
        j = F.jacobian(lambda t: t ** 3, x, create_graph=True)
        j.sum().backward()
        return x.grad
    np.testing.assert_allclose(run(ms, MF).numpy(), run(torch, AF).numpy())


# ---- checkpoint ---------------------------------------------------------------------------------------
def test_checkpoint_gives_the_same_gradients():
    torch.manual_seed(0)
    blocks_t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4), torch.nn.Tanh(),
                                   torch.nn.Linear(4, 1)).double()
    blocks_m = ms.nn.Sequential(ms.nn.Linear(4, 8), ms.nn.Tanh(), ms.nn.Linear(8, 4), ms.nn.Tanh(),
                                ms.nn.Linear(4, 1)).double()
    blocks_m.load_state_dict({k: ms.tensor(v.numpy()) for k, v in blocks_t.state_dict().items()})
    x = rng.standard_normal((3, 4))

    def run(L, net, ck):
        xt = L.tensor(x, requires_grad=True)
        h = ck.checkpoint(net[0:2], xt, use_reentrant=False)
        out = ck.checkpoint_sequential(net[2:], 2, h, use_reentrant=False)
        (out ** 2).sum().backward()
        return [xt.grad] + [p.grad for p in net.parameters()]
    import torch.utils.checkpoint as tck
    for a, b in zip(run(torch, blocks_t, tck), run(ms, blocks_m, ms.utils.checkpoint)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="use_reentrant"):
        ms.utils.checkpoint.checkpoint(lambda t: t, ms.ones(1))


def test_real_program_newton_steps_and_vae_kl():
    """Newton's method on a smooth function with autograd.functional.hessian, and a Gamma-VAE-style
    KL term with lgamma/digamma, stepped in both frameworks."""
    def run(L, F):
        x = L.tensor([0.3, -0.2, 0.5], dtype=L.float64)

        def f(t):
            return (L.exp(t) - 2 * t).sum() + (t[0] * t[1]) ** 2

        out = []
        for _ in range(4):
            H = F.hessian(f, x)
            g = F.vjp(f, x)[1]
            x = x - L.linalg.solve(H, g)
            out.append(f(x).item())
        a = L.tensor(POS[0], requires_grad=True)
        opt = L.optim.SGD([a], lr=0.1)
        for _ in range(3):
            # KL(Gamma(a, 1) || Gamma(2, 1)) = (a−2)ψ(a) − lgamma(a) + lgamma(2)
            kl = ((a - 2) * L.special.digamma(a) - L.special.gammaln(a) + L.special.gammaln(L.tensor(2.0,
                                                                                         dtype=L.float64))).sum()
            opt.zero_grad()
            kl.backward()
            opt.step()
            out.append(kl.item())
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(run(ms, MF), run(torch, AF), rtol=1e-9)
