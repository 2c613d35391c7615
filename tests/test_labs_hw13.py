"""HW13: the quick ladder (student alone → KD → separable student → pruned) and its targets, and
the hand-written parts: the distillation loss, the students' parameter counts, magnitude masks and
the optimiser that keeps pruned weights at zero."""
import numpy as np
import pytest

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn
from mlseries.course.training import count_parameters
from mlseries.labs.hw13 import compress, students, techniques

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw13.compress",))


def test_quick_ladder_numbers(runs):
    _, output, record, _ = runs("hw13.compress")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == ["score_sample", "score_kd", "score_separable", "score_pruned"]
    assert m["teacher_params"] > compress.LIMIT >= max(m[f"params_{r}"] for r in ("sample", "kd", "separable"))
    assert m["params_pruned"] < 0.6 * m[f"params_{m['pruned_from']}"]       # half the weights gone
    assert m["best_score"] >= m["teacher_acc"] - 0.02
    assert m["score_pruned"] > m["pruned_before_finetune"]                  # fine-tuning recovers
    for rung in ("sample", "kd", "separable", "pruned"):
        assert m[f"score_{rung}"] > 0.6                                     # every student learned (chance 0.1)
    assert "original leaderboard (accuracy" in output


def test_students_fit_the_budget_and_separable_is_wider():
    plain, separable = students.cnn_student(compress.SAMPLE), students.separable_student(compress.SEPARABLE)
    assert count_parameters(plain) <= compress.LIMIT and count_parameters(separable) <= compress.LIMIT
    assert abs(count_parameters(separable) - count_parameters(plain)) < 0.2 * count_parameters(plain)
    assert compress.SEPARABLE[-1] == 3 * compress.SAMPLE[-1]
    x = ms.tensor(np.zeros((2, 1, 14, 14), np.float32))
    assert plain(x).shape == (2, 10) and separable(x).shape == (2, 10)
    depthwise = [m for m in separable.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert depthwise and all(m.groups == m.in_channels == m.out_channels for m in depthwise)


def test_kd_loss_against_its_definition():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(5, 10)).astype(np.float32), rng.normal(size=(5, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 5)
    packed = techniques.pack_targets(labels, t)
    assert packed.shape == (5, 20) and np.all(packed[np.arange(5), labels] == 1)
    T, alpha = 3.0, 0.7

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    p_t, p_s = softmax(t / T), softmax(s / T)
    kl = np.mean(np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=1))
    ce = np.mean(-np.log(softmax(s)[np.arange(5), labels]))
    got = techniques.kd_loss(T, alpha)(ms.tensor(s), ms.tensor(packed)).item()
    assert got == pytest.approx(alpha * T * T * kl + (1 - alpha) * ce, rel=1e-5)
    # α = 0: plain cross-entropy
    assert techniques.kd_loss(T, 0.0)(ms.tensor(s), ms.tensor(packed)).item() == pytest.approx(
        F.cross_entropy(ms.tensor(s), ms.tensor(labels)).item(), rel=1e-5)


def test_magnitude_masks_and_the_masked_optimizer_keep_pruned_weights_at_zero():
    ms.manual_seed(0)
    model = students.cnn_student((4, 8, 8))
    masks = techniques.magnitude_masks(model, 0.5)
    for w, mask in zip(techniques.prunable(model), masks):
        kept, cut = np.abs(w.detach().numpy())[mask == 1], np.abs(w.detach().numpy())[mask == 0]
        assert abs(mask.mean() - 0.5) < 0.05 and kept.min() >= cut.max()   # the smallest half goes
    before = techniques.nonzero_parameters(model)
    techniques.apply_masks(model, masks)
    pruned = sum(int(m.size - m.sum()) for m in masks)
    assert techniques.nonzero_parameters(model) == before - pruned
    opt = techniques.MaskedOptimizer(ms.optim.SGD(model.parameters(), lr=0.1), model, masks)
    x = ms.tensor(np.random.default_rng(0).normal(size=(4, 1, 14, 14)).astype(np.float32))
    for _ in range(2):
        loss = F.cross_entropy(model(x), ms.tensor(np.array([0, 1, 2, 3])))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for w, mask in zip(techniques.prunable(model), masks):
        assert np.all(w.detach().numpy()[mask == 0] == 0)
