"""`torch.nn.modules.activation`: the activation layers and MultiheadAttention, re-exported from where the engine keeps them."""
from ..activation import *  # noqa: F401,F403
from ..activation_extra import *  # noqa: F401,F403
from ..attention import MultiheadAttention  # noqa: F401
