"""hw05 (translation): the quick ladder and its targets, the course's parallel files through
`--data` (prediction.txt, one line per test sentence; malformed files exit 4), and the lab's own
parts: the inverse-square-root schedule and the encoding of pairs."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mlseries.cli import main
from mlseries.datasets.text import BOS, EOS, PAD, Vocab
from mlseries.labs.hw05 import files, translation

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw05.translation",))


def test_quick_ladder(runs):
    out, _, record, _ = runs("hw05.translation")
    m = record["metrics"]
    assert m["score_transformer"] > m["score_sample"]                     # the lab's target
    assert m["best_score"] >= m["score_schedule"] >= m["score_transformer"]
    assert m["synthetic_pairs"] > 0 and m["mono_lines"] > 0
    lines = (out / "prediction.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == m["eval_pairs"]
    rows = (out / "ladder.csv").read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["sample", "transformer", "schedule", "beam", "back_translation"]


def test_inverse_sqrt_schedule():
    d, warmup = 64, 100
    rates = [translation.inverse_sqrt(s, d, warmup) for s in range(1, 1001)]
    assert int(np.argmax(rates)) + 1 == warmup                         # peak at the end of warm-up
    assert rates[warmup - 1] == pytest.approx(d ** -0.5 * warmup ** -0.5)
    assert rates[49] == pytest.approx(rates[warmup - 1] * 50 / warmup)  # linear rise
    assert rates[399] == pytest.approx(rates[warmup - 1] * (warmup / 400) ** 0.5)   # 1/√step after


def test_encode_cuts_long_rows_and_keeps_eos():
    en = Vocab.build([["a", "b", "c"]])
    zh = Vocab.build([list("一二三四")])
    src, tgt = translation.encode([("a b c a b c", "一二三四一二三四"), ("a", "一")], en, zh, 4, 5)
    assert src.shape == (2, 4) and src[0, -1] == EOS and src[1, 1] == EOS and src[1, 2] == PAD
    assert tgt.shape == (2, 5) and tgt[0, 0] == BOS and tgt[0, -1] == EOS
    assert list(tgt[1]) == [BOS, zh["一"], EOS, PAD, PAD]


# ---------------------------------------------------------------- --data: the course's files

WORDS = [("open the file", "打开文件"), ("close the file", "关闭文件"), ("save the file", "保存文件"),
         ("open the window", "打开窗口"), ("close the window", "关闭窗口"), ("save the window", "保存窗口")]


def write_course_files(folder, n=60):
    folder.mkdir(exist_ok=True)
    pairs = [WORDS[i % len(WORDS)] for i in range(n)]
    (folder / "train_dev.raw.en").write_text("\n".join(e for e, _ in pairs) + "\n", encoding="utf-8")
    (folder / "train_dev.raw.zh").write_text("\n".join(" ".join(z) for _, z in pairs) + "\n", encoding="utf-8")
    (folder / "test.raw.en").write_text("open the file\nsave the window\nclose the file\n", encoding="utf-8")
    return folder


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_course_files_give_prediction_txt(tmp_path):
    folder = write_course_files(tmp_path / "hw05")
    got = files.read_course_files(folder)
    assert got["pairs"][0] == ("open the file", "打开文件") and got["mono"] is None and len(got["test"]) == 3
    result = invoke("run", "hw05", "--quick", "--data", folder, "--out", tmp_path / "run")
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output  # 1: a target missed
    run = tmp_path / "run" / "hw05.translation"
    lines = (run / "prediction.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3                                               # one Chinese line per test.raw.en line
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert metrics["eval_pairs"] == 3 and metrics["parallel_pairs"] + metrics["mono_lines"] == 57


def test_malformed_course_files_exit_4(tmp_path):
    folder = write_course_files(tmp_path / "hw05")
    (folder / "train_dev.raw.zh").write_text("打开文件\n关闭文件\n", encoding="utf-8")
    result = invoke("run", "hw05", "--quick", "--data", folder, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "train_dev.raw.en has 60 lines but train_dev.raw.zh has 2" in result.output
    (folder / "train_dev.raw.zh").write_text("打开文件\n\n" * 30, encoding="utf-8")
    result = invoke("run", "hw05", "--quick", "--data", folder, "--out", tmp_path / "run2")
    assert result.exit_code == 4 and "train_dev.raw.zh, line 2: empty" in result.output, result.output
    (folder / "test.raw.en").unlink()
    result = invoke("run", "hw05", "--quick", "--data", folder, "--out", tmp_path / "run3")
    assert result.exit_code == 4 and "test.raw.en not found" in result.output
