"""The `mlseries` command: listing, id resolution, errors, output folders, tour and bench.

Most tests register a tiny fake lesson (monkeypatched into the registry) so they run in
milliseconds and keep working however many real lessons are added."""
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlseries import course, viz
from mlseries.cli import main
from mlseries.course import registry


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def fake_run(ctx):
    """A lesson in miniature: a metric from the seeded generator, a figure, a GIF, a target."""
    value = float(ctx.rng().normal())
    ctx.record(value=value)
    ctx.check("value is finite", np.isfinite(value))
    fig = viz.figure(figsize=(3, 2), dpi=100)  # text at a readable size: no FigureWarning
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set(title="fake", xlabel="x", ylabel="y", ylim=(-1, 1))
    ctx.save_figure(fig, "fake.png")
    with ctx.gif("fake.gif") as gif:
        for v in (-0.5, 0.0, 0.5):
            line.set_ydata([v, v])
            gif.add(fig)


def failing_run(ctx):
    ctx.check("an unreachable target", False)


@pytest.fixture
def fake_lessons(monkeypatch):
    """Register ch99.fake and ch99.failing, and a track day9 that uses ch99.fake."""
    for id, run in [("ch99.fake", fake_run), ("ch99.failing", failing_run)]:
        monkeypatch.setitem(registry._LESSONS, id,
                            course.Lesson(id, "假课程", f"Fake lesson {id}", run, __name__))
    monkeypatch.setitem(course.TRACKS, "day9",
                        course.Track("day9", "第 09 天：测试", "Day 9: testing", ("ch99.fake",)))


def test_list_shows_ch01_line_with_both_titles():
    result = invoke("list")
    assert result.exit_code == 0
    lesson = course.get("ch01.line")
    row = next(line for line in result.output.splitlines() if line.startswith("ch01.line"))
    assert lesson.title_zh in row and lesson.title_en in row and "day2" in row


def test_unknown_id_lists_known_ids_and_exits_2():
    result = invoke("run", "ch01.nope")
    assert result.exit_code == 2
    assert "unknown lesson id 'ch01.nope'" in result.output
    for known in ("ch01.line", "ch01", "day2"):
        assert known in result.output
    assert "Traceback" not in result.output


def test_a_track_without_lessons_yet_is_refused(fake_lessons, monkeypatch):
    monkeypatch.setitem(course.TRACKS, "day8",
                        course.Track("day8", "第 08 天", "Day 8", ("ch98.unwritten",)))
    result = invoke("run", "day8")
    assert result.exit_code == 2
    assert "no lessons written yet for 'day8'" in result.output


def test_one_lesson_writes_into_out(fake_lessons, tmp_path):
    result = invoke("run", "ch99.fake", "--out", tmp_path / "here")
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "here").iterdir()} >= {"metrics.json", "fake.png", "fake.gif"}


def test_default_out_is_runs_slash_id(fake_lessons, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("run", "ch99.fake").exit_code == 0
    assert (tmp_path / "runs" / "ch99.fake" / "metrics.json").is_file()


def test_chapter_and_track_write_one_folder_per_lesson(fake_lessons, tmp_path):
    result = invoke("run", "day9", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ch99.fake" / "metrics.json").is_file()
    assert [les.id for les in course.resolve("ch99")] == ["ch99.fake", "ch99.failing"]


def test_a_missed_target_exits_1(fake_lessons, tmp_path):
    result = invoke("run", "ch99.failing", "--out", tmp_path)
    assert result.exit_code == 1
    assert "an unreachable target" in result.output


def test_run_ends_with_a_summary_table(fake_lessons, tmp_path):
    output = invoke("run", "ch99.fake", "--out", tmp_path).output
    assert "finished in" in output
    for word in ("metric", "value", "PASS", "fake.png", "fake.gif", "metrics.json"):
        assert word in output


def test_tour_runs_every_lesson_and_builds_the_site(fake_lessons, monkeypatch, tmp_path):
    # Only the fake lessons, so the test does not depend on how many real lessons exist.
    monkeypatch.setattr(registry, "_LESSONS", {k: v for k, v in registry._LESSONS.items()
                                               if k.startswith("ch99.")})
    result = invoke("tour", "--out", tmp_path)
    assert result.exit_code == 1, result.output            # ch99.failing misses its target
    assert "an unreachable target" in result.output
    home = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "第 09 天：测试" in home and "Day 9: testing" in home
    assert 'href="ch99.fake/index.html"' in home and 'href="ch99.failing/index.html"' in home
    page = (tmp_path / "ch99.fake" / "index.html").read_text(encoding="utf-8")
    assert '<img src="fake.png"' in page and '<img src="fake.gif"' in page
    assert "假课程" in page and "Fake lesson ch99.fake" in page and "value" in page
    assert '"quick": true' in (tmp_path / "ch99.fake" / "metrics.json").read_text(encoding="utf-8")
    Image.open(tmp_path / "ch99.fake" / "fake.png").verify()

    assert invoke("tour", "--full", "--out", tmp_path).exit_code == 1
    assert '"quick": false' in (tmp_path / "ch99.fake" / "metrics.json").read_text(encoding="utf-8")


def test_tour_goes_on_after_a_lesson_crashes(fake_lessons, monkeypatch, tmp_path):
    def crash(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(registry, "_LESSONS", {
        "ch99.crash": course.Lesson("ch99.crash", "崩溃", "Crash", crash, __name__),
        "ch99.fake": registry._LESSONS["ch99.fake"]})
    result = invoke("tour", "--out", tmp_path)
    assert result.exit_code == 1 and "ch99.crash crashed: RuntimeError: boom" in result.output
    assert (tmp_path / "ch99.fake" / "metrics.json").is_file()     # the next lesson still ran
    page = (tmp_path / "ch99.crash" / "index.html").read_text(encoding="utf-8")
    assert "the latest run crashed" in page and "RuntimeError: boom" in page and "FAIL" in page


def test_bench_without_the_module_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlseries.bench", None)  # makes the import fail
    result = invoke("bench")
    assert result.exit_code == 1
    assert "not available" in result.output and "Traceback" not in result.output


def test_bench_passes_its_arguments_on(monkeypatch):
    seen = []

    class FakeBench:
        @staticmethod
        def main(args):
            seen.append(args)
            return 0

    monkeypatch.setitem(sys.modules, "mlseries.bench", FakeBench)
    result = invoke("bench", "mlp", "--rounds", "3")
    assert result.exit_code == 0
    assert seen == [["mlp", "--rounds", "3"]]


def test_python_dash_m_mlseries_works():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "mlseries", "list"], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ch01.line" in proc.stdout
