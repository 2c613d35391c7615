"""`mlseries.nn`: modules, parameters, losses, and (as submodules) functional, init, utils."""
from . import functional, init, utils
from .activation import (ELU, GELU, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softmin,
                         Softplus, Tanh)
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module
from .parameter import Parameter

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict",
    "Linear", "Identity", "Flatten", "Unflatten", "Dropout",
    "ReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "LeakyReLU", "ELU", "Softplus", "LogSigmoid",
    "Softmax", "Softmin", "LogSoftmax",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss",
    "NLLLoss", "CrossEntropyLoss",
    "functional", "init", "utils",
]
