"""`torch.nn.modules.pixelshuffle`: PixelShuffle, PixelUnshuffle, re-exported from where the engine keeps them."""
from ..pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
