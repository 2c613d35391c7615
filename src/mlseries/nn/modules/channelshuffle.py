"""`torch.nn.modules.channelshuffle`: ChannelShuffle, re-exported from where the engine keeps them."""
from ..pixelshuffle import ChannelShuffle  # noqa: F401
