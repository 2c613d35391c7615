"""The course's feature files are `torch.save`d tensors: reading one without PyTorch, writing one for tests.

HW2's `libriphone/feat/<split>/<id>.pt` and HW4's `uttr-*.pt` each hold one float tensor of shape
(frames, dims), saved by `torch.save` in its zip layout (PyTorch ≥ 1.6). The engine's
`read_torch_weights` (datasets/torch_weights.py) reads that layout, and the legacy one, with a
restricted unpickler that runs nothing from the file; here its errors become `LabDataError`s that
name the file, as every `--data` problem does.

`write_torch_tensor` writes the same zip layout from a NumPy array (the pickle is written opcode
by opcode, because PyTorch's names cannot be pickled without PyTorch): the labs' tests generate
small course-format data sets with it.
"""
import struct
import zipfile

import numpy as np

from ..datasets.errors import CorruptFileError, DatasetNotFoundError
from ..datasets.safe_pickle import UnsafePickleError
from ..datasets.torch_weights import read_torch_weights
from .data import LabDataError


def read_matrix(path, dims=None, what="a (frames, dims) float tensor"):
    """The 2-D float32 array saved in the .pt file `path`; LabDataError if it is not one (or,
    with `dims`, if its second size is not `dims`)."""
    try:
        obj = read_torch_weights(path)
    except (CorruptFileError, UnsafePickleError, DatasetNotFoundError) as e:
        raise LabDataError(f"{path}: not a readable torch.save file ({e}); expected {what}") from None
    if not isinstance(obj, np.ndarray):
        raise LabDataError(f"{path}: holds a {type(obj).__name__}, expected {what}")
    if obj.ndim != 2 or (dims is not None and obj.shape[1] != dims) or obj.shape[0] == 0:
        raise LabDataError(f"{path}: holds a tensor of shape {tuple(obj.shape)}, expected {what}")
    if obj.dtype.kind != "f":
        raise LabDataError(f"{path}: holds {obj.dtype} numbers, expected {what}")
    return obj.astype(np.float32)


def _unicode(s):
    data = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data          # BINUNICODE


def _int(n):
    return b"J" + struct.pack("<i", n)                          # BININT


def _tuple(items):
    return b"(" + b"".join(items) + b"t"                        # MARK ... TUPLE


def write_torch_tensor(path, array):
    """Write `array` (float32) as `torch.save(torch.tensor(array), path)` would: a zip holding
    archive/data.pkl (a protocol-2 pickle calling torch._utils._rebuild_tensor_v2 on a storage
    named by persistent id) and archive/data/0 (the raw little-endian bytes)."""
    array = np.ascontiguousarray(array, dtype="<f4")
    strides = [s // 4 for s in array.strides]
    pickle = (b"\x80\x02"                                                    # PROTO 2
              + b"ctorch._utils\n_rebuild_tensor_v2\n"                       # GLOBAL
              + b"(" + _tuple([_unicode("storage"), b"ctorch\nFloatStorage\n", _unicode("0"),
                               _unicode("cpu"), _int(array.size)]) + b"Q"    # BINPERSID
              + _int(0) + _tuple([_int(n) for n in array.shape]) + _tuple([_int(s) for s in strides])
              + b"\x89" + b"ccollections\nOrderedDict\n)R"                   # False, OrderedDict()
              + b"tR.")                                                      # args, call, STOP
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle)
        z.writestr("archive/data/0", array.tobytes())
        z.writestr("archive/version", "3\n")
