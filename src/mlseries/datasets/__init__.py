"""Data sets for the lessons, with torchvision-like names. Everything here installs with the
project or is generated from a seed; nothing is downloaded. See docs/data.md for sources,
licences, sizes and the lessons that use each one.

    import mlseries.datasets as d
    train = d.MNIST(train=True)             # full IDX files if you have them, else 5 000 real digits
    x, y = train.tensors(normalize=True)    # float32 (N, 1, 28, 28), int64 (N,)
    reviews = d.Reviews(split="train")      # de-duplicated Chinese product reviews
"""

from . import transforms
from .digits import Digits, upsample
from .errors import CorruptFileError, DatasetError, DatasetNotFoundError
from .frames import HMMFrames, concat_frames
from .idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair, write_idx
from .images import SAMPLE_IMAGES, sample_image
from .mnist import MNIST, DataFallbackWarning, FashionMNIST
from .reviews import Reviews
from .shapes import Shapes
from .sinusoid import SinusoidBatch, SinusoidTasks, sinusoid
from .synthetic import binary_points, blobs, circles, moons, noisy_line, spirals
from .text import CharLMDataset, CharTokenizer, Vocab, pad_sequences
from .translation import NumberTranslation, chinese_number, english_number
from .views import ChannelViews

__all__ = [
    "transforms",
    "MNIST", "FashionMNIST", "Digits", "upsample", "sample_image", "SAMPLE_IMAGES",
    "read_idx", "read_idx_images", "read_idx_labels", "read_idx_pair", "write_idx",
    "Reviews", "Vocab", "CharTokenizer", "CharLMDataset", "pad_sequences",
    "NumberTranslation", "english_number", "chinese_number",
    "noisy_line", "binary_points", "moons", "circles", "spirals", "blobs",
    "ChannelViews", "Shapes", "SinusoidTasks", "SinusoidBatch", "sinusoid",
    "HMMFrames", "concat_frames",
    "DatasetError", "CorruptFileError", "DatasetNotFoundError", "DataFallbackWarning",
]
