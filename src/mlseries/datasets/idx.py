"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values in
C order. The magic number's third byte is the value type and its fourth the number of
dimensions, so labels (uint8, 1-D) are 0x00000801 = 2049 and images (uint8, 3-D) 0x00000803 =
2051. Files may be gzip-compressed; a name ending in `.gz` is read through gzip.

Everything that can be wrong with a file is checked before its values are used, and the error
names the file: a learner with a half-downloaded file should learn that, not get a reshape error.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

from .._atomic import write_bytes
from .errors import CorruptFileError, DatasetNotFoundError

LABELS_MAGIC = 2049
IMAGES_MAGIC = 2051

# value-type byte -> big-endian NumPy dtype
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}


def _read_bytes(path):
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except EOFError:
        raise CorruptFileError(
            f"{path.name}: truncated: the gzip stream ends before its end marker "
            f"(an interrupted download?) [{path}]") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise CorruptFileError(f"{path.name}: not a valid gzip file ({e}) [{path}]") from None


def _dims_text(dims):
    return "×".join(str(d) for d in dims) if dims else "a scalar"


def parse_idx(raw, name="<bytes>", magic=None):
    """Decode IDX bytes into a NumPy array (native byte order); `name` is used in errors.

    `magic`, when given, is the magic number the caller expects (2049 or 2051).
    """
    if len(raw) < 4:
        raise CorruptFileError(f"{name}: truncated: {len(raw)} bytes, not even a 4-byte magic number")
    zero, type_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    found = int.from_bytes(raw[:4], "big")
    if zero != 0 or type_code not in _TYPES:
        expected = f" (expected {magic})" if magic is not None else ""
        raise CorruptFileError(
            f"{name}: wrong magic number {found} (0x{found:08x}){expected}: not an IDX file")
    if magic is not None and found != magic:
        what = {LABELS_MAGIC: "labels", IMAGES_MAGIC: "images"}
        raise CorruptFileError(
            f"{name}: wrong magic number {found}, expected {magic} "
            f"({what.get(magic, 'IDX')}): is this the {what.get(found, 'right')} file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(
            f"{name}: truncated: the header needs {header} bytes for {ndim} dimensions, "
            f"file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPES[type_code]
    # Python integers: four uint32 dimensions can multiply past 2^64, and an int64 product would
    # wrap around to a small or negative size that looks plausible
    expected = dtype.itemsize
    for d in dims:
        expected *= d
    body = len(raw) - header
    if body < expected:
        raise CorruptFileError(
            f"{name}: truncated: header says {_dims_text(dims)} = {expected} bytes of data, "
            f"file has {body}")
    if body > expected:
        raise CorruptFileError(
            f"{name}: {body - expected} unexpected bytes after the data: header says "
            f"{_dims_text(dims)} = {expected} bytes, file has {body}")
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a writable, native-order copy


def read_idx(path, magic=None):
    """Read one IDX file (raw or `.gz`) into a NumPy array, checking it thoroughly."""
    path = Path(path)
    return parse_idx(_read_bytes(path), name=path.name, magic=magic)


def read_idx_images(path):
    """An images file: magic 2051 and three dimensions (N, rows, cols); uint8."""
    return read_idx(path, magic=IMAGES_MAGIC)


def read_idx_labels(path):
    """A labels file: magic 2049 and one dimension (N,); uint8."""
    return read_idx(path, magic=LABELS_MAGIC)


def read_idx_pair(images_path, labels_path, num_classes=None):
    """Images and their labels, checked against each other: same count, labels in range."""
    images, labels = read_idx_images(images_path), read_idx_labels(labels_path)
    images_name, labels_name = Path(images_path).name, Path(labels_path).name
    if len(images) != len(labels):
        raise CorruptFileError(
            f"{labels_name}: {len(labels)} labels but {images_name} has {len(images)} images: "
            f"the two files do not belong together")
    if num_classes is not None and len(labels) and int(labels.max()) >= num_classes:
        raise CorruptFileError(
            f"{labels_name}: label {int(labels.max())} is outside 0..{num_classes - 1}")
    return images, labels


def write_idx(path, array):
    """Write an array as an IDX file (gzip-compressed when the name ends in `.gz`).

    The file appears complete or not at all: it is written beside the target and renamed.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code "
                        f"(use uint8, int8, int16, int32, float32 or float64)")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    return write_bytes(path, payload)   # a unique temporary file, the usual file mode, one rename
