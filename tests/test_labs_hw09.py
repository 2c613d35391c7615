"""HW09: the quick ladder (saliency → SmoothGrad → integrated gradients → filters → LIME →
attention) and its checks, and the hand-written parts: gradients, SmoothGrad, integrated
gradients' completeness, LIME's segments and surrogate, the deletion test, filter visualisation
and the synthetic reviews."""
import numpy as np
import pytest

import mlseries as ms
from mlseries import nn
from mlseries.labs.hw09 import attributions, faithfulness, filters, lime, sentiment

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw09.explain",))

RUNGS = ["saliency", "smoothgrad", "ig", "filters", "lime", "attention"]


def test_quick_ladder_numbers(runs):
    _, output, record, _ = runs("hw09.explain")
    m = record["metrics"]
    assert [k[len("score_"):] for k in m if k.startswith("score_")] == RUNGS
    assert all(m[f"score_{r}"] > 1 for r in RUNGS)                      # every method beats random
    assert m["ig_completeness_max"] <= 0.01
    # the lesson's story: integrated gradients and LIME beat the plain gradient on the deletion test
    assert m["score_ig"] > m["score_saliency"] and m["score_lime"] > m["score_saliency"]
    assert m["hit_rollout"] > 0.8 and m["review_accuracy"] > 0.95
    assert m["filter_ratio_min"] > 1
    assert 0 < m["lime_r2_mean"] <= 1
    assert "vanilla gradient saliency (sample)" in output


# ---------------------------------------------------------------- gradient attributions

def small_cnn():
    ms.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3))
    model.eval()
    return model


def test_class_gradients_match_finite_differences():
    model = small_cnn()
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8))
    classes = np.array([0, 2])
    grads, scores = attributions.class_gradients(model, x, classes)
    assert grads.shape == x.shape and scores.shape == (2,)
    eps = 1e-2
    for (i, r, c) in [(0, 3, 4), (1, 5, 2)]:
        up, down = x.copy(), x.copy()
        up[i, 0, r, c] += eps
        down[i, 0, r, c] -= eps
        f = lambda z: attributions.class_gradients(model, z[i:i + 1], classes[i:i + 1])[1][0]   # noqa: E731
        assert grads[i, 0, r, c] == pytest.approx((f(up) - f(down)) / (2 * eps), abs=2e-3)


def test_smoothgrad_without_noise_is_the_saliency_map():
    model = small_cnn()
    x = np.random.default_rng(1).normal(size=(2, 1, 8, 8))
    classes = np.array([1, 1])
    plain = attributions.saliency(model, x, classes)
    smooth = attributions.smoothgrad(model, x, classes, np.random.default_rng(0), samples=3, sigma=0.0)
    assert np.allclose(plain, smooth, atol=1e-6)
    noisy = attributions.smoothgrad(model, x, classes, np.random.default_rng(0), samples=3, sigma=0.3)
    assert not np.allclose(plain, noisy)


def test_integrated_gradients_of_a_linear_model_are_exact():
    ms.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    model.eval()
    x = np.random.default_rng(2).normal(size=(3, 1, 4, 4))
    baseline = np.full((1, 4, 4), -0.5)
    attr, f_x, f_base = attributions.integrated_gradients(model, x, np.array([0, 1, 0]), baseline, steps=4)
    w = model[1].weight.detach().numpy()
    expected = (x - baseline) * w[[0, 1, 0]].reshape(3, 1, 4, 4)
    assert np.allclose(attr, expected, atol=1e-5)
    assert attributions.completeness_error(attr, f_x, f_base).max() < 1e-4


def test_integrated_gradients_are_complete_on_a_relu_network_with_enough_steps():
    model = small_cnn()
    x = np.random.default_rng(3).normal(size=(3, 1, 8, 8))
    errors = [attributions.completeness_error(*attributions.integrated_gradients(
        model, x, np.array([0, 1, 2]), np.zeros((1, 8, 8)), steps=steps)).max() for steps in (8, 512)]
    assert errors[1] < 0.01 and errors[1] < errors[0] / 4       # the trapezoid rule converges


def test_completeness_error_measures_the_gap():
    attr = np.ones((2, 1, 2, 2))                               # sums to 4
    err = attributions.completeness_error(attr, np.array([5.0, 4.0]), np.array([1.0, 0.0]))
    assert np.allclose(err, [0.0, 0.0])
    assert attributions.completeness_error(attr, np.array([5.0]), np.array([0.0]))[0] == pytest.approx(0.2)


# ---------------------------------------------------------------- LIME

def test_patch_segments_and_masks():
    seg = lime.patch_segments(8, 8, 4)
    assert seg.shape == (8, 8) and seg.max() == 3 and np.all(np.bincount(seg.ravel()) == 16)
    image = np.ones((1, 8, 8))
    masks = np.array([[1, 0, 1, 1], [0, 0, 0, 0]])
    out = lime.masked_images(image, seg, masks, blank=-1.0)
    assert out.shape == (2, 1, 8, 8)
    assert np.all(out[0, 0, :4, 4:] == -1) and np.all(out[0, 0, :4, :4] == 1) and np.all(out[1] == -1)
    w = lime.kernel_weights(np.array([[1, 1, 1, 1], [1, 0, 0, 0]]))
    assert w[0] == pytest.approx(1.0) and 0 < w[1] < 1


class OneSegment(nn.Module):
    """Logits (s, 0) with s the sum of the pixels of the top-left 4×4 patch: only segment 0 matters."""

    def forward(self, x):                                      # (B, 1, 8, 8)
        s = x[:, 0, :4, :4].sum(dim=(1, 2)).reshape(-1, 1)     # (B, 1)
        return ms.cat([s * 0.2, s * 0.0], dim=1)               # (B, 2)


def test_lime_finds_the_segment_the_model_uses():
    seg = lime.patch_segments(8, 8, 4)
    coef, r2 = lime.lime(OneSegment(), np.ones((1, 8, 8)), 0, seg, blank=-1.0, rng=np.random.default_rng(0),
                         samples=200)
    assert np.argmax(coef) == 0 and coef[0] > 10 * np.abs(coef[1:]).max()
    assert r2 > 0.95                                           # the model *is* a function of segment 0 alone


# ---------------------------------------------------------------- the deletion test

def test_delete_top_blanks_the_highest_ranked_pixels():
    x = np.arange(8, dtype=float).reshape(2, 1, 2, 2)
    ranking = np.array([[[[0.1, 0.9], [0.5, 0.2]]], [[[1.0, 0.0], [0.0, 0.0]]]])
    out = faithfulness.delete_top(x, ranking, 0.5, blank=-1.0)
    assert out[0, 0].tolist() == [[0, -1], [-1, 3]]
    assert out[1, 0, 0, 0] == -1 and (out[1] == -1).sum() == 2


def test_faithfulness_ratio():
    assert faithfulness.faithfulness(np.array([0.9, 0.9]), np.array([0.5, 0.1]), np.array([0.8, 0.7])) == \
        pytest.approx(0.6 / 0.15)
    # a map no better than random scores about 1
    assert faithfulness.faithfulness(np.array([0.9]), np.array([0.7, 0.6]), np.array([0.7, 0.6])) == pytest.approx(1)


# ---------------------------------------------------------------- filter visualisation

def test_blur_keeps_constants_and_smooths_a_spike():
    flat = np.full((1, 1, 5, 5), 2.0)
    assert np.allclose(filters.blur(flat), flat)
    spike = np.zeros((1, 1, 5, 5))
    spike[0, 0, 2, 2] = 16
    out = filters.blur(spike)
    assert out[0, 0, 2, 2] == pytest.approx(4) and out.sum() == pytest.approx(16)


def test_activation_maximisation_finds_the_filters_pattern():
    """A single 3×3 vertical-edge filter: the ascent must excite it far more than noise does."""
    conv = nn.Conv2d(1, 1, 3, bias=False)
    conv.weight.data = ms.tensor(np.array([[[[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]]], dtype=np.float32))
    features = nn.Sequential(conv, nn.ReLU())
    vis = filters.visualise_filters(nn.Sequential(conv), [0], (1, 10, 10), -1.0, 1.0, np.random.default_rng(0),
                                    steps=60, lr=0.1, blur_every=0)
    noise = np.random.default_rng(1).uniform(-1, 1, size=(20, 1, 10, 10))
    assert filters.channel_activation(features, vis, 0)[0] > 3 * filters.channel_activation(features, noise, 0).max()
    assert vis.min() >= -1 and vis.max() <= 1


# ---------------------------------------------------------------- the reviews

def test_reviews_have_one_sentiment_word_that_decides_the_label():
    ids, labels, where = sentiment.make_reviews(200, np.random.default_rng(0))
    assert ids.shape == (200, 1 + sentiment.LENGTH) and np.all(ids[:, 0] == sentiment.CLS)
    first_positive = 1 + len(sentiment.NEUTRAL)
    first_negative = first_positive + len(sentiment.POSITIVE)
    sentimental = ids >= first_positive
    assert np.all(sentimental.sum(axis=1) == 1) and np.all(sentimental.argmax(axis=1) == where)
    words = ids[np.arange(200), where]
    assert np.all((words < first_negative) == (labels == 1))
    assert 0.3 < labels.mean() < 0.7


def test_hit_rate_ignores_cls():
    rows = np.array([[0.9, 0.04, 0.06], [0.5, 0.1, 0.4], [0.2, 0.5, 0.3]])   # [CLS]'s own weight never counts
    assert sentiment.hit_rate(rows, np.array([2, 2, 2])) == pytest.approx(2 / 3)


def test_review_transformer_shapes_and_attention_maps():
    ms.manual_seed(0)
    model = sentiment.ReviewTransformer()
    ids, _, _ = sentiment.make_reviews(3, np.random.default_rng(0))
    assert model(ms.tensor(ids)).shape == (3, 2)
    maps = model.attention_maps(ids)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 11, 11)
    assert np.allclose(maps[0].sum(axis=-1), 1, atol=1e-5)
