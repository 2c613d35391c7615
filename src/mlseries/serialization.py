"""`save` / `load`: checkpoints that hold arrays only.

A checkpoint is an `.npz` archive: every tensor is an array entry, and the nesting (dicts, lists,
numbers, strings) is a JSON document stored as one more array. Nothing is pickled, so loading a
file can never run code, and a file that would need unpickling is refused. Writes go to a
temporary file in the same folder that is then renamed over the target, so a crash mid-write
never leaves a half-written checkpoint.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from ._tensor import Tensor

_META = "__mlseries__"


class CheckpointError(ValueError):
    """A file that is not a valid mlseries checkpoint."""


def _encode(obj, arrays):
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        key = f"t{len(arrays)}"
        arr = obj._data if isinstance(obj, Tensor) else obj
        if arr.dtype.kind == "O":
            raise TypeError("save: object arrays cannot be stored (they would need pickle)")
        arrays[key] = arr  # np.savez copes with any layout; ascontiguousarray would make 0-d arrays 1-d
        return {"$tensor" if isinstance(obj, Tensor) else "$ndarray": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dictionary keys must be str or int, got {type(k).__name__}")
            items.append([k, _encode(v, arrays)])
        return {"$dict": items}
    if isinstance(obj, (list, tuple)):
        return {"$list" if isinstance(obj, list) else "$tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__}; checkpoints hold tensors, arrays, numbers, "
                    "strings, None and dicts/lists/tuples of them")


def _decode(node, arrays):
    if isinstance(node, dict):
        if "$tensor" in node:
            return Tensor._make(arrays[node["$tensor"]])
        if "$ndarray" in node:
            return arrays[node["$ndarray"]]
        if "$dict" in node:
            return {k: _decode(v, arrays) for k, v in node["$dict"]}
        if "$list" in node:
            return [_decode(v, arrays) for v in node["$list"]]
        if "$tuple" in node:
            return tuple(_decode(v, arrays) for v in node["$tuple"])
        raise CheckpointError(f"unknown entry in checkpoint structure: {sorted(node)}")
    return node


def save(obj, f):
    """Write a state dict (or any nesting of tensors, arrays, numbers and strings) to `f`."""
    arrays = {}
    meta = json.dumps(_encode(obj, arrays))
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    if hasattr(f, "write"):
        np.savez(f, **arrays)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(f, map_location=None, weights_only=True):
    """Read what `save` wrote. Pickled files (such as `torch.save` output) are refused, not run."""
    name = getattr(f, "name", None) or os.fspath(f) if not hasattr(f, "read") else getattr(f, "name", "<file>")
    if not hasattr(f, "read") and not os.path.exists(f):
        raise FileNotFoundError(f"checkpoint not found: {name}")
    try:
        with np.load(f, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise CheckpointError(f"{name}: not an mlseries checkpoint (a bare .npy array, not an archive)")
            if _META not in z.files:
                hint = (" It looks like a PyTorch checkpoint (a zip holding a pickle); mlseries never unpickles, "
                        "because loading a pickle can run arbitrary code." if any(n.endswith(".pkl") for n in z.files)
                        else "")
                raise CheckpointError(f"{name}: not an mlseries checkpoint (no {_META} entry).{hint}")
            arrays = {k: z[k] for k in z.files}
    except CheckpointError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise CheckpointError(f"{name}: the file holds pickled Python objects; mlseries refuses to load it "
                                  "because unpickling can run arbitrary code. Save with mlseries.save.") from None
        raise CheckpointError(f"{name}: corrupt or unreadable checkpoint ({e})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"{name}: corrupt or truncated checkpoint ({type(e).__name__}: {e})") from None
    try:
        structure = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{name}: the checkpoint's structure entry is corrupt ({e})") from None
    return _decode(structure, arrays)
