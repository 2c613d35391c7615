"""HW2 framewise phoneme classification: the forced aligner, frame concatenation, the libriphone
reader on generated files (prediction.csv, and malformed files exit 4), and the quick ladder."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

from mlseries.cli import main
from mlseries.labs.hw02 import align, framewise, libriphone
from mlseries.labs.torch_files import write_torch_tensor

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw02.framewise",))


def test_quick_ladder_climbs_as_the_full_run_does(runs):
    _, _, record, _ = runs("hw02.framewise")
    m = record["metrics"]
    assert m["best_rung"] == "bilstm"
    assert m["best_score"] >= m["score_sample"] + framewise.TARGET_GAIN
    assert m["score_concat"] > m["score_sample"] + 0.05          # neighbours tell phonemes apart
    assert m["score_sample"] > 1 / len(align.PHONEMES) * 3        # far above chance


# ---------------------------------------------------------------- the aligner

def test_viterbi_finds_the_planted_boundaries():
    # three states, emissions that clearly prefer state 0 for 4 frames, 1 for 3, 2 for 5
    truth = np.array([0] * 4 + [1] * 3 + [2] * 5)
    scores = np.full((1, len(truth), 3), -5.0)
    scores[0, np.arange(len(truth)), truth] = 0.0
    assert np.array_equal(align.viterbi(scores)[0], truth)


def test_viterbi_path_is_monotone_and_may_skip_the_leading_silence():
    rng = np.random.default_rng(0)
    path = align.viterbi(rng.normal(size=(5, 30, 6)))
    assert np.all(np.diff(path, axis=1) >= 0) and np.all(np.diff(path, axis=1) <= 1)
    assert np.all(path[:, 0] <= 1) and np.all(path[:, -1] >= 4)


def test_alignment_recovers_synthetic_phonemes():
    # clips made of each word's phonemes, each phoneme a distinct mean vector: the aligner finds them
    rng = np.random.default_rng(1)
    means = rng.normal(scale=3.0, size=(len(align.PHONEMES), 6))
    means[0] = -4.0                                  # silence: low energy in column 0
    clips, truths, digits = [], [], []
    for i in range(60):
        digit = i % 10
        phones = align.state_sequence(digit)[1:-1]
        lengths = rng.integers(4, 9, size=len(phones))
        labels = np.concatenate([[0] * rng.integers(5, 15)] + [[p] * n for p, n in zip(phones, lengths)]
                                + [[0] * 5])
        labels = np.r_[labels, [0] * (60 - len(labels))]
        clips.append(means[labels] + rng.normal(scale=0.5, size=(60, 6)))
        truths.append(labels)
        digits.append(digit)
    labels, _ = align.align(np.array(clips), np.array(digits))
    assert np.mean(labels == np.array(truths)) > 0.95


def test_concat_frames_repeats_the_edges():
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    c = framewise.concat_frames(x, 1)
    assert c.shape == (4, 6)
    assert np.array_equal(c[0], [0, 1, 0, 1, 2, 3]) and np.array_equal(c[-1], [4, 5, 6, 7, 6, 7])
    assert framewise.concat_frames(x, 0) is x


# ---------------------------------------------------------------- --data: the libriphone folder

def make_libriphone(root, n_train=12, n_test=3, seed=0):
    """A small folder in the course's layout: frames whose class shows in their mean."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        (root / "feat" / split).mkdir(parents=True)
    lines, frames = [], 0
    for split, n in (("train", n_train), ("test", n_test)):
        ids = [f"{1000 + i}-{split}-{i:04d}" for i in range(n)]
        (root / f"{split}_split.txt").write_text("\n".join(ids) + "\n")
        for uid in ids:
            t = int(rng.integers(15, 30))
            y = np.repeat(rng.integers(0, libriphone.N_CLASSES, size=t // 5 + 1), 5)[:t]
            write_torch_tensor(root / "feat" / split / f"{uid}.pt",
                               rng.normal(size=(t, 39)) + y[:, None] * 0.1)
            if split == "train":
                lines.append(uid + " " + " ".join(map(str, y)))
            else:
                frames += t
    (root / "train_labels.txt").write_text("\n".join(lines) + "\n")
    return frames


def run_lab(*args):
    return CliRunner().invoke(main, ["run", "hw02", "--quick", *[str(a) for a in args]])


def test_data_folder_trains_and_writes_prediction_csv(tmp_path):
    frames = make_libriphone(tmp_path / "libriphone")
    result = run_lab("--data", tmp_path / "libriphone", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(tmp_path / "run" / "hw02.framewise" / "prediction.csv", encoding="utf-8")))
    assert rows[0] == ["Id", "Class"] and len(rows) == frames + 1
    assert [r[0] for r in rows[1:4]] == ["0", "1", "2"]
    assert all(0 <= int(r[1]) < libriphone.N_CLASSES for r in rows[1:])


def test_a_bad_label_exits_4_naming_file_and_line(tmp_path):
    make_libriphone(tmp_path)
    labels = (tmp_path / "train_labels.txt").read_text().splitlines()
    labels[1] = labels[1] + " x7"
    (tmp_path / "train_labels.txt").write_text("\n".join(labels) + "\n")
    result = run_lab("--data", tmp_path, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "train_labels.txt, line 2: 'x7' is not a class number" in result.output


def test_a_feature_file_of_the_wrong_shape_or_missing_is_named(tmp_path):
    make_libriphone(tmp_path)
    uid = (tmp_path / "test_split.txt").read_text().split()[0]
    write_torch_tensor(tmp_path / "feat" / "test" / f"{uid}.pt", np.zeros((10, 13)))
    with pytest.raises(libriphone.LabDataError, match=r"shape \(10, 13\), expected a \(frames, 39\)"):
        libriphone.read_libriphone(tmp_path)
    (tmp_path / "feat" / "test" / f"{uid}.pt").unlink()
    result = run_lab("--data", tmp_path, "--out", tmp_path / "run")
    assert result.exit_code == 4 and f"{uid}.pt: not found" in result.output


def test_labels_and_frames_must_agree(tmp_path):
    make_libriphone(tmp_path)
    labels = (tmp_path / "train_labels.txt").read_text().splitlines()
    labels[0] = labels[0] + " 3"
    (tmp_path / "train_labels.txt").write_text("\n".join(labels) + "\n")
    with pytest.raises(libriphone.LabDataError, match="labels but .* frames"):
        libriphone.read_libriphone(tmp_path)
