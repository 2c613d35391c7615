"""ch10.style: the Gram matrix by hand, the style loss's gradient against finite differences,
the losses' and the texture measure's defining properties, the procedural painting, and the
lesson's quick run with its numbers."""
import numpy as np
import pytest

import mlseries as ms
from mlseries.course.ch10 import style_tools as st

from lesson_checks import quick_run_suite

LESSON = "ch10.style"


def test_gram_matrix_by_hand():
    # two channels on a 1×2 grid: a = (1, 2), b = (3, −1); G_ij = Σ_p F_i(p) F_j(p) / (h·w)
    f = ms.tensor(np.array([[[[1.0, 2.0]], [[3.0, -1.0]]]], np.float32))        # (1, 2, 1, 2)
    expected = np.array([[1 + 4, 3 - 2], [3 - 2, 9 + 1]]) / 2
    np.testing.assert_allclose(st.gram(f).numpy(), expected, rtol=1e-6)


def test_gram_matrix_ignores_where_features_are():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(1, 4, 5, 6)).astype(np.float32)
    shuffled = f.reshape(1, 4, 30)[:, :, rng.permutation(30)].reshape(1, 4, 5, 6)   # same pixels, moved
    np.testing.assert_allclose(st.gram(ms.tensor(f)).numpy(), st.gram(ms.tensor(shuffled)).numpy(), rtol=1e-5)


def test_style_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    shapes = {"a": (1, 3, 4, 4), "b": (1, 5, 2, 3)}
    targets = {k: st.gram(ms.tensor(rng.normal(size=s), dtype=ms.float64)) for k, s in shapes.items()}
    values = {k: rng.normal(size=s) for k, s in shapes.items()}

    def loss_of(arrays):
        return st.style_loss({k: ms.tensor(v, dtype=ms.float64) for k, v in arrays.items()}, targets).item()

    maps = {k: ms.tensor(v, dtype=ms.float64, requires_grad=True) for k, v in values.items()}
    st.style_loss(maps, targets).backward()
    eps = 1e-6
    for k in shapes:
        numeric = np.zeros(shapes[k])
        for idx in np.ndindex(shapes[k]):
            plus = {n: v.copy() for n, v in values.items()}
            minus = {n: v.copy() for n, v in values.items()}
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric[idx] = (loss_of(plus) - loss_of(minus)) / (2 * eps)
        np.testing.assert_allclose(maps[k].grad.numpy(), numeric, rtol=1e-5, atol=1e-9)


def test_style_loss_by_hand_and_zero_at_target():
    # one layer, G_s = diag(2, 2) and G = diag(1, 1) (from F = rows e₁, e₂ over two positions ×√2)
    target = {"x": ms.tensor(np.diag([2.0, 2.0]).astype(np.float32))}
    f = ms.tensor(np.array([[[[1.0, 0.0]], [[0.0, 1.0]]]], np.float32) * np.sqrt(2.0))   # G = diag(1, 1)
    assert st.style_loss({"x": f}, target).item() == pytest.approx((1 + 1) / (4 + 4))
    assert st.style_loss({"x": f * np.sqrt(2.0)}, target).item() == pytest.approx(0.0, abs=1e-6)


def test_content_loss_is_a_relative_error():
    t = ms.tensor(np.arange(1, 7, dtype=np.float32).reshape(1, 1, 2, 3))
    assert st.content_loss(t, t).item() == 0.0
    assert st.content_loss(t * 0, t).item() == pytest.approx(1.0)


def test_texture_distance_properties():
    painting = st.painting((48, 64), seed=0)
    assert st.texture_distance(painting, painting) == 0.0
    flat = np.full_like(painting, 0.5)
    assert st.texture_distance(flat, painting) > 0.3     # no strokes, wrong colours: far


def test_painting_is_seeded_and_in_range():
    a, b = st.painting((40, 60), seed=3), st.painting((40, 60), seed=3)
    assert a.shape == (40, 60, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, st.painting((40, 60), seed=4))


runs, test_quick_run_reaches_its_targets = quick_run_suite((LESSON,))


def test_quick_run_numbers(runs):
    m = runs(LESSON)[2]["metrics"]
    assert m["vgg_available"] is True
    for net in ("vgg", "small"):
        assert m[f"{net}_style_end"] < m[f"{net}_style_start"] / 10
        assert m[f"{net}_content_end"] < m[f"{net}_content_of_painting"]
        assert m[f"{net}_dream_gain"] > 1.5
    # the claim of the lesson: VGG's features carry the style, the small CNN's do not
    assert m["vgg_texture"] < 0.75 * m["small_texture"] < 0.75 * m["content_texture_distance"]
