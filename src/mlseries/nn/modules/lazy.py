"""`torch.nn.modules.lazy`: the lazy layers and `LazyModuleMixin`, re-exported from where the engine keeps them."""
from ..lazy import *  # noqa: F401,F403
from ..lazy import LazyModuleMixin  # noqa: F401
