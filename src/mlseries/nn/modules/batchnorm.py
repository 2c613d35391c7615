"""`torch.nn.modules.batchnorm`: BatchNorm1d/2d/3d and their base `_BatchNorm`, re-exported from where the engine keeps them."""
from ..batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm  # noqa: F401
from ..pooling3d import BatchNorm3d  # noqa: F401
from ..lazy import LazyBatchNorm1d, LazyBatchNorm2d  # noqa: F401
