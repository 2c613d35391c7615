"""Reading hw03's own data, the Food-11 folders, and writing `pred.csv`.

The 2022 edition's layout: `training/`, `validation/` and `test/` folders of JPEG photos; in the
first two each file is named `<label>_<n>.jpg` with the class 0–10 before the underscore. The TA's
sample code reads the test folder in sorted file-name order and submits `pred.csv` with header
`Id,Category`, the Id being the image's position counted from 1 and zero-padded to four digits
(0001, 0002, ...); we write the same. Photos are resized to a small square (`size`) with Pillow,
as the engine trains on a CPU; the TA's code uses 128 × 128.
"""
import csv
import re

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import LabDataError

FOLDERS = ["training", "validation", "test"]
NAME = re.compile(r"^(\d+)_\d+\.jpe?g$", re.IGNORECASE)


def _images(folder, labelled, size):
    """(images float32 (N, 3, size, size) in [0, 1], labels int64 or None, file names) of one folder."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if not files:
        raise LabDataError(f"{folder.name}/: no .jpg files in this folder")
    images, labels = [], []
    for path in files:
        if labelled:
            match = NAME.match(path.name)
            if not match:
                raise LabDataError(f"{folder.name}/{path.name}: expected a name <label>_<n>.jpg "
                                   "with the class number first")
            labels.append(int(match.group(1)))
        try:
            with Image.open(path) as image:
                picture = image.convert("RGB").resize((size, size), Image.BILINEAR)
        except (UnidentifiedImageError, OSError) as error:
            raise LabDataError(f"{folder.name}/{path.name}: not a readable JPEG image ({error})") from None
        images.append(np.asarray(picture, dtype=np.float32).transpose(2, 0, 1) / 255.0)   # (3, size, size)
    return np.stack(images), (np.array(labels, dtype=np.int64) if labelled else None), [p.name for p in files]


def read_food11(path, size=32):
    """The three folders under `path`: dict with x, y (training), x_valid, y_valid, x_test, test_names."""
    if not path.is_dir():
        raise LabDataError(f"--data {path}: give the Food-11 folder that holds {', '.join(FOLDERS)}")
    missing = [f for f in FOLDERS if not (path / f).is_dir()]
    if missing:
        raise LabDataError(f"--data {path}: folder(s) {', '.join(missing)} not found (expected "
                           f"{', '.join(f + '/' for f in FOLDERS)} as in Food-11)")
    x, y, _ = _images(path / "training", True, size)
    x_valid, y_valid, _ = _images(path / "validation", True, size)
    x_test, _, names = _images(path / "test", False, size)
    return dict(x=x, y=y, x_valid=x_valid, y_valid=y_valid, x_test=x_test, test_names=names)


def write_prediction(path, predictions):
    """pred.csv as the TA's sample code writes it: Id (0001, ...) and Category."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Id", "Category"])
        for i, c in enumerate(predictions, start=1):
            writer.writerow([str(i).zfill(4), int(c)])
