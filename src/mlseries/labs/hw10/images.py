"""HW10's --data mode: the course's folder of CIFAR-10 PNGs in, the attacked PNGs out.

The original lab hands out 200 CIFAR-10 test images, 20 per class, as 32×32 colour PNGs in
`data/<class>/<class><n>.png` (e.g. `data/airplane/airplane1.png`), and the submission is the
attacked images as PNGs in the same layout (packed with tar). The label of an image is the index
of its folder among the sorted folder names — for CIFAR-10's ten classes that is CIFAR-10's own
order (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck). Assumed from the
course's description: any class folders are accepted, each holding .png files, all 32×32 RGB.
"""
from pathlib import Path

import numpy as np
from PIL import Image

from ..data import LabDataError

SIZE = 32


def read_folder(path):
    """Every PNG of `path`/<class>/*.png as (x float32 (N, 3, 32, 32) in [0, 1], labels int64 (N,),
    classes [folder names], names ["airplane/airplane1.png", ...])."""
    path = Path(path)
    if not path.is_dir():
        raise LabDataError(f"--data {path}: give the folder of class folders (data/<class>/<class><n>.png)")
    classes = sorted(d.name for d in path.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise LabDataError(f"--data {path}: expected one folder per class (airplane/, automobile/, ...), "
                           f"found {len(classes)}")
    images, labels, names = [], [], []
    for label, cls in enumerate(classes):
        files = sorted((path / cls).glob("*.png"))
        if not files:
            raise LabDataError(f"--data {path}: {cls}/ holds no .png images")
        for file in files:
            name = f"{cls}/{file.name}"
            try:
                with Image.open(file) as image:
                    image.load()
                    mode, size = image.mode, image.size
                    pixels = np.asarray(image.convert("RGB") if mode in ("RGB", "RGBA", "P") else image)
            except OSError as error:
                raise LabDataError(f"--data {path}: {name}: not a readable PNG ({error})") from None
            if mode not in ("RGB", "RGBA", "P") or size != (SIZE, SIZE):
                raise LabDataError(f"--data {path}: {name}: a {size[0]}×{size[1]} {mode} image; expected "
                                   f"{SIZE}×{SIZE} RGB (CIFAR-10)")
            images.append(pixels.transpose(2, 0, 1).astype(np.float32) / 255.0)     # (3, 32, 32)
            labels.append(label)
            names.append(name)
    return np.stack(images), np.array(labels, dtype=np.int64), classes, names


def write_folder(folder, x, names):
    """The images x (N, 3, H, W) in [0, 1] as 8-bit PNGs at folder/<name>, the course's layout."""
    folder = Path(folder)
    for image, name in zip(x, names):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)   # (H, W, 3)
        Image.fromarray(pixels).save(target)
