"""`torch.nn.modules.linear`: Linear, Identity, Bilinear, LazyLinear, re-exported from where the engine keeps them."""
from ..linear import Identity, Linear  # noqa: F401
from ..bilinear import Bilinear  # noqa: F401
from ..lazy import LazyLinear  # noqa: F401
from ..attention import NonDynamicallyQuantizableLinear  # noqa: F401
