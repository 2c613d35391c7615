"""`torch.nn.modules.module`: Module, re-exported from where the engine keeps them."""
from ..module import Module  # noqa: F401
