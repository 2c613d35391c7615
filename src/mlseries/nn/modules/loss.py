"""`torch.nn.modules.loss`: the losses and their bases `_Loss`, `_WeightedLoss`, re-exported from where the engine keeps them."""
from ..loss import *  # noqa: F401,F403
from ..loss import _Loss, _WeightedLoss  # noqa: F401
from ..loss_extra import *  # noqa: F401,F403
