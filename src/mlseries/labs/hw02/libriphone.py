"""HW2's own data with `--data PATH`: the `libriphone` folder, and the prediction file Kaggle takes.

The course's folder (as its sample code reads it; its format is not documented beyond that code):

    libriphone/train_split.txt      one utterance id per line (the labelled utterances)
    libriphone/train_labels.txt     "<id> <class> <class> …": one class (0–40) per frame
    libriphone/test_split.txt       one utterance id per line (the leaderboard's utterances)
    libriphone/feat/train/<id>.pt   a torch.save'd float tensor (frames, 39): MFCC + Δ + ΔΔ
    libriphone/feat/test/<id>.pt

The `.pt` files are read without PyTorch (torch_files.py). The leaderboard takes
`prediction.csv`: a header `Id,Class`, then one row per test frame, numbered from 0 in the order
of test_split.txt and of the frames in each utterance.
"""
import csv

import numpy as np

from ..data import LabDataError, data_files
from ..torch_files import read_matrix

N_CLASSES = 41
DIMS = 39


def _ids(path):
    ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not ids:
        raise LabDataError(f"{path}: no utterance ids (expected one id per line)")
    return ids


def _labels(path):
    labels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise LabDataError(f"{path}, line {n}: {parts[0]!r} has no frame labels "
                               "(expected '<id> <class> <class> …')")
        try:
            values = np.array([int(p) for p in parts[1:]], dtype=np.int64)
        except ValueError:
            bad = next(p for p in parts[1:] if not p.lstrip("-").isdigit())
            raise LabDataError(f"{path}, line {n}: {bad!r} is not a class number "
                               f"(expected integers 0–{N_CLASSES - 1})") from None
        outside = values[(values < 0) | (values >= N_CLASSES)]
        if len(outside):
            raise LabDataError(f"{path}, line {n}: class {int(outside[0])} is outside 0–{N_CLASSES - 1}")
        labels[parts[0]] = values
    return labels


def read_libriphone(path):
    """{"train": [(id, features (T, 39), labels (T,))], "test": [(id, features, None)]}."""
    files = data_files(path, ["train_split.txt", "train_labels.txt", "test_split.txt"])
    labels = _labels(files["train_labels.txt"])
    out = {"train": [], "test": []}
    for split in ("train", "test"):
        for uid in _ids(files[f"{split}_split.txt"]):
            feat = path / "feat" / split / f"{uid}.pt"
            if not feat.is_file():
                raise LabDataError(f"{feat}: not found (every id in {split}_split.txt needs "
                                   f"feat/{split}/<id>.pt)")
            x = read_matrix(feat, DIMS, f"a (frames, {DIMS}) float tensor of MFCC + Δ + ΔΔ")
            y = None
            if split == "train":
                if uid not in labels:
                    raise LabDataError(f"{files['train_labels.txt']}: no line for utterance {uid!r} "
                                       "of train_split.txt")
                y = labels[uid]
                if len(y) != len(x):
                    raise LabDataError(f"{files['train_labels.txt']}: utterance {uid!r} has {len(y)} "
                                       f"labels but {feat.name} has {len(x)} frames")
            out[split].append((uid, x, y))
    return out


def write_prediction(path, predictions):
    """prediction.csv for the leaderboard: Id (frame number from 0), Class."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Id", "Class"])
        for i, c in enumerate(np.concatenate(predictions)):
            writer.writerow([i, int(c)])
