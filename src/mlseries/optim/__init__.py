"""`mlseries.optim`: optimizers with PyTorch's names and update rules, and `lr_scheduler`."""
from . import lr_scheduler
from . import swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
           "lr_scheduler", "swa_utils", "LBFGS", "Rprop", "ASGD"]
