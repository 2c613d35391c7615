"""CTC loss against PyTorch: values and gradients (float64 to 1e-8, float32 to 1e-4) for padded
and concatenated targets, every reduction, zero_infinity, impossible alignments, repeated labels,
empty targets, other blanks, unbatched input; finite differences through log_softmax; the module;
errors in the caller's terms."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import TOL, finite_difference_check

torch.set_num_threads(1)


def _problem(seed, T=12, N=4, C=6, S=5, blank=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T, N, C))
    labels = [c for c in range(C) if c != blank]
    targets = rng.choice(labels, (N, S))
    targets[0, :3] = labels[0]  # repeated labels need a blank between them
    input_lengths = np.array([T, T - 2, T - 5, 3][:N])
    target_lengths = np.array([S, 3, 0, 2][:N])
    return logits, targets, input_lengths, target_lengths


def _compare(logits, targets, il, tl, dtype=np.float64, through_log_softmax=True, upstream_seed=0, **kw):
    """Run ctc_loss in both frameworks on the same problem; compare the loss and the gradient of
    Σ w·loss with respect to the logits (or to log_probs given directly)."""
    tol = TOL[dtype]
    a = ms.tensor(logits.astype(dtype), requires_grad=True)
    b = torch.tensor(logits.astype(dtype), requires_grad=True)
    lp_a = a.log_softmax(-1) if through_log_softmax else a
    lp_b = b.log_softmax(-1) if through_log_softmax else b
    got = F.ctc_loss(lp_a, ms.tensor(targets), ms.tensor(il), ms.tensor(tl), **kw)
    want = TF.ctc_loss(lp_b, torch.tensor(targets), torch.tensor(il), torch.tensor(tl), **kw)
    assert got.shape == tuple(want.shape) and got.numpy().dtype == want.detach().numpy().dtype
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), err_msg="ctc loss", **tol)
    w = np.random.default_rng(upstream_seed).standard_normal(tuple(want.shape)).astype(dtype)
    (got * ms.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg="ctc gradient", equal_nan=True, **tol)
    return got


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_matches_torch(reduction, zero_infinity, dtype):
    _compare(*_problem(0), dtype=dtype, reduction=reduction, zero_infinity=zero_infinity)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_impossible_alignment(reduction):
    """Three equal labels need five frames; with four the loss is inf (its gradient NaN, as in
    PyTorch), and zero_infinity turns both into zeros for that sample only."""
    logits, targets, il, tl = _problem(1, T=8)
    targets[1, :3] = targets[0, 0]
    il[1], tl[1] = 4, 3
    got = _compare(logits, targets, il, tl, reduction="none")
    assert np.isinf(got.numpy()[1]) and np.isfinite(got.numpy()[[0, 2, 3]]).all()
    got = _compare(logits, targets, il, tl, reduction=reduction, zero_infinity=True)
    assert np.isfinite(got.numpy()).all()


def test_ctc_concatenated_targets_and_list_lengths():
    logits, targets, il, tl = _problem(2)
    flat = np.concatenate([targets[n, :tl[n]] for n in range(len(tl))])
    a = _compare(logits, flat, il, tl, reduction="none")
    b = F.ctc_loss(ms.tensor(logits).log_softmax(-1), ms.tensor(targets), il.tolist(), tuple(tl.tolist()),
                   reduction="none")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("blank", [0, 3, 5])
def test_ctc_other_blanks_and_labels_equal_to_blank(blank):
    logits, targets, il, tl = _problem(3, blank=blank)
    _compare(logits, targets, il, tl, blank=blank, reduction="sum")
    targets[1, 1] = blank  # PyTorch does not refuse a blank inside the targets; it is one more label state
    _compare(logits, targets, il, tl, blank=blank, reduction="none")


def test_ctc_unbatched_empty_and_zero_length_inputs():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((7, 5))
    for red in ("none", "mean", "sum"):
        _compare(logits, np.array([1, 3, 3]), np.array(7), np.array(3), reduction=red)
    logits, targets, il, tl = _problem(5)
    il[2], tl[2] = 0, 0  # no frames and no labels: probability 1, loss 0
    _compare(logits, targets, il, tl, reduction="none")


def test_ctc_gradient_with_log_probs_as_leaves_is_pytorchs():
    """Given log_probs directly, PyTorch's gradient is exp(log_probs) − posterior (the gradient for
    the logits of a log_softmax); ours is the same."""
    logits, targets, il, tl = _problem(6)
    log_probs = torch.tensor(logits).log_softmax(-1).numpy()
    _compare(log_probs, targets, il, tl, through_log_softmax=False, reduction="sum")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_ctc_larger_random_batch_matches_torch(dtype):
    """Speech-sized: 60 frames, 8 utterances, 28 characters, transcripts up to 20 labels."""
    rng = np.random.default_rng(7)
    T, N, C = 60, 8, 28
    logits = rng.standard_normal((T, N, C)) * 2
    tl = rng.integers(1, 21, N)
    il = np.maximum(rng.integers(30, T + 1, N), 2 * tl + 1)
    targets = rng.integers(1, C, (N, 20))
    _compare(logits, targets, il, tl, dtype=dtype, reduction="mean")


def test_ctc_finite_differences_through_log_softmax():
    logits, targets, il, tl = _problem(8, T=6, N=2, C=4, S=3)
    il[:], tl[:] = [6, 5], [3, 2]
    t, i, s = ms.tensor(targets), ms.tensor(il), ms.tensor(tl)
    finite_difference_check(lambda x: F.ctc_loss(x.log_softmax(-1), t, i, s, reduction="none"), [logits],
                            name="ctc_loss")


def test_ctc_module_and_second_derivative_refused():
    loss_fn = ms.nn.CTCLoss(blank=2, zero_infinity=True)
    assert repr(loss_fn) == repr(torch.nn.CTCLoss(blank=2, zero_infinity=True)) and loss_fn.reduction == "mean"
    logits, targets, il, tl = _problem(9, blank=2)
    x = ms.tensor(logits, requires_grad=True)
    want = torch.nn.CTCLoss(blank=2, zero_infinity=True)(torch.tensor(logits).log_softmax(-1), torch.tensor(targets),
                                                         torch.tensor(il), torch.tensor(tl))
    loss = loss_fn(x.log_softmax(-1), ms.tensor(targets), ms.tensor(il), ms.tensor(tl))
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-10)
    (g,) = ms.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(NotImplementedError, match="second derivative"):
        (g * g).sum().backward()


def test_ctc_errors_speak_the_users_terms():
    lp = ms.randn(5, 2, 4).log_softmax(-1)
    t, il, tl = ms.tensor([[1, 2], [3, 1]]), ms.tensor([5, 5]), ms.tensor([2, 2])
    with pytest.raises(ValueError, match="at most the number of frames"):
        F.ctc_loss(lp, t, ms.tensor([6, 5]), tl)
    with pytest.raises(ValueError, match="exceed the padded targets"):
        F.ctc_loss(lp, t, il, ms.tensor([3, 2]))
    with pytest.raises(ValueError, match="one entry per sample"):
        F.ctc_loss(lp, t, il, ms.tensor([2]))
    with pytest.raises(ValueError, match="add up to"):
        F.ctc_loss(lp, ms.tensor([1, 2, 3]), il, tl)
    with pytest.raises(IndexError, match="class 7"):
        F.ctc_loss(lp, ms.tensor([[1, 7], [3, 1]]), il, tl)
    with pytest.raises(ValueError, match="\\(T, N, C\\)"):
        F.ctc_loss(ms.randn(5), t, il, tl)
    with pytest.raises(ValueError, match="blank"):
        F.ctc_loss(lp, t, il, tl, blank=4)
