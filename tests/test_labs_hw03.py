"""hw03 (image classification): the quick ladder and its target, the Food-11 folder reader with the
pred.csv it writes, a malformed folder, and the hand-written augmentation, mixup and TTA."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw03 import classification as hw03
from mlseries.labs.hw03 import food

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw03.classification",))


def test_quick_ladder(runs):
    _, output, record, _ = runs("hw03.classification")
    m = record["metrics"]
    assert m["best_score"] >= m["score_sample"] + 0.03
    assert m["score_longer"] > m["score_sample"]
    assert all(0.1 < m[f"score_{r}"] <= 1 for r in ("sample", "longer", "augment", "mixup", "tta", "ensemble", "residual"))
    assert "original leaderboard" in output


def write_food(root, per_class=2, classes=11, test=5, size=40, bad_name=False):
    rng = np.random.default_rng(0)
    for folder in ("training", "validation", "test"):
        (root / folder).mkdir()
    for folder in ("training", "validation"):
        for c in range(classes):
            for i in range(per_class):
                colour = np.array([20 * c, 255 - 20 * c, 128])
                pixels = np.clip(colour + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / folder / f"{c}_{i}.jpg")
    for i in range(test):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(root / "test" / f"{i:04d}.jpg")
    if bad_name:
        (root / "training" / "0_0.jpg").rename(root / "training" / "bread.jpg")


def test_reader_reads_the_food11_layout(tmp_path):
    write_food(tmp_path)
    data = food.read_food11(tmp_path, size=16)
    assert data["x"].shape == (22, 3, 16, 16) and sorted(set(data["y"])) == list(range(11))
    assert data["x_test"].shape == (5, 3, 16, 16) and 0 <= data["x"].min() and data["x"].max() <= 1


def test_lab_on_food11_writes_pred_csv(tmp_path):
    write_food(tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw03", "--quick", "--out", str(out), "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(out / "hw03.classification" / "pred.csv")))
    assert rows[0] == ["Id", "Category"] and len(rows) == 6 and rows[1][0] == "0001"
    assert all(0 <= int(r[1]) < 11 for r in rows[1:])


def test_a_badly_named_training_file_exits_4(tmp_path):
    write_food(tmp_path, bad_name=True)
    result = CliRunner().invoke(main, ["run", "hw03", "--quick", "--out", str(tmp_path / "run"),
                                       "--data", str(tmp_path)])
    assert result.exit_code == 4, result.output
    assert "training/bread.jpg: expected a name <label>_<n>.jpg" in result.output


def test_missing_folder_is_named(tmp_path):
    (tmp_path / "training").mkdir()
    with pytest.raises(LabDataError, match="validation, test not found"):
        food.read_food11(tmp_path)


def test_shift_moves_within_the_padding_and_tta_views_are_exact():
    x = np.zeros((3, 1, 6, 6), np.float32)
    x[:, :, 2:4, 2:4] = 1.0
    moved = hw03.shift(x, np.random.default_rng(0), 1)
    assert moved.shape == x.shape and np.allclose(moved.sum(axis=(1, 2, 3)), 4)   # the square stays whole
    views = hw03.tta_views(x, 1, flip=True)
    assert len(views) == 6 and np.array_equal(views[0], x) and np.array_equal(views[1], x[..., ::-1])
    assert np.array_equal(views[2][:, :, 1:], x[:, :, :-1])          # moved one pixel down
    assert np.array_equal(views[5][..., :5], x[..., 1:])             # moved one pixel left


def test_mixup_blends_images_and_keeps_both_labels():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 1, 4, 4)).astype(np.float32)
    y = np.arange(8)
    mixed, ya, yb, lam = hw03.mix(x, y, rng, 0.2)
    partner = yb                                  # labels are the indices here
    assert 0 <= lam <= 1 and np.array_equal(ya, y)
    assert np.allclose(mixed, lam * x + (1 - lam) * x[partner], atol=1e-6)
