"""What every lesson's quick run must show, whatever the lesson: all targets met, every figure
a readable PNG (or an animated GIF under 3 MB), and no figure missing a label or a glyph."""
import importlib

import pytest
from PIL import Image

from mlseries import course, viz

from lesson_runs import quick_runner


def assert_quick_run_ok(out, record, caught):
    """`out`, `record`, `caught` as returned by lesson_runs.quick_runner for one lesson."""
    assert record["quick"] is True
    assert record["checks"] and all(record["checks"].values()), record["checks"]
    images = [name for name in record["files"] if name.endswith((".png", ".gif"))]
    assert images, "a lesson draws at least one figure"
    for name in images:
        with Image.open(out / name) as image:
            assert image.format == ("GIF" if name.endswith(".gif") else "PNG"), name
            if name.endswith(".gif"):
                assert image.n_frames > 1 and (out / name).stat().st_size < 3_000_000, name
            else:
                image.verify()
    problems = [str(w.message) for w in caught
                if issubclass(w.category, viz.FigureWarning) or "missing from" in str(w.message)]
    assert problems == []
    assert_captions(record["id"], images)


def assert_captions(lesson_id, images):
    """A lesson that captions its figures for the course site (CAPTIONS in its module) captions
    every one it writes, so no figure appears on its page without saying what to look at."""
    module = importlib.import_module(course.get(lesson_id).module)
    captions = getattr(module, "CAPTIONS", None)
    if captions is not None:
        assert sorted(set(images) - set(captions)) == [], f"{lesson_id}: figures without a caption"


def quick_run_suite(lesson_ids):
    """The `runs` fixture (one quick run per lesson, shared by the module's tests) and a test
    applying assert_quick_run_ok to each lesson. In a test module:

        runs, test_quick_run_reaches_its_targets = quick_run_suite(("ch05.autodiff", ...))
    """
    @pytest.fixture(scope="module")
    def runs(tmp_path_factory):
        return quick_runner(tmp_path_factory)

    @pytest.mark.parametrize("lesson_id", lesson_ids)
    def test_quick_run_reaches_its_targets(runs, lesson_id):
        assert_quick_run_ok(*_without_output(runs(lesson_id)))

    return runs, test_quick_run_reaches_its_targets


def _without_output(run):
    out, _, record, caught = run
    return out, record, caught
