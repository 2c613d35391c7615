"""`mlseries.distributions` against `torch.distributions`: the same code runs under both libraries
(only the module differs) and gives the same log_prob, entropy, moments, KL and gradients.
Samples come from different generators, so they are checked by their statistics, by seeding,
and, for rsample, by feeding both libraries the same noise."""
import math

import numpy as np
import pytest

import mlseries as ms
import mlseries.distributions as msd

torch = pytest.importorskip("torch")
import torch.distributions as td  # noqa: E402

RNG = np.random.default_rng(1234)


def _np(t):
    return None if t is None else np.asarray(t.detach().numpy() if hasattr(t, "detach") else t)


def _leaves(lib, arrays, grad=True):
    return [lib.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind == "f") for a in arrays]


def _close(a, b, tol=1e-10):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _pd(n, batch=()):
    m = RNG.standard_normal(batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def _compare(build, arrays, value, methods=("log_prob", "entropy"), props=("mean", "variance", "stddev", "mode"),
             tol=1e-10, grad_tol=1e-9):
    """Build the distribution from `arrays` in both libraries; compare properties, the given
    methods at `value`, and the gradient of their sum with respect to every float array."""
    results = []
    for lib, dist in ((torch, td), (ms, msd)):
        params = _leaves(lib, arrays)
        d = build(dist, *params)
        out = {p: _np(getattr(d, p)) for p in props}
        total = 0
        for name in methods:
            r = getattr(d, name)() if name == "entropy" else getattr(d, name)(lib.tensor(value))
            out[name] = _np(r)
            total = total + r.sum()
        total.backward()
        out["grads"] = [_np(p.grad) for p in params if p.requires_grad]
        out["shapes"] = (tuple(d.batch_shape), tuple(d.event_shape))
        results.append(out)
    t, m = results
    assert t["shapes"] == m["shapes"]
    for k in props + tuple(methods):
        np.testing.assert_allclose(m[k], t[k], rtol=tol, atol=tol, equal_nan=True, err_msg=k)
    for gt, gm in zip(t["grads"], m["grads"]):
        _close(gm, gt, grad_tol)


# ---- each family: values and gradients ------------------------------------------------------------
def test_normal_values_and_gradients():
    loc, scale = RNG.standard_normal((2, 3)), RNG.uniform(0.5, 2.0, (3,))
    _compare(lambda D, l, s: D.Normal(l, s), [loc, scale], RNG.standard_normal((4, 1, 3)),
             methods=("log_prob", "entropy", "cdf"))
    _compare(lambda D, l, s: D.Normal(l, s), [loc, scale], RNG.uniform(0.05, 0.95, (2, 3)), methods=("icdf",))


def test_normal_with_python_numbers_and_float32():
    for lib, dist in ((torch, td), (ms, msd)):
        d = dist.Normal(0.0, 1.0)
        assert tuple(d.batch_shape) == () and d.loc.dtype == lib.float32
        assert abs(d.log_prob(lib.tensor(0.5)).item() + 0.5 * math.log(2 * math.pi) + 0.125) < 1e-6
    x = RNG.standard_normal((5,)).astype(np.float32)
    mu = RNG.standard_normal((5,)).astype(np.float32)
    t = td.Normal(torch.tensor(mu), 2.0).log_prob(torch.tensor(x))
    m = msd.Normal(ms.tensor(mu), 2.0).log_prob(ms.tensor(x))
    assert m.dtype == ms.float32
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_logits", [False, True])
def test_categorical_values_and_gradients(use_logits):
    raw = RNG.standard_normal((2, 3, 5)) if use_logits else RNG.uniform(0.1, 2.0, (2, 3, 5))  # unnormalised
    build = (lambda D, p: D.Categorical(logits=p)) if use_logits else (lambda D, p: D.Categorical(probs=p))
    actions = RNG.integers(0, 5, (4, 2, 3))
    _compare(build, [raw], actions, props=("mode",))
    _compare(build, [raw], actions[:, :1, :], props=())      # value broadcast against the batch
    for lib, dist in ((torch, td), (ms, msd)):
        d = build(dist, lib.tensor(raw))
        assert tuple(d.batch_shape) == (2, 3) and tuple(d.event_shape) == ()
        assert tuple(d.param_shape) == (2, 3, 5)
    t = build(td, torch.tensor(raw))
    m = build(msd, ms.tensor(raw))
    _close(m.probs.numpy(), t.probs.numpy())
    _close(m.logits.numpy(), t.logits.numpy())
    assert np.isnan(m.mean.numpy()).all() and tuple(m.mean.shape) == (2, 3)
    _close(m.enumerate_support().numpy(), t.enumerate_support().numpy())
    _close(m.enumerate_support(expand=False).numpy(), t.enumerate_support(expand=False).numpy())
    _close(m.perplexity().numpy(), t.perplexity().numpy())


def test_categorical_zero_probabilities_entropy_and_1d():
    p = np.array([0.5, 0.0, 0.5])
    _compare(lambda D, q: D.Categorical(probs=q), [p], np.array([0, 2, 2]), props=("mode",))
    m = msd.Categorical(ms.tensor(p))
    assert tuple(m.batch_shape) == () and m.sample().shape == ()
    assert m.sample().dtype == ms.int64
    assert (m.sample((1000,)).numpy() != 1).all()   # a class of probability 0 is never drawn


def test_one_hot_categorical():
    raw = RNG.uniform(0.1, 1.0, (3, 4))
    onehots = np.eye(4)[RNG.integers(0, 4, (2, 3))]
    _compare(lambda D, p: D.OneHotCategorical(probs=p), [raw], onehots, props=("mean", "variance", "mode"))
    m = msd.OneHotCategorical(logits=ms.tensor(raw))
    s = m.sample((6,))
    assert tuple(s.shape) == (6, 3, 4) and (s.numpy().sum(-1) == 1).all()
    _close(m.enumerate_support().numpy(), td.OneHotCategorical(logits=torch.tensor(raw)).enumerate_support().numpy())


@pytest.mark.parametrize("use_logits", [False, True])
def test_bernoulli(use_logits):
    raw = RNG.standard_normal((2, 4)) if use_logits else RNG.uniform(0.05, 0.95, (2, 4))
    build = (lambda D, p: D.Bernoulli(logits=p)) if use_logits else (lambda D, p: D.Bernoulli(probs=p))
    _compare(build, [raw], RNG.integers(0, 2, (3, 2, 4)).astype(float))
    m, t = build(msd, ms.tensor(raw)), build(td, torch.tensor(raw))
    _close(m.probs.numpy(), t.probs.numpy())
    _close(m.logits.numpy(), t.logits.numpy(), 1e-9)
    np.testing.assert_equal(msd.Bernoulli(ms.tensor([0.2, 0.5, 0.9])).mode.numpy(),
                            td.Bernoulli(torch.tensor([0.2, 0.5, 0.9])).mode.numpy())


def test_binomial():
    n, p = np.array([5.0, 10.0, 10.0]), RNG.uniform(0.1, 0.9, (2, 3))
    _compare(lambda D, c, q: D.Binomial(c, probs=q), [n, p], np.array([1.0, 0.0, 10.0]),
             methods=("log_prob",), props=("mean", "variance", "mode"))
    _compare(lambda D, q: D.Binomial(7, logits=q), [RNG.standard_normal(3)], np.array([3.0, 7.0, 0.0]),
             methods=("log_prob", "entropy"), props=("mean", "variance"))
    ms.manual_seed(3)
    s = msd.Binomial(ms.tensor([20.0]), probs=ms.tensor([0.3])).sample((20000,))
    assert abs(s.mean().item() - 6.0) < 0.08 and abs(s.var().item() - 4.2) < 0.2


def test_uniform_laplace_exponential():
    low, width = RNG.standard_normal(3), RNG.uniform(0.5, 2.0, 3)
    for_uniform = low + width * RNG.uniform(0.1, 0.9, (4, 3))
    _compare(lambda D, lo, w: D.Uniform(lo, lo + w), [low, width], for_uniform,
             methods=("log_prob", "entropy", "cdf"), props=("mean", "variance", "stddev", "mode"))
    _compare(lambda D, lo, w: D.Uniform(lo, lo + w), [low, width], RNG.uniform(0, 1, (4, 3)), methods=("icdf",),
             props=())
    loc, scale = RNG.standard_normal(3), RNG.uniform(0.5, 2.0, 3)
    _compare(lambda D, lc, s: D.Laplace(lc, s), [loc, scale], RNG.standard_normal((4, 3)),
             methods=("log_prob", "entropy", "cdf"))
    _compare(lambda D, lc, s: D.Laplace(lc, s), [loc, scale], RNG.uniform(0.05, 0.95, (4, 3)), methods=("icdf",),
             props=())
    rate = RNG.uniform(0.5, 3.0, (2, 1))
    _compare(lambda D, r: D.Exponential(r), [rate], RNG.uniform(0.1, 3.0, (2, 5)),
             methods=("log_prob", "entropy", "cdf"))
    _compare(lambda D, r: D.Exponential(r), [rate], RNG.uniform(0.05, 0.95, (2, 1)), methods=("icdf",), props=())
    # outside the support without validation: log 0 = -inf, as PyTorch
    u = msd.Uniform(0.0, 2.0, validate_args=False).log_prob(ms.tensor([1.0, 3.0, -1.0]))
    np.testing.assert_equal(u.numpy(), td.Uniform(0.0, 2.0, validate_args=False).log_prob(
        torch.tensor([1.0, 3.0, -1.0])).numpy())


@pytest.mark.parametrize("form", ["covariance_matrix", "scale_tril", "precision_matrix"])
def test_multivariate_normal(form):
    n = 3
    loc = RNG.standard_normal((2, n))
    cov = _pd(n)
    matrix = {"covariance_matrix": cov, "scale_tril": np.linalg.cholesky(cov),
              "precision_matrix": np.linalg.inv(cov)}[form]
    value = RNG.standard_normal((4, 1, n))
    # gradients with respect to a full matrix: only the lower triangle of scale_tril is read, and a
    # symmetric matrix's gradient is symmetric; PyTorch gives the same numbers for both
    _compare(lambda D, l, M: D.MultivariateNormal(l, **{form: M}), [loc, matrix], value,
             props=("mean", "variance", "stddev", "mode"), grad_tol=1e-8)
    t = td.MultivariateNormal(torch.tensor(loc), **{form: torch.tensor(matrix)})
    m = msd.MultivariateNormal(ms.tensor(loc), **{form: ms.tensor(matrix)})
    for attr in ("scale_tril", "covariance_matrix", "precision_matrix"):
        _close(getattr(m, attr).numpy(), getattr(t, attr).numpy(), 1e-9)
    assert tuple(m.batch_shape) == (2,) and tuple(m.event_shape) == (n,)


def test_multivariate_normal_batched_matrix_broadcasts_with_loc():
    loc, cov = RNG.standard_normal((3,)), _pd(3, (2,))
    _compare(lambda D, l, M: D.MultivariateNormal(l, covariance_matrix=M), [loc, cov], RNG.standard_normal((5, 2, 3)),
             props=("mean", "variance"), grad_tol=1e-8)


def test_independent():
    loc, scale = RNG.standard_normal((2, 3, 4)), RNG.uniform(0.5, 1.5, (2, 3, 4))
    value = RNG.standard_normal((5, 2, 3, 4))
    for r in (0, 1, 2):
        _compare(lambda D, lc, s: D.Independent(D.Normal(lc, s), r), [loc, scale], value)
    m = msd.Independent(msd.Normal(ms.tensor(loc), ms.tensor(scale)), 2)
    assert tuple(m.batch_shape) == (2,) and tuple(m.event_shape) == (3, 4) and m.has_rsample
    assert repr(m).startswith("Independent(Normal(") and repr(m).endswith(", 2)")
    probs = RNG.uniform(0.1, 0.9, (3, 2))
    _compare(lambda D, p: D.Independent(D.Bernoulli(probs=p), 1), [probs], np.array([[0.0, 1.0]] * 3))


def test_expand():
    loc, scale = RNG.standard_normal(3), RNG.uniform(0.5, 1.5, 3)
    _compare(lambda D, lc, s: D.Normal(lc, s).expand((2, 3)), [loc, scale], RNG.standard_normal((2, 3)))
    _compare(lambda D, p: D.Categorical(logits=p).expand((4, 2)), [RNG.standard_normal((2, 5))],
             RNG.integers(0, 5, (4, 2)), props=("mode",))
    _compare(lambda D, p: D.Bernoulli(probs=p).expand((3, 2)), [RNG.uniform(0.1, 0.9, 2)], np.ones((3, 2)))
    _compare(lambda D, l, M: D.MultivariateNormal(l, scale_tril=M).expand((2,)),
             [RNG.standard_normal(2), np.linalg.cholesky(_pd(2))], RNG.standard_normal((2, 2)), props=("mean",))
    e = msd.Exponential(ms.tensor([1.0, 2.0])).expand((3, 2))
    assert tuple(e.batch_shape) == (3, 2) and tuple(e.sample().shape) == (3, 2)


# ---- sampling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, mean, var", [
    (lambda: msd.Normal(ms.tensor([1.0, -2.0]), ms.tensor([0.5, 2.0])), [1.0, -2.0], [0.25, 4.0]),
    (lambda: msd.Uniform(ms.tensor([0.0, 1.0]), ms.tensor([1.0, 4.0])), [0.5, 2.5], [1 / 12, 9 / 12]),
    (lambda: msd.Laplace(ms.tensor([0.0, 3.0]), ms.tensor([1.0, 0.5])), [0.0, 3.0], [2.0, 0.5]),
    (lambda: msd.Exponential(ms.tensor([1.0, 4.0])), [1.0, 0.25], [1.0, 1 / 16]),
    (lambda: msd.Bernoulli(probs=ms.tensor([0.2, 0.7])), [0.2, 0.7], [0.16, 0.21]),
    (lambda: msd.Categorical(probs=ms.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])), [1.3, 0.0], [0.61, 0.0]),
])
def test_sample_statistics_and_seeding(make, mean, var):
    d = make()
    ms.manual_seed(7)
    s = d.sample((40000,))
    assert tuple(s.shape) == (40000, 2) and not s.requires_grad
    x = s.numpy().astype(np.float64)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(x.var(0), var, rtol=0.05, atol=0.01)
    ms.manual_seed(7)
    np.testing.assert_array_equal(d.sample((40000,)).numpy(), s.numpy())
    assert not np.array_equal(d.sample((40000,)).numpy(), s.numpy())
    if d.has_rsample:
        ms.manual_seed(7)
        np.testing.assert_array_equal(d.rsample((40000,)).detach().numpy(), s.numpy())


def test_categorical_sample_frequencies_in_a_batch():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    ms.manual_seed(0)
    s = msd.Categorical(ms.tensor(probs)).sample((50000, 2)).numpy()
    assert s.shape == (50000, 2, 2)
    for row in range(2):
        freq = np.bincount(s[..., row].ravel(), minlength=3) / s[..., row].size
        np.testing.assert_allclose(freq, probs[row], atol=0.01)


def test_multivariate_normal_sample_covariance():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    ms.manual_seed(1)
    s = msd.MultivariateNormal(ms.tensor([1.0, -1.0]), covariance_matrix=ms.tensor(cov)).sample((60000,)).numpy()
    np.testing.assert_allclose(s.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(s.T), cov, atol=0.04)


def _same_noise(monkeypatch, module, eps):
    """Make both libraries' rsample use the noise `eps` (PyTorch's through its helper, ours through
    the one imported by `module`)."""
    monkeypatch.setattr(td.normal, "_standard_normal", lambda shape, dtype, device: torch.tensor(eps))
    monkeypatch.setattr(td.multivariate_normal, "_standard_normal", lambda shape, dtype, device: torch.tensor(eps))
    monkeypatch.setattr(module, "standard_normal", lambda shape, like: ms.tensor(eps))


def test_rsample_is_reparameterised(monkeypatch):
    from mlseries.distributions import multivariate_normal, normal
    loc, scale = RNG.standard_normal(3), RNG.uniform(0.5, 1.5, 3)
    eps = RNG.standard_normal((4, 3))
    _same_noise(monkeypatch, normal, eps)
    out = []
    for lib, D in ((torch, td), (ms, msd)):
        lc, s = _leaves(lib, [loc, scale])
        x = D.Normal(lc, s).rsample((4,))
        (x ** 3).sum().backward()
        out.append((_np(x), _np(lc.grad), _np(s.grad)))
    for a, b in zip(*out):
        _close(b, a)
    _close(out[1][0], loc + eps * scale)

    L = np.linalg.cholesky(_pd(3))
    _same_noise(monkeypatch, multivariate_normal, eps)
    out = []
    for lib, D in ((torch, td), (ms, msd)):
        lc, M = _leaves(lib, [loc, L])
        x = D.MultivariateNormal(lc, scale_tril=M).rsample((4,))
        (x.sin()).sum().backward()
        out.append((_np(x), _np(lc.grad), _np(M.grad)))
    for a, b in zip(*out):
        _close(b, a)


def test_rsample_gradients_for_uniform_laplace_exponential():
    # the noise differs from PyTorch's; the gradient is checked against the sample itself
    ms.manual_seed(5)
    f64 = dict(dtype=ms.float64, requires_grad=True)
    lo, hi = ms.tensor([0.5], **f64), ms.tensor([2.0], **f64)
    x = msd.Uniform(lo, hi).rsample((10,))
    x.sum().backward()
    u = (x.detach().numpy() - 0.5) / 1.5
    _close(lo.grad.numpy(), [np.sum(1 - u)])
    _close(hi.grad.numpy(), [np.sum(u)])
    rate = ms.tensor([2.0], **f64)
    y = msd.Exponential(rate).rsample((10,))
    y.sum().backward()
    _close(rate.grad.numpy(), [-y.detach().numpy().sum() / 2.0])
    loc, scale = ms.tensor(1.0, **f64), ms.tensor(2.0, **f64)
    z = msd.Laplace(loc, scale).rsample((10,))
    z.sum().backward()
    _close(loc.grad.numpy(), 10.0)
    _close(scale.grad.numpy(), ((z.detach().numpy() - 1.0) / 2.0).sum())
    with pytest.raises(NotImplementedError, match="rsample"):
        msd.Categorical(ms.tensor([0.5, 0.5])).rsample()


# ---- KL divergence -------------------------------------------------------------------------------
KL_PAIRS = [
    ("normal", lambda D, a, b, c, d: (D.Normal(a, b), D.Normal(c, d)),
     lambda: [RNG.standard_normal(3), RNG.uniform(.5, 2, 3), RNG.standard_normal((2, 3)), RNG.uniform(.5, 2, 3)]),
    ("categorical", lambda D, a, b: (D.Categorical(probs=a), D.Categorical(logits=b)),
     lambda: [RNG.uniform(0.1, 1, (2, 4)), RNG.standard_normal((2, 4))]),
    ("onehot", lambda D, a, b: (D.OneHotCategorical(logits=a), D.OneHotCategorical(probs=b)),
     lambda: [RNG.standard_normal((3, 4)), RNG.uniform(0.1, 1, (3, 4))]),
    ("bernoulli", lambda D, a, b: (D.Bernoulli(probs=a), D.Bernoulli(logits=b)),
     lambda: [RNG.uniform(0.1, 0.9, 4), RNG.standard_normal(4)]),
    ("independent", lambda D, a, b, c, d: (D.Independent(D.Normal(a, b), 1), D.Independent(D.Normal(c, d), 1)),
     lambda: [RNG.standard_normal((2, 3)), RNG.uniform(.5, 2, 3), RNG.standard_normal(3), RNG.uniform(.5, 2, 3)]),
    ("mvn", lambda D, a, b, c, d: (D.MultivariateNormal(a, covariance_matrix=b), D.MultivariateNormal(c, scale_tril=d)),
     lambda: [RNG.standard_normal((2, 3)), _pd(3), RNG.standard_normal(3), np.linalg.cholesky(_pd(3, (2,)))]),
    ("uniform", lambda D, a, b, c, d: (D.Uniform(a, b), D.Uniform(c, d)),
     lambda: [np.array([0.0, 0.5]), np.array([1.0, 2.0]), np.array([-1.0, 0.0]), np.array([2.0, 3.0])]),
    ("exponential", lambda D, a, b: (D.Exponential(a), D.Exponential(b)),
     lambda: [RNG.uniform(.5, 2, 3), RNG.uniform(.5, 2, 3)]),
    ("laplace", lambda D, a, b, c, d: (D.Laplace(a, b), D.Laplace(c, d)),
     lambda: [RNG.standard_normal(3), RNG.uniform(.5, 2, 3), RNG.standard_normal(3), RNG.uniform(.5, 2, 3)]),
    ("normal_laplace", lambda D, a, b, c, d: (D.Normal(a, b), D.Laplace(c, d)),
     lambda: [RNG.standard_normal(3), RNG.uniform(.5, 2, 3), RNG.standard_normal(3), RNG.uniform(.5, 2, 3)]),
]


@pytest.mark.parametrize("name, build, arrays", KL_PAIRS, ids=[p[0] for p in KL_PAIRS])
def test_kl_divergence(name, build, arrays):
    arrays = arrays()
    out = []
    for lib, D in ((torch, td), (ms, msd)):
        params = _leaves(lib, arrays)
        p, q = build(D, *params)
        kl = D.kl_divergence(p, q)
        kl.sum().backward()
        out.append((_np(kl), [_np(t.grad) for t in params]))
    _close(out[1][0], out[0][0], 1e-9)
    for gm, gt in zip(out[1][1], out[0][1]):
        _close(gm, gt, 1e-8)


def test_kl_infinite_and_zero_cases():
    for lib, D in ((torch, td), (ms, msd)):
        p, q = lib.tensor([[0.5, 0.5, 0.0]]), lib.tensor([[0.5, 0.0, 0.5]])
        kl = D.kl_divergence(D.Categorical(p), D.Categorical(q))
        assert math.isinf(kl.item())
        assert abs(D.kl_divergence(D.Categorical(q), D.Categorical(q)).item()) < 1e-12
        assert math.isinf(D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(0.5, 3.0)).item())
        assert math.isinf(D.kl_divergence(D.Bernoulli(lib.tensor(0.5)), D.Bernoulli(lib.tensor(0.0))).item())


def test_kl_unregistered_pair_and_register_kl():
    with pytest.raises(NotImplementedError, match="No KL.*Normal.*Categorical"):
        msd.kl_divergence(msd.Normal(0.0, 1.0), msd.Categorical(ms.tensor([0.5, 0.5])))
    with pytest.raises(NotImplementedError):
        msd.kl_divergence(msd.Independent(msd.Normal(ms.zeros(2, 2), 1.0), 1),
                          msd.Independent(msd.Normal(ms.zeros(2, 2), 1.0), 2))

    class Wide(msd.Normal):  # a subclass uses its parent's KL until it registers its own
        pass

    kl = msd.kl_divergence(Wide(0.0, 2.0), msd.Normal(0.0, 1.0))
    _close(kl.item(), td.kl_divergence(td.Normal(0.0, 2.0), td.Normal(0.0, 1.0)).item(), 1e-6)

    @msd.register_kl(Wide, msd.Normal)
    def _kl_wide(p, q):
        return ms.tensor(42.0)

    assert msd.kl_divergence(Wide(0.0, 2.0), msd.Normal(0.0, 1.0)).item() == 42.0
    assert msd.kl_divergence(msd.Normal(0.0, 2.0), Wide(0.0, 1.0)).item() != 42.0
    with pytest.raises(TypeError):
        msd.register_kl(int, msd.Normal)


# ---- argument checking ---------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda D, L: D.Normal(L.tensor([0.0, 1.0]), L.tensor([1.0, -1.0])),
    lambda D, L: D.Normal(L.tensor([float("nan")]), L.tensor([1.0])),
    lambda D, L: D.Categorical(),
    lambda D, L: D.Categorical(probs=L.tensor([0.5, 0.5]), logits=L.tensor([0.0, 0.0])),
    lambda D, L: D.Categorical(probs=L.tensor(1.0)),
    lambda D, L: D.Categorical(probs=L.tensor([0.5, -0.1, 0.6])),
    lambda D, L: D.Bernoulli(probs=L.tensor([1.5])),
    lambda D, L: D.Bernoulli(),
    lambda D, L: D.Uniform(L.tensor([1.0]), L.tensor([0.5])),
    lambda D, L: D.Exponential(L.tensor([0.0])),
    lambda D, L: D.Laplace(0.0, L.tensor([0.0])),
    lambda D, L: D.MultivariateNormal(L.zeros(2)),
    lambda D, L: D.MultivariateNormal(L.zeros(2), covariance_matrix=L.eye(2), scale_tril=L.eye(2)),
    lambda D, L: D.MultivariateNormal(L.tensor(0.0), covariance_matrix=L.eye(1)),
    lambda D, L: D.MultivariateNormal(L.zeros(2), covariance_matrix=L.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda D, L: D.MultivariateNormal(L.zeros(2), scale_tril=L.tensor([[1.0, 1.0], [0.0, 1.0]])),
    lambda D, L: D.MultivariateNormal(L.zeros(2), scale_tril=L.tensor([1.0, 1.0])),
    lambda D, L: D.Independent(D.Normal(L.zeros(3), 1.0), 2),
    lambda D, L: D.Binomial(L.tensor([2.5]), probs=L.tensor([0.5])),
    # values given to log_prob
    lambda D, L: D.Categorical(L.tensor([0.5, 0.5])).log_prob(L.tensor([2])),
    lambda D, L: D.Categorical(L.tensor([0.5, 0.5])).log_prob(L.tensor([0.5])),
    lambda D, L: D.Categorical(L.tensor([[0.5, 0.5]] * 3)).log_prob(L.tensor([0, 1])),
    lambda D, L: D.Bernoulli(L.tensor([0.5])).log_prob(L.tensor([0.5])),
    lambda D, L: D.Exponential(L.tensor([1.0])).log_prob(L.tensor([-1.0])),
    lambda D, L: D.Normal(0.0, 1.0).log_prob(0.5),
    lambda D, L: D.MultivariateNormal(L.zeros(2), L.eye(2)).log_prob(L.zeros(3)),
    lambda D, L: D.Distribution.set_default_validate_args("yes"),
])
def test_bad_arguments_raise_value_error_like_torch(call):
    with pytest.raises(ValueError):
        call(td, torch)
    with pytest.raises(ValueError) as err:
        call(msd, ms)
    assert len(str(err.value)) > 20


def test_validate_args_can_be_turned_off():
    d = msd.Normal(ms.tensor([0.0]), ms.tensor([-1.0]), validate_args=False)
    assert tuple(d.batch_shape) == (1,)
    assert msd.Categorical(ms.tensor([0.5, 0.5]), validate_args=False).log_prob(ms.tensor(1)).item() < 0
    try:
        msd.Distribution.set_default_validate_args(False)
        msd.Exponential(ms.tensor([-1.0]))
        assert not msd.Normal(0.0, 1.0)._validate_args
    finally:
        msd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="constraint"):
        msd.Exponential(ms.tensor([-1.0]))
    with pytest.raises(TypeError):
        msd.Normal(0.0, 1.0).sample(5)  # sample_shape is a tuple, as torch.Size(5) is refused


def test_repr_and_shapes():
    assert repr(msd.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(msd.Normal(ms.zeros(2), 1.0)).startswith("Normal(loc: ")
    assert "Categorical(probs:" in repr(msd.Categorical(ms.tensor([0.5, 0.5])))
    d = msd.Normal(ms.zeros(2, 3), 1.0)
    assert tuple(d.sample().shape) == (2, 3) and tuple(d.sample((4, 5)).shape) == (4, 5, 2, 3)
    assert tuple(d.sample(ms.Size([4])).shape) == (4, 2, 3) and tuple(d.rsample([1]).shape) == (1, 2, 3)
    assert ms.distributions.Normal is msd.Normal


# ---- real programs -------------------------------------------------------------------------------
def _policy_program(lib, weights, states, actions, returns, steps=6):
    """REINFORCE as PyTorch's examples/reinforcement_learning/reinforce.py writes it: a policy
    network, Categorical over its softmax, loss = -sum(log_prob(action) * return), Adam. Actions and
    returns are fixed so that both libraries see the same episode."""
    nn, F = lib.nn, lib.nn.functional
    from_dist = lib.distributions.Categorical

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 16)
            self.affine2 = nn.Linear(16, 3)

        def forward(self, x):
            return F.softmax(self.affine2(F.relu(self.affine1(x))), dim=1)

    policy = Policy().double()
    with lib.no_grad():
        for p, w in zip(policy.parameters(), weights):
            p.copy_(lib.tensor(w))
    opt = lib.optim.Adam(policy.parameters(), lr=1e-2)
    s, a, r = lib.tensor(states), lib.tensor(actions), lib.tensor(returns)
    r = (r - r.mean()) / (r.std() + 1e-8)
    losses = []
    for _ in range(steps):
        m = from_dist(policy(s))
        loss = -(m.log_prob(a) * r).sum() - 0.01 * m.entropy().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_reinforce_program_matches_torch():
    weights = [RNG.standard_normal((16, 4)) * 0.5, RNG.standard_normal(16) * 0.1,
               RNG.standard_normal((3, 16)) * 0.5, RNG.standard_normal(3) * 0.1]
    states, actions = RNG.standard_normal((12, 4)), RNG.integers(0, 3, 12)
    returns = np.cumsum(RNG.uniform(0, 1, 12)[::-1])[::-1].copy()
    t = _policy_program(torch, weights, states, actions, returns)
    m = _policy_program(ms, weights, states, actions, returns)
    np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-10)
    assert t[-1] < t[0]


def _vae_program(lib, weights, x, eps, steps=5):
    """A VAE step: encoder -> (mu, log-variance), z = Normal(mu, std).rsample() with the noise
    supplied, decoder, reconstruction + kl_divergence(Normal(mu, std), Normal(0, 1))."""
    nn, F, D = lib.nn, lib.nn.functional, lib.distributions
    enc, dec = nn.Linear(6, 4).double(), nn.Linear(2, 6).double()
    with lib.no_grad():
        for p, w in zip(list(enc.parameters()) + list(dec.parameters()), weights):
            p.copy_(lib.tensor(w))
    opt = lib.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-2)
    x = lib.tensor(x)
    losses = []
    for step in range(steps):
        h = enc(x)
        mu, logvar = h[:, :2], h[:, 2:]
        std = (0.5 * logvar).exp()
        q = D.Normal(mu, std)
        z = mu + lib.tensor(eps[step]) * std   # rsample with this step's noise (checked equal below)
        recon = F.mse_loss(dec(z), x, reduction="sum")
        kl = D.kl_divergence(q, D.Normal(lib.zeros_like(mu), lib.ones_like(std))).sum()
        log_q = q.log_prob(z).sum()
        loss = recon + kl + 0.0 * log_q
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append((loss.item(), kl.item(), log_q.item()))
    return losses


def test_vae_program_matches_torch(monkeypatch):
    from mlseries.distributions import normal
    weights = [RNG.standard_normal((4, 6)) * 0.3, np.zeros(4), RNG.standard_normal((6, 2)) * 0.3, np.zeros(6)]
    x, eps = RNG.standard_normal((8, 6)), RNG.standard_normal((5, 8, 2))
    t = _vae_program(torch, weights, x, eps)
    m = _vae_program(ms, weights, x, eps)
    np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-10)
    # and rsample itself is loc + eps * scale, differentiable in both
    _same_noise(monkeypatch, normal, eps[0])
    mu, std = RNG.standard_normal((8, 2)), RNG.uniform(0.5, 1.5, (8, 2))
    zs = [D.Normal(lib.tensor(mu), lib.tensor(std)).rsample() for lib, D in ((torch, td), (ms, msd))]
    _close(zs[1].numpy(), zs[0].numpy())
    _close(zs[1].numpy(), mu + eps[0] * std)


def test_gaussian_policy_with_independent_normal():
    """A continuous-action policy (PPO style): Independent(Normal(mean, exp(log_std)), 1), the ratio
    of new to old log-probabilities, clipped objective, entropy bonus."""
    mean0, log_std, acts, adv = (RNG.standard_normal((6, 2)), RNG.standard_normal(2) * 0.3,
                                 RNG.standard_normal((6, 2)), RNG.standard_normal(6))
    out = []
    for lib, D in ((torch, td), (ms, msd)):
        mean, ls = _leaves(lib, [mean0, log_std])
        dist = D.Independent(D.Normal(mean, ls.exp()), 1)
        old = dist.log_prob(lib.tensor(acts)).detach() - 0.1
        ratio = (dist.log_prob(lib.tensor(acts)) - old).exp()
        a = lib.tensor(adv)
        obj = lib.min(ratio * a, ratio.clamp(0.8, 1.2) * a).mean() + 0.01 * dist.entropy().mean()
        (-obj).backward()
        out.append((_np(obj), _np(mean.grad), _np(ls.grad)))
    for a, b in zip(*out):
        _close(b, a)


def test_second_derivatives_through_multivariate_normal():
    """The Cholesky factorisation and triangular solves are differentiable twice (a gradient
    penalty on log_prob), as PyTorch's."""
    m = RNG.standard_normal((3, 3))
    cov, loc, x = m @ m.T + 3 * np.eye(3), RNG.standard_normal(3), RNG.standard_normal((2, 3))
    out = []
    for lib, D in ((torch, td), (ms, msd)):
        c, lc = _leaves(lib, [cov, loc])
        lp = D.MultivariateNormal(lc, covariance_matrix=c).log_prob(lib.tensor(x)).sum()
        g, = lib.autograd.grad(lp, c, create_graph=True)
        (g ** 2).sum().backward()
        out.append((_np(c.grad), _np(lc.grad)))
    for a, b in zip(*out):
        _close(b, a)
