"""Generated data: shapes, dtypes, balance, the structure each lesson relies on, and the same
numbers for the same seed."""

import numpy as np
import pytest

import mlseries
import mlseries.datasets as d

POINT_SETS = {
    "moons": lambda seed: d.moons(n=100, seed=seed),
    "circles": lambda seed: d.circles(n=100, seed=seed),
    "blobs": lambda seed: d.blobs(n=99, centers=3, seed=seed),
    "spirals": lambda seed: d.spirals(n=300, classes=3, seed=seed),
    "binary_points": lambda seed: d.binary_points(n=200, seed=seed),
}
CLASS_COUNTS = {"moons": [50, 50], "circles": [50, 50], "blobs": [33, 33, 33],
                "spirals": [100, 100, 100], "binary_points": [102, 98]}


@pytest.mark.parametrize("name", sorted(POINT_SETS))
def test_point_sets(name):
    x, y = POINT_SETS[name](0)
    assert isinstance(x, mlseries.Tensor) and x.dtype == mlseries.float32 and x.shape[1] == 2
    assert y.dtype == mlseries.int64 and y.shape == (x.shape[0],)
    assert np.bincount(y.numpy()).tolist() == CLASS_COUNTS[name]
    x2, y2 = POINT_SETS[name](0)
    np.testing.assert_array_equal(x.numpy(), x2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    x3, _ = POINT_SETS[name](1)
    assert not np.array_equal(x.numpy(), x3.numpy())


def test_binary_points_label_rule():
    x, y = d.binary_points(n=500, seed=3)
    np.testing.assert_array_equal(y.numpy(), (x.numpy().sum(axis=1) > 0).astype(np.int64))


def test_spirals_are_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression

    x, y = d.spirals(n=300, classes=3, noise=0.1, seed=0)
    acc = LogisticRegression(max_iter=1000).fit(x.numpy(), y.numpy()).score(x.numpy(), y.numpy())
    assert acc < 0.7
    assert np.abs(x.numpy()).max() < 1.5


def test_noisy_line():
    x, y = d.noisy_line(n=100, slope=2.0, intercept=1.0, noise=1.0, seed=0)
    assert x.shape == (100,) and y.shape == (100,) and x.dtype == mlseries.float32
    assert 0 <= x.numpy().min() and x.numpy().max() <= 10
    slope, intercept = np.polyfit(x.numpy(), y.numpy(), 1)
    assert abs(slope - 2.0) < 0.15 and abs(intercept - 1.0) < 0.6
    np.testing.assert_array_equal(d.noisy_line(seed=0)[1].numpy(), y.numpy())
    exact = d.noisy_line(n=10, noise=0.0)
    np.testing.assert_allclose(exact[1].numpy(), 2 * exact[0].numpy() + 1, rtol=1e-6)


# ---------------------------------------------------------------------------- channel views


def test_channel_views_series_and_windows():
    cv = d.ChannelViews(seed=0)
    assert len(cv) == 1096 and cv.views.dtype == np.float32
    assert str(cv.dates[0]) == "2018-01-01" and str(cv.dates[-1]) == "2020-12-31"
    assert 1.5 < cv.views.min() and cv.views.max() < 15 and 3 < cv.views.mean() < 5
    x, y = cv.windows(7, "train")
    xt, yt = cv.windows(7, "test")
    assert x.shape == (1096 - 365 - 7, 7) and y.shape == (724,)
    assert xt.shape == (365, 7) and yt.shape == (365,)
    v = cv.views
    np.testing.assert_array_equal(x.numpy()[0], v[0:7])
    assert y.numpy()[0] == v[7]
    np.testing.assert_array_equal(xt.numpy()[0], v[1096 - 365 - 7:1096 - 365])  # reaches back
    assert yt.numpy()[-1] == v[-1]
    assert cv.windows(56, "train")[0].shape == (1096 - 365 - 56, 56)
    np.testing.assert_array_equal(d.ChannelViews(seed=0).views, v)
    assert not np.array_equal(d.ChannelViews(seed=1).views, v)
    with pytest.raises(ValueError, match="split must be"):
        cv.windows(7, "validation")


def test_channel_views_have_the_lecture_structure():
    cv = d.ChannelViews(seed=0)
    weekday = (cv.dates.astype(np.int64) + 3) % 7  # Monday = 0
    by_day = np.array([cv.views[weekday == k].mean() for k in range(7)])
    assert by_day[4] < by_day[[0, 1, 2, 3, 6]].min() and by_day[5] < by_day[[0, 1, 2, 3, 6]].min()
    first, last = cv.views[:365].mean(), cv.views[-365:].mean()
    assert last > first * 1.2  # the channel grows
    # more days of history help a linear model, as in the lecture's table
    errors = []
    for k in (1, 7, 28):
        x, y = (a.numpy() for a in cv.windows(k, "train"))
        xt, yt = (a.numpy() for a in cv.windows(k, "test"))
        a = np.c_[x, np.ones(len(x))]
        w = np.linalg.lstsq(a, y, rcond=None)[0]
        errors.append(np.abs(np.c_[xt, np.ones(len(xt))] @ w - yt).mean())
    assert errors[0] > errors[1] > errors[2]


# ---------------------------------------------------------------------------- shapes


def test_shapes_with_masks():
    ds = d.Shapes(n=200, size=32, seed=0)
    images, masks = ds.tensors()
    assert images.shape == (200, 1, 32, 32) == masks.shape
    assert images.dtype == mlseries.float32 and masks.dtype == mlseries.float32
    im, m = images.numpy(), masks.numpy()
    assert im.min() >= 0 and im.max() <= 1 and set(np.unique(m)) == {0.0, 1.0}
    np.testing.assert_array_equal(m[:, 0] == 1, ds.labels > 0)
    assert set(np.unique(ds.labels)) == {0, 1, 2, 3}
    assert 0.05 < m.mean() < 0.3  # shapes cover part of each image
    assert np.all(m.reshape(200, -1).max(axis=1) == 1)  # every image has a shape
    assert im[m == 1].mean() > im[m == 0].mean() + 0.4
    x0, y0 = ds[0]
    assert x0.shape == (1, 32, 32) and y0.shape == (1, 32, 32)
    np.testing.assert_array_equal(d.Shapes(n=200, seed=0).images, ds.images)
    assert not np.array_equal(d.Shapes(n=200, seed=1).images, ds.images)


# ---------------------------------------------------------------------------- sinusoids


def test_sinusoid_tasks():
    tasks = d.SinusoidTasks(seed=0)
    b = tasks.sample(n_tasks=1000, n_support=5, n_query=15)
    assert b.x_support.shape == (1000, 5, 1) and b.y_query.shape == (1000, 15, 1)
    assert b.amplitude.shape == (1000,) and b.x_support.dtype == mlseries.float32
    amp, phase = b.amplitude.numpy(), b.phase.numpy()
    assert 0.1 <= amp.min() and amp.max() <= 5.0 and 0 <= phase.min() and phase.max() <= np.pi
    xs = b.x_support.numpy()
    assert -5 <= xs.min() and xs.max() <= 5
    np.testing.assert_allclose(b.y_support.numpy(),
                               amp[:, None, None] * np.sin(xs - phase[:, None, None]), atol=1e-5)
    again = d.SinusoidTasks(seed=0).sample(1000, 5, 15)
    np.testing.assert_array_equal(again.y_query.numpy(), b.y_query.numpy())
    assert not np.array_equal(tasks.sample(1000, 5, 15).amplitude.numpy(), amp)  # a stream


# ---------------------------------------------------------------------------- HMM frames


@pytest.fixture(scope="module")
def frames():
    return d.HMMFrames("train", n_utterances=100), d.HMMFrames("test", n_utterances=40)


def test_hmm_frames_shapes_and_determinism(frames):
    train, test = frames
    assert len(train) == 100 and len(test) == 40
    x, y = train[0]
    assert x.dtype == mlseries.float32 and x.shape[1] == 39 and y.dtype == mlseries.int64
    assert y.shape == (x.shape[0],) and 50 <= x.shape[0] <= 150
    labels = np.concatenate(train.labels)
    assert labels.min() >= 0 and labels.max() <= 40
    assert len(np.unique(labels)) == 41  # every phoneme state occurs
    # sticky states: most frames repeat the previous label
    same = np.mean([np.mean(lab[1:] == lab[:-1]) for lab in train.labels])
    assert 0.8 < same < 0.9
    np.testing.assert_array_equal(train.means, test.means)  # one model, two draws of it
    again = d.HMMFrames("train", n_utterances=100)
    np.testing.assert_array_equal(again.frames[7], train.frames[7])
    assert not np.array_equal(d.HMMFrames("train", n_utterances=3, seed=1).frames[0][:5],
                              train.frames[0][:5])


def test_hmm_frames_context(frames):
    train, _ = frames
    x, y = train.tensors(context=2)
    total = sum(len(f) for f in train.frames)
    assert x.shape == (total, 5 * 39) and y.shape == (total,)
    f = train.frames[0]
    c = d.concat_frames(f, 2)
    np.testing.assert_array_equal(c[0, :39], f[0])      # edge repeated
    np.testing.assert_array_equal(c[0, 2 * 39:3 * 39], f[0])
    np.testing.assert_array_equal(c[5], f[3:8].reshape(-1))


def test_hmm_frames_need_context():
    """One frame alone is ambiguous, its neighbours help: a nearest-mean classifier that
    averages a window beats one that looks at a single frame."""
    ds = d.HMMFrames("test", n_utterances=60)
    x, y = ds.arrays()
    single = np.argmin(((x[:, None, :] - ds.means[None]) ** 2).sum(-1), axis=1)
    smoothed = np.concatenate([_window_mean(f, 1) for f in ds.frames])
    windowed = np.argmin(((smoothed[:, None, :] - ds.means[None]) ** 2).sum(-1), axis=1)
    acc1, acc3 = np.mean(single == y), np.mean(windowed == y)
    assert 0.3 < acc1 < 0.6 and acc3 > acc1 + 0.1


def _window_mean(f, k):
    return d.concat_frames(f, k).reshape(len(f), 2 * k + 1, -1).mean(axis=1)
