"""hw01 (regression): the quick ladder and its target, the covid.train.csv / covid.test.csv reader
with the pred.csv it writes, malformed files, and the hand-written column pipeline."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

from mlseries.cli import main
from mlseries.labs.data import LabDataError
from mlseries.labs.hw01 import covid, regression

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("hw01.regression",))


def test_quick_ladder_climbs(runs):
    _, output, record, _ = runs("hw01.regression")
    m = record["metrics"]
    assert m["best_score"] <= 0.8 * m["score_sample"]
    assert m["score_normalise"] < m["score_select"]          # normalising is the big step
    assert m["score_sample"] > 0.9                           # the sample hardly beats the mean (MSE 1)
    assert m["real_columns_selected"] >= 7                   # selection finds most real columns
    assert "original leaderboard" in output


def write_covid(folder, n_train=60, n_test=12, states=37, days=5, survey=15, seed=0, bad=None):
    """Files in the course's layout: id, one-hot states, 5 days × (survey features, tested_positive)."""
    rng = np.random.default_rng(seed)
    names = ["id"] + [f"s{i}" for i in range(states)]
    for d in range(days):
        suffix = "" if d == 0 else f".{d}"
        names += [f"f{j}{suffix}" for j in range(survey)] + [f"tested_positive{suffix}"]

    def rows(n, start, with_target):
        state = np.eye(states)[rng.integers(0, states, n)]
        days_x = rng.uniform(0, 30, size=(n, days * (survey + 1)))
        days_x[:, -1] = days_x[:, -1 - (survey + 1)] + rng.normal(0, 0.5, n)   # day 5 ≈ day 4
        table = np.concatenate([np.arange(start, start + n)[:, None], state, days_x], axis=1)
        return table if with_target else table[:, :-1]

    for name, n, start, target in (("covid.train.csv", n_train, 0, True), ("covid.test.csv", n_test, 0, False)):
        with open(folder / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names if target else names[:-1])
            for row in rows(n, start, target):
                w.writerow([int(row[0])] + [f"{v:.4f}" for v in row[1:]])
    if bad:
        bad(folder)
    return len(names)


def test_reader_reads_the_course_layout(tmp_path):
    columns = write_covid(tmp_path)
    data = covid.read_covid(tmp_path)
    assert columns == 118
    assert data["x"].shape == (60, 116) and data["y"].shape == (60,) and data["x_test"].shape == (12, 116)
    assert data["target"] == "tested_positive.4" and list(data["test_ids"]) == list(range(12))


def test_lab_on_course_files_writes_pred_csv(tmp_path):
    write_covid(tmp_path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "hw01", "--quick", "--out", str(out), "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(open(out / "hw01.regression" / "pred.csv")))
    assert rows[0] == ["id", "tested_positive"] and len(rows) == 13
    assert all(np.isfinite(float(r[1])) for r in rows[1:])


def _corrupt(folder):
    lines = (folder / "covid.train.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[5] = "n/a"
    lines[3] = ",".join(cells)
    (folder / "covid.train.csv").write_text("\n".join(lines) + "\n")


def test_malformed_file_exits_4_naming_line_and_column(tmp_path):
    write_covid(tmp_path, bad=_corrupt)
    result = CliRunner().invoke(main, ["run", "hw01", "--quick", "--out", str(tmp_path / "run"),
                                       "--data", str(tmp_path)])
    assert result.exit_code == 4, result.output
    assert "covid.train.csv, line 4, column 6" in result.output and "'n/a' is not a number" in result.output


def test_test_file_with_the_target_is_refused(tmp_path):
    write_covid(tmp_path)
    (tmp_path / "covid.test.csv").write_text((tmp_path / "covid.train.csv").read_text())
    with pytest.raises(LabDataError, match="covid.test.csv, line 1: 118 columns"):
        covid.read_covid(tmp_path)


def test_features_select_on_training_rows_and_normalise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32) * [1, 100, 1, 1, 5, 1] + 50
    y = (x[:, 1] / 100 + 0.01 * rng.normal(size=200)).astype(np.float32)
    f = regression.Features(x[:150], y[:150], select=True, normalise=True, k=2)
    assert 1 in f.columns and len(f.columns) == 2
    z = f(x[:150])
    assert np.allclose(z.mean(axis=0), 0, atol=1e-4) and np.allclose(z.std(axis=0), 1, atol=1e-3)


def test_substitute_hides_ten_real_columns_among_noise():
    x, y, names, real = regression.substitute(np.random.default_rng(0), 90)
    assert x.shape == (442, 100) and real.sum() == 10
    assert abs(y.mean()) < 1e-5 and abs(y.std() - 1) < 1e-4
    assert set(np.array(names)[real]) == {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
