"""`torch.nn.modules.dropout`: the dropout layers, re-exported from where the engine keeps them."""
from ..dropout import Dropout  # noqa: F401
from ..dropout2d import Dropout2d  # noqa: F401
from ..dropout_extra import AlphaDropout, Dropout1d, FeatureAlphaDropout  # noqa: F401
from ..pooling3d import Dropout3d  # noqa: F401
