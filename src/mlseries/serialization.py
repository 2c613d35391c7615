"""`save` / `load`: checkpoints that hold arrays and plain data only.

A checkpoint is an `.npz` archive: every array is an entry, and the structure around them
(dicts, lists, numbers, strings, modules) is a JSON document stored as one more entry. Nothing is
pickled, so loading a file can never run code, and a file that would need unpickling is refused.
Writes go to a temporary file in the same folder that is then renamed over the target, so a crash
mid-write never leaves a half-written checkpoint.

Whole modules (`save(model, path)`) are recorded as a tree: each module by its class's
`module:qualname` and its attributes (parameters, buffers, child modules, plain settings such as
sizes and flags, functions by reference). `load(path, weights_only=False)` rebuilds the tree
without calling any `__init__`: it only looks classes up in modules the program has already
imported, accepts only `mlseries.nn.Module` subclasses (and functions from mlseries), and refuses
anything else with a message — unless the program registered it with `add_safe_globals`.

Objects referenced twice (tied weights, a shared submodule, two tensors over the same array) are
stored once and come back shared.
"""
import collections
import errno
import json
import os
import sys
import types
import zipfile
import zlib

import numpy as np

from . import _device, _dtype
from ._atomic import atomic_write
from ._tensor import Size, Tensor

_META = "__mlseries__"


class CheckpointError(ValueError):
    """A file that is not a valid mlseries checkpoint, or that names something loading may not rebuild."""


# ---- references to classes and functions ---------------------------------------------------------
_SAFE_GLOBALS = {}


def _ref_name(obj):
    return f"{getattr(obj, '__module__', None)}:{getattr(obj, '__qualname__', None)}"


def add_safe_globals(safe_globals):
    """Allow checkpoints to name these classes or functions (as PyTorch's add_safe_globals):
    Module subclasses are allowed anyway; this is for functions outside mlseries held by a
    module (say an activation function of your own)."""
    for obj in safe_globals:
        if isinstance(obj, tuple):  # PyTorch's (object, "name") form
            obj = obj[0]
        _SAFE_GLOBALS[_ref_name(obj)] = obj


def get_safe_globals():
    return list(_SAFE_GLOBALS.values())


def clear_safe_globals():
    _SAFE_GLOBALS.clear()


class safe_globals:
    """`with safe_globals([fn]):` allows `fn` for the loads inside the block."""

    def __init__(self, safe_globals):
        self._objs = list(safe_globals)

    def __enter__(self):
        self._saved = dict(_SAFE_GLOBALS)
        add_safe_globals(self._objs)
        return self

    def __exit__(self, *exc):
        _SAFE_GLOBALS.clear()
        _SAFE_GLOBALS.update(self._saved)
        return False


def _lookup(ref):
    """The object `module:qualname` names, found only in an already imported module and only by
    reading dictionaries (no attribute hooks, no imports: nothing from the file gets to run)."""
    modname, sep, qualname = ref.partition(":")
    if not sep or not qualname:
        raise CheckpointError(f"malformed reference {ref!r} in checkpoint")
    module = sys.modules.get(modname)
    if module is None:
        raise CheckpointError(f"the checkpoint names {qualname} from module {modname!r}, which this program has not "
                              f"imported; import {modname} (or define {qualname}) before loading — mlseries never "
                              "imports modules named by a file")
    obj = module
    for part in qualname.split("."):
        namespace = getattr(obj, "__dict__", None) if isinstance(obj, (types.ModuleType, type)) else None
        if namespace is None or part not in namespace:
            where = "this program's main script" if modname == "__main__" else f"module {modname!r}"
            raise CheckpointError(f"the checkpoint names {qualname}, which {where} does not define; define or import "
                                  "it before loading (as PyTorch requires for whole-model checkpoints)")
        obj = namespace[part]
    return obj


def _module_base():
    from .nn.module import Module
    return Module


def _in_mlseries(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "mlseries" or module.startswith("mlseries.")


def _check_reference(ref, kind, weights_only):
    """The class or function a checkpoint names, if loading may use it."""
    if ref in _SAFE_GLOBALS:
        return _SAFE_GLOBALS[ref]
    if weights_only:
        raise CheckpointError(
            f"the checkpoint holds a {'whole module' if kind == 'module' else kind} ({ref}); loading it rebuilds "
            "objects of classes named in the file, so — as with PyTorch 2.6+ — pass weights_only=False to allow "
            "it. mlseries then rebuilds only mlseries.nn.Module subclasses your program has already imported, "
            "without calling their __init__ or any other code")
    obj = _lookup(ref)
    Module = _module_base()
    if kind in ("module", "class"):
        if not (isinstance(obj, type) and issubclass(obj, Module)):
            raise CheckpointError(f"the checkpoint names {ref}, which is not an mlseries.nn.Module subclass; loading "
                                  "rebuilds only modules (register other classes with "
                                  "mlseries.serialization.add_safe_globals([...]) if you trust them)")
        return obj
    if not (isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) and _in_mlseries(obj)):
        raise CheckpointError(f"the checkpoint names the function {ref}, which is not part of mlseries; loading "
                              "refers only to mlseries' own functions (register others with "
                              "mlseries.serialization.add_safe_globals([fn]) if you trust them)")
    return obj


# ---- encoding ------------------------------------------------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays = {}
        self._array_keys = {}   # id(ndarray) -> key: tensors over the same array share one entry
        self._objects = {}      # id(obj) -> number, for tensors and modules referenced more than once
        self._keep = []         # keeps encoded objects alive so their ids stay unique

    def array_key(self, arr):
        if arr.dtype.kind == "O":
            raise TypeError("save: object arrays cannot be stored (they would need pickle)")
        key = self._array_keys.get(id(arr))
        if key is None:
            key = f"t{len(self.arrays)}"
            self.arrays[key] = arr  # np.savez copes with any layout; ascontiguousarray would make 0-d arrays 1-d
            self._array_keys[id(arr)] = key
            self._keep.append(arr)
        return key

    def _remember(self, obj):
        """None and a new number the first time `obj` is seen, else its reference node."""
        number = self._objects.get(id(obj))
        if number is not None:
            return {"$ref": number}, None
        number = len(self._objects)
        self._objects[id(obj)] = number
        self._keep.append(obj)
        return None, number

    def encode(self, obj, path):
        from .nn.parameter import Parameter
        if isinstance(obj, Tensor):
            ref, number = self._remember(obj)
            if ref is not None:
                return ref
            kind = type(obj)
            uninitialized = getattr(obj, "_is_uninitialized", False)
            if kind not in (Tensor, Parameter) and not uninitialized:
                raise TypeError(f"save: cannot store {path}, a {kind.__name__} (a Tensor subclass); convert it with "
                                "Tensor._make(x.numpy()) or store x.numpy()")
            node = {"$param" if isinstance(obj, Parameter) else "$tensor": self.array_key(obj._data), "id": number}
            if obj.requires_grad and (obj.grad_fn is None or isinstance(obj, Parameter)):
                node["requires_grad"] = True
            elif isinstance(obj, Parameter):
                node["requires_grad"] = False
            if uninitialized:
                node["uninitialized"] = True
            return node
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self.array_key(obj)}
        if isinstance(obj, _module_base()):
            return self.encode_module(obj, path)
        if isinstance(obj, (dict, collections.OrderedDict)):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise TypeError(f"save: dictionary keys must be str or int, got {type(k).__name__} in {path}")
                items.append([k, self.encode(v, f"{path}[{k!r}]")])
            return {"$odict" if type(obj) is collections.OrderedDict else "$dict": items}
        if isinstance(obj, Size):
            return {"$size": [int(s) for s in obj]}
        if isinstance(obj, (list, tuple)):
            if isinstance(obj, tuple) and type(obj) is not tuple:
                raise TypeError(f"save: cannot store {path}, a {type(obj).__name__} (a named tuple); store a dict")
            tag = "$list" if isinstance(obj, list) else "$tuple"
            return {tag: [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, (set, frozenset)):
            tag = "$set" if isinstance(obj, set) else "$frozenset"
            return {tag: [self.encode(v, f"{path} element") for v in sorted(obj, key=repr)]}
        if isinstance(obj, np.generic):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, _dtype.dtype):
            return {"$dtype": obj.name}
        if isinstance(obj, np.dtype) and obj.kind in "biuf":
            return {"$npdtype": obj.str}
        if isinstance(obj, _device.device):
            return {"$device": str(obj)}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
            return {"$function": self.reference(obj, "function", path)}
        if isinstance(obj, type) and issubclass(obj, _module_base()):
            return {"$class": self.reference(obj, "class", path)}
        raise TypeError(f"save: cannot store a {type(obj).__name__} ({path}); checkpoints hold tensors, arrays, "
                        "numbers, strings, None, dicts/lists/tuples of them, and modules")

    def reference(self, obj, kind, path):
        ref = _ref_name(obj)
        qualname = getattr(obj, "__qualname__", "")
        if "<" in qualname:
            raise TypeError(f"save: {path} is {qualname}, defined inside a function or as a lambda, so a checkpoint "
                            "cannot refer to it by name; define it at module level")
        if ref in _SAFE_GLOBALS:
            return ref
        try:
            found = _lookup(ref)
        except CheckpointError:
            found = None
        if found is not obj:
            raise TypeError(f"save: {path} ({qualname}) cannot be found again by its name {ref}; define it at "
                            "module level")
        if kind == "function" and not _in_mlseries(obj):
            raise TypeError(f"save: {path} is the function {ref}, which is not part of mlseries; a checkpoint may "
                            "refer only to mlseries' functions, so loading could not rebuild it. Register it on both "
                            "sides with mlseries.serialization.add_safe_globals([fn]) if you trust it")
        return ref

    def encode_module(self, module, path):
        ref, number = self._remember(module)
        if ref is not None:
            return ref
        cls_ref = self.reference(type(module), "class", f"{path} (class {type(module).__qualname__})")
        items = []
        for name, value in vars(module).items():
            if name in ("_parameters", "_buffers", "_modules"):
                # Named as the user knows them: model.encoder.weight, not model._modules['encoder']...
                table = [[k, self.encode(v, f"{path}.{k}")] for k, v in value.items()]
                items.append([name, {"$dict": table}])
            else:
                items.append([name, self.encode(value, f"{path}.{name}")])
        return {"$module": cls_ref, "id": number, "state": items}


# ---- decoding ------------------------------------------------------------------------------------
_TAGS = ("$tensor", "$param", "$ndarray", "$dict", "$odict", "$list", "$tuple", "$set", "$frozenset", "$size",
         "$dtype", "$npdtype", "$device", "$function", "$class", "$module", "$ref")


_CONTAINERS = ("$dict", "$odict", "$list", "$tuple", "$set", "$frozenset", "$size")


class _Decoder:
    def __init__(self, arrays, weights_only):
        self.arrays = arrays
        self.weights_only = weights_only
        self.objects = {}

    def array(self, key):
        try:
            return self.arrays[key]
        except (KeyError, TypeError):
            raise CheckpointError(f"the checkpoint's structure refers to a missing array entry {key!r}") from None

    def remember(self, node, obj):
        if "id" in node:
            self.objects[node["id"]] = obj
        return obj

    def decode(self, node):
        if isinstance(node, list):
            raise CheckpointError("unexpected bare list in checkpoint structure")
        if not isinstance(node, dict):
            return node
        tag = next((t for t in _TAGS if t in node), None)
        if tag is None:
            raise CheckpointError(f"unknown entry in checkpoint structure: {sorted(node)}")
        value = node[tag]
        if tag in _CONTAINERS and not isinstance(value, list):
            raise CheckpointError(f"malformed {tag} entry in checkpoint structure (a {type(value).__name__}, "
                                  "not a list)")
        if tag == "$ref":
            if value not in self.objects:
                raise CheckpointError(f"the checkpoint's structure refers to object {value!r} before defining it")
            return self.objects[value]
        if tag in ("$tensor", "$param"):
            return self.remember(node, self.tensor(tag, node))
        if tag == "$ndarray":
            return self.array(value)
        if tag in ("$dict", "$odict"):
            out = {} if tag == "$dict" else collections.OrderedDict()
            for item in value:
                if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], (str, int)):
                    raise CheckpointError(f"malformed {tag} item in checkpoint structure: {str(item)[:60]}")
                out[item[0]] = self.decode(item[1])
            return out
        if tag == "$list":
            return [self.decode(v) for v in value]
        if tag == "$tuple":
            return tuple(self.decode(v) for v in value)
        if tag == "$set":
            return {self.decode(v) for v in value}
        if tag == "$frozenset":
            return frozenset(self.decode(v) for v in value)
        if tag == "$size":
            return Size(int(v) for v in value)
        if tag == "$dtype":
            if value not in _dtype._BY_NAME:
                raise CheckpointError(f"unknown dtype {value!r} in checkpoint")
            return _dtype._BY_NAME[value]
        if tag == "$npdtype":
            npd = np.dtype(str(value))
            if npd.kind not in "biuf":
                raise CheckpointError(f"unsupported NumPy dtype {value!r} in checkpoint")
            return npd
        if tag == "$device":
            return _device.device(str(value))
        if tag == "$function":
            return _check_reference(str(value), "function", self.weights_only)
        if tag == "$class":
            return _check_reference(str(value), "class", self.weights_only)
        return self.module(node)

    def tensor(self, tag, node):
        from .nn.parameter import Parameter
        arr = self.array(node[tag])
        if tag == "$param":
            cls = Parameter
            if node.get("uninitialized"):
                from .nn.lazy import UninitializedParameter as cls
        else:
            cls = Tensor
            if node.get("uninitialized"):
                from .nn.lazy import UninitializedBuffer as cls
        t = object.__new__(cls)
        t._data, t.grad, t.grad_fn, t._vc, t._retains_grad = arr, None, None, [0], False
        t.requires_grad = bool(node.get("requires_grad", False))
        if t.requires_grad and arr.dtype.kind != "f":
            raise CheckpointError("the checkpoint marks an integer tensor as requiring gradients")
        return t

    def module(self, node):
        cls = _check_reference(str(node["$module"]), "module", self.weights_only)
        Module = _module_base()
        obj = object.__new__(cls)
        Module.__init__(obj)  # the base tables, so that a file from an older version still gives a whole module
        self.remember(node, obj)
        state = self.decode({"$dict": node.get("state", [])})
        from .nn.parameter import Parameter
        for table, kind in (("_parameters", Parameter), ("_buffers", Tensor), ("_modules", Module)):
            entries = state.get(table, {})
            if not isinstance(entries, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, kind))
                                                        for k, v in entries.items()):
                raise CheckpointError(f"the checkpoint's {cls.__qualname__} has a malformed {table} table")
        for name in state:
            if not isinstance(name, str):
                raise CheckpointError(f"the checkpoint's {cls.__qualname__} has a non-string attribute name")
        obj.__dict__.update(state)
        return obj


# ---- reading the archive -------------------------------------------------------------------------
# What an entry may hold: the engine's dtypes. Strings, complex numbers, dates, structured records and
# Python objects are refused (the last would need pickle).
_ALLOWED_DTYPES = {np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                         np.uint32, np.uint64, np.float16, np.float32, np.float64)}
_DEFLATE_MAX_RATIO = 1100   # deflate cannot expand data more than ~1032 times


def _describe_start(head):
    return " ".join(f"{b:02x}" for b in head[:8]) or "nothing"


def _sniff(f, name):
    """Refuse, with the reason, a file that is not a zip archive: a pickle, a bare .npy array, an
    empty file, or other bytes. Returns nothing for a zip archive."""
    if hasattr(f, "read"):
        pos = f.tell() if hasattr(f, "tell") else None
        head = f.read(8)
        if pos is not None:
            f.seek(pos)
    else:
        with open(f, "rb") as fh:
            head = fh.read(8)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return
    if not head:
        raise CheckpointError(f"{name}: empty file (0 bytes): not a checkpoint (an interrupted copy?)")
    if head[:6] == b"\x93NUMPY":
        raise CheckpointError(f"{name}: not an mlseries checkpoint (a bare .npy array, not an archive)")
    if head[0] == 0x80 and head[1] <= 5:
        raise CheckpointError(f"{name}: the file holds pickled Python objects; mlseries refuses to load it because "
                              "unpickling can run arbitrary code. Save with mlseries.save.")
    raise CheckpointError(f"{name}: corrupt or not a checkpoint: an mlseries checkpoint is a zip archive (.npz), "
                          f"but this file starts with bytes {_describe_start(head)}")


def _read_entry(zf, info, name, archive_size):
    """One .npy entry of the archive as a writable NumPy array, checked before anything is
    allocated: a known dtype, and a shape whose size matches the bytes the entry really holds
    (a 1 kB file whose header claims 10^12 elements is refused, not allocated)."""
    key = info.filename[:-4]
    where = f"{name}: entry {key!r}"
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise CheckpointError(f"{where} is corrupt: the archive lists {info.file_size} bytes stored as "
                              f"{info.compress_size}")
    if info.compress_size > archive_size or info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + (1 << 16):
        raise CheckpointError(f"{where} is corrupt: the archive lists {info.file_size:,} bytes in "
                              f"{info.compress_size:,} compressed bytes of a {archive_size:,}-byte file")
    with zf.open(info) as m:
        try:
            version = np.lib.format.read_magic(m)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except (ValueError, TypeError, SyntaxError, EOFError, OverflowError) as e:
            raise CheckpointError(f"{where} has a corrupt array header ({e})") from None
        if dtype.hasobject:
            raise CheckpointError(f"{name}: the file holds pickled Python objects (entry {key!r} is an object "
                                  "array); mlseries refuses to load it because unpickling can run arbitrary code")
        if dtype.newbyteorder("=") not in _ALLOWED_DTYPES:
            kind = {"U": "a string", "S": "a byte-string", "c": "a complex", "M": "a datetime", "m": "a timedelta",
                    "V": "a structured (record)"}.get(dtype.kind, "an unsupported")
            raise CheckpointError(f"{where} is {kind} array ({dtype}); checkpoints hold only bool, integer and "
                                  "floating-point arrays")
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        header = m.tell()
        if nbytes != info.file_size - header:
            raise CheckpointError(f"{where} is corrupt: its header says shape {tuple(shape)} of {dtype} "
                                  f"({nbytes:,} bytes), but the entry holds {info.file_size - header:,} bytes")
        buffer = bytearray(nbytes)
        view, got = memoryview(buffer), 0
        while got < nbytes:
            n = m.readinto(view[got:])
            if not n:
                raise CheckpointError(f"{where} is truncated: {got:,} of {nbytes:,} bytes")
            got += n
        if m.read(1):
            raise CheckpointError(f"{where} is corrupt: more bytes than its header says")
    arr = np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    return key, arr


def _read_archive(f, name):
    """{entry name: array} for every .npy entry of the archive."""
    _sniff(f, name)
    if hasattr(f, "read"):
        pos = f.tell() if hasattr(f, "tell") else 0
        f.seek(0, os.SEEK_END)
        size = f.tell() - pos
        f.seek(pos)
    else:
        size = os.path.getsize(f)
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if _META not in {n[:-4] for n in names if n.endswith(".npy")}:
            hint = (" It looks like a PyTorch checkpoint (a zip holding a pickle); mlseries never unpickles, "
                    "because loading a pickle can run arbitrary code." if any(n.endswith(".pkl") for n in names)
                    else "")
            raise CheckpointError(f"{name}: not an mlseries checkpoint (no {_META} entry).{hint}")
        arrays = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise CheckpointError(f"{name}: unexpected entry {info.filename!r} in the archive (an mlseries "
                                      "checkpoint holds only .npy arrays)")
            key, arr = _read_entry(zf, info, name, size)
            arrays[key] = arr
    return arrays


def _structure(arrays, name):
    meta = arrays.pop(_META)
    if meta.dtype != np.uint8 or meta.ndim != 1:
        raise CheckpointError(f"{name}: the checkpoint's structure entry is corrupt (a {meta.dtype} array of shape "
                              f"{meta.shape}, not UTF-8 bytes)")
    try:
        return json.loads(meta.tobytes().decode("utf-8"))
    except RecursionError:
        raise CheckpointError(f"{name}: the checkpoint's structure is nested too deeply to be a real checkpoint "
                              "(corrupt or crafted)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{name}: the checkpoint's structure entry is corrupt ({e})") from None


# ---- the public functions ------------------------------------------------------------------------
def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write `obj` to `f` (a path or a binary file): a state dict, an optimizer's state dict, a
    whole module, or any nesting of tensors, arrays, numbers and strings. The pickle arguments
    are accepted for PyTorch code and ignored: nothing is pickled.

    A path is written atomically (a unique temporary file renamed over it) with the mode an
    ordinary new file gets (0644 under umask 022); an existing read-only file is not replaced
    (PermissionError)."""
    encoder = _Encoder()
    meta = json.dumps(encoder.encode(obj, type(obj).__name__ if isinstance(obj, _module_base()) else "checkpoint"))
    arrays = encoder.arrays
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    if hasattr(f, "write"):
        np.savez(f, **arrays)
        return
    atomic_write(os.fspath(f), lambda fh: np.savez(fh, **arrays))


def _check_map_location(map_location):
    """Only the CPU exists: a map to another device is refused; functions (PyTorch's
    `lambda storage, loc: storage` idiom) are accepted and not called."""
    if map_location is None or callable(map_location):
        return
    if isinstance(map_location, dict):
        for target in map_location.values():
            _device.check(target, "load(map_location=...): ")
        return
    _device.check(map_location, "load(map_location=...): ")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read what `save` wrote. Pickled files (such as `torch.save` output) are refused, not run.

    `weights_only` defaults to True, as in PyTorch 2.6+: a checkpoint holding a whole module
    then needs `weights_only=False`, which lets loading rebuild imported mlseries modules.

    Anything wrong with the file — truncated, corrupt, crafted, not a checkpoint — raises
    `CheckpointError` naming the file; every array's size is checked against the bytes the file
    really holds before memory is allocated for it.
    """
    _check_map_location(map_location)
    weights_only = True if weights_only is None else bool(weights_only)
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file>")
    else:
        name = os.fspath(f)
        if not os.path.exists(name):
            raise FileNotFoundError(errno.ENOENT, f"checkpoint not found: {name}", name)
        if os.path.isdir(name):
            raise IsADirectoryError(errno.EISDIR, f"{name} is a folder, not a checkpoint file", name)
        if not os.path.isfile(name):   # a FIFO or a device would block or never end: not a checkpoint
            raise CheckpointError(f"{name}: not a regular file (a pipe, socket or device), so not a checkpoint")
    try:
        arrays = _read_archive(f, name)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError, NotImplementedError,
            zlib.error, RuntimeError) as e:
        raise CheckpointError(f"{name}: corrupt or truncated checkpoint ({type(e).__name__}: {e})") from None
    except OSError as e:
        if isinstance(e, (PermissionError, IsADirectoryError, FileNotFoundError)):
            raise
        raise CheckpointError(f"{name}: corrupt or unreadable checkpoint ({type(e).__name__}: {e})") from None
    structure = _structure(arrays, name)
    try:
        return _Decoder(arrays, weights_only).decode(structure)
    except CheckpointError as e:
        raise CheckpointError(f"{name}: {e}") from None
    except RecursionError:
        raise CheckpointError(f"{name}: the checkpoint's structure is nested too deeply to be a real checkpoint "
                              "(corrupt or crafted)") from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{name}: malformed checkpoint structure ({type(e).__name__}: {e})") from None


__all__ = ["save", "load", "CheckpointError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]
