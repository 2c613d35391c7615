"""HW15: the quick run (pre-training baseline, MAML, first-order MAML, ANIL on rendered characters and
sinusoids) and its targets, and the hand-written parts: MAML's meta-gradient against finite
differences, the functional forwards against their modules, ANIL's head-only inner loop, the
character bank and its tasks."""
import numpy as np
import pytest

import mlseries as ms
from mlseries.labs.hw15 import maml
from mlseries.labs.hw15.characters import CharacterBank, character_bank, render, font_paths

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw15.meta",))


def test_quick_ladder_numbers(runs):
    _, output, record, _ = runs("hw15.meta")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == ["score_pretrain", "score_maml", "score_fomaml", "score_anil"]
    for rung in ("pretrain", "maml", "fomaml", "anil"):
        assert m[f"score_{rung}"] > 0.35                               # every method learned (chance 0.2)
        assert 0 < m[f"ci_{rung}"] < 0.05
    assert m["score_maml"] > m["score_pretrain"] and m["score_maml"] >= m["score_fomaml"]
    assert m["classes_train"] > 100 and m["classes_test"] > 40
    # sinusoids: MAML's initialisation adapts, the pre-trained one (near the mean curve) barely does
    assert m["sin_mse_maml_10"] < m["sin_mse_maml_0"]
    assert m["sin_mse_maml_10"] < m["sin_mse_pretrain_10"]
    assert "MAML − first-order MAML on the same tasks" in output
    assert "original leaderboard (accuracy" in output


def _mlp64(seed=0):
    ms.manual_seed(seed)
    return [p.detach().double().requires_grad_(True) for p in maml.mlp((5, 4)).parameters()]


def _sin_tasks(n=2, k=4):
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, size=(n, 2 * k, 1))
    y = np.sin(x - rng.uniform(0, 1, size=(n, 1, 1)))
    return [ms.tensor(a) for a in (x[:, :k], y[:, :k], x[:, k:], y[:, k:])]


def _meta_loss(params, second_order, only=None, steps=2):
    xs, ys, xq, yq = _sin_tasks()
    fast = maml.adapt(maml.mlp_forward, maml.per_task(params, 2), xs, ys, maml.task_mse, 0.1, steps,
                      second_order, only)
    return maml.task_mse(maml.mlp_forward(xq, fast), yq)


def test_maml_meta_gradient_matches_finite_differences():
    params = _mlp64()
    loss = _meta_loss(params, second_order=True)
    grads = ms.autograd.grad(loss, params)
    eps = 1e-6
    for p, g in zip(params, grads):
        values = p.detach().numpy().copy()
        numeric = np.zeros_like(values)
        def loss_at(i, value):
            moved = values.copy()
            moved[i] = value
            with ms.no_grad():
                p.copy_(ms.tensor(moved))
            return _meta_loss(params, True).item()      # the inner loop needs gradients: outside no_grad
        for i in np.ndindex(values.shape):
            numeric[i] = (loss_at(i, values[i] + eps) - loss_at(i, values[i] - eps)) / (2 * eps)
        with ms.no_grad():
            p.copy_(ms.tensor(values))
        np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-5, atol=1e-8)
    # first-order MAML drops the Hessian term: a different (approximate) gradient
    first = ms.autograd.grad(_meta_loss(params, second_order=False), params)
    assert max(np.abs(a.numpy() - b.numpy()).max() for a, b in zip(first, grads)) > 1e-4


def test_first_order_gradient_is_the_query_gradient_at_the_fast_weights():
    params = _mlp64()
    xs, ys, xq, yq = _sin_tasks()
    shared = maml.per_task(params, 2)
    fast = maml.adapt(maml.mlp_forward, shared, xs, ys, maml.task_mse, 0.1, 1, False)
    at_fast = [f.detach().requires_grad_(True) for f in fast]
    expected = ms.autograd.grad(maml.task_mse(maml.mlp_forward(xq, at_fast), yq), at_fast)
    got = ms.autograd.grad(_meta_loss(params, False, steps=1), params)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), e.numpy().sum(0), rtol=1e-10)    # summed over the tasks


def test_anil_adapts_only_the_head():
    params = _mlp64()
    xs, ys, _, _ = _sin_tasks()
    shared = maml.per_task(params, 2)
    only = maml.head_indices(shared)
    fast = maml.adapt(maml.mlp_forward, shared, xs, ys, maml.task_mse, 0.1, 2, False, only)
    for i, (before, after) in enumerate(zip(shared, fast)):
        if i in only:
            assert not np.allclose(before.detach().numpy(), after.detach().numpy())
        else:
            assert after is before


def test_functional_forwards_match_their_modules():
    ms.manual_seed(0)
    net = maml.conv_net(8, 5)
    net.train()
    x = ms.tensor(np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32))
    np.testing.assert_allclose(maml.conv_forward(x, list(net.parameters())).detach().numpy(),
                               net(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    reg = maml.mlp()
    xs = ms.tensor(np.linspace(-5, 5, 12, dtype=np.float32).reshape(3, 4, 1))
    out = maml.mlp_forward(xs, maml.per_task(list(reg.parameters()), 3))
    np.testing.assert_allclose(out.detach().numpy(), reg(xs).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_interval_is_the_normal_95_percent_half_width():
    mean, half = maml.interval([0.0, 1.0] * 50)
    assert mean == pytest.approx(0.5)
    assert half == pytest.approx(1.96 * np.std([0.0, 1.0] * 50, ddof=1) / 10)


@pytest.fixture(scope="module")
def bank():
    return character_bank(per_class=6, seed=0)


def test_character_bank_classes_are_distinct_and_the_split_disjoint(bank):
    assert len(bank) > 150 and bank.images.shape[1:] == (6, 28, 28)
    assert len(set(bank.chars)) == len(bank.chars)
    assert "A" in bank.chars and "\u0391" not in bank.chars and "\u0410" not in bank.chars   # Greek/Cyrillic A merged
    assert bank.images.min() >= 0 and bank.images.max() <= 1
    ink = bank.images.reshape(len(bank), 6, -1).sum(-1)
    assert ink.min() > 10                                                    # every example has a glyph in it
    train, test = bank.split(0.3, seed=0)
    assert not set(train.chars) & set(test.chars) and len(train) + len(test) == len(bank)


def test_tasks_are_n_way_k_shot_with_separate_queries():
    images = np.arange(7 * 6 * 28 * 28, dtype=np.float32).reshape(7, 6, 28, 28)
    tiny = CharacterBank(images, list("abcdefg"), ["Latin"] * 7)
    xs, ys, xq, yq, classes = tiny.task(np.random.default_rng(0), n_way=5, k_shot=1, n_query=3)
    assert xs.shape == (5, 1, 28, 28) and xq.shape == (15, 1, 28, 28)
    assert list(ys) == [0, 1, 2, 3, 4] and list(yq) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    for label, c in enumerate(classes):
        support = {float(a[0, 0, 0]) for a in xs[ys == label]}
        query = {float(a[0, 0, 0]) for a in xq[yq == label]}
        own = {float(images[c, i, 0, 0]) for i in range(6)}
        assert support <= own and query <= own and not support & query


def test_render_draws_a_centred_glyph():
    from PIL import ImageFont
    font = ImageFont.truetype(font_paths()[0], 40)
    image = render("H", font)
    assert image.shape == (28, 28) and image.max() > 0.9
    rows, cols = np.nonzero(image > 0.5)
    assert abs(rows.mean() - 13.5) < 2 and abs(cols.mean() - 13.5) < 2
