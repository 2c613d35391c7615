"""`torch.nn.modules.normalization`: LayerNorm, RMSNorm, GroupNorm, LocalResponseNorm, re-exported from where the engine keeps them."""
from ..normalization import LayerNorm, RMSNorm  # noqa: F401
from ..normalization_extra import GroupNorm, LocalResponseNorm  # noqa: F401
