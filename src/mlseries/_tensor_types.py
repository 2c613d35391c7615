"""PyTorch's legacy tensor types: `FloatTensor`, `LongTensor`, ... .

Each is a class in name only: calling it makes an ordinary `Tensor` of its dtype (from sizes or
from data, as `torch.FloatTensor(2, 3)` and `torch.LongTensor([1, 2])` do), and `isinstance(x,
FloatTensor)` asks whether `x` is a float32 tensor. `x.type(FloatTensor)` casts.
"""
from . import _device
from ._tensor import _LEGACY_NAMES, Tensor, _legacy_array


class _LegacyTensorType(type):
    def __call__(cls, *args, device=None):
        _device.check(device, f"{cls.__name__}(): ")
        return Tensor._make(_legacy_array(args, cls._legacy_dtype, cls.__name__))

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls._legacy_dtype

    def __repr__(cls):
        return f"<class 'mlseries.{cls.__name__}'>"


def _make(npd, name):
    # Not a subclass of Tensor (as in PyTorch): only isinstance() is answered by dtype.
    return _LegacyTensorType(name, (), {"_legacy_dtype": npd, "__module__": "mlseries", "__qualname__": name})


_TYPES = {name: _make(npd, name) for npd, name in _LEGACY_NAMES.items()}
FloatTensor = _TYPES["FloatTensor"]
DoubleTensor = _TYPES["DoubleTensor"]
HalfTensor = _TYPES["HalfTensor"]
LongTensor = _TYPES["LongTensor"]
IntTensor = _TYPES["IntTensor"]
ShortTensor = _TYPES["ShortTensor"]
CharTensor = _TYPES["CharTensor"]
ByteTensor = _TYPES["ByteTensor"]
BoolTensor = _TYPES["BoolTensor"]


class _CudaTensorType(type):
    """`torch.cuda.FloatTensor` and friends: nameable (old code picks a type by
    `torch.cuda.is_available()`), never an instance's type, refused when called."""

    def __call__(cls, *args, **kwargs):
        raise _device.refuse(f"torch.cuda.{cls.__name__}(...)")

    def __instancecheck__(cls, obj):
        return False

    def __repr__(cls):
        return f"<class 'mlseries.cuda.{cls.__name__}'>"


CUDA_TYPES = {name: _CudaTensorType(name, (), {"__module__": "mlseries.cuda", "_is_cuda_type": True})
              for name in _LEGACY_NAMES.values()}

__all__ = list(_TYPES)
