"""`torch.nn.modules.fold`: Fold, Unfold, re-exported from where the engine keeps them."""
from ..fold import Fold, Unfold  # noqa: F401
