"""`torch.nn.modules.flatten`: Flatten, Unflatten, re-exported from where the engine keeps them."""
from ..flatten import Flatten, Unflatten  # noqa: F401
