"""`torch.nn.modules.instancenorm`: InstanceNorm1d/2d/3d and `_InstanceNorm`, re-exported from where the engine keeps them."""
from ..instancenorm import InstanceNorm1d, InstanceNorm2d, _InstanceNorm  # noqa: F401
from ..pooling3d import InstanceNorm3d  # noqa: F401
