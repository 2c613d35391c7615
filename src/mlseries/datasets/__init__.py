"""Data sets for the lessons (torchvision-like names); all of it installs with the project."""

from .errors import CorruptFileError, DatasetError, DatasetNotFoundError
from .idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair, write_idx
from .mnist import MNIST, DataFallbackWarning, FashionMNIST
