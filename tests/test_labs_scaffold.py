"""What every lab stands on: the ladder table, `--data PATH` reaching the lab that reads it (and
refused where it would be ignored), and the "labs" id. A fake lab stands in for the real ones so
these tests run in milliseconds whichever labs exist."""
import csv
import json

import pytest
from click.testing import CliRunner

from mlseries import course
from mlseries.cli import main
from mlseries.course import RunContext, registry
from mlseries.labs.data import LabDataError, data_files
from mlseries.labs.ladder import BOARDS, Board, Ladder


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def fake_lab(ctx):
    """Two rungs; the second reads the first line of --data's file when given."""
    ladder = Ladder(ctx, "hw01")
    with ladder.rung("sample", "样例", "sample model") as rung:
        rung.score = 2.0
    extra = 1.0
    if ctx.data is not None:
        extra = float(data_files(ctx.data, ["score.txt"])["score.txt"].read_text().split()[0])
    ladder.add("better", "更好", "a better model", extra)
    ladder.finish()


@pytest.fixture
def fake_labs(monkeypatch):
    monkeypatch.setitem(registry._LESSONS, "hw01.fake",
                        course.Lesson("hw01.fake", "假作业", "Fake lab", fake_lab, __name__,
                                      data="a text file whose first word is a number"))


def test_ladder_table_metrics_and_files(tmp_path):
    ctx = RunContext("hw01.x", tmp_path, echo=lambda m: None)
    ladder = Ladder(ctx, "hw01")                      # MSE: lower is better
    ladder.add("sample", "样例", "sample", 2.5, seconds=1.0)
    ladder.add("l2", "L2", "L2 penalty", 1.5)
    ladder.add("adam", "Adam", "Adam", 1.8)
    best = ladder.finish()
    assert best.name == "l2" and ladder.gain() == pytest.approx(1.0)
    assert ctx.metrics["score_sample"] == 2.5 and ctx.metrics["best_rung"] == "l2"
    rows = list(csv.DictReader(open(tmp_path / "ladder.csv", encoding="utf-8")))
    assert [r["rung"] for r in rows] == ["sample", "l2", "adam"] and rows[0]["seconds"] == "1.00"
    assert (tmp_path / "ladder.png").is_file()


def test_higher_is_better_boards_pick_the_largest(tmp_path):
    ctx = RunContext("hw03.x", tmp_path, echo=lambda m: None)
    ladder = Ladder(ctx, "hw03")
    ladder.add("sample", "样例", "sample", 0.70)
    ladder.add("aug", "增强", "augmentation", 0.75)
    assert ladder.best().name == "aug" and ladder.gain() == pytest.approx(0.05)


def test_a_rung_without_a_score_or_twice_is_refused(tmp_path):
    ladder = Ladder(RunContext("hw01.x", tmp_path, echo=lambda m: None), "hw01")
    with pytest.raises(ValueError, match="without a finite score"):
        with ladder.rung("sample", "样例", "sample"):
            pass
    ladder.add("a", "a", "a", 1.0)
    with pytest.raises(ValueError, match="twice"):
        ladder.add("a", "a", "a", 1.0)
    with pytest.raises(ValueError, match="no leaderboard"):
        Ladder(None, "hw99")
    assert Ladder(None, "hw99", board=Board("分", "score", True)).board.higher_is_better


def test_every_lab_has_a_board():
    assert set(BOARDS) == set(course.catalog.LABS)


def test_data_reaches_the_lab(fake_labs, tmp_path):
    source = tmp_path / "score.txt"
    source.write_text("0.25 and more")
    result = invoke("run", "hw01.fake", "--out", tmp_path / "run", "--data", source)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["metrics"]["score_better"] == 0.25 and metrics["data"] == source.as_posix()


def test_data_for_a_lesson_that_reads_none_is_a_usage_error(fake_labs, tmp_path):
    result = invoke("run", "ch01.line", "--quick", "--out", tmp_path / "run", "--data", tmp_path)
    assert result.exit_code == 2
    assert "ch01.line trains on the project's own data and reads no --data" in result.output
    assert "hw01.fake" in result.output                  # names the lessons that do


def test_data_with_several_lessons_or_a_missing_path_is_refused(fake_labs, tmp_path):
    result = invoke("run", "labs", "--data", tmp_path)
    assert result.exit_code == 2 and "--data goes with one lab" in result.output
    result = invoke("run", "hw01.fake", "--data", tmp_path / "nowhere")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_data_folder_without_the_files_exits_4_naming_them(fake_labs, tmp_path):
    result = invoke("run", "hw01.fake", "--out", tmp_path / "run", "--data", tmp_path)
    assert result.exit_code == 4, result.output
    assert "score.txt not found in this folder" in result.output and "Traceback" not in result.output


def test_data_files_finds_a_folder_or_one_file(tmp_path):
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x")
    assert data_files(tmp_path, ["a.csv", "b.csv"])["b.csv"] == tmp_path / "b.csv"
    assert data_files(tmp_path / "a.csv", ["a.csv"]) == {"a.csv": tmp_path / "a.csv"}
    with pytest.raises(LabDataError, match="give the folder"):
        data_files(tmp_path / "a.csv", ["a.csv", "b.csv"])


def test_labs_id_and_list(fake_labs):
    assert "hw01.fake" in [les.id for les in course.resolve("labs")]
    assert "hw01.fake" in [les.id for les in course.resolve("hw01")]
    assert course.title("labs")[1] == "Hung-yi Lee's ML 2022 labs"
    result = invoke("list")
    assert "labs" in result.output and "hw01.fake: a text file whose first word is a number" in result.output
