"""`torch.nn.modules`: the module paths PyTorch programs import layers from
(`from torch.nn.modules.loss import _Loss`, `torch.nn.modules.conv._ConvNd`,
`torch.nn.modules.utils._pair`). Each file only re-exports the engine's own classes, so
`nn.modules.linear.Linear is nn.Linear`; the layers themselves live in `mlseries/nn/*.py`."""
from .. import *  # noqa: F401,F403  (every layer, as `torch.nn.modules.Linear` works too)

# nn's own submodules of these names are not torch.nn.modules': drop them before importing ours.
for _name in ("functional", "init", "utils", "parallel"):
    globals().pop(_name, None)

from . import (activation, batchnorm, channelshuffle, container, conv, distance, dropout, flatten,  # noqa: F401,E402
               fold, instancenorm, lazy, linear, loss, module, normalization, padding, pixelshuffle, pooling, rnn,
               sparse, transformer, upsampling, utils)
from .module import Module  # noqa: F401,E402
