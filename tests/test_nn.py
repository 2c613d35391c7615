"""mlseries.nn against torch.nn: layers, activations and losses (forward and gradients), Module
bookkeeping, state dicts, repr, init and gradient clipping."""
import collections
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mlseries as ms
import mlseries.nn as nn
import mlseries.nn.functional as F
import torch.nn.functional as TF

# Torch's OpenMP threads spin between calls and starve NumPy's BLAS threads when the two run
# interleaved in one process (10x slower on two cores); one torch thread avoids that.
torch.set_num_threads(1)

TOL = {np.float64: 1e-8, np.float32: 1e-4}


def close(a, b, dtype=np.float64):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a.numpy() if hasattr(a, "numpy") else a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b.numpy() if hasattr(b, "numpy") else b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def run_both(ms_fn, torch_fn, *arrays, dtype=np.float64, seed=0):
    """Run one computation in both frameworks on the same float inputs; compare the output and
    the gradient of every input for a random upstream gradient."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    m_in = [ms.tensor(a.copy(), requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    m_out, t_out = ms_fn(*m_in), torch_fn(*t_in)
    close(m_out, t_out, dtype)
    g = np.random.default_rng(seed).standard_normal(t_out.shape).astype(dtype)
    m_out.backward(ms.tensor(g))
    t_out.backward(torch.tensor(g))
    for m, t in zip(m_in, t_in):
        if t.grad is None:
            assert m.grad is None or np.all(m.grad.numpy() == 0)
        else:
            close(m.grad, t.grad, dtype)
    return m_out, t_out


def rand(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


DTYPES = [np.float64, np.float32]


# ---- Linear ---------------------------------------------------------------------------------------
def copy_linear(m, t):
    """Give the torch layer the mlseries layer's weights."""
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.weight.numpy().copy()))
        if m.bias is not None:
            t.bias.copy_(torch.from_numpy(m.bias.numpy().copy()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,)])
def test_linear_matches_torch(dtype, bias, shape):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    m = nn.Linear(7, 4, bias=bias).to(ms.float64 if dtype == np.float64 else ms.float32)
    t = torch.nn.Linear(7, 4, bias=bias).to(tdt)
    copy_linear(m, t)
    x = rand(*shape).astype(dtype)
    xm, xt = ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = m(xm), t(xt)
    close(ym, yt, dtype)
    g = rand(*yt.shape, seed=1).astype(dtype)
    ym.backward(ms.tensor(g))
    yt.backward(torch.tensor(g))
    close(xm.grad, xt.grad, dtype)
    close(m.weight.grad, t.weight.grad, dtype)
    if bias:
        close(m.bias.grad, t.bias.grad, dtype)


def test_linear_init_follows_pytorch_bounds_and_seed():
    ms.manual_seed(3)
    a = nn.Linear(100, 50)
    ms.manual_seed(3)
    b = nn.Linear(100, 50)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    assert np.array_equal(a.bias.numpy(), b.bias.numpy())
    bound = 1 / math.sqrt(100)  # kaiming_uniform_(a=√5) gives U(-1/√fan_in, 1/√fan_in)
    w = a.weight.numpy()
    assert w.dtype == np.float32 and w.shape == (50, 100)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(a.bias.numpy()).max() <= bound
    c = nn.Linear(100, 50)
    assert not np.array_equal(c.weight.numpy(), a.weight.numpy())


def test_linear_errors_speak_the_users_terms():
    layer = nn.Linear(784, 10)
    with pytest.raises(ValueError, match=r"Linear\(in_features=784\): input of shape \(64, 512\) has 512 features"):
        layer(ms.zeros(64, 512))
    with pytest.raises(TypeError, match="input is mlseries.float64 but the weight is mlseries.float32"):
        layer(ms.zeros(2, 784, dtype=ms.float64))


# ---- activations ----------------------------------------------------------------------------------
ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.nn.Softplus(beta=2.0, threshold=3.0)),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    (lambda: nn.Softmin(dim=0), lambda: torch.nn.Softmin(dim=0)),
    (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
    (lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1)),
    (lambda: nn.Unflatten(1, (2, 2)), lambda: torch.nn.Unflatten(1, (2, 2))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", ACTIVATIONS, ids=lambda mk: repr(mk[1]()) if isinstance(mk, tuple) else "")
def test_activation_modules_match_torch(make, dtype):
    x = rand(3, 4, 5, scale=3.0)
    x[0, 0, :3] = [0.0, 25.0, -25.0]  # the kink at 0 and the saturated tails
    run_both(make[0](), make[1](), x, dtype=dtype)


def test_activation_reprs_match_torch():
    for make_m, make_t in ACTIVATIONS:
        assert repr(make_m()) == repr(make_t())
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    assert repr(nn.LeakyReLU(0.1, inplace=True)) == repr(torch.nn.LeakyReLU(0.1, inplace=True))
    assert repr(nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))


@pytest.mark.parametrize("name,kwargs", [("relu", {}), ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
                                         ("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 2.0}),
                                         ("softplus", {"beta": 0.5}), ("sigmoid", {}), ("tanh", {}),
                                         ("softmax", {"dim": 0}), ("log_softmax", {"dim": -1})])
def test_functional_activations_match_torch(name, kwargs):
    run_both(lambda x: getattr(F, name)(x, **kwargs), lambda x: getattr(TF, name)(x, **kwargs), rand(6, 5, scale=2))


def test_softmax_without_dim_warns_and_picks_pytorchs_dim():
    x = rand(3, 4)
    with pytest.warns(UserWarning, match="dim"):
        out = F.softmax(ms.tensor(x))
    np.testing.assert_allclose(out.numpy(), TF.softmax(torch.tensor(x), dim=1).numpy())


def test_one_hot_matches_torch():
    t = np.array([[0, 3], [2, 1]])
    assert np.array_equal(F.one_hot(ms.tensor(t)).numpy(), TF.one_hot(torch.tensor(t)).numpy())
    assert F.one_hot(ms.tensor(t), 6).shape == (2, 2, 6)
    assert F.one_hot(ms.tensor(t)).dtype == ms.int64
    with pytest.raises(ValueError):
        F.one_hot(ms.tensor(t), 3)


def test_pad_is_reexported():
    x = rand(2, 3)
    run_both(lambda a: F.pad(a, (1, 2)), lambda a: TF.pad(a, (1, 2)), x)


# ---- dropout --------------------------------------------------------------------------------------
def test_dropout_is_inverted_reproducible_and_identity_in_eval():
    layer = nn.Dropout(0.25)
    x = ms.ones(200, 100)
    ms.manual_seed(7)
    a = layer(x).numpy()
    ms.manual_seed(7)
    b = layer(x).numpy()
    assert np.array_equal(a, b)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert not np.array_equal(layer(x).numpy(), a)  # the next call draws a new mask
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = ms.ones(50, 40, requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


# ---- losses ---------------------------------------------------------------------------------------
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"ignore_index": 1}, {"label_smoothing": 0.1}, {"weight": True},
                                     {"weight": True, "ignore_index": 2, "label_smoothing": 0.2},
                                     {"ignore_index": -100, "label_smoothing": 1.0}])
def test_cross_entropy_matches_torch(reduction, options, dtype):
    n, c = 8, 5
    logits = rand(n, c, scale=2)
    target = np.array([0, 1, 2, 3, 4, 1, 2, 1])
    kw = dict(options)
    w = np.random.default_rng(2).uniform(0.2, 2.0, c).astype(dtype) if kw.pop("weight", False) else None
    run_both(lambda x: F.cross_entropy(x, ms.tensor(target), weight=None if w is None else ms.tensor(w),
                                       reduction=reduction, **kw),
             lambda x: TF.cross_entropy(x, torch.tensor(target), weight=None if w is None else torch.tensor(w),
                                        reduction=reduction, **kw),
             logits, dtype=dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"ignore_index": 0, "label_smoothing": 0.3}, {"weight": True}])
def test_cross_entropy_spatial_and_single_sample(reduction, options):
    kw = dict(options)
    w = np.array([0.5, 1.0, 2.0]) if kw.pop("weight", False) else None
    wm, wt = (None, None) if w is None else (ms.tensor(w), torch.tensor(w))
    target = np.random.default_rng(1).integers(0, 3, (2, 4, 5))
    run_both(lambda x: F.cross_entropy(x, ms.tensor(target), weight=wm, reduction=reduction, **kw),
             lambda x: TF.cross_entropy(x, torch.tensor(target), weight=wt, reduction=reduction, **kw),
             rand(2, 3, 4, 5))
    run_both(lambda x: F.cross_entropy(x, ms.tensor(2), weight=wm, reduction=reduction, **kw),
             lambda x: TF.cross_entropy(x, torch.tensor(2), weight=wt, reduction=reduction, **kw),
             rand(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_class_probabilities(reduction, smoothing, weighted):
    probs = np.random.default_rng(3).dirichlet(np.ones(4), size=6)
    w = np.array([1.0, 0.5, 2.0, 1.5]) if weighted else None
    run_both(lambda x, p: F.cross_entropy(x, p, weight=None if w is None else ms.tensor(w), reduction=reduction,
                                          label_smoothing=smoothing),
             lambda x, p: TF.cross_entropy(x, p, weight=None if w is None else torch.tensor(w), reduction=reduction,
                                           label_smoothing=smoothing),
             rand(6, 4), probs)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 6), spatial=st.lists(st.integers(1, 3), max_size=2),
       reduction=st.sampled_from(REDUCTIONS), smoothing=st.sampled_from([0.0, 0.05, 0.5]),
       weighted=st.booleans(), ignore=st.booleans(), seed=st.integers(0, 2**16))
def test_cross_entropy_matches_torch_on_random_shapes(n, c, spatial, reduction, smoothing, weighted, ignore, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c, *spatial)) * 3
    target = rng.integers(0, c, (n, *spatial))
    ignore_index = int(target.flat[0]) if ignore else -100
    w = rng.uniform(0.1, 2, c) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore_index)
    m = F.cross_entropy(ms.tensor(logits, requires_grad=True), ms.tensor(target),
                        weight=None if w is None else ms.tensor(w), **kw)
    t = TF.cross_entropy(torch.tensor(logits), torch.tensor(target), weight=None if w is None else torch.tensor(w), **kw)
    np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-8, atol=1e-8, equal_nan=True)


def test_cross_entropy_all_targets_ignored_gives_nan_like_torch():
    x, t = rand(3, 4), np.array([-100, -100, -100])
    m = F.cross_entropy(ms.tensor(x), ms.tensor(t)).item()
    tt = TF.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    assert math.isnan(m) and math.isnan(tt)


def test_cross_entropy_has_second_derivatives():
    """d/dW ||d loss/dW||² through log_softmax + NLL, against torch (double backward)."""
    x, w0 = rand(6, 4), rand(3, 4, seed=1)
    target = np.array([0, 1, 2, 2, 1, 0])
    wm = ms.tensor(w0, requires_grad=True)
    wt = torch.tensor(w0, requires_grad=True)
    lm = F.cross_entropy(ms.tensor(x) @ wm.T, ms.tensor(target), label_smoothing=0.1)
    lt = TF.cross_entropy(torch.tensor(x) @ wt.T, torch.tensor(target), label_smoothing=0.1)
    (gm,) = ms.autograd.grad(lm, wm, create_graph=True)
    (gt,) = torch.autograd.grad(lt, wt, create_graph=True)
    (gm * gm).sum().backward()
    (gt * gt).sum().backward()
    close(wm.grad, wt.grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"ignore_index": 3}, {"weight": True}, {"weight": True, "ignore_index": 0}])
def test_nll_loss_matches_torch(reduction, options, dtype):
    kw = dict(options)
    w = np.linspace(0.5, 2, 4).astype(dtype) if kw.pop("weight", False) else None
    target = np.array([3, 0, 1, 2, 3, 0])
    logp = np.log(np.random.default_rng(5).dirichlet(np.ones(4), size=6))
    run_both(lambda x: F.nll_loss(x, ms.tensor(target), weight=None if w is None else ms.tensor(w),
                                  reduction=reduction, **kw),
             lambda x: TF.nll_loss(x, torch.tensor(target), weight=None if w is None else torch.tensor(w),
                                   reduction=reduction, **kw),
             logp, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(reduction, weighted, dtype):
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.99, (5, 3))
    y = rng.integers(0, 2, (5, 3)).astype(float)
    y[0, 0] = 0.3  # soft labels are allowed
    w = rng.uniform(0.5, 2, (5, 3)) if weighted else None
    run_both(lambda x: F.binary_cross_entropy(x, ms.tensor(y.astype(dtype)),
                                              weight=None if w is None else ms.tensor(w.astype(dtype)),
                                              reduction=reduction),
             lambda x: TF.binary_cross_entropy(x, torch.tensor(y.astype(dtype)),
                                               weight=None if w is None else torch.tensor(w.astype(dtype)),
                                               reduction=reduction),
             p, dtype=dtype)


def test_binary_cross_entropy_saturated_probabilities_stay_finite():
    p = np.array([0.0, 1.0, 0.5, 1.0])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    pm = ms.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(pm, ms.tensor(y), reduction="none")
    expected = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(loss.numpy(), expected.numpy())  # log floored at -100, as in PyTorch
    loss.sum().backward()
    assert np.all(np.isfinite(pm.grad.numpy()))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ms.tensor([1.5]), ms.tensor([1.0]))
    with pytest.raises(ValueError, match="target has shape"):
        F.binary_cross_entropy(ms.tensor([[0.5], [0.5]]), ms.tensor([1.0, 0.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"pos_weight": True}, {"weight": True, "pos_weight": True}])
def test_bce_with_logits_matches_torch(reduction, options, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 3)) * 4
    x[0] = [0.0, 50.0, -50.0]  # exactly zero (zero-initialised models start there) and far tails
    y = rng.integers(0, 2, (6, 3)).astype(dtype)
    w = rng.uniform(0.5, 2, (6, 3)).astype(dtype) if options.get("weight") else None
    pw = np.array([0.5, 2.0, 3.0], dtype) if options.get("pos_weight") else None
    run_both(lambda a: F.binary_cross_entropy_with_logits(
                 a, ms.tensor(y), weight=None if w is None else ms.tensor(w), reduction=reduction,
                 pos_weight=None if pw is None else ms.tensor(pw)),
             lambda a: TF.binary_cross_entropy_with_logits(
                 a, torch.tensor(y), weight=None if w is None else torch.tensor(w), reduction=reduction,
                 pos_weight=None if pw is None else torch.tensor(pw)),
             x, dtype=dtype)


def test_bce_with_logits_gradient_reaches_a_target_that_requires_grad():
    run_both(lambda a, b: F.binary_cross_entropy_with_logits(a, b), lambda a, b: TF.binary_cross_entropy_with_logits(a, b),
             rand(4, 2), np.random.default_rng(1).uniform(0, 1, (4, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7}),
                                         ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {})])
def test_regression_losses_match_torch(name, kwargs, reduction, dtype):
    run_both(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kwargs),
             lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kwargs),
             rand(4, 3, scale=2), rand(4, 3, seed=1), dtype=dtype)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's advice to prefer batchmean
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(8)
    logq = np.log(rng.dirichlet(np.ones(5), size=3))
    p = rng.dirichlet(np.ones(5), size=3)
    p[0, 0] = 0.0  # 0·log 0 counts as 0
    target = np.log(p + 1e-3) if log_target else p
    run_both(lambda a: F.kl_div(a, ms.tensor(target), reduction=reduction, log_target=log_target),
             lambda a: TF.kl_div(a, torch.tensor(target), reduction=reduction, log_target=log_target),
             logq)


LOSS_MODULES = [
    (lambda: nn.MSELoss(), lambda: torch.nn.MSELoss(), "regression"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum"), "regression"),
    (lambda: nn.HuberLoss(delta=0.5), lambda: torch.nn.HuberLoss(delta=0.5), "regression"),
    (lambda: nn.SmoothL1Loss(reduction="none"), lambda: torch.nn.SmoothL1Loss(reduction="none"), "regression"),
    (lambda: nn.BCELoss(), lambda: torch.nn.BCELoss(), "binary"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=ms.tensor([2.0, 1.0, 0.5], dtype=ms.float64)),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)), "logits"),
    (lambda: nn.CrossEntropyLoss(weight=ms.tensor([1.0, 2.0, 0.5], dtype=ms.float64), label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
                                       label_smoothing=0.1), "classes"),
    (lambda: nn.NLLLoss(ignore_index=0, reduction="sum"), lambda: torch.nn.NLLLoss(ignore_index=0, reduction="sum"),
     "classes"),
]


@pytest.mark.parametrize("make_m,make_t,kind", LOSS_MODULES)
def test_loss_modules_match_torch(make_m, make_t, kind):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3))
    if kind == "classes":
        t = np.array([0, 2, 1, 2])
        tm, tt = ms.tensor(t), torch.tensor(t)
    elif kind == "regression":
        t = rng.standard_normal((4, 3))
        tm, tt = ms.tensor(t), torch.tensor(t)
    else:
        t = rng.integers(0, 2, (4, 3)).astype(float)
        tm, tt = ms.tensor(t), torch.tensor(t)
        if kind == "binary":
            x = 1 / (1 + np.exp(-x))
    run_both(lambda a: make_m()(a, tm), lambda a: make_t()(a, tt), x)
    assert repr(make_m()) == repr(make_t())


def test_loss_options_are_checked():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="average")
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    weight = nn.CrossEntropyLoss(weight=ms.tensor([1.0, 2.0]))
    assert "weight" in weight.state_dict()


def test_mse_loss_warns_when_shapes_broadcast():
    with pytest.warns(UserWarning, match=r"\(4, 4\)"):
        F.mse_loss(ms.zeros(4, 1), ms.zeros(4))


def test_cross_entropy_errors_speak_the_users_terms():
    logits = ms.zeros(64, 10)
    with pytest.raises(ValueError, match=r"cross_entropy: target has shape \(64, 1\) but input \(64, 10\) "
                                         r"expects \(64,\)"):
        F.cross_entropy(logits, ms.zeros(64, 1, dtype=ms.int64))
    with pytest.raises(IndexError, match=r"target contains class 10 but the input has 10 classes \(0..9\)"):
        F.cross_entropy(logits, ms.full((64,), 10))
    with pytest.raises(TypeError, match="integer tensor"):
        F.cross_entropy(logits, ms.zeros(64))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits, ms.zeros(64, dtype=ms.int64), label_smoothing=1.5)


# ---- Module bookkeeping ---------------------------------------------------------------------------
def build_net(self, lib):
    """The same model in mlseries or torch (lib is mlseries.nn or torch.nn)."""
    lib.Module.__init__(self)
    self.body = lib.Sequential(lib.Linear(4, 8), lib.ReLU(), lib.Linear(8, 8))
    self.heads = lib.ModuleDict({"a": lib.Linear(8, 2), "b": lib.Linear(8, 3, bias=False)})
    self.blocks = lib.ModuleList([lib.Linear(8, 8) for _ in range(3)] + [lib.Tanh()])
    self.scale = lib.Parameter(ms.ones(1) if lib is nn else torch.ones(1))
    self.register_buffer("running", ms.zeros(2) if lib is nn else torch.zeros(2))
    self.register_buffer("scratch", ms.zeros(2) if lib is nn else torch.zeros(2), persistent=False)


class Net(nn.Module):
    __init__ = build_net


class TorchNet(torch.nn.Module):
    __init__ = build_net


def test_module_walks_match_torch():
    m, t = Net(nn), TorchNet(torch.nn)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert len(list(m.parameters())) == len(list(t.parameters()))
    assert len(list(m.parameters(recurse=False))) == 1
    assert m.get_submodule("blocks.2") is m.blocks[2]
    assert m.get_parameter("heads.a.bias") is m.heads["a"].bias
    assert isinstance(m.scale, nn.Parameter) and m.scale.requires_grad


def test_module_repr_matches_torch():
    m, t = Net(nn), TorchNet(torch.nn)
    assert repr(m).replace("TorchNet", "Net") == repr(t).replace("TorchNet", "Net")
    seq_m = nn.Sequential(collections.OrderedDict([("flat", nn.Flatten()), ("fc", nn.Linear(784, 128)),
                                                   ("act", nn.GELU()), ("drop", nn.Dropout(0.1)),
                                                   ("out", nn.Linear(128, 10, bias=False)), ("sm", nn.LogSoftmax(1))]))
    seq_t = torch.nn.Sequential(collections.OrderedDict([("flat", torch.nn.Flatten()),
                                                         ("fc", torch.nn.Linear(784, 128)),
                                                         ("act", torch.nn.GELU()), ("drop", torch.nn.Dropout(0.1)),
                                                         ("out", torch.nn.Linear(128, 10, bias=False)),
                                                         ("sm", torch.nn.LogSoftmax(1))]))
    assert repr(seq_m) == repr(seq_t)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())


def test_parameter_repr_and_memory():
    t = ms.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert p.numpy() is t.numpy()
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_setattr_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(ms.ones(2))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = ms.ones(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.child = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="child module"):
        m.child = 3
    m.register_buffer("b", ms.ones(1))
    m.b = ms.zeros(1)
    assert m.state_dict()["b"].item() == 0
    del m.child
    assert not hasattr(m, "child")

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgot()


def test_train_eval_zero_grad_requires_grad_apply():
    m = Net(nn)
    assert m.training and m.body[0].training
    assert m.eval() is m and not m.body[0].training and not m.training
    m.train()
    assert m.blocks[3].training
    for p in m.parameters():
        p.grad = ms.ones_like(p)
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen.count("Linear") == 7


def test_to_double_keeps_parameter_objects():
    m = nn.Sequential(nn.Linear(3, 2))
    w = m[0].weight
    assert m.double() is m
    assert m[0].weight is w and w.dtype == ms.float64
    assert m(ms.ones(1, 3, dtype=ms.float64)).dtype == ms.float64
    m.float()
    assert w.dtype == ms.float32
    with pytest.raises(TypeError):
        m.to(ms.int64)


def test_forward_hooks():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    seen = []
    handle = m[0].register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape)))
    m(ms.ones(5, 3))
    handle.remove()
    m(ms.ones(5, 3))
    assert seen == [(5, 2)]


# ---- containers -----------------------------------------------------------------------------------
def test_sequential_behaves_like_a_list():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    s = nn.Sequential(*layers)
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    assert list(s) == layers
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is layers[1]
    s.append(nn.Sigmoid())
    assert len(s) == 4 and list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del s[1]
    assert [type(x).__name__ for x in s] == ["Linear", "Linear", "Sigmoid"]
    assert list(s._modules) == ["0", "1", "2"]
    s.insert(-1, nn.Tanh())
    assert [type(x).__name__ for x in s] == ["Linear", "Linear", "Tanh", "Sigmoid"]
    with pytest.raises(IndexError):
        s[10]
    named = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    out = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))(ms.ones(4, 2))
    assert out.shape == (4, 1)


def test_modulelist_and_moduledict():
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.Linear(2, 2))
    ml += [nn.ReLU()]
    assert len(ml) == 3 and isinstance(ml[1:], nn.ModuleList)
    assert len(list(ml.parameters())) == 4
    del ml[0]
    assert list(ml._modules) == ["0", "1"]
    md = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    md["dec"] = nn.Linear(2, 1)
    assert list(md) == ["enc", "dec"] and "dec" in md and len(md) == 2
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert md.pop("enc") is not None and list(md.keys()) == ["dec"]


# ---- state dicts ----------------------------------------------------------------------------------
def test_state_dict_shares_memory_and_round_trips_through_save(tmp_path):
    ms.manual_seed(0)
    a = Net(nn)
    sd = a.state_dict()
    assert sd["body.0.weight"].numpy() is a.body[0].weight.numpy()
    assert not sd["body.0.weight"].requires_grad
    path = tmp_path / "net.npz"
    ms.save(sd, path)
    ms.manual_seed(1)
    b = Net(nn)
    assert not np.array_equal(b.body[0].weight.numpy(), a.body[0].weight.numpy())
    result = b.load_state_dict(ms.load(path))
    assert repr(result) == "<All keys matched successfully>"
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and np.array_equal(va.numpy(), vb.numpy())
    x = ms.randn(3, 4)
    np.testing.assert_array_equal(a.body(x).numpy(), b.body(x).numpy())


def test_state_dict_loads_into_torch_and_back():
    m, t = Net(nn), TorchNet(torch.nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    m2 = Net(nn)
    m2.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = rand(2, 4).astype(np.float32)
    np.testing.assert_allclose(m2.body(ms.tensor(x)).numpy(), t.body(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = {k: ms.zeros(*v.shape) for k, v in model.state_dict().items()}
    del bad["2.bias"]
    bad["0.weight"] = ms.zeros(5, 4)
    bad["3.weight"] = ms.zeros(1)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(bad)
    msg = str(err.value)
    assert "Error(s) in loading state_dict for Sequential" in msg
    assert 'Missing key(s) in state_dict: "2.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "3.weight".' in msg
    assert ("size mismatch for 0.weight: copying a param with shape (5, 4) from checkpoint, "
            "the shape in current model is (3, 4).") in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_load_state_dict_non_strict_returns_the_keys():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    partial = {"0.weight": ms.ones(3, 4), "9.bias": ms.ones(2)}
    missing, unexpected = model.load_state_dict(partial, strict=False)
    assert missing == ["0.bias", "1.weight", "1.bias"] and unexpected == ["9.bias"]
    assert np.all(model[0].weight.numpy() == 1)
    result = model.load_state_dict(partial, strict=False)
    assert result.missing_keys == missing and result.unexpected_keys == unexpected
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"0.weight": ms.ones(2, 2)}, strict=False)


def test_load_state_dict_hints_at_a_key_prefix():
    model = nn.Sequential(nn.Linear(2, 2))
    wrapped = {"module." + k: v for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match="extra prefix 'module.'"):
        model.load_state_dict(wrapped)


# ---- init -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3, 3), (6, 1, 7)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert nn.init._calculate_fan_in_and_fan_out(ms.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


@pytest.mark.parametrize("args", [("linear",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                                  ("leaky_relu", 0.2), ("selu",), ("conv2d",)])
def test_calculate_gain_matches_torch(args):
    assert nn.init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_init_functions_fill_in_place_with_the_right_statistics():
    ms.manual_seed(0)
    w = ms.empty(400, 300)
    fan_in, fan_out = 300, 400
    assert nn.init.xavier_uniform_(w) is w
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / (fan_in + fan_out))
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(w.numpy().std() - 2 * math.sqrt(2 / (fan_in + fan_out))) < 0.01
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / fan_in)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / fan_out)) < 0.002
    nn.init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert w.numpy().min() >= -1.0 and w.numpy().max() <= 2.0
    nn.init.normal_(w, 3.0, 0.5)
    assert abs(w.numpy().mean() - 3) < 0.01
    nn.init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    nn.init.zeros_(w)
    assert not w.numpy().any()
    nn.init.ones_(w)
    assert np.all(w.numpy() == 1)
    nn.init.eye_(w)
    assert np.array_equal(w.numpy(), np.eye(400, 300))
    nn.init.uniform_(w, -0.1, 0.1)
    assert np.abs(w.numpy()).max() <= 0.1
    for shape in [(5, 8), (8, 5)]:
        q = nn.init.orthogonal_(ms.empty(*shape), gain=1.0).numpy().astype(np.float64)
        small = q @ q.T if shape[0] < shape[1] else q.T @ q
        np.testing.assert_allclose(small, np.eye(min(shape)), atol=1e-5)


def test_init_works_on_parameters_that_require_grad_and_is_seeded():
    layer = nn.Linear(5, 5)
    ms.manual_seed(11)
    nn.init.normal_(layer.weight)
    first = layer.weight.numpy().copy()
    ms.manual_seed(11)
    nn.init.normal_(layer.weight)
    assert np.array_equal(first, layer.weight.numpy())
    assert layer.weight.requires_grad


# ---- nn.utils -------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(4, 3), (3,), (2, 2, 2)]]
    mp = [nn.Parameter(ms.zeros(*g.shape, dtype=ms.float64)) for g in grads]
    tp = [torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64)) for g in grads]
    for p, q, g in zip(mp, tp, grads):
        p.grad, q.grad = ms.tensor(g.copy()), torch.tensor(g.copy())
    total_m = nn.utils.clip_grad_norm_(mp, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert isinstance(total_m, ms.Tensor) and total_m.ndim == 0
    assert total_m.item() == pytest.approx(total_t.item(), rel=1e-12)
    for p, q in zip(mp, tp):
        close(p.grad, q.grad)


def test_clip_grad_value_and_vector_conversion():
    rng = np.random.default_rng(1)
    ps = [nn.Parameter(ms.tensor(rng.standard_normal(s))) for s in [(3, 2), (4,)]]
    for p in ps:
        p.grad = ms.tensor(rng.standard_normal(p.shape) * 3)
    expected = [np.clip(p.grad.numpy(), -1, 1) for p in ps]
    nn.utils.clip_grad_value_(ps, 1.0)
    for p, e in zip(ps, expected):
        np.testing.assert_array_equal(p.grad.numpy(), e)
    vec = nn.utils.parameters_to_vector(ps)
    assert vec.shape == (10,)
    np.testing.assert_array_equal(vec.numpy()[:6], ps[0].numpy().ravel())
    nn.utils.vector_to_parameters(vec * 2, ps)
    np.testing.assert_array_equal(ps[1].numpy(), vec.numpy()[6:] * 2)
    for p in ps:
        p.grad = None
    (nn.utils.parameters_to_vector(ps) * 3).sum().backward()  # differentiable, as in PyTorch
    assert all(np.all(p.grad.numpy() == 3) for p in ps)
