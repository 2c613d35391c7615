"""Data types with PyTorch's names, each backed by a NumPy dtype, and PyTorch's promotion rules."""
import builtins

import numpy as np


class dtype:
    """A tensor element type: `mlseries.float32` and friends. Compares by identity, like torch.dtype."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"mlseries.{self.name}"

    def __reduce__(self):
        return self.name


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name


class _NameOnlyDtype(dtype):
    """A PyTorch dtype that NumPy cannot compute in. It exists so that programs can name and
    compare it (`torch.bfloat16 if cuda_has_bf16 else torch.float32`); anything that needs its
    arithmetic (a cast, a factory) asks for `.np` and gets a clear refusal."""

    __slots__ = ()

    def __init__(self, name, itemsize):
        self.name = name
        self.is_floating_point = True
        self.is_signed = True
        self.itemsize = itemsize

    @property
    def np(self):
        raise TypeError(f"mlseries has no {self.name} arithmetic (NumPy has no such type); use mlseries.float32, "
                        "or mlseries.float16 to halve memory")


bfloat16 = _NameOnlyDtype("bfloat16", 2)

ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(float=float32, double=float64, half=float16, long=int64, int=int32, bfloat16=bfloat16)

default_float = float32


def from_np(np_dtype):
    """The mlseries dtype of a NumPy dtype; complex and object arrays are refused."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"unsupported element type {np_dtype!r}: mlseries tensors hold "
                        f"{', '.join(d.name for d in ALL)}") from None


def to_np(d):
    """Accepts an mlseries dtype, a NumPy dtype, a Python type or a name; returns a NumPy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return default_float.np
    if d is int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d].np
    return from_np(d).np


def _category(npd):
    return 2 if npd.kind == "f" else (1 if npd.kind in "iu" else 0)


def promote(a, b):
    """PyTorch's result type for two tensor dtypes: floats beat integers beat bool, then the wider wins.

    NumPy differs (int64 + float32 gives float64 there), hence this table.
    """
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def category(npd):
    return _category(npd)
