"""Image transforms: layouts, values, seeding, and the vectorised `.batch` forms."""

import numpy as np
import pytest

import mlseries
from mlseries.datasets import transforms as T


def image(h=6, w=8, c=None, seed=0):
    shape = (h, w) if c is None else (h, w, c)
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_to_tensor_scales_uint8_and_moves_channels_first():
    img = image(4, 5)
    t = T.ToTensor()(img)
    assert isinstance(t, mlseries.Tensor) and t.dtype == mlseries.float32 and t.shape == (1, 4, 5)
    np.testing.assert_allclose(t.numpy()[0], img / 255.0, rtol=1e-6)
    rgb = image(4, 5, 3)
    t = T.ToTensor()(rgb)
    assert t.shape == (3, 4, 5)
    np.testing.assert_allclose(t.numpy()[2], rgb[:, :, 2] / 255.0, rtol=1e-6)
    # float input keeps its values
    assert T.ToTensor()(np.full((2, 2), 3.0)).numpy().max() == 3.0
    with pytest.raises(ValueError, match=r"expected \(H, W\) or \(H, W, C\), got shape \(5,\)"):
        T.ToTensor()(np.zeros(5))


def test_normalize_per_channel():
    t = T.ToTensor()(image(4, 5, 3))
    out = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))(t)
    x = t.numpy()
    np.testing.assert_allclose(out.numpy()[1], (x[1] - 0.4) / 0.25, rtol=1e-5)
    assert out.dtype == mlseries.float32
    # a (H, W, C) array normalises along its last axis
    a = np.ones((2, 2, 3), np.float32)
    np.testing.assert_allclose(T.Normalize((0, 1, 2), (1, 1, 1))(a)[0, 0], [1, 0, -1])
    with pytest.raises(ValueError, match="std must be non-zero"):
        T.Normalize(0.5, 0.0)


def test_compose_applies_in_order():
    f = T.Compose([T.Lambda(lambda x: x + 1), T.Lambda(lambda x: x * 10)])
    assert f(1) == 20
    assert "Lambda" in repr(f)


def test_random_crop_cuts_a_window_of_the_padded_image():
    img = image(28, 28)
    crop = T.RandomCrop(28, padding=4, seed=3)
    padded = np.pad(img, 4)
    for _ in range(5):
        out = crop(img)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        windows = np.lib.stride_tricks.sliding_window_view(padded, (28, 28)).reshape(-1, 28, 28)
        assert any(np.array_equal(out, w) for w in windows)
    # same seed, same crops; Tensor input keeps channels first
    a = [T.RandomCrop(20, seed=7)(img) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    t = T.RandomCrop(5, seed=0)(T.ToTensor()(image(8, 8, 3)))
    assert isinstance(t, mlseries.Tensor) and t.shape == (3, 5, 5)
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(40)(img)


def test_random_crop_batch_draws_per_sample_offsets():
    x = np.broadcast_to(np.arange(10 * 10).reshape(1, 1, 10, 10), (64, 1, 10, 10)).astype(np.float32)
    out = T.RandomCrop(6, seed=0).batch(x)
    assert out.shape == (64, 1, 6, 6)
    corners = out[:, 0, 0, 0]
    assert len(np.unique(corners)) > 10  # different samples, different windows
    for k in range(64):  # each is a true window of the input
        r, c = divmod(int(corners[k]), 10)
        np.testing.assert_array_equal(out[k, 0], x[0, 0, r:r + 6, c:c + 6])
    tb = T.RandomCrop(6, padding=2, seed=0).batch(mlseries.from_numpy(x))
    assert isinstance(tb, mlseries.Tensor) and tb.shape == (64, 1, 6, 6)


def test_random_horizontal_flip():
    img = image(3, 4, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(img), img)
    x = np.random.default_rng(0).random((1000, 2, 3, 4)).astype(np.float32)
    out = T.RandomHorizontalFlip(p=0.3, seed=1).batch(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept)
    assert 250 < flipped.sum() < 350
    again = T.RandomHorizontalFlip(p=0.3, seed=1).batch(x)
    np.testing.assert_array_equal(out, again)


def test_rotate_quarter_turns_match_rot90():
    a = image(7, 7, seed=2)[None, None]
    np.testing.assert_array_equal(T.rotate(a, [90.0])[0, 0], np.rot90(a[0, 0], 1))   # counter-clockwise
    np.testing.assert_array_equal(T.rotate(a, [-90.0])[0, 0], np.rot90(a[0, 0], -1))
    np.testing.assert_array_equal(T.rotate(a, [180.0])[0, 0], np.rot90(a[0, 0], 2))
    np.testing.assert_array_equal(T.rotate(a, [0.0])[0, 0], a[0, 0])
    b = image(6, 6, seed=3).astype(np.float32)[None, None]
    np.testing.assert_allclose(T.rotate(b, [90.0], "bilinear")[0, 0], np.rot90(b[0, 0]), atol=1e-4)
    # an off-centre pixel leaves the frame and the fill comes in
    corner = T.rotate(np.ones((1, 1, 5, 5), np.float32), [45.0], fill=-1.0)[0, 0]
    assert corner[0, 0] == -1.0 and corner[2, 2] == 1.0


def test_random_rotation_is_small_and_seeded():
    img = image(28, 28)
    rot = T.RandomRotation(10, seed=0)
    out = rot(img)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, T.RandomRotation(10, seed=0)(img))
    g = np.random.default_rng(5)
    angles = np.random.default_rng(5).uniform(-10, 10, size=16)
    x = image(28, 28).astype(np.float32)[None, None].repeat(16, axis=0)
    out = T.RandomRotation(10, generator=g).batch(x)
    np.testing.assert_array_equal(out, T.rotate(x, angles))
    with pytest.raises(ValueError, match="non-negative"):
        T.RandomRotation(-5)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        T.RandomRotation(5, generator=3)


def test_transforms_can_share_one_generator():
    g = np.random.default_rng(0)
    crop, flip = T.RandomCrop(4, padding=1, generator=g), T.RandomHorizontalFlip(generator=g)
    assert crop.generator is flip.generator is g


def test_resize_matches_pytorch_bilinear():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
    for size in [(28, 28), (5, 11), (8, 8)]:
        ours = T.resize(x, size)
        theirs = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear",
                                                 align_corners=False).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_resize_transform_keeps_layout_and_dtype():
    img = image(8, 8, 3)
    out = T.Resize(16)(img)
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    t = T.Resize((4, 6))(T.ToTensor()(img))
    assert isinstance(t, mlseries.Tensor) and t.shape == (3, 4, 6)
