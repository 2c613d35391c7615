"""Chapter 6: the four trainers of ch06.train (hand-written gradients equal autograd; the same
weights and batches give the same losses in every installed framework), the critical points,
optimisers and diagnosis rule of ch06.diagnose, and each lesson's quick run."""
import importlib.util

import numpy as np
import pytest

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import course
from mlseries.course.ch06 import diagnose as ch06_diagnose
from mlseries.course.ch06 import landscapes as land
from mlseries.course.ch06 import networks as nets
from mlseries.course.ch06 import train as ch06_train
from mlseries.course.ch06 import trainers

from lesson_checks import quick_run_suite

LESSONS = ("ch06.train", "ch06.diagnose")


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_chapter_id_runs_both_lessons():
    assert [les.id for les in course.resolve("ch06")] == list(LESSONS)


# ---------------------------------------------------------------- ch06.train

def _batch(rng, n=64):
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


def test_hand_written_gradients_equal_autograd():
    rng = np.random.default_rng(0)
    weights = trainers.init_weights(rng)
    x, y = _batch(rng)
    loss, grads = trainers.NumpyTrainer(weights, 1e-3).gradients(x, y)
    params = [ms.tensor(a.astype(np.float64), requires_grad=True) for pair in weights for a in pair]
    h = ms.tensor(x.astype(np.float64))
    for i in range(0, 6, 2):
        h = h @ params[i].T + params[i + 1]
        h = h.relu() if i < 4 else h
    expected = F.cross_entropy(h, ms.tensor(y))
    expected.backward()
    assert loss == pytest.approx(expected.item(), abs=1e-5)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), atol=2e-6)


def test_every_installed_framework_takes_the_same_steps():
    """Same weights, same batches: after 8 Adam steps all losses agree to float32 rounding.
    CI installs torch and jax, so there all four are compared."""
    rng = np.random.default_rng(1)
    weights = trainers.init_weights(rng)
    built = [cls(weights, 1e-3) for cls in trainers.FRAMEWORKS
             if cls is trainers.NumpyTrainer or cls is trainers.EngineTrainer
             or importlib.util.find_spec(cls.name.lower().replace("pytorch", "torch"))]
    assert len(built) >= 2
    batches = [_batch(rng) for _ in range(2)] * 4           # two batches in turn: the loss must fall
    losses = np.array([[t.step(x, y) for x, y in batches] for t in built])   # (frameworks, steps)
    assert np.abs(losses - losses[0]).max() <= 1e-5
    assert losses[0, -2] < losses[0, 0] and losses[0, -1] < losses[0, 1]
    # a rate set later (the lesson's schedule) reaches every framework's optimiser alike; fresh
    # trainers, since after more steps Adam's early sign-like updates amplify rounding gaps
    slower = [type(t)(weights, 1e-3) for t in built]
    for t in slower:
        t.set_lr(ch06_train.epoch_lr(5, 10))                # 5e-4
    later = np.array([[t.step(x, y) for x, y in batches] for t in slower])
    assert np.abs(later - later[0]).max() <= 1e-5
    assert np.all(later[:, -1] > losses[:, -1])             # half the rate: less far in 8 steps


def test_learning_rate_falls_along_a_cosine_from_lr_to_a_fortieth():
    rates = [ch06_train.epoch_lr(e, 10) for e in range(10)]
    assert rates[0] == ch06_train.LR and all(a > b for a, b in zip(rates, rates[1:]))
    assert abs(rates[-1] / ch06_train.LR - 0.5 * (1 + np.cos(0.9 * np.pi))) < 1e-12   # about 1/40


def test_train_quick_numbers(runs):
    m = runs("ch06.train")[2]["metrics"]
    assert m["fashion_mlseries_accuracy"] >= 0.70 and m["mnist_mlseries_accuracy"] >= 0.75  # chance 0.1
    frameworks = ["numpy", "mlseries"] + [f for f, mod in (("pytorch", "torch"), ("jax", "jax"))
                                          if importlib.util.find_spec(mod)]
    for f in frameworks:
        assert m[f"fashion_{f}_gap_10_steps"] <= 1e-5 and m[f"mnist_{f}_gap_10_steps"] <= 1e-5
        assert abs(m[f"fashion_{f}_accuracy"] - m["fashion_numpy_accuracy"]) <= 0.02


# ---------------------------------------------------------------- ch06.diagnose

def test_saddle_and_minimum_told_apart_by_the_hessian():
    saddle = land.critical_point(land.saddle_surface, (0.0, 0.0))
    minimum = land.critical_point(land.saddle_surface, (1.0, 0.0))
    assert saddle["kind"] == "saddle point" and saddle["eigenvalues"].min() < 0
    np.testing.assert_allclose(saddle["eigenvalues"], [-1.0, 1.0], atol=1e-12)
    assert minimum["kind"] == "local minimum" and minimum["eigenvalues"].min() > 0
    np.testing.assert_allclose(minimum["eigenvalues"], [1.0, 2.0], atol=1e-12)
    assert land.escape_along(land.saddle_surface, saddle) < 0          # λ < 0 points downhill
    lee = land.critical_point(land.two_weights, (0.0, 0.0))
    np.testing.assert_allclose(lee["eigenvalues"], [-2.0, 2.0], atol=1e-12)


def test_hessian_of_a_cubic_by_second_derivatives():
    f = lambda p: p[0] ** 3 * p[1] + p[1] ** 2    # noqa: E731
    g, h = land.gradient_and_hessian(f, (2.0, -1.0))
    np.testing.assert_allclose(g, [3 * 4 * -1, 8 - 2], atol=1e-12)
    np.testing.assert_allclose(h, [[6 * 2 * -1, 3 * 4], [3 * 4, 2]], atol=1e-12)


def test_gradient_descent_stalls_at_the_saddle_from_x_zero():
    paths, found, _ = ch06_diagnose.critical_points()
    assert found[0]["kind"] == "saddle point" and np.allclose(paths[0][-1, :2], 0, atol=1e-6)
    assert found[1]["kind"] == "local minimum" and np.allclose(paths[1][-1, :2], (1, 0), atol=1e-6)


def test_sharpness_is_the_top_eigenvalue_of_the_full_hessian():
    """Power iteration with Hessian-vector products against PyTorch's full Hessian of the same
    small network's loss (31 parameters), float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20)
    model = ms.nn.Sequential(ms.nn.Linear(3, 4), ms.nn.Tanh(), ms.nn.Linear(4, 3)).double()
    top = nets.sharpness(model, ms.tensor(x), ms.tensor(y), rng, iterations=200)
    shapes = [tuple(p.shape) for p in model.parameters()]
    flat = torch.tensor(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]))

    def loss(theta):
        parts, k = [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            parts.append(theta[k:k + n].reshape(shape))
            k += n
        h = torch.tanh(torch.tensor(x) @ parts[0].T + parts[1]) @ parts[2].T + parts[3]
        return torch.nn.functional.cross_entropy(h, torch.tensor(y))

    hessian = torch.autograd.functional.hessian(loss, flat).numpy()
    eigenvalues = np.linalg.eigvalsh(hessian)
    # power iteration finds the eigenvalue largest in size
    assert top == pytest.approx(eigenvalues[np.abs(eigenvalues).argmax()], rel=1e-4)


def test_diagnosis_rule():
    def case(train, test):
        return dict(history=np.array([[train * 2, test * 0.8, 0, 0, 0], [train, test, 0, 0, 0]]))
    assert nets.diagnose(case(2.3, 2.3), reference_train_loss=0.1) == "optimisation failure"
    assert nets.diagnose(case(0.001, 0.8), reference_train_loss=0.1) == "overfitting"
    assert nets.diagnose(case(0.1, 0.2), reference_train_loss=0.1) == "fine"


def test_diagnose_quick_numbers(runs):
    m = runs("ch06.diagnose")[2]["metrics"]
    assert min(m["saddle_eigenvalues"]) < 0 < min(m["minimum_eigenvalues"])
    assert m["gd_end"] < 0 < m["momentum_end"]
    assert m["ravine_adam"] < m["ravine_gd"] and m["ravine_adagrad"] < m["ravine_gd"]
    assert m["rmsprop_decay"] < 1e-3 * m["rmsprop_constant"]
    assert m["batch8_noise"] > m["batch128_noise"] > m["batch1438_noise"]
    assert m["fit_deep_sigmoid_10_hidden_diagnosis"] == "optimisation failure"
    assert m["fit_wide_ReLU_diagnosis"] == "overfitting"
