"""hw11 (domain adaptation): the quick ladder (source only → DANN → DANN + pseudo-labels) and its
target, the gradient-reversal layer and λ schedule, pseudo-label selection, the target style, and
the real_or_drawing reader with the submission.csv it writes."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import mlseries as ms
from mlseries import nn
from mlseries.cli import main
from mlseries.labs.hw11 import dann, domains, drawings

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw11.adapt",))


def test_quick_ladder(runs):
    _, output, record, _ = runs("hw11.adapt")
    m = record["metrics"]
    assert [k for k in m if k.startswith("score_")] == ["score_source", "score_dann", "score_pseudo"]
    assert m["source_on_source"] > 0.95                       # the sample learned the source ...
    assert m["score_source"] < 0.5                            # ... and the style shift defeats it
    assert m["score_dann"] >= m["score_source"] + 0.15        # the target
    assert m["target_oracle"] > m["best_score"]               # labelled target data is an upper bound
    assert m["pseudo_kept"] > 0
    assert 0 <= m["mixing_source"] < 0.5 and 0 <= m["mixing_dann"] < 0.5
    assert "original leaderboard (target-domain accuracy" in output


def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward():
    x = ms.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    w = ms.tensor(np.array([[1.0, -2.0, 0.5]], np.float32))
    y = dann.grad_reverse(x, 0.3)
    assert np.array_equal(y.detach().numpy(), x.detach().numpy())
    (y * w).sum().backward()
    assert np.allclose(x.grad.numpy(), -0.3 * np.broadcast_to(w.numpy(), (2, 3)))


def test_lambda_schedule():
    p = np.linspace(0, 1, 11)
    lam = dann.dann_lambda(p)
    assert lam[0] == 0 and np.all(np.diff(lam) > 0) and 0.9999 < lam[-1] < 1
    assert dann.dann_lambda(0.5) == pytest.approx(2 / (1 + np.exp(-5)) - 1)


def test_domain_net_shapes():
    model = dann.DomainNet()
    x = ms.tensor(np.zeros((3, 1, 28, 28), np.float32))
    h = model.features(x)
    assert h.shape == (3, 576) and model(x).shape == (3, 10) and model.domain(h).shape == (3, 1)


class FixedLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return ms.tensor(self.logits[x.numpy()[:, 0, 0, 0].astype(int)])


def test_pseudo_labels_keep_only_confident_predictions():
    logits = np.array([[5.0, 0, 0, 0, 0, 0, 0, 0, 0, 0],        # p ≈ 0.94 for class 0
                       [0.0] * 10,                              # p = 0.1: not confident
                       [0, 0, 0, 9.0, 0, 0, 0, 0, 0, 0]], np.float32)
    x = np.arange(3, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 28, 28), np.float32)
    keep, labels = dann.pseudo_labels(FixedLogits(logits), x, 0.9)
    assert keep.tolist() == [0, 2] and labels.tolist() == [0, 3]


def test_stylise_is_background_minus_digit():
    rng = np.random.default_rng(0)
    background = [np.full((40, 40), 0.8, np.float32)]
    digits = np.zeros((2, 1, 28, 28), np.float32)
    digits[:, 0, 10:18, 12:16] = 1.0
    out = domains.stylise(digits, rng, background)
    assert out.shape == digits.shape and out.min() >= 0 and out.max() <= 1
    assert np.allclose(out[:, 0, 10:18, 12:16], 0.2) and np.allclose(out[:, 0, :5], 0.8)


def write_real_or_drawing(root, per_class=3, n_test=7, classes=range(10)):
    rng = np.random.default_rng(0)
    for c in classes:
        folder = root / "real_or_drawing" / "train_data" / str(c)
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{c * 100 + i}.bmp")
    test = root / "real_or_drawing" / "test_data" / "0"
    test.mkdir(parents=True)
    for i in range(n_test):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(test / f"{i}.bmp")
    return root / "real_or_drawing"


def test_reader_reads_the_layout_in_imagefolder_order(tmp_path):
    folder = write_real_or_drawing(tmp_path, n_test=12)
    data = drawings.read_real_or_drawing(folder)
    assert data["x"].shape == (30, 1, 28, 28) and data["x_target"].shape == (12, 1, 28, 28)
    assert sorted(set(data["y"].tolist())) == list(range(10)) and 0 <= data["x"].min() <= data["x"].max() <= 1
    assert data["names"][:4] == ["0.bmp", "1.bmp", "10.bmp", "11.bmp"]      # string order, as ImageFolder


def test_lab_on_course_files_writes_submission(tmp_path):
    folder = write_real_or_drawing(tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw11", "--quick", "--out", str(out), "--data", str(folder)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(out / "hw11.adapt" / "submission.csv")))
    assert rows[0] == ["id", "label"] and len(rows) == 8
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(7)] and all(0 <= int(r[1]) < 10 for r in rows[1:])


def test_wrong_class_folders_exit_4(tmp_path):
    folder = write_real_or_drawing(tmp_path, classes=range(9))
    result = CliRunner().invoke(main, ["run", "hw11", "--quick", "--out", str(tmp_path / "run"), "--data", str(folder)])
    assert result.exit_code == 4, result.output
    assert "class folders" in result.output and "expected ten folders named 0 … 9" in result.output


def test_unreadable_image_exits_4(tmp_path):
    folder = write_real_or_drawing(tmp_path)
    (folder / "test_data" / "0" / "3.bmp").write_bytes(b"not a bitmap")
    result = CliRunner().invoke(main, ["run", "hw11", "--quick", "--out", str(tmp_path / "run"), "--data", str(folder)])
    assert result.exit_code == 4, result.output
    assert "3.bmp: not a readable image" in result.output


def test_missing_test_folder_exits_4(tmp_path):
    folder = write_real_or_drawing(tmp_path)
    for f in (folder / "test_data" / "0").iterdir():
        f.unlink()
    (folder / "test_data" / "0").rmdir()
    result = CliRunner().invoke(main, ["run", "hw11", "--quick", "--out", str(tmp_path / "run"), "--data", str(folder)])
    assert result.exit_code == 4, result.output
    assert "test_data/0 not found" in result.output


def test_mixing_is_zero_for_separate_domains_and_about_half_when_mixed():
    from mlseries.labs.hw11 import adapt
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    assert adapt.mixing(np.concatenate([a, b + 100]), 200) == 0
    assert 0.4 < adapt.mixing(np.concatenate([a, b]), 200) < 0.6
