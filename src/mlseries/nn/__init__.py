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
from .attention import MultiheadAttention, NonDynamicallyQuantizableLinear
from .normalization import LayerNorm, RMSNorm
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .parameter import Parameter
from . import parallel
from .parallel import DataParallel
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyConv2d, LazyLinear, UninitializedBuffer,
                   UninitializedParameter)
from .sparse import Embedding
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
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
