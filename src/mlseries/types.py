"""`torch.types`: the type aliases annotations in PyTorch programs import."""
from typing import List, Sequence, Tuple, Union

from ._device import device as _device_cls
from ._dtype import dtype as _dtype
from ._tensor import Size, Tensor

__all__ = ["Number", "Device", "_size", "_int", "_float", "_bool", "_complex", "_dtype", "_device"]

Number = Union[int, float, bool]
_int, _float, _bool, _complex = int, float, bool, complex
_device = _device_cls
_size = Union[Size, List[int], Tuple[int, ...]]
_shape = Union[Size, Sequence[int]]
Device = Union[_device_cls, str, int, None]
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]

