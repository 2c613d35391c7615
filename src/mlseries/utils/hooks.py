"""`torch.utils.hooks`: `RemovableHandle`, what `Tensor.register_hook` returns (`.remove()`, or a
`with` block). Module hooks (`register_forward_hook`, ...) return the engine's own handle class
from `nn.module`, which has the same `remove()`/`with` behaviour but is a separate class."""
from .._hooks import RemovableHandle  # noqa: F401

__all__ = ["RemovableHandle"]
