"""Activation functions by Keras's names ('relu', 'sigmoid', 'softmax', ...), on engine tensors.

`get(identifier)` turns what a layer was given (a name, a function or None) into a function;
the functions themselves are the engine's (`mlseries.nn.functional`), so their derivatives are
the engine's too.
"""
import mlseries as ms
from mlseries.nn import functional as F

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def linear(x):
    return x


def relu(x):
    return F.relu(x)


def sigmoid(x):
    return F.sigmoid(x)


def tanh(x):
    return F.tanh(x)


def softmax(x, axis=-1):
    return F.softmax(x, dim=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(x, dim=axis)


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def elu(x, alpha=1.0):
    return F.elu(x, alpha)


def selu(x):
    return _SELU_SCALE * F.elu(x, _SELU_ALPHA)


def softplus(x):
    return F.softplus(x)


def silu(x):
    return F.silu(x)


def leaky_relu(x, negative_slope=0.2):  # Keras's default slope (PyTorch's is 0.01)
    return F.leaky_relu(x, negative_slope)


def exponential(x):
    return ms.exp(x)


swish = silu

_BY_NAME = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, gelu, elu,
                                     selu, softplus, silu, leaky_relu, exponential)}
_BY_NAME["swish"] = silu


def get(identifier):
    """The activation function for a name, a callable, or None (which means `linear`)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown activation {identifier!r}; known names: {', '.join(sorted(_BY_NAME))}")


def name_of(fn):
    """'relu' for relu, the function's own name for anything else ('linear' for None)."""
    for name, known in _BY_NAME.items():
        if known is fn:
            return name
    return getattr(fn, "__name__", type(fn).__name__)
