"""`mlseries.nn`: modules, parameters, losses, and (as submodules) functional, init, utils."""
from . import functional, init, utils
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d, ConvTranspose2d
from .dropout2d import Dropout2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .activation import (ELU, GELU, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softmin,
                         Softplus, Tanh)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from . import _backward_hooks  # noqa: F401,E402  (Module.register_full_backward_hook)
from .attention import MultiheadAttention, NonDynamicallyQuantizableLinear
from .normalization import LayerNorm, RMSNorm
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .parameter import Buffer, Parameter
from . import parallel
from .parallel import DataParallel
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyConv2d, LazyLinear, UninitializedBuffer,
                   UninitializedParameter)
from .sparse import Embedding
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Embedding",
    "Linear", "Identity", "Flatten", "Unflatten", "Dropout",
    "ReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "LeakyReLU", "ELU", "Softplus", "LogSigmoid",
    "Softmax", "Softmin", "LogSoftmax",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss",
    "NLLLoss", "CrossEntropyLoss",
    "functional", "init", "utils",
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "Dropout2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "LayerNorm", "RMSNorm", "MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
    "TransformerEncoder", "TransformerDecoder", "Transformer",
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "parallel", "DataParallel", "LazyLinear", "LazyConv2d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "UninitializedParameter", "UninitializedBuffer",
]

# Part 3 layers (see the files for what each holds).
from .conv1d import Conv1d, ConvTranspose1d  # noqa: E402
from .pooling1d import AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, MaxPool1d  # noqa: E402
from .dropout_extra import AlphaDropout, Dropout1d, FeatureAlphaDropout  # noqa: E402
from .normalization_extra import GroupNorm, LocalResponseNorm  # noqa: E402
from .instancenorm import InstanceNorm1d, InstanceNorm2d  # noqa: E402
from .activation_extra import (CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, Mish, PReLU,  # noqa: E402
                               ReLU6, RReLU, Softmax2d, Softshrink, Softsign, Tanhshrink, Threshold)
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .pixelshuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle  # noqa: E402
from .fold import Fold, Unfold  # noqa: E402
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d,  # noqa: E402
                      ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d)
from .bilinear import Bilinear  # noqa: E402
from .embedding_bag import EmbeddingBag  # noqa: E402
from .conv3d import Conv3d, ConvTranspose3d  # noqa: E402
from .pooling3d import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, BatchNorm3d, Dropout3d,  # noqa: E402
                        InstanceNorm3d, LPPool1d, LPPool2d, LPPool3d, MaxPool3d)
from .unpool import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d  # noqa: E402
__all__ += ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",  # noqa: E402
            "BatchNorm3d", "InstanceNorm3d", "Dropout3d", "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d",
            "MaxUnpool2d", "MaxUnpool3d"]
from .loss_extra import (CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HingeEmbeddingLoss,  # noqa: E402
                         MarginRankingLoss, MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                         PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss, TripletMarginWithDistanceLoss)

__all__ += [
    "Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "Dropout1d", "AlphaDropout", "FeatureAlphaDropout", "GroupNorm", "LocalResponseNorm",
    "InstanceNorm1d", "InstanceNorm2d", "PReLU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish", "SELU",
    "CELU", "GLU", "Softsign", "Tanhshrink", "Threshold", "Softshrink", "Hardshrink", "RReLU", "Softmax2d",
    "CosineSimilarity", "PairwiseDistance", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold", "Unfold",
    "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "Bilinear", "EmbeddingBag",
    "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
    "HingeEmbeddingLoss", "MultiMarginLoss", "MultiLabelSoftMarginLoss", "MultiLabelMarginLoss", "SoftMarginLoss",
    "PoissonNLLLoss", "GaussianNLLLoss", "CTCLoss",
]
from . import modules  # noqa: E402,F401  (torch.nn.modules.* module paths: re-exports only; keep last)
