"""Reading hw11's own data, `real_or_drawing/`, and writing the submission CSV.

The course's folder holds `train_data/<class>/<n>.bmp` — 5 000 labelled colour photographs, 32×32,
in ten class folders named 0 … 9 — and `test_data/0/<n>.bmp` — 100 000 unlabelled grey line
drawings, 28×28 (one folder, since torchvision's ImageFolder, which the TA's code reads it with,
needs one). The submission is a CSV with header `id,label`, one row per test image. The TA's
code numbers the rows in ImageFolder's order, which sorts file names as strings ("10.bmp" before
"2.bmp"); we number them the same way, so that a submission from here lines up with one from the
sample code. Every image is read with Pillow, made grey and resized to the model's 28×28, pixels
in [0, 1]. (The TA's code also turns the photos into Canny edge maps; we leave that to the model,
as the offline lab does.)
"""
import csv
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import LabDataError

SIZE = 28


def _read(path):
    try:
        with Image.open(path) as image:
            grey = image.convert("L").resize((SIZE, SIZE), Image.BILINEAR)
    except (UnidentifiedImageError, OSError) as error:
        raise LabDataError(f"{path}: not a readable image ({error.__class__.__name__})") from None
    return np.asarray(grey, dtype=np.float32) / 255.0                       # (28, 28)


def _bmps(folder):
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".bmp")   # string order, as ImageFolder
    if not files:
        raise LabDataError(f"{folder}: no .bmp images (expected <n>.bmp files)")
    return files


def read_real_or_drawing(path):
    """dict(x, y, x_target, names): source photos (N, 1, 28, 28) with labels 0–9, target drawings
    (M, 1, 28, 28) and their file names, in the submission's order."""
    root = Path(path)
    if (root / "real_or_drawing").is_dir():
        root = root / "real_or_drawing"
    train, test = root / "train_data", root / "test_data" / "0"
    for folder, what in ((train, "train_data/<class>/ (the labelled photos)"),
                         (test, "test_data/0/ (the unlabelled drawings)")):
        if not folder.is_dir():
            raise LabDataError(f"--data {path}: {folder.relative_to(root.parent)} not found (expected {what})")
    classes = sorted((p for p in train.iterdir() if p.is_dir()), key=lambda p: p.name)
    names = [p.name for p in classes]
    if names != [str(c) for c in range(10)]:
        raise LabDataError(f"{train}: class folders {names} (expected ten folders named 0 … 9)")
    x, y = [], []
    for label, folder in enumerate(classes):
        for f in _bmps(folder):
            x.append(_read(f))
            y.append(label)
    files = _bmps(test)
    x_target = np.stack([_read(f) for f in files])[:, None]                  # (M, 1, 28, 28)
    return dict(x=np.stack(x)[:, None], y=np.array(y, np.int64), x_target=x_target,
                names=[f.name for f in files])


def write_submission(path, labels):
    """The TA's submission: `id,label`, id from 0 in test_data's (ImageFolder) order."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        for i, label in enumerate(labels):
            writer.writerow([i, int(label)])
