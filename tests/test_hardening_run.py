"""Hardening of `mlseries run`: clear one-line errors with their own exit statuses, output folders
that are always one whole run (with real concurrent and killed processes), strict metrics.json,
progress output, and resumable runs that end bit for bit where uninterrupted ones do.

The lessons used here are tiny stand-ins (tests/hardening_lessons.py), registered in this
process for CliRunner tests and started as real processes through that file."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mlseries as ms
from mlseries import course
from mlseries.cli import EXIT, main
from mlseries.course import runfolder

import hardening_lessons

HELPER = Path(hardening_lessons.__file__)


@pytest.fixture
def lessons(monkeypatch):
    hardening_lessons.register(monkeypatch.setitem)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, code, *words):
    """The run failed with exit status `code` and one line of error naming `words`, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def helper(*args, env=None, **kwargs):
    """Start tests/hardening_lessons.py as a real process (`mlseries` with the test lessons).
    PYTHONFAULTHANDLER: a process that hangs can be made to print every thread's stack (finish)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8", "PYTHONFAULTHANDLER": "1",
                **(env or {})}
    return subprocess.Popen([sys.executable, str(HELPER), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", env=full_env,
                            preexec_fn=_signals_as_from_a_terminal, **kwargs)


def _signals_as_from_a_terminal():
    """In the child before it starts Python: SIGINT and SIGQUIT back to their defaults. A test run
    started in the background of a non-interactive shell (`bash -c '… &'`) ignores both, every child
    inherits that, and Python then installs no Ctrl-C handler at all (found with the masks finish()
    prints: SigIgn 0x1001007 — SIGHUP, SIGINT, SIGQUIT ignored — and the child sleeping on)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def finish(proc, timeout=120):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # say where it hangs: its signal masks, then (SIGABRT → faulthandler) every thread's stack
        try:
            masks = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                     if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
        except OSError:
            masks = []
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"the process did not end within {timeout} s; {masks}\nstdout:\n{out}\n"
                             f"stderr:\n{err}") from None
    return proc.returncode, out, err


def wait_for(predicate, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def folder_bytes(folder):
    """{name: bytes} of the files in a run folder (hidden bookkeeping excluded); metrics.json as
    its record without the timing, which differs from run to run."""
    files = {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".")}
    if "metrics.json" in files:
        record = json.loads(files["metrics.json"])
        record.pop("seconds")
        files["metrics.json"] = record
    return files


# ---- usage errors: found before anything runs, one line, exit status 2 ---------------------------
@pytest.mark.parametrize("args, words", [
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--out", ""], ["--out", "empty"]),
    (["--out", "  "], ["--out", "empty"]),
    (["--out", "/dev/null"], ["/dev/null", "not a folder"]),
    (["--checkpoint-every", "0"], ["--checkpoint-every"]),
    (["--checkpoint-every", "soon"], ["--checkpoint-every"]),
])
def test_bad_options_are_usage_errors(lessons, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "ch99.figures", *args)
    assert result.exit_code == EXIT["usage"] == 2, result.output
    assert "Traceback" not in result.output and "==" not in result.output   # the lesson never started
    for word in words:
        assert word in result.output
    assert list(tmp_path.iterdir()) == []   # nothing written, not even into the current folder


def test_out_under_a_file_or_being_a_file_is_refused_first(lessons, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    one_line_error(invoke("run", "ch99.figures", "--out", afile / "sub"), 2, "afile is a file")
    one_line_error(invoke("run", "ch99.figures", "--out", afile), 2, "is a file, not a folder")
    assert afile.read_text() == "keep me"


def test_an_uncreatable_out_is_refused_before_the_lesson_runs(lessons):
    result = invoke("run", "ch99.figures", "--out", "/proc/mlseries-cannot-be-here")
    one_line_error(result, 2, "cannot create the folder")
    assert "==" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_an_unwritable_out_is_refused_before_the_lesson_runs(lessons, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        one_line_error(invoke("run", "ch99.figures", "--out", locked), 2, "cannot write into this folder")
        one_line_error(invoke("run", "ch99.figures", "--out", locked / "sub"), 2, "cannot create the folder")
    finally:
        locked.chmod(0o755)


# ---- errors during a run: one line each, an exit status each ------------------------------------
@pytest.mark.parametrize("lesson_id, code, words", [
    ("ch99.nodata", 3, ["data missing", "apt-get install dataset-fashion-mnist"]),
    ("ch99.corrupt", 4, ["bad data file", "train-images-idx3-ubyte.gz", "truncated"]),
    ("ch99.nan", 6, ["nan lesson", "loss became", "learning rate", "detect_anomaly"]),
])
def test_errors_a_user_can_meet_exit_with_their_own_status(lessons, tmp_path, lesson_id, code, words):
    one_line_error(invoke("run", lesson_id, "--out", tmp_path), code, *words)
    assert not (tmp_path / "metrics.json").exists()


@pytest.fixture
def no_fashion(tmp_path, monkeypatch):
    """Fashion-MNIST nowhere: no user data, and the Debian package's folder pointed elsewhere."""
    from mlseries.datasets import mnist
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLSERIES_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_DIR", tmp_path / "not-installed")
    return tmp_path / "data" / "fashion-mnist"


def test_a_real_lesson_without_its_data_exits_3(no_fashion, tmp_path):
    one_line_error(invoke("run", "ch07.resnet", "--quick", "--out", tmp_path / "out"), 3,
                   "ch07.resnet: data missing", "Fashion-MNIST not found", "apt-get install dataset-fashion-mnist")


def test_a_real_lesson_with_a_corrupt_data_file_exits_4(no_fashion, tmp_path):
    from mlseries import datasets as d
    no_fashion.mkdir(parents=True)
    images = d.write_idx(no_fashion / "train-images-idx3-ubyte.gz", np.zeros((50, 28, 28), np.uint8))
    d.write_idx(no_fashion / "train-labels-idx1-ubyte.gz", np.zeros(50, np.uint8))
    images.write_bytes(images.read_bytes()[:-20])   # an interrupted download
    one_line_error(invoke("run", "ch07.resnet", "--quick", "--out", tmp_path / "out"), 4,
                   "bad data file", "train-images-idx3-ubyte.gz", "truncated")


def test_out_of_disk_or_memory_exit_7(lessons, tmp_path):
    one_line_error(invoke("run", "ch99.diskfull", "--out", tmp_path), 7, "No space left on device", "fig0.png")
    one_line_error(invoke("run", "ch99.memory", "--out", tmp_path), 7, "out of memory", "--quick")


def test_things_in_the_way_inside_the_folder_are_refused_first(lessons, tmp_path):
    (tmp_path / "a" / ".lock").mkdir(parents=True)
    one_line_error(invoke("run", "ch99.figures", "--out", tmp_path / "a"), 2, "cannot create its lock file")
    (tmp_path / "b" / "metrics.json").mkdir(parents=True)
    one_line_error(invoke("run", "ch99.figures", "--out", tmp_path / "b"), 2, "metrics.json is a folder")


def test_a_reader_that_goes_away_ends_the_run_quietly_with_141(tmp_path):
    proc = helper("run", "ch99.figures", "--out", tmp_path, env={"HARDENING_PAUSE": "0.2"})
    proc.stdout.close()   # like `| head -0`: the first line written meets a closed pipe
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 141 and "Traceback" not in err, err


def test_a_bug_shows_its_traceback_and_exits_70(lessons, tmp_path):
    result = invoke("run", "ch99.bug", "--out", tmp_path)
    assert result.exit_code == EXIT["bug"] == 70
    assert "this is a bug in mlseries" in result.output


def test_ctrl_c_exits_130_and_says_how_to_resume(lessons, tmp_path):
    result = invoke("run", "ch99.interrupted", "--out", tmp_path)
    line = one_line_error(result, 130, "interrupted in ch99.interrupted")
    assert "--resume" in line and "1 training steps" in line
    assert (tmp_path / ".partial" / "checkpoint.npz").is_file() and not (tmp_path / ".lock").exists()


def test_ctrl_c_of_a_real_process(tmp_path):
    out = tmp_path / "run"
    first = helper("run", "ch99.figures", "--out", out, "--seed", "1", env={"HARDENING_PAUSE": "0"})
    assert finish(first)[0] == 0
    before = folder_bytes(out)
    proc = helper("run", "ch99.figures", "--out", out, "--seed", "2", env={"HARDENING_PAUSE": "30"})
    assert wait_for(lambda: (out / ".partial" / "fig0.png").exists())
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130 and "Traceback" not in err and "interrupted in ch99.figures" in err
    assert folder_bytes(out) == before   # the previous complete run, untouched
    shutil.rmtree(out / ".partial")   # so that fig0.png below is the new run's
    proc = helper("run", "ch99.figures", "--out", out, env={"HARDENING_PAUSE": "30"})
    assert wait_for(lambda: (out / ".partial" / "fig0.png").exists())
    proc.terminate()   # SIGTERM: the same clean stop, status 143
    code, _, err = finish(proc)
    assert code == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err


# ---- run folders: one whole run, one writer at a time ---------------------------------------------
def test_two_runs_into_one_folder_at_once(tmp_path):
    reference = {}
    for seed in (1, 2):
        assert finish(helper("run", "ch99.figures", "--out", tmp_path / f"ref{seed}", "--seed", seed,
                             env={"HARDENING_PAUSE": "0"}))[0] == 0
        reference[seed] = folder_bytes(tmp_path / f"ref{seed}")
    same = tmp_path / "same"
    # 4 × 2 s: the second process must start Python and import the course (every lesson) while
    # the first still holds the folder, on a machine that may be busy
    first = helper("run", "ch99.figures", "--out", same, "--seed", 1, env={"HARDENING_PAUSE": "2"})
    assert wait_for(lambda: (same / ".partial").exists())
    code, _, err = finish(helper("run", "ch99.figures", "--out", same, "--seed", 2))
    assert code == EXIT["folder busy"] == 5
    assert "is in use by another mlseries run" in err and f"pid {first.pid}" in err and "Traceback" not in err
    assert finish(first)[0] == 0
    assert folder_bytes(same) == reference[1]   # every file, metrics.json included, from run 1
    assert not (same / ".lock").exists() and not (same / ".partial").exists()


def test_runs_into_different_folders_run_together(tmp_path):
    procs = [helper("run", "ch99.figures", "--out", tmp_path / str(seed), "--seed", seed,
                    env={"HARDENING_PAUSE": "0.2"}) for seed in (1, 2)]
    assert [finish(p)[0] for p in procs] == [0, 0]
    for seed in (1, 2):
        assert (tmp_path / str(seed) / "seed.txt").read_text() == str(seed)


def test_a_killed_run_leaves_the_previous_run_whole(tmp_path):
    out = tmp_path / "run"
    assert finish(helper("run", "ch99.figures", "--out", out, "--seed", 1, env={"HARDENING_PAUSE": "0"}))[0] == 0
    before = folder_bytes(out)
    proc = helper("run", "ch99.figures", "--out", out, "--seed", 2, env={"HARDENING_PAUSE": "30"})
    assert wait_for(lambda: (out / ".partial" / "fig0.png").exists())
    proc.kill()
    proc.communicate()
    assert folder_bytes(out) == before
    record = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert record["seed"] == 1 and (out / "seed.txt").read_text() == "1"
    # the lock died with the process: the next run goes ahead and replaces the whole folder
    assert finish(helper("run", "ch99.figures", "--out", out, "--seed", 2, env={"HARDENING_PAUSE": "0"}))[0] == 0
    assert (out / "seed.txt").read_text() == "2" and json.loads((out / "metrics.json").read_text())["seed"] == 2


def test_a_run_stopped_while_moving_its_files_in_is_marked_incomplete(lessons, tmp_path, monkeypatch):
    lesson = course.get("ch99.figures")
    monkeypatch.setenv("HARDENING_PAUSE", "0")
    course.run_lesson(lesson, tmp_path, seed=1, echo=lambda s: None)
    real_replace, real_commit, calls = os.replace, runfolder.RunFolder.commit, []

    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == 3:   # the marker written, the first figure moved in, then the machine dies
            raise KeyboardInterrupt
        real_replace(src, dst)

    def commit(self, names, record_text):
        monkeypatch.setattr(os, "replace", replace_then_die)
        try:
            return real_commit(self, names, record_text)
        finally:
            monkeypatch.setattr(os, "replace", real_replace)

    monkeypatch.setattr(runfolder.RunFolder, "commit", commit)
    with pytest.raises(KeyboardInterrupt):
        course.run_lesson(lesson, tmp_path, seed=2, echo=lambda s: None)
    monkeypatch.setattr(runfolder.RunFolder, "commit", real_commit)
    assert (tmp_path / "fig0.png").read_bytes() != (tmp_path / "fig1.png").read_bytes()
    assert (tmp_path / runfolder.INCOMPLETE).is_file() and not (tmp_path / "metrics.json").exists()
    assert "incomplete" in (tmp_path / runfolder.INCOMPLETE).read_text()
    course.run_lesson(lesson, tmp_path, seed=2, echo=lambda s: None)
    assert not (tmp_path / runfolder.INCOMPLETE).exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["seed"] == 2


def test_files_of_an_older_run_that_this_one_does_not_write_are_removed(lessons, tmp_path, monkeypatch):
    monkeypatch.setenv("HARDENING_PAUSE", "0")
    (tmp_path / "stale.png").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("mine")
    record = {"id": "ch99.figures", "files": ["stale.png", "../outside.txt", "/etc/passwd"], "metrics": {},
              "checks": {}}
    (tmp_path / "metrics.json").write_text(json.dumps(record))
    (tmp_path.parent / "outside.txt").write_text("not ours")
    course.run_lesson(course.get("ch99.figures"), tmp_path, echo=lambda s: None)
    (tmp_path / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)   # a crafted manifest
    course.run_lesson(course.get("ch99.figures"), tmp_path, echo=lambda s: None)
    assert not (tmp_path / "stale.png").exists()                      # listed by the old run: removed
    assert (tmp_path / "notes.txt").read_text() == "mine"             # never listed: kept
    assert (tmp_path.parent / "outside.txt").read_text() == "not ours"  # outside the folder: never touched


def test_concurrent_writers_of_one_file_use_their_own_temporary_files(tmp_path):
    script = ("import sys; from mlseries import viz\n"
              "fig = viz.figure(figsize=(2, 2), dpi=30); ax = fig.subplots()\n"
              "ax.plot([0, int(sys.argv[1])]); ax.set(title='t', xlabel='x', ylabel='y')\n"
              "for _ in range(15): viz.save_figure(fig, sys.argv[2])\n")
    target = tmp_path / "shared.png"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i), str(target)], stderr=subprocess.PIPE,
                              text=True) for i in (1, 2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    from PIL import Image
    with Image.open(target) as image:
        image.verify()
    assert [p.name for p in tmp_path.iterdir()] == ["shared.png"]   # no temporary file left behind


# ---- metrics.json -------------------------------------------------------------------------------
def test_metrics_json_is_strict_json_with_notes(lessons, tmp_path):
    assert invoke("run", "ch99.metrics", "--out", tmp_path).exit_code == 0
    text = (tmp_path / "metrics.json").read_text(encoding="utf-8")

    def refuse(name):
        raise AssertionError(f"{name} in metrics.json")

    record = json.loads(text, parse_constant=refuse)
    m = record["metrics"]
    assert m["loss"] is None and m["best"] is None and m["worst"] is None and m["curve"] == [1.0, None]
    assert m["array"] == [1.5, None] and m["count"] == 3 and m["pair"] == [1, 2] and m["nested"] == {"a": {"1": 2.0}}
    assert record["notes"] == {"metrics.loss": "NaN, written as null", "metrics.best": "infinity, written as null",
                               "metrics.worst": "-infinity, written as null",
                               "metrics.curve[1]": "NaN, written as null",
                               "metrics.array[1]": "infinity, written as null"}
    for key in ("id", "title_zh", "title_en", "seconds", "quick", "seed", "metrics", "checks", "files"):
        assert key in record   # the fields the site reads are all still there


# ---- progress and --quiet -------------------------------------------------------------------------
def test_progress_lines_without_bars_off_a_terminal_and_quiet_keeps_only_the_summary(lessons, tmp_path):
    result = invoke("run", "ch99.train", "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert "first epoch  1:" in result.output and "first epoch  4:" in result.output   # a line per epoch
    assert "\r" not in result.output and "it/s" not in result.output                   # no bar debris
    quiet = invoke("run", "ch99.train", "--out", tmp_path / "b", "--quiet")
    assert quiet.exit_code == 0
    assert "first epoch" not in quiet.output and "PASS  loss fell" not in quiet.output
    assert "finished in" in quiet.output and "metrics.json" in quiet.output


def test_progress_bar_shows_rate_and_time_left_on_a_terminal(tmp_path, monkeypatch):
    import io
    from mlseries.course.context import RunContext

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())   # tqdm draws on stderr: make it a terminal
    ctx = RunContext("ch99.bar", tmp_path, echo=lambda s: None)
    bar = ctx.progress(None, "training", total=50)
    assert not bar.disable   # None: tqdm found a terminal and draws
    time.sleep(0.01)
    bar.update(25)
    text = bar.format_meter(**bar.format_dict)   # the line as drawn now
    bar.close()
    assert "training" in text and "25/50" in text and "it/s" in text and "<00:" in text   # rate, time left
    monkeypatch.setattr(sys, "stderr", io.StringIO())   # not a terminal: no bar
    assert ctx.progress(range(3)).disable is True
    quiet = RunContext("ch99.bar", tmp_path, quiet=True, echo=lambda s: None)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert quiet.progress(range(3)).disable is True


# ---- resuming ---------------------------------------------------------------------------------------
def _strip_timing(value):
    """A checkpoint's units without wall-clock timings (the only thing that may differ)."""
    if isinstance(value, dict):
        return {k: _strip_timing(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, (list, tuple)):
        return [_strip_timing(v) for v in value]
    if isinstance(value, ms.Tensor):
        return ("tensor", value.dtype.name, value.numpy().tobytes(), value.shape)
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.tobytes(), value.shape)
    return value


def test_a_run_killed_between_checkpoints_resumes_to_exactly_the_same_end(tmp_path):
    args = ["run", "ch99.train", "--checkpoint-every", "7steps", "--keep-checkpoint"]
    assert finish(helper(*args, "--out", tmp_path / "whole"))[0] == 0
    # killed at step 30 (24 in the first loop, 6 in the second): the last checkpoint was at step 28
    code, _, _ = finish(helper(*args, "--out", tmp_path / "cut", env={"HARDENING_KILL_AT_STEP": "30"}))
    assert code == -signal.SIGKILL
    assert not (tmp_path / "cut" / "metrics.json").exists()
    code, out, err = finish(helper(*args, "--out", tmp_path / "cut", "--resume"))
    assert code == 0, err
    assert "resuming after 28 training steps" in out and "resumed first: finished before the interruption" in out
    assert "resumed second: continuing after step 4" in out
    whole, cut = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("whole", "cut"))
    assert cut["metrics"] == whole["metrics"] and cut["checks"] == whole["checks"] and cut["resumed"] is True
    final = [ms.load(tmp_path / d / "checkpoint.npz")["units"] for d in ("whole", "cut")]
    assert _strip_timing(final[0]) == _strip_timing(final[1])   # weights, optimisers, generators: bit for bit
    assert not (tmp_path / "cut" / ".partial").exists()


def test_resume_refuses_a_checkpoint_of_other_settings_and_a_corrupt_one(lessons, tmp_path):
    assert invoke("run", "ch99.interrupted", "--out", tmp_path, "--seed", 3).exit_code == 130
    line = one_line_error(invoke("run", "ch99.interrupted", "--out", tmp_path, "--resume"), 2, "cannot resume")
    assert "--seed 3" in line and "--seed 0" in line
    (tmp_path / ".partial" / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really a zip")
    one_line_error(invoke("run", "ch99.interrupted", "--out", tmp_path, "--seed", 3, "--resume"), 4,
                   "bad checkpoint", "checkpoint.npz")


def test_resume_of_a_finished_or_never_started_run(lessons, tmp_path, monkeypatch):
    monkeypatch.setenv("HARDENING_PAUSE", "0")
    fresh = invoke("run", "ch99.figures", "--out", tmp_path, "--resume")
    assert fresh.exit_code == 0 and "nothing to resume" in fresh.output and "starting ch99.figures" in fresh.output
    before = folder_bytes(tmp_path)
    again = invoke("run", "ch99.figures", "--out", tmp_path, "--resume")
    assert again.exit_code == 0 and "already holds a finished full run with seed 0" in again.output
    assert "finished in" in again.output and folder_bytes(tmp_path) == before   # not run again
    other_seed = invoke("run", "ch99.figures", "--out", tmp_path, "--resume", "--seed", 5)
    assert other_seed.exit_code == 0 and "starting ch99.figures from the beginning" in other_seed.output


def test_resume_of_a_track_skips_the_lessons_that_finished(lessons, tmp_path, monkeypatch):
    monkeypatch.setenv("HARDENING_PAUSE", "0")
    monkeypatch.setitem(course.TRACKS, "day9", course.Track("day9", "第 9 天", "Day 9", ("ch99.figures", "ch99.train")))
    assert invoke("run", "day9", "--out", tmp_path).exit_code == 0
    (tmp_path / "ch99.train" / "metrics.json").unlink()   # as if the track stopped in its second lesson
    result = invoke("run", "day9", "--out", tmp_path, "--resume")
    assert result.exit_code == 0, result.output
    assert "ch99.figures already holds a finished full run" in result.output.replace(f"{tmp_path}/", "")
    assert "starting ch99.train from the beginning" in result.output
    assert (tmp_path / "ch99.train" / "metrics.json").is_file()


def test_resumable_names_are_unique_and_objects_must_be_trackable(tmp_path):
    from mlseries.course.context import RunContext
    ctx = RunContext("ch99.x", tmp_path, echo=lambda s: None)
    ctx.resumable("loop", model=ms.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="used twice"):
        ctx.resumable("loop")
    with pytest.raises(TypeError, match="cannot track a str"):
        ctx.resumable("other", thing="text")


def test_a_real_lesson_killed_mid_run_resumes_bit_for_bit(tmp_path):
    """ch07.resnet --quick: four networks of 128 steps each. SIGKILL at step 340 (in the third
    network, 40 steps after the checkpoint at 300); --resume must end with the same metrics, the
    same weights, optimiser states and generators, and byte-identical figures."""
    args = ["run", "ch07.resnet", "--quick", "--checkpoint-every", "50steps", "--keep-checkpoint"]
    code, _, err = finish(helper(*args, "--out", tmp_path / "whole"), timeout=300)
    assert code == 0, err
    code, _, _ = finish(helper(*args, "--out", tmp_path / "cut", env={"HARDENING_KILL_AT_STEP": "340"}), timeout=300)
    assert code == -signal.SIGKILL
    code, out, err = finish(helper(*args, "--out", tmp_path / "cut", "--resume"), timeout=300)
    assert code == 0, err
    assert "resuming after 300 training steps" in out and "resumed plain-20: continuing after step 44" in out
    whole, cut = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("whole", "cut"))
    assert cut["metrics"] == whole["metrics"] and cut["checks"] == whole["checks"]
    final = [ms.load(tmp_path / d / "checkpoint.npz")["units"] for d in ("whole", "cut")]
    assert _strip_timing(final[0]) == _strip_timing(final[1])
    for name in whole["files"]:
        if name.endswith(".png"):
            assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_the_tour_holds_its_folder_too(tmp_path):
    holder = runfolder.RunFolder(tmp_path).acquire("another tour")
    try:
        one_line_error(invoke("tour", "--out", tmp_path), 5, "in use by another mlseries run", "another tour")
    finally:
        holder.release()
    assert not (tmp_path / ".lock").exists()
