"""The part-3 losses against PyTorch: margin and embedding losses, multi-label losses, Poisson and
Gaussian likelihoods. Values and gradients of every differentiable input (float64 to 1e-8,
float32 to 1e-4) for every reduction and option, the modules (reprs, state dicts), second
derivatives and errors. CTC has its own file (test_ctc.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
REDUCTIONS = pytest.mark.parametrize("reduction", ["mean", "sum", "none"])


def _labels(n, seed, values=(-1, 1)):
    return np.random.default_rng(seed).choice(values, n)


def _both(name, *constants, **kw):
    """fn, torch_fn for compare: the named loss with the float inputs compare gives and the
    constant label arrays, each as a tensor of its own framework."""
    def make(T, Fm):
        return lambda *xs: getattr(Fm, name)(*xs, *[T.tensor(c) for c in constants], **kw)
    return make(ms, F), make(torch, TF)


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("margin", [0.0, 0.4])
@pytest.mark.parametrize("shape", [(6, 5), (5,)], ids=["batch", "single"])
def test_cosine_embedding_loss_matches_torch(shape, margin, reduction, dtype):
    a, b = make_inputs([shape, shape], np.random.default_rng(len(shape)))
    y = _labels(shape[0], 1) if len(shape) == 2 else np.array(-1)
    if len(shape) == 2:
        b[0] = a[0] * 2  # cos = 1 exactly: the hinge at its kink for a −1 pair
    ours, theirs = _both("cosine_embedding_loss", y, margin=margin, reduction=reduction)
    compare(ours, [a, b], dtype=dtype, torch_fn=theirs, name="cosine_embedding_loss")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_loss_matches_torch(margin, reduction, dtype):
    a, b = make_inputs([(9,), (9,)], np.random.default_rng(2))
    y = _labels(9, 3).astype(float)
    ours, theirs = _both("margin_ranking_loss", y.astype(dtype), margin=margin, reduction=reduction)
    compare(ours, [a, b], dtype=dtype, torch_fn=theirs, name="margin_ranking_loss")
    # the target may also be an input with a gradient (PyTorch differentiates it too)
    compare(lambda a, b, y: F.margin_ranking_loss(a, b, y, margin, reduction=reduction), [a, b, y], dtype=dtype,
            torch_fn=lambda a, b, y: TF.margin_ranking_loss(a, b, y, margin, reduction=reduction),
            name="margin_ranking_loss target grad")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, True), (3.0, True)])
@pytest.mark.parametrize("shape", [(6, 4), (4,)], ids=["batch", "single"])
def test_triplet_margin_loss_matches_torch(shape, p, swap, reduction, dtype):
    arrays = make_inputs([shape] * 3, np.random.default_rng(5))
    compare(lambda a, q, n: F.triplet_margin_loss(a, q, n, margin=0.7, p=p, swap=swap, reduction=reduction),
            arrays, dtype=dtype,
            torch_fn=lambda a, q, n: TF.triplet_margin_loss(a, q, n, margin=0.7, p=p, swap=swap, reduction=reduction),
            name="triplet_margin_loss")


@REDUCTIONS
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_matches_torch(swap, reduction):
    arrays = make_inputs([(5, 3)] * 3, np.random.default_rng(6))

    def run(T):
        cos = T.nn.CosineSimilarity()
        return lambda a, q, n: T.nn.functional.triplet_margin_with_distance_loss(
            a, q, n, distance_function=lambda x, y: 1.0 - cos(x, y), margin=0.3, swap=swap, reduction=reduction)

    compare(run(ms), arrays, torch_fn=run(torch), name="triplet with distance")
    compare(lambda a, q, n: F.triplet_margin_with_distance_loss(a, q, n, reduction=reduction), arrays,
            torch_fn=lambda a, q, n: TF.triplet_margin_with_distance_loss(a, q, n, reduction=reduction),
            name="triplet with default distance")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_loss_matches_torch(margin, reduction, dtype):
    x = np.abs(make_inputs([(4, 5)], np.random.default_rng(7))[0])
    x[0, 0] = margin  # at the hinge
    y = _labels(20, 8).reshape(4, 5)
    ours, theirs = _both("hinge_embedding_loss", y.astype(dtype), margin=margin, reduction=reduction)
    compare(ours, [x], dtype=dtype, torch_fn=theirs, name="hinge_embedding_loss")


@DTYPES
@REDUCTIONS
def test_soft_margin_loss_matches_torch(reduction, dtype):
    x = make_inputs([(4, 6)], np.random.default_rng(9), -30, 30)[0]
    x[0, :3] = [0.0, 100.0, -100.0]  # 0 (where the derivative is ½), and far out on both sides
    y = _labels(24, 10).reshape(4, 6).astype(dtype)
    ours, theirs = _both("soft_margin_loss", y, reduction=reduction)
    compare(ours, [x], dtype=dtype, torch_fn=theirs, name="soft_margin_loss")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, True), (1, 0.3, True), (2, 2.0, False)])
def test_multi_margin_loss_matches_torch(p, margin, weighted, reduction, dtype):
    rng = np.random.default_rng(11)
    x = make_inputs([(6, 5)], rng)[0]
    t = rng.integers(0, 5, 6)
    x[0, (t[0] + 1) % 5] = x[0, t[0]] - margin  # z = 0 exactly: no gradient there
    kw = dict(p=p, margin=margin, reduction=reduction)

    def run(T, Fm):
        weight = T.tensor(np.linspace(0.5, 2, 5).astype(dtype)) if weighted else None
        return lambda x: Fm.multi_margin_loss(x, T.tensor(t), weight=weight, **kw)

    compare(run(ms, F), [x], dtype=dtype, torch_fn=run(torch, TF), name="multi_margin_loss")
    compare(lambda x: F.multi_margin_loss(x, ms.tensor(2), **kw), [x[0]], dtype=dtype,
            torch_fn=lambda x: TF.multi_margin_loss(x, torch.tensor(2), **kw), name="multi_margin_loss single")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss_matches_torch(weighted, reduction, dtype):
    rng = np.random.default_rng(12)
    x = make_inputs([(5, 4)], rng, -40, 40)[0]
    y = rng.integers(0, 2, (5, 4)).astype(dtype)
    w = np.linspace(0.5, 1.5, 4).astype(dtype)

    def run(T, Fm):
        return lambda x: Fm.multilabel_soft_margin_loss(x, T.tensor(y), T.tensor(w) if weighted else None,
                                                        reduction=reduction)

    compare(run(ms, F), [x], dtype=dtype, torch_fn=run(torch, TF), name="multilabel_soft_margin_loss")


@DTYPES
@REDUCTIONS
def test_multilabel_margin_loss_matches_torch(reduction, dtype):
    rng = np.random.default_rng(13)
    x = make_inputs([(4, 5)], rng)[0]
    t = np.array([[3, 0, -1, 1, 4],  # targets 3 and 0; what follows the −1 is ignored
                  [1, 1, 2, -1, -1],  # a repeated target counts twice
                  [-1, 2, 3, 4, 0],  # no targets at all
                  [0, 1, 2, 3, 4]])  # every class a target: nothing to compare against
    ours, theirs = _both("multilabel_margin_loss", t, reduction=reduction)
    compare(ours, [x], dtype=dtype, torch_fn=theirs, name="multilabel_margin_loss")
    ours, theirs = _both("multilabel_margin_loss", t[0], reduction=reduction)
    compare(ours, [x[0]], dtype=dtype, torch_fn=theirs, name="multilabel_margin_loss single")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll_loss_matches_torch(log_input, full, reduction, dtype):
    rng = np.random.default_rng(14)
    x = make_inputs([(3, 5)], rng, 0.05, 2.0)[0]
    y = rng.poisson(2.0, (3, 5)).astype(dtype)
    y[0, :3] = [0.0, 1.0, 2.0]  # around Stirling's cut at y > 1
    kw = dict(log_input=log_input, full=full, eps=1e-6, reduction=reduction)
    ours, theirs = _both("poisson_nll_loss", y, **kw)
    compare(ours, [x], dtype=dtype, torch_fn=theirs, name="poisson_nll_loss")


# A target that needs a gradient too: the graph `(a - b * a) + b.exp()` shape that once exposed an
# autograd aliasing bug (a leaf adopting a gradient array still pending at another node).
@pytest.mark.parametrize("log_input,full", [(True, False), (False, True)])
def test_poisson_nll_loss_target_gradient_matches_torch(log_input, full):
    rng = np.random.default_rng(14)
    x = make_inputs([(3, 5)], rng, 0.05, 2.0)[0]
    y = rng.poisson(2.0, (3, 5)) + 0.5
    kw = dict(log_input=log_input, full=full, eps=1e-6, reduction="none")
    compare(lambda x, y: F.poisson_nll_loss(x, y, **kw), [x, y],
            torch_fn=lambda x, y: TF.poisson_nll_loss(x, y, **kw), name="poisson_nll_loss target grad")


@DTYPES
@REDUCTIONS
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape,var_shape", [((4, 3), (4, 3)), ((4, 3), (4,)), ((4, 3), (4, 1)),
                                             ((2, 3, 4), (2, 1, 4)), ((5,), (5,))])
def test_gaussian_nll_loss_matches_torch(shape, var_shape, full, reduction, dtype):
    rng = np.random.default_rng(15)
    x, y = make_inputs([shape, shape], rng)
    var = rng.uniform(0.2, 2.0, var_shape)
    var.reshape(-1)[0] = 1e-8  # below eps: floored for the value, not for the gradient's path
    kw = dict(full=full, eps=1e-6, reduction=reduction)
    compare(lambda x, y, v: F.gaussian_nll_loss(x, y, v, **kw), [x, y, var], dtype=dtype,
            torch_fn=lambda x, y, v: TF.gaussian_nll_loss(x, y, v, **kw), name="gaussian_nll_loss")
    compare(lambda x, y: F.gaussian_nll_loss(x, y, 0.5, **kw), [x, y], dtype=dtype,
            torch_fn=lambda x, y: TF.gaussian_nll_loss(x, y, 0.5, **kw), name="gaussian_nll_loss float var")


LOSS_MODULES = [
    (lambda T: T.nn.CosineEmbeddingLoss(margin=0.2), "pair"),
    (lambda T: T.nn.MarginRankingLoss(margin=0.1, reduction="sum"), "rank"),
    (lambda T: T.nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True), "triplet"),
    (lambda T: T.nn.TripletMarginWithDistanceLoss(margin=0.5), "triplet"),
    (lambda T: T.nn.HingeEmbeddingLoss(margin=2.0, reduction="none"), "hinge"),
    (lambda T: T.nn.MultiMarginLoss(p=2, margin=0.5, weight=T.tensor([1.0, 2.0, 0.5, 1.0], dtype=T.float64)), "class"),
    (lambda T: T.nn.MultiLabelSoftMarginLoss(weight=T.tensor([1.0, 2.0, 0.5, 1.0], dtype=T.float64)), "multilabel"),
    (lambda T: T.nn.MultiLabelMarginLoss(reduction="sum"), "labels"),
    (lambda T: T.nn.SoftMarginLoss(), "hinge"),
    (lambda T: T.nn.PoissonNLLLoss(log_input=False, full=True), "counts"),
    (lambda T: T.nn.GaussianNLLLoss(full=True), "gauss"),
]


def _module_inputs(kind, T):
    rng = np.random.default_rng(16)
    x, y, z = (T.tensor(a, requires_grad=True) for a in make_inputs([(5, 4)] * 3, rng))
    if kind == "pair":
        return x, y, T.tensor(_labels(5, 1))
    if kind == "rank":
        first = [T.tensor(v.detach().numpy()[:, 0].copy(), requires_grad=True) for v in (x, y)]
        return first[0], first[1], T.tensor(_labels(5, 2).astype(float))
    if kind == "triplet":
        return x, y, z
    if kind == "hinge":
        return x, T.tensor(_labels(20, 3).reshape(5, 4).astype(float))
    if kind == "class":
        return x, T.tensor(rng.integers(0, 4, 5))
    if kind == "multilabel":
        return x, T.tensor(rng.integers(0, 2, (5, 4)).astype(float))
    if kind == "labels":
        return x, T.tensor(np.array([[1, 2, -1, 0]] * 5))
    if kind == "counts":
        return T.tensor(np.abs(x.detach().numpy()) + 0.1, requires_grad=True), T.tensor(rng.poisson(2, (5, 4)) * 1.0)
    return x, y, T.tensor(np.abs(z.detach().numpy()) + 0.1, requires_grad=True)


@pytest.mark.parametrize("make,kind", LOSS_MODULES,
                         ids=[repr(m(torch)).split("(")[0] + "-" + k for m, k in LOSS_MODULES])
def test_loss_modules_match_torch(make, kind):
    ours, theirs = make(ms), make(torch)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    got_in, want_in = _module_inputs(kind, ms), _module_inputs(kind, torch)
    got, want = ours(*got_in), theirs(*want_in)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    got.sum().backward()
    want.sum().backward()
    for a, b in zip(got_in, want_in):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_modules_take_the_deprecated_flags():
    with pytest.warns(UserWarning, match="deprecated"):
        loss = ms.nn.SoftMarginLoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(UserWarning, match="deprecated"):
        assert ms.nn.MultiMarginLoss(reduce=False).reduction == "none"


def test_losses_have_second_derivatives():
    """A gradient penalty through metric-learning losses: differentiated twice, as PyTorch."""
    rng = np.random.default_rng(17)
    a, p, n = make_inputs([(4, 3)] * 3, rng)
    y = _labels(4, 18)

    def fn(T, Fm, a, p, n):
        loss = (Fm.triplet_margin_loss(a, p, n, margin=2.0) + Fm.cosine_embedding_loss(a, p, T.tensor(y), 0.1)
                + Fm.soft_margin_loss(a, T.tensor(y * 1.0)[:, None].expand(4, 3))
                + Fm.gaussian_nll_loss(a, p, n * n + 0.5) + Fm.multilabel_soft_margin_loss(a, (p > 0) * 1.0))
        (ga,) = T.autograd.grad(loss, a, create_graph=True)
        return (ga * ga).sum()

    got = [ms.tensor(v, requires_grad=True) for v in (a, p, n)]
    want = [torch.tensor(v, requires_grad=True) for v in (a, p, n)]
    fn(ms, F, *got).backward()
    fn(torch, TF, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_loss_finite_differences():
    rng = np.random.default_rng(19)
    x = make_inputs([(3, 4)], rng)[0]
    t = ms.tensor(np.array([[2, 0, -1, 1], [1, -1, 0, 0], [3, 2, 1, -1]]))
    finite_difference_check(lambda x: F.multilabel_margin_loss(x, t, reduction="none"), [x], name="multilabel_margin")
    finite_difference_check(lambda x: F.multi_margin_loss(x, ms.tensor([0, 3, 1]), p=2, reduction="none"), [x],
                            name="multi_margin")


def test_loss_errors_speak_the_users_terms():
    x = ms.randn(4, 3)
    with pytest.raises(ValueError, match="1D target tensor expects 2D input"):
        F.cosine_embedding_loss(ms.randn(4, 3, 2), ms.randn(4, 3, 2), ms.ones(4))
    with pytest.raises(ValueError, match="same dimension"):
        F.margin_ranking_loss(ms.randn(4), ms.randn(4, 1), ms.ones(4))
    with pytest.raises(ValueError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x, ms.randn(3))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, ms.tensor([0, 1, 2, 0]), p=3)
    with pytest.raises(IndexError, match="class 5"):
        F.multi_margin_loss(x, ms.tensor([0, 1, 5, 0]))
    with pytest.raises(ValueError, match="same shape"):
        F.multilabel_margin_loss(x, ms.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -ms.ones(4, 3))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, ms.ones(3, 4))
    with pytest.raises(ValueError, match="greater than 0"):
        ms.nn.TripletMarginWithDistanceLoss(margin=0)
