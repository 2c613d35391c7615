"""hw14 (life-long learning): the quick ladder (fine-tuning → EWC → MAS → SI) with its accuracy
matrices and target, and the hand-written parts: the Fisher diagonal, MAS's importance, SI's path
integral, the quadratic penalty and the rotated tasks."""
import numpy as np
import pytest

import mlseries as ms
from mlseries import nn
from mlseries.labs.hw14 import lifelong, regularizers, tasks

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw14.lifelong",))


def test_quick_ladder(runs):
    out, _, record, _ = runs("hw14.lifelong")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == ["score_finetune", "score_ewc", "score_mas", "score_si"]
    assert m["score_ewc"] >= m["score_finetune"] + 0.10                     # the target
    assert min(m["score_mas"], m["score_si"]) > m["score_finetune"] + 0.05   # every method remembers more
    assert m["best_rung"] != "finetune" and m["multitask"] > m["best_score"]
    assert m["task1_finetune"] < 0.3 < m["task1_ewc"]                        # fine-tuning forgot task 1
    matrix = np.loadtxt(out / "accuracy_finetune.csv", delimiter=",")
    assert matrix.shape == (5, 5) and np.all(np.diag(matrix) > 0.7)         # each task learned in its turn
    assert m["score_finetune"] == pytest.approx(matrix[-1].mean(), abs=1e-4)


def linear_model():
    ms.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3))


def data(n=5):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 1, 2, 2)).astype(np.float32), rng.integers(0, 3, n)


def test_fisher_diagonal_against_closed_form():
    model, (x, y) = linear_model(), data()
    W, b = (p.detach().numpy() for p in model.parameters())
    flat = x.reshape(len(x), -1)
    logits = flat @ W.T + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    err = p - np.eye(3)[y]                                                  # ∂CE/∂logits per image
    expected_w = np.mean([np.outer(e, f) ** 2 for e, f in zip(err, flat)], axis=0)
    fisher = regularizers.fisher_diagonal(model, x, y)
    assert np.allclose(fisher[0], expected_w, atol=1e-6) and np.allclose(fisher[1], np.mean(err ** 2, 0), atol=1e-6)


def test_mas_importance_against_closed_form():
    model, (x, _) = linear_model(), data()
    W, b = (p.detach().numpy() for p in model.parameters())
    flat = x.reshape(len(x), -1)
    f = flat @ W.T + b                                                      # ∂‖f‖²/∂W = 2 f xᵀ
    omega = regularizers.mas_importance(model, x)
    assert np.allclose(omega[0], np.mean([np.abs(2 * np.outer(fi, xi)) for fi, xi in zip(f, flat)], 0), atol=1e-5)
    assert np.allclose(omega[1], np.mean(np.abs(2 * f), 0), atol=1e-5)


def test_si_path_integral_is_the_loss_decrease_per_parameter():
    """On L = ½ Σ a_k θ_k² with small SGD steps, Σ −g·Δθ per parameter is that parameter's share
    of the loss decrease, ½ a_k (θ_start² − θ_end²)."""
    theta = ms.tensor(np.array([1.0, -2.0, 0.5], np.float32), requires_grad=True)
    a = np.array([1.0, 3.0, 0.2], np.float32)
    model = nn.Module()
    model.theta = nn.Parameter(theta)
    si = regularizers.SynapticIntelligence(xi=0.1)
    si.start(model)
    start = model.theta.detach().numpy().copy()
    opt = ms.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(200):
        loss = (0.5 * ms.tensor(a) * model.theta ** 2).sum()
        opt.zero_grad()
        loss.backward()
        grads, before = [model.theta.grad.numpy().copy()], regularizers.snapshot(model)
        opt.step()
        si.step(grads, before, regularizers.snapshot(model))
    end = model.theta.detach().numpy()
    assert np.allclose(si.omega[0], 0.5 * a * (start ** 2 - end ** 2), rtol=0.02)
    omega = si.consolidate(model)[0]
    assert np.allclose(omega, np.maximum(si.omega[0], 0) / ((end - start) ** 2 + 0.1))


def test_penalty_value_and_gradient():
    model = linear_model()
    theta = regularizers.snapshot(model)
    omega = [np.full_like(t, 2.0) for t in theta]
    penalty = regularizers.Penalty(0.5)
    assert penalty(model) is None                                           # nothing to protect yet
    penalty.add(omega, [t - 1.0 for t in theta])                            # every weight 1 away
    value = penalty(model)
    n = sum(t.size for t in theta)
    assert value.item() == pytest.approx(0.5 * 2.0 * n)
    value.backward()
    assert np.allclose(model[1].weight.grad.numpy(), 0.5 * 2 * 2.0 * 1.0)  # 2λΩ(θ − θ*)
    penalty.replace(omega, theta)
    assert len(penalty.anchors) == 1 and penalty(model).item() == pytest.approx(0.0)


def test_rotations():
    image = np.zeros((1, 1, 28, 28), np.float32)
    image[0, 0, 4:10, 13:15] = 1.0                                          # a bar above the centre
    assert np.array_equal(tasks.rotated(image, 0), image)
    turned = tasks.rotated(image, 90)
    assert np.allclose(turned[0, 0], np.rot90(image[0, 0]), atol=1e-4)       # anticlockwise: the bar goes left
    assert turned.dtype == np.float32 and turned.min() >= 0 and turned.max() <= 1


def test_mlp_shape():
    assert lifelong.mlp(32)(ms.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)
