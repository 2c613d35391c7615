"""HW06's own files: the course's `faces/` folder of anime-face JPEGs in, a folder of generated PNGs out.

The course's data set is one folder, `faces/`, of 71 314 colour JPEGs of 96×96 pixels named
0.jpg, 1.jpg, … (from the course's Kaggle page; our assumption where the materials we have do
not say: any .jpg / .jpeg / .png in the folder is a face, in any order, of any size). The lab's
generators are the 28×28 one-channel DCGANs of ch10, so each face is read in **greyscale** and
shrunk to 28×28: the faces keep their layout (hair, eyes, chin), they lose their colour and
their detail. The submission the course collected was 1 000 generated images, 1.jpg … 1000.jpg,
in one archive; this lab writes them as lossless PNGs 1.png … 1000.png in `submission/`,
enlarged to the course's 96×96.
"""
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import LabDataError

SUFFIXES = (".jpg", ".jpeg", ".png")
COURSE_SIZE = 96          # the course's images are 96×96


def face_files(path):
    """The image files of --data `path`: the faces/ folder itself, or a folder that holds faces/."""
    path = Path(path)
    if path.is_file():
        raise LabDataError(f"--data {path}: give the faces/ folder of JPEGs (or the folder holding it), not one file")
    folder = path / "faces" if (path / "faces").is_dir() else path
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()),
                   key=lambda p: (len(p.stem), p.stem))          # 2.jpg before 10.jpg, as numbered
    if not files:
        raise LabDataError(f"--data {path}: no .jpg/.png images in {folder} (expected the course's faces/ "
                           f"folder of 96×96 anime-face JPEGs)")
    return files


def read_faces(path, size=28, limit=None):
    """Images (N, 1, size, size) float32 in [0, 1]: every face (or `limit` evenly spaced ones) in
    greyscale, shrunk with a box filter (each new pixel the mean of the old ones it covers)."""
    files = face_files(path)
    if limit is not None and len(files) > limit:
        files = [files[i] for i in np.arange(limit) * (len(files) // limit)]
    images = np.empty((len(files), 1, size, size), dtype=np.float32)
    for i, file in enumerate(files):
        try:
            with Image.open(file) as image:
                grey = image.convert("L").resize((size, size), Image.Resampling.BOX)
        except (UnidentifiedImageError, OSError) as err:
            raise LabDataError(f"--data {file}: not a readable image ({err.__class__.__name__}); "
                               f"expected a 96×96 JPEG face") from None
        images[i, 0] = np.asarray(grey, dtype=np.float32) / 255.0                  # (size, size)
    return images


def write_submission(folder, images, size=COURSE_SIZE):
    """Write images (N, 1, h, w) in [0, 1] as folder/1.png … folder/N.png, enlarged to size×size
    (bicubic), as the course's submission of generated faces. Returns the number written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images, start=1):
        pixels = np.round(np.clip(image[0], 0, 1) * 255).astype(np.uint8)        # (h, w)
        Image.fromarray(pixels, mode="L").resize((size, size), Image.Resampling.BICUBIC).save(folder / f"{i}.png")
    return len(images)
