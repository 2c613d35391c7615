"""`torch.nn.modules.conv`: the convolutions; `_ConvNd` is the engine's N-d base (2-d and 3-d layers; Conv1d has its own), re-exported from where the engine keeps them."""
from ..conv import Conv2d, ConvTranspose2d, _ConvTransposeNd  # noqa: F401
from ..conv import _ConvNdBase as _ConvNd  # noqa: F401
from ..conv1d import Conv1d, ConvTranspose1d  # noqa: F401
from ..conv3d import Conv3d, ConvTranspose3d  # noqa: F401
from ..lazy import LazyConv2d  # noqa: F401
