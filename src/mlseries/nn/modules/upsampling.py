"""`torch.nn.modules.upsampling`: Upsample and its 2-d forms, re-exported from where the engine keeps them."""
from ..upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
