"""`torch.nn.modules.padding`: the padding layers, re-exported from where the engine keeps them."""
from ..padding import *  # noqa: F401,F403
from ..padding import _ConstantPadNd, _PadNd  # noqa: F401
