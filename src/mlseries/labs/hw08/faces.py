"""Reading hw08's own data, `trainingset.npy` and `testingset.npy`, and writing `prediction.csv`.

The 2022 edition gives two NumPy arrays of 64 × 64 colour face crops, uint8, shape (N, 64, 64, 3):
`trainingset.npy` holds only normal faces, `testingset.npy` normal and anomalous ones mixed, with
no labels. The Kaggle submission is `prediction.csv` with header `ID,score`, one row per test image
(ID from 0, in the array's order), a larger score meaning "more likely an anomaly"; it was scored
by ROC AUC. We read the arrays with `np.load(allow_pickle=False)` (plain arrays need no pickle),
and also take float arrays already in [0, 1] or [-1, 1]; any square size is accepted.
"""
import csv

import numpy as np

from ..data import LabDataError, data_files

FILES = ["trainingset.npy", "testingset.npy"]


def _load(path):
    """One array as float32 (N, 3, H, W) in [-1, 1]."""
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise LabDataError(f"{path.name}: not a NumPy .npy array ({error})") from None
    if a.ndim != 4 or a.shape[3] not in (1, 3) or a.shape[1] != a.shape[2] or a.shape[1] % 8:
        raise LabDataError(f"{path.name}: shape {a.shape} (expected (N, 64, 64, 3): square images with "
                           "a side divisible by 8 and 1 or 3 channels last)")
    if len(a) == 0:
        raise LabDataError(f"{path.name}: no images")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 127.5 - 1.0
    elif a.dtype.kind == "f":
        if a.min() >= 0:
            a = a * 2.0 - 1.0          # [0, 1] → [-1, 1]
    else:
        raise LabDataError(f"{path.name}: dtype {a.dtype} (expected uint8 pixels)")
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2), dtype=np.float32)


def read_faces(folder):
    """dict(train, test): float32 (N, C, H, W) in [-1, 1]."""
    files = data_files(folder, FILES)
    train, test = _load(files["trainingset.npy"]), _load(files["testingset.npy"])
    if train.shape[1:] != test.shape[1:]:
        raise LabDataError(f"testingset.npy: images of shape {test.shape[1:]} but trainingset.npy's are "
                           f"{train.shape[1:]} (expected the same size)")
    return dict(train=train, test=test)


def write_prediction(path, scores):
    """prediction.csv as the TA's sample code writes it: ID (from 0) and score."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "score"])
        for i, s in enumerate(scores):
            writer.writerow([i, f"{float(s):.6f}"])
