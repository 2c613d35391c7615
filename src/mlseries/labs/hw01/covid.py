"""Reading hw01's own files, `covid.train.csv` and `covid.test.csv`, and writing `pred.csv`.

The course's table (from the Delphi group's COVID-19 surveys, 2022 edition): one row per state and
stretch of five days; columns `id`, 37 one-hot state columns, then for each of the 5 days the
survey features (cli, ili, ..., worried_finances) followed by that day's `tested_positive`.
`covid.train.csv` ends with day 5's `tested_positive`, the target; `covid.test.csv` has the same
columns without it. The Kaggle submission is `pred.csv` with header `id,tested_positive`.

We only rely on what is certain about the layout: a header whose first column is `id`, numbers
everywhere else, the target last in the training file, and the test file having exactly one column
fewer. Every other column is a feature, so the reader also takes the 2021 edition's layout.
"""
import csv

import numpy as np

from ..data import LabDataError, data_files

FILES = ["covid.train.csv", "covid.test.csv"]


def _read_table(path):
    """(header, rows as float64 array) of one CSV file; LabDataError naming line and column."""
    with open(path, newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    if not lines:
        raise LabDataError(f"{path.name}: the file is empty (expected a header starting with 'id')")
    header = [h.strip() for h in lines[0]]
    if header[0].lower() != "id":
        raise LabDataError(f"{path.name}, line 1: the header starts with {header[0]!r} (expected 'id')")
    rows = []
    for number, row in enumerate(lines[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise LabDataError(f"{path.name}, line {number}: {len(row)} columns (the header has {len(header)})")
        try:
            rows.append([float(v) for v in row])
        except ValueError:
            bad = next(i for i, v in enumerate(row) if not _is_number(v))
            raise LabDataError(f"{path.name}, line {number}, column {bad + 1} ({header[bad]}): "
                               f"{row[bad]!r} is not a number") from None
    if not rows:
        raise LabDataError(f"{path.name}: a header but no data rows")
    return header, np.array(rows)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_covid(folder):
    """The course's files in `folder`: dict with x, y (training features and target), names (the
    feature columns), test_ids, x_test. All float32 except the ids (int)."""
    files = data_files(folder, FILES)
    header, train = _read_table(files["covid.train.csv"])
    test_header, test = _read_table(files["covid.test.csv"])
    if len(header) < 3:
        raise LabDataError(f"covid.train.csv, line 1: {len(header)} columns (expected id, features and the "
                           "target tested_positive last)")
    if len(test_header) != len(header) - 1:
        raise LabDataError(f"covid.test.csv, line 1: {len(test_header)} columns (expected {len(header) - 1}: "
                           "covid.train.csv's columns without the target)")
    return dict(x=train[:, 1:-1].astype(np.float32), y=train[:, -1].astype(np.float32),
                names=header[1:-1], target=header[-1],
                test_ids=test[:, 0].astype(np.int64), x_test=test[:, 1:].astype(np.float32))


def write_prediction(path, ids, predictions):
    """pred.csv as the Kaggle competition takes it: `id,tested_positive`, one row per test id."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "tested_positive"])
        for i, p in zip(ids, predictions):
            writer.writerow([int(i), f"{float(p):.6f}"])
