"""Photographs and small face crops that ship inside scikit-image (`skimage/data`).

Content images for style transfer and DeepDream (an astronaut, a cup of coffee, a cat, a
rocket launch, …), textures that can serve as styles, and LFW's 200-image face / non-face
subset. Only the files are read, with Pillow and NumPy (`allow_pickle=False`); scikit-image
itself is never imported. Each image's licence is the one its scikit-image docstring states.
"""

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..utils.data import Dataset
from ._convert import to_tensor
from ._install import pip_hint
from ._paths import package_file
from .errors import CorruptFileError
from .transforms import Resize

# name -> (file in skimage/data, shape, licence as scikit-image states it)
PHOTOS = {
    "astronaut": ("astronaut.png", (512, 512, 3), "public domain (NASA; Eileen Collins)"),
    "coffee": ("coffee.png", (400, 600, 3), "CC0, Rachel Michetti"),
    "chelsea": ("chelsea.png", (300, 451, 3), "CC0, Stefan van der Walt (Chelsea the cat)"),
    "camera": ("camera.png", (512, 512), "CC0, Lav Varshney"),
    "rocket": ("rocket.jpg", (427, 640, 3), "public domain (SpaceX; DSCOVR launch)"),
    "hubble_deep_field": ("hubble_deep_field.jpg", (872, 1000, 3), "public domain (NASA)"),
    "retina": ("retina.jpg", (1411, 1411, 3), "CC0, Mikael Häggström"),
    "immunohistochemistry": ("ihc.png", (512, 512, 3), "no known copyright restrictions"),
    "coins": ("coins.png", (303, 384), "no known copyright restrictions (Brooklyn Museum)"),
    "brick": ("brick.png", (512, 512), "CC0 (CC0Textures)"),
    "grass": ("grass.png", (512, 512), "CC0 (DeviantArt, linolafett)"),
    "gravel": ("gravel.png", (512, 512), "CC0 (CC0Textures)"),
}
LFW_FILE = "lfw_subset.npy"
LFW_SHAPE = (200, 25, 25)


def _fix():
    return f"reinstall scikit-image: {pip_hint('skimage')}"


def read_image(path, expected_shape=None):
    """An image file as a uint8 array, checking that it decodes completely (and its shape)."""
    try:
        with Image.open(path) as im:
            im.load()                      # decode now: a truncated file fails here, not later
            array = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptFileError(f"{path.name}: cannot be decoded as an image ({e}) [{path}]; "
                               f"{_fix()}") from None
    if expected_shape is not None and array.shape != tuple(expected_shape):
        raise CorruptFileError(f"{path.name}: shape {array.shape}, expected {tuple(expected_shape)} "
                               f"[{path}]; {_fix()}")
    return array


def photo(name="astronaut", gray=False, size=None):
    """A scikit-image photograph as uint8: (H, W, 3) for colour ones, (H, W) for grey ones
    (camera, coins, brick, grass, gravel) or when `gray=True`. `size` (int or (h, w))
    resizes it. See `PHOTOS` for the names, shapes and licences."""
    if name not in PHOTOS:
        raise ValueError(f"photo: unknown photo {name!r}; choose one of {sorted(PHOTOS)}")
    file, shape, _ = PHOTOS[name]
    img = read_image(package_file("skimage", "data", file), shape)
    if gray and img.ndim == 3:
        # ITU-R BT.601 luma, as PIL's convert("L") and sample_image(gray=True)
        luma = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        img = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    if size is not None:
        img = Resize(size)(img)
    return img


def read_lfw_subset(path):
    try:
        images = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise CorruptFileError(f"{path.name}: not a plain .npy array ({e}) [{path}]; {_fix()}") from None
    except (OSError, EOFError) as e:
        raise CorruptFileError(f"{path.name}: truncated or unreadable ({e}) [{path}]; {_fix()}") from None
    if images.shape != LFW_SHAPE or images.dtype.kind != "f":
        raise CorruptFileError(f"{path.name}: {images.dtype} {images.shape}, expected float "
                               f"{LFW_SHAPE} [{path}]; {_fix()}")
    if images.min() < 0 or images.max() > 1:
        raise CorruptFileError(f"{path.name}: values outside [0, 1] [{path}]")
    return images.astype(np.float32)


class LFWSubset(Dataset):
    """scikit-image's subset of Labeled Faces in the Wild: 100 faces and 100 non-faces (patches
    of the photos' backgrounds), 25×25 grey, float32 in [0, 1]. Label 1 = face, 0 = not.

    split: "all" (the file's order: faces first), or "train" / "test" (80 / 20 per class,
    shuffled, fixed by `seed`). Item i is (image (25, 25), label)."""

    classes = ("non-face", "face")

    def __init__(self, split="all", seed=0, test_fraction=0.2):
        if split not in ("all", "train", "test"):
            raise ValueError(f"LFWSubset: split must be 'all', 'train' or 'test', got {split!r}")
        images = read_lfw_subset(package_file("skimage", "data", LFW_FILE))
        labels = np.r_[np.ones(100, np.int64), np.zeros(100, np.int64)]
        index = np.arange(200)
        if split != "all":
            rng = np.random.default_rng(seed)
            n_test = int(round(100 * test_fraction))
            parts = [rng.permutation(np.flatnonzero(labels == c)) for c in (1, 0)]
            test = np.concatenate([p[:n_test] for p in parts])
            train = np.concatenate([p[n_test:] for p in parts])
            index = rng.permutation(test if split == "test" else train)
        self.split, self.images, self.labels = split, images[index], labels[index]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], int(self.labels[i])

    def tensors(self):
        """(float32 (N, 1, 25, 25), int64 (N,)) as engine tensors."""
        return to_tensor(self.images[:, None]), to_tensor(self.labels)

    def __repr__(self):
        return f"LFWSubset(split={self.split!r}, {len(self)} images, {int(self.labels.sum())} faces)"
