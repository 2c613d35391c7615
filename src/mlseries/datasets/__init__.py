"""Data sets for the lessons, with torchvision-like names. Everything here installs with the
project or is generated from a seed; nothing is downloaded."""

from . import transforms
from .digits import Digits, upsample
from .errors import CorruptFileError, DatasetError, DatasetNotFoundError
from .idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair, write_idx
from .images import SAMPLE_IMAGES, sample_image
from .mnist import MNIST, DataFallbackWarning, FashionMNIST
from .reviews import Reviews
from .text import CharLMDataset, CharTokenizer, Vocab, pad_sequences
from .translation import NumberTranslation, chinese_number, english_number
