"""`torch.nn.modules.pooling`: the pooling layers, re-exported from where the engine keeps them."""
from ..pooling import *  # noqa: F401,F403
from ..pooling import _AdaptiveAvgPoolNd, _AvgPoolNd, _MaxPoolNd  # noqa: F401
from ..pooling1d import *  # noqa: F401,F403
from ..pooling3d import AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, LPPool1d, LPPool2d, LPPool3d, MaxPool3d  # noqa: F401,E501
from ..unpool import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d  # noqa: F401
