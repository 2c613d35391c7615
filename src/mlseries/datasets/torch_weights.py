"""Reading the tensors of a PyTorch checkpoint (`.pth`) without PyTorch and without running it.

`torch.save` writes a pickle whose tensors point at raw storage bytes. Two layouts exist:

- the legacy one (before PyTorch 1.6): five pickles in a row — a magic number, the protocol
  version (1001), a little dict about the machine, the object itself, the list of storage keys —
  then each storage as an 8-byte element count and its bytes;
- the zip one: `<archive>/data.pkl` and one file `<archive>/data/<key>` per storage.

Either way the object pickle names a few PyTorch functions (`torch._utils._rebuild_tensor_v2`,
`torch.FloatStorage`, `collections.OrderedDict`) and refers to storages by persistent id. Here
those names are mapped to small NumPy builders and every other name is refused, exactly as in
`safe_pickle`: no code from the file runs, and PyTorch need not be installed.

    state = read_torch_weights(path)      # {"module.basenet.slice1.0.weight": float32 array, ...}
"""

import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, DatasetNotFoundError
from .safe_pickle import UnsafePickleError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands in for torch.FloatStorage & co.: only its dtype matters."""

    def __init__(self, name):
        self.name, self.dtype = name, np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A storage named by a persistent id; its bytes are filled in once they are read."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, int(numel)
        self.array = None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *rest):
    # _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks, *rest):
    return data


class _TorchUnpickler(pickle.Unpickler):
    def __init__(self, file, name, storages, legacy):
        super().__init__(file, encoding="utf-8")
        self.name, self.storages, self.legacy = name, storages, legacy

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name == "BFloat16Storage":
            raise CorruptFileError(f"{self.name}: holds bfloat16 tensors, which NumPy has no type for")
        raise UnsafePickleError(f"{self.name}: refused: the checkpoint asks for {module}.{name}; "
                                f"only tensors, storages and OrderedDict are allowed, and nothing "
                                f"in the file was run")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 5):
            raise UnsafePickleError(f"{self.name}: refused: unknown persistent id {str(pid)[:80]}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise CorruptFileError(f"{self.name}: storage {key} has no storage type")
        view = pid[5] if len(pid) > 5 else None
        if view is not None:   # legacy: a view into another storage (key, offset, size)
            raise CorruptFileError(f"{self.name}: storage views are not supported")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, storage_type.dtype, numel)
        return storage


def _materialise(obj, name):
    """Replace every _TensorRef by a NumPy array copied out of its storage, checking bounds."""
    if isinstance(obj, _TensorRef):
        s = obj.storage
        if s.array is None:
            raise CorruptFileError(f"{name}: storage {s.key} was never written")
        extent = obj.offset + sum((n - 1) * st for n, st in zip(obj.size, obj.stride)) + 1
        if obj.size and min(obj.size) == 0:
            extent = obj.offset
        if obj.offset < 0 or extent > s.array.size:
            raise CorruptFileError(f"{name}: a tensor of shape {obj.size} reaches element "
                                   f"{extent} of a storage of {s.array.size}")
        itemsize = s.array.itemsize
        view = np.lib.stride_tricks.as_strided(
            s.array[obj.offset:], shape=obj.size, strides=[st * itemsize for st in obj.stride])
        return np.array(view)           # a contiguous copy that owns its data
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _materialise(v, name)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, name) for v in obj)
    return obj


def _load_plain(f, name):
    """The small pickles around the legacy object: numbers, strings, dicts only."""
    class Plain(pickle.Unpickler):
        def find_class(self, module, cls):
            raise UnsafePickleError(f"{name}: refused: the header asks for {module}.{cls}")
    return Plain(f).load()


def _read_legacy(f, name):
    magic = _load_plain(f, name)
    if magic != LEGACY_MAGIC:
        raise CorruptFileError(f"{name}: not a PyTorch checkpoint (wrong magic number)")
    protocol = _load_plain(f, name)
    if protocol != LEGACY_PROTOCOL:
        raise CorruptFileError(f"{name}: unknown checkpoint protocol {protocol}")
    info = _load_plain(f, name)
    if isinstance(info, dict) and not info.get("little_endian", True):
        raise CorruptFileError(f"{name}: written on a big-endian machine; not supported")
    storages = {}
    obj = _TorchUnpickler(f, name, storages, legacy=True).load()
    keys = _load_plain(f, name)
    for key in keys:
        s = storages.get(key)
        if s is None:
            raise CorruptFileError(f"{name}: the storage list names {key}, which no tensor uses")
        head = f.read(8)
        if len(head) < 8:
            raise CorruptFileError(f"{name}: truncated before storage {key}")
        (numel,) = struct.unpack("<q", head)
        nbytes = numel * s.dtype.itemsize
        data = f.read(nbytes)
        if len(data) < nbytes:
            raise CorruptFileError(f"{name}: truncated: storage {key} needs {nbytes:,} bytes, "
                                   f"the file has {len(data):,} left")
        s.array = np.frombuffer(data, dtype=s.dtype.newbyteorder("<"), count=numel)
    return obj


def _read_zip(path, name):
    with zipfile.ZipFile(path) as z:
        pickles = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise CorruptFileError(f"{name}: a zip, but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][:-len("data.pkl")]
        storages = {}
        with z.open(pickles[0]) as f:
            obj = _TorchUnpickler(f, name, storages, legacy=False).load()
        for key, s in storages.items():
            member = f"{prefix}data/{key}"
            try:
                data = z.read(member)
            except KeyError:
                raise CorruptFileError(f"{name}: storage file {member} is missing") from None
            if len(data) < s.numel * s.dtype.itemsize:
                raise CorruptFileError(f"{name}: storage {key} has {len(data):,} bytes, "
                                       f"needs {s.numel * s.dtype.itemsize:,}")
            s.array = np.frombuffer(data, dtype=s.dtype.newbyteorder("<"), count=s.numel)
    return obj


def read_torch_weights(path):
    """The object saved by `torch.save` (typically a state dict: names -> NumPy arrays), from
    either checkpoint layout, with tensors as NumPy arrays. Refuses anything but tensors."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file")
    name = f"{path.name} [{path}]"
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path, name)
        else:
            with open(path, "rb") as f:
                obj = _read_legacy(f, name)
    except (UnsafePickleError, CorruptFileError):
        raise
    except EOFError:
        raise CorruptFileError(f"{name}: truncated: the file ends inside a pickle") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, ValueError, TypeError, KeyError,
            IndexError, AttributeError, struct.error) as e:
        raise CorruptFileError(f"{name}: not a readable PyTorch checkpoint "
                               f"({type(e).__name__}: {e})") from None
    return _materialise(obj, name)
