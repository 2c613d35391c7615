"""Chapter 5: the seed's gradient in every installed framework, the scalar autograd engine
(every Value op against the engine and finite differences, and the three classic pitfalls),
composite ops and the lazy expression of ch05.tinygrad, and each lesson's quick run."""
import importlib.util
import math

import numpy as np
import pytest

import mlseries as ms
from mlseries import course
from mlseries.course.ch05 import autodiff as ch05_autodiff
from mlseries.course.ch05 import lazy as ch05_lazy
from mlseries.course.ch05 import micrograd as ch05_micrograd
from mlseries.course.ch05 import tinygrad as ch05_tinygrad
from mlseries.course.ch05.micrograd import OPS, Value

from lesson_checks import quick_run_suite

LESSONS = ("ch05.autodiff", "ch05.micrograd", "ch05.tinygrad")


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_chapter_id_runs_the_three_lessons():
    assert [les.id for les in course.resolve("ch05")] == list(LESSONS)


# ---------------------------------------------------------------- ch05.autodiff

@pytest.mark.parametrize("framework", ["mlseries", "torch", "jax"])
def test_seed_gradient_agrees_across_frameworks(framework):
    """CI installs torch and jax, so this agreement is checked there, not skipped."""
    if framework != "mlseries" and importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    for inputs in (ch05_autodiff.seed_inputs(), ch05_autodiff.random_inputs(np.random.default_rng(3))):
        reference, rows = ch05_autodiff.compare(*inputs)
        row = next(r for r in rows if r["name"].lower().startswith({"mlseries": "mlseries", "torch": "pytorch",
                                                                     "jax": "jax"}[framework]))
        assert "missing" not in row
        assert row["gap"] <= 1e-6


def test_seed_numbers_and_missing_frameworks():
    reference, rows = ch05_autodiff.compare(*ch05_autodiff.seed_inputs())
    # x @ w = 1·0.1 + 2·0.1 + 3·0.1 in both columns; 0.1 is a float32 input, good to ~1e-8
    y = math.tanh(0.6)
    assert reference[0] == pytest.approx(y * y, abs=1e-7)
    dz = y * (1 - y * y)                     # 2y/2 · (1 − y²) per column
    np.testing.assert_allclose(reference[1], np.outer([1, 2, 3], [dz, dz]), atol=1e-7)
    for r in rows:
        if importlib.util.find_spec(r["name"].split()[0].lower().replace("pytorch", "torch")) is None:
            assert r["missing"].startswith("not installed")


# ---------------------------------------------------------------- ch05.micrograd

@pytest.mark.parametrize("name", list(OPS))
def test_every_value_op_matches_engine_and_finite_differences(name):
    f = OPS[name]
    for a, b in np.random.default_rng(7).uniform(0.2, 2.5, size=(5, 2)):
        ours = np.array(ch05_micrograd.grads_by_value(f, a, b))
        np.testing.assert_allclose(ours, ch05_micrograd.grads_by_engine(f, a, b), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours, ch05_micrograd.grads_by_differences(f, a, b), rtol=1e-6, atol=1e-6)


def test_value_used_twice_gets_both_gradients():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    c, d = Value(2.0), Value(5.0)
    e = c * d + c * c                        # c reached through three paths
    e.backward()
    assert (c.grad, d.grad) == (d.data + 2 * c.data, c.data)


def test_a_long_chain_needs_no_recursion():
    x = Value(1.0)
    y = x
    for _ in range(50_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0 and y.data == 50_001.0


def test_backward_again_after_zeroing_gives_the_same_gradient():
    w, x = Value(0.3), Value(-1.2)
    loss = (w * x).tanh() ** 2 + (w / x).exp()
    loss.backward()
    first = (w.grad, x.grad)
    w.grad = x.grad = 0.0
    loss.backward()
    assert (w.grad, x.grad) == first


def test_value_power_of_value_needs_a_positive_base():
    with pytest.raises(ValueError, match="positive base"):
        Value(-2.0) ** Value(0.5)


def test_mlp_of_values_matches_its_numpy_copy():
    model = ch05_micrograd.MLP((2, 4, 3, 1), np.random.default_rng(0))
    points = np.random.default_rng(1).normal(size=(6, 2))
    ours = [model(list(map(Value, p))).data for p in points]
    np.testing.assert_allclose(ours, ch05_micrograd.numpy_scores(model.as_arrays(), points), atol=1e-12)


def test_micrograd_quick_numbers(runs):
    m = runs("ch05.micrograd")[2]["metrics"]
    assert m["accuracy"] == 1.0 and m["reused_grad"] == 2.0
    assert m["max_gap_to_engine"] <= 1e-12 and m["max_gap_to_numeric"] <= 1e-6


# ---------------------------------------------------------------- ch05.tinygrad

def test_primitive_table_lists_every_function_of_the_engine():
    from mlseries import _ops
    expected = {name for name, cls in vars(_ops).items()
                if isinstance(cls, type) and issubclass(cls, ms.autograd.Primitive)
                and cls.__module__ == _ops.__name__ and not name.startswith("_")}
    rows = ch05_tinygrad.primitives()
    assert {r[0] for r in rows} == expected
    assert {"Add", "Mul", "Sum", "MatMul", "Reshape"} <= expected


def test_composite_ops_match_fused_torch_and_finite_differences():
    rows = ch05_tinygrad.check_composites(np.random.default_rng(5))
    assert [r["name"] for r in rows] == ["softmax", "layer_norm", "conv2d (im2col)"]
    for r in rows:
        assert r["to_numeric"] <= 1e-6
        assert r["to_fused"] is None or r["to_fused"] <= 1e-10
        if importlib.util.find_spec("torch"):
            assert r["to_torch"] <= 1e-10
    assert rows[2]["primitives"]["MatMul"] == 1          # im2col: one matrix product


def test_one_step_backward_uses_only_primitives():
    _, grads, forward, backward, _ = ch05_tinygrad.one_step(np.random.default_rng(0))
    names = {r[0] for r in ch05_tinygrad.primitives()}
    assert {f.name for f in forward} | {f.name for f in backward} <= names
    assert len(grads) == 4 and "MatMul" in {f.name for f in backward}


def test_lazy_expression_fuses_and_defers():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50_000), rng.normal(size=50_000)
    expr = ch05_lazy.demo_expression(x, y)
    assert len(expr.schedule()) == 1 and expr._value is None      # recorded, nothing run
    stats = {}
    assert expr.realize(stats) == pytest.approx(ch05_lazy.eager(x, y), rel=1e-12)
    assert stats["kernels"] == 1
    a = ch05_lazy.Lazy.load(x)
    e = (a - 1.0).exp()
    out = e / e.sum()                                              # e is read twice
    assert [node.op for node, *_ in out.schedule()] == ["exp", "sum", "div"]
    np.testing.assert_allclose(out.realize(), np.exp(x - 1) / np.exp(x - 1).sum(), rtol=1e-12)
