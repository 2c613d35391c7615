"""hw10 (adversarial attack): the quick ladder (clean → FGSM → I-FGSM → MI-FGSM → DIM → ensemble)
and its checks, the --data mode on a folder of CIFAR-style PNGs (attacked PNGs in the same
layout, within ε), malformed folders, and the hand-written attacks: the input gradient, the
projection, FGSM on a linear model, DIM's transform and the JPEG round trip."""
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn
from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw10 import attacks, blackbox, images, models, photos

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw10.blackbox",))
EPS = 8 / 255


def test_quick_ladder(runs):
    _, output, record, _ = runs("hw10.blackbox")
    m = record["metrics"]
    rungs = ["clean", "fgsm", "ifgsm", "mifgsm", "dim", "ensemble"]
    assert [k for k in m if k.startswith("score_")] == [f"score_{r}" for r in rungs]
    assert m["best_rung"] == "ensemble" and m["best_score"] < m["score_fgsm"] < m["score_clean"]
    assert m["white_box_bound"] < m["best_score"]
    for rung in ("fgsm", "ifgsm", "mifgsm", "dim"):
        assert m[f"white_{rung}"] <= m["proxy_vgg_acc"] - 0.05         # the attack works on its proxy
    assert set(f"jpeg_{r}" for r in rungs) <= set(m)
    assert len(m["curve_ensemble"]) == len(blackbox.QUICK["curve_eps"])
    assert m["curve_bound"][-1] < m["curve_bound"][0]                   # larger ε, lower accuracy
    assert "original leaderboard (black-box accuracy, lower is better" in output


def write_pngs(folder, classes=("airplane", "cat"), per_class=3, size=32, mode="RGB"):
    rng = np.random.default_rng(0)
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(1, per_class + 1):
            shape = (size, size, 3) if mode == "RGB" else (size, size)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / c / f"{c}{i}.png")


def test_data_mode_writes_attacked_pngs_in_the_course_layout(tmp_path):
    data = tmp_path / "data"
    write_pngs(data)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw10", "--quick", "--out", str(out), "--data", str(data)])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(out / "hw10.blackbox" / "adv_imgs").as_posix()
                     for p in (out / "hw10.blackbox" / "adv_imgs").rglob("*.png"))
    assert written == sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    for name in written:
        before = np.asarray(Image.open(data / name), dtype=np.int16)
        after = Image.open(out / "hw10.blackbox" / "adv_imgs" / name)
        assert after.mode == "RGB" and after.size == (32, 32)
        assert np.abs(np.asarray(after, dtype=np.int16) - before).max() <= 8     # ε = 8/255 on 8-bit pixels


def test_wrong_size_exits_4_naming_the_file(tmp_path):
    write_pngs(tmp_path, size=28)
    result = CliRunner().invoke(main, ["run", "hw10", "--quick", "--out", str(tmp_path / "run"),
                                       "--data", str(tmp_path)])
    assert result.exit_code == 4, result.output
    assert "airplane/airplane1.png: a 28×28 RGB image; expected 32×32 RGB" in result.output


def test_reader_errors(tmp_path):
    write_pngs(tmp_path / "grey", mode="L")
    with pytest.raises(LabDataError, match="airplane1.png: a 32×32 L image"):
        images.read_folder(tmp_path / "grey")
    (tmp_path / "one" / "cat").mkdir(parents=True)
    with pytest.raises(LabDataError, match="one folder per class"):
        images.read_folder(tmp_path / "one")
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    (tmp_path / "empty" / "dog").mkdir(parents=True)
    with pytest.raises(LabDataError, match="cat/ holds no .png"):
        images.read_folder(tmp_path / "empty")


def test_reader_labels_by_sorted_folder_and_round_trips(tmp_path):
    write_pngs(tmp_path / "data", classes=("cat", "airplane"), per_class=2)
    x, y, classes, names = images.read_folder(tmp_path / "data")
    assert classes == ["airplane", "cat"] and list(y) == [0, 0, 1, 1] and names[0] == "airplane/airplane1.png"
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    images.write_folder(tmp_path / "out", x, names)
    assert np.array_equal(images.read_folder(tmp_path / "out")[0], x)


def linear_model(w):
    """A 10-class linear model on 1×4×4 images with the given weight (10, 16)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10, bias=False))
    model[1].weight.data = ms.tensor(w).data
    return model.eval()


def test_input_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    ms.manual_seed(0)
    model = models.plain_cnn(4, 8, 3).eval()
    x, y = rng.random((2, 1, 28, 28)).astype(np.float32), np.array([3, 7])
    g = attacks.input_gradient([model], x, y)
    d = (rng.normal(size=x.shape) * 1e-3).astype(np.float32)

    def loss(v):
        with ms.no_grad():
            return F.cross_entropy(model(ms.tensor(v)), ms.tensor(y), reduction="sum").item()
    assert loss(x + d) - loss(x - d) == pytest.approx(2 * float((g * d).sum()), rel=0.03)


def test_fgsm_on_a_linear_model_moves_against_the_true_class():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(10, 16)).astype(np.float32)
    x = np.full((1, 1, 4, 4), 0.5, np.float32)
    y = np.array([2])
    adv = attacks.fgsm([linear_model(w)], x, y, EPS)
    # the loss rises along −w[y] plus the softmax-weighted other rows: every step is ±ε
    assert np.allclose(np.abs(adv - x), EPS, atol=1e-6)
    p = np.exp(w @ x.ravel() - (w @ x.ravel()).max())
    p /= p.sum()
    expected = np.sign((p @ w) - w[2]).reshape(x.shape)
    assert np.array_equal(np.sign(adv - x), expected)


def test_iterative_attacks_stay_in_the_ball_and_the_pixel_range():
    rng = np.random.default_rng(2)
    ms.manual_seed(0)
    model = models.plain_cnn(4, 8, 3).eval()
    x = rng.choice([0.0, 128 / 255, 1.0], size=(3, 1, 28, 28)).astype(np.float32)    # 8-bit images
    y = np.array([0, 1, 2])
    for kw in ({}, dict(momentum=1.0), dict(momentum=1.0, diversity=attacks.DiverseInput(p=1.0), rng=rng)):
        adv = attacks.attack_in_batches(attacks.iterative, [model], x, y, EPS, steps=4, **kw)
        assert np.abs(adv - x).max() <= EPS + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        assert np.allclose(adv * 255, np.round(adv * 255), atol=1e-3)        # 8-bit, as a PNG stores
    assert np.allclose(attacks.project(x + 1.0, x, EPS), np.minimum(x + EPS, 1.0))


def test_diverse_input_resizes_and_pads_back():
    rng = np.random.default_rng(0)
    assert attacks.DiverseInput(p=0.0).sample(rng) is None
    transform = attacks.DiverseInput(size=28, low=20, p=1.0).sample(rng)
    x = ms.tensor(np.ones((2, 1, 28, 28), np.float32), requires_grad=True)
    out = transform(x)
    assert out.shape == (2, 1, 28, 28)
    ones = int(out.detach().numpy()[0, 0].sum())
    assert 20 * 20 <= ones <= 28 * 28 and round(ones ** 0.5) ** 2 == ones    # an r×r square of ones
    out.sum().backward()
    assert x.grad.numpy().sum() == pytest.approx(2 * ones)                    # the gradient flows back


def test_jpeg_keeps_shape_and_roughly_the_image():
    x = np.tile(np.linspace(0, 1, 28, dtype=np.float32), (2, 1, 28, 1))      # (2, 1, 28, 28) ramps
    out = attacks.jpeg(x, quality=90)
    assert out.shape == x.shape and np.abs(out - x).mean() < 0.02
    colour = np.random.default_rng(0).random((1, 3, 32, 32)).astype(np.float32)
    assert attacks.jpeg(colour).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("shape", [dict(channels=1, size=28), dict(channels=3, size=32)])
def test_every_model_takes_both_image_shapes(shape):
    x = ms.tensor(np.zeros((2, shape["channels"], shape["size"], shape["size"]), np.float32))
    for build, _ in models.PROXIES.values():
        assert build(**shape)(x).shape == (2, 10)
    assert models.black_box(**shape)(x).shape == (2, 10)


def test_garments_on_photographs():
    # an opaque square garment (g = 1) inside a transparent frame (g = 0) on a known photograph
    garments = np.zeros((2, 1, 28, 28), np.float32)
    garments[:, :, 10:18, 10:18] = 1.0
    photo = np.random.default_rng(0).random((3, 40, 50)).astype(np.float32)
    out = photos.on_photos(garments, np.random.default_rng(1), pool=[photo])
    again = photos.on_photos(garments, np.random.default_rng(1), pool=[photo])
    assert out.shape == (2, 3, 32, 32) and out.dtype == np.float32 and np.array_equal(out, again)
    assert np.array_equal(np.round(out * 255), out * 255) and out.min() >= 0 and out.max() <= 1   # 8-bit
    for image in out:
        inside = image[:, 12:20, 12:20].reshape(3, -1)           # the garment, padded by 2: one colour
        assert np.ptp(inside, axis=1).max() == 0
        corner = image[:, :4, :4]                                # the frame: a crop of the photograph
        hits = [(t, l) for t in range(40 - 32) for l in range(50 - 32)
                if np.allclose(np.round(photo[:, t:t + 4, l:l + 4] * 255) / 255, corner)]
        assert hits
    assert len(photos.backgrounds()) == len(photos.COLOUR) + len(photos.GREY)
    assert all(b.shape[0] == 3 and b.min() >= 0 and b.max() <= 1 for b in photos.backgrounds())
