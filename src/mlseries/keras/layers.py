"""Keras layers on the engine: `Input`, `Dense`, `Flatten`, `Dropout`, `Activation`, `Reshape`.

Each layer is an engine `nn.Module` holding engine modules (a `Dense` holds an `nn.Linear`),
so gradients, parameters and state dicts are the engine's. What Keras adds is the shape
bookkeeping: a layer is *built* when it first learns its input shape (from `Input`, from the
layer before it, or from the first batch), and only then creates its weights — which is why
`Dense(64)` needs no input size.

Shapes follow Keras: `(None, 28, 28)` is a batch of 28×28 inputs of any size. Weights are
reported in Keras's layout: a Dense kernel is (inputs, units), the transpose of the
`nn.Linear.weight` it lives in.
"""
import math
import re

import numpy as np

import mlseries as ms
from mlseries import nn
from mlseries.nn import functional as F

from . import activations, initializers
from ._tensors import as_array, as_float


def snake_case(name):
    """'InputLayer' -> 'input_layer': Keras's default layer names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _batch_shape(shape):
    """(28, 28) -> (None, 28, 28), checking that every size is a positive int or None."""
    if np.isscalar(shape):
        shape = (shape,)
    shape = tuple(shape)
    for n in shape:
        if n is not None and (not isinstance(n, (int, np.integer)) or n <= 0):
            raise ValueError(f"a shape holds positive integers (or None), got {shape}")
    return (None,) + tuple(None if n is None else int(n) for n in shape)


class Layer(nn.Module):
    """Base of the Keras layers: a name, lazy building from the input shape, Keras's weight
    accessors. Subclasses implement `build`, `call` and `compute_output_shape`."""

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None):
        super().__init__()
        if dtype not in (None, "float32", ms.float32):
            raise ValueError(f"{type(self).__name__}: only float32 layers are supported, got dtype={dtype!r}")
        self.name = name              # None until named by the model it joins
        self.built = False
        self.input_shape = None       # (None, ...) once built
        self._trainable = bool(trainable)
        # Keras 2 style `Dense(64, input_shape=(784,))`: the model takes it as its Input
        self._declared_input = None if input_shape is None else _batch_shape(input_shape)

    @classmethod
    def default_name(cls):
        return snake_case(cls.__name__)

    # -- building ---------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch dimension first, None)."""

    def ensure_built(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.built:
            self.build(input_shape)
            self.input_shape = (None,) + input_shape[1:]
            self.built = True
            self.trainable = self._trainable  # newly created weights follow the flag
        return self

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    @property
    def output_shape(self):
        if not self.built:
            raise AttributeError(f"layer {self.name or type(self).__name__!r} is not built yet, "
                                 "so it has no output shape; give the model an Input(shape=...) "
                                 "or call it on data first")
        return self.compute_output_shape(self.input_shape)

    # -- running ----------------------------------------------------------------------------
    def call(self, inputs, training=False):
        raise NotImplementedError

    def forward(self, inputs, training=False):
        inputs = as_float(inputs)
        self.ensure_built(inputs.shape)
        return self.call(inputs, training=training)

    # -- weights in Keras's terms -----------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for p in self.parameters():
            p.requires_grad_(self._trainable)

    @property
    def weights(self):
        return list(self.parameters())

    @property
    def trainable_weights(self):
        return self.weights if self._trainable else []

    @property
    def non_trainable_weights(self):
        return [] if self._trainable else self.weights

    def count_params(self):
        if not self.built:
            raise ValueError(f"layer {self.name or type(self).__name__!r} is not built yet, "
                             "so it has no weights to count")
        return sum(p.numel() for p in self.parameters())

    def get_weights(self):
        """The weights as NumPy arrays, copied, in Keras's layout."""
        return [np.array(p.numpy()) for p in self.parameters()]

    def set_weights(self, weights):
        own = self.get_weights()
        if len(weights) != len(own):
            raise ValueError(f"layer {self.name!r} has {len(own)} weight arrays, got {len(weights)}")
        for i, (new, old) in enumerate(zip(weights, own)):
            if np.shape(new) != old.shape:
                raise ValueError(f"layer {self.name!r}: weight {i} has shape {old.shape}, "
                                 f"got an array of shape {np.shape(new)}")
        self._assign(weights)

    def _assign(self, weights):
        with ms.no_grad():
            for p, new in zip(self.parameters(), weights):
                p.copy_(np.asarray(new, dtype=np.float32))

    def extra_repr(self):
        return f"name={self.name!r}"


class InputLayer(Layer):
    """Declares the shape of one input example; a Sequential model starting with it is built
    at once (so `summary()` can show every shape before any data is seen)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None):
        if shape is None and input_shape is None:
            raise ValueError("InputLayer needs the shape of one example, e.g. Input(shape=(28, 28))")
        super().__init__(name=name, dtype=dtype)
        self.shape = _batch_shape(shape if shape is not None else input_shape)
        self.batch_size = batch_size
        self.ensure_built(self.shape)

    def call(self, inputs, training=False):
        return inputs

    def extra_repr(self):
        return f"shape={self.shape}"


def Input(shape=None, batch_size=None, dtype=None, name=None):  # noqa: N802  (Keras's name)
    """`keras.Input(shape=(28, 28))`: the shape of one example, without the batch dimension."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name)


class Dense(Layer):
    """activation(inputs · kernel + bias), on the last axis of the inputs.

    `kernel_initializer` and `bias_initializer` take names ('glorot_uniform', 'zeros') or
    initializer objects; the defaults are Keras's: Glorot-uniform kernel, zero bias.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None, trainable=True, dtype=None, input_shape=None):
        super().__init__(name=name, trainable=trainable, dtype=dtype, input_shape=input_shape)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"Dense: the last dimension of the inputs must be known, got shape {input_shape}")
        self.linear = nn.Linear(features, self.units, bias=self.use_bias)
        kernel = self.kernel_initializer((features, self.units))   # (in, units): Keras's layout
        with ms.no_grad():
            self.linear.weight.copy_(as_array(kernel).T)            # (units, in): Linear's layout
            if self.use_bias:
                self.linear.bias.copy_(as_array(self.bias_initializer((self.units,))))

    @property
    def kernel(self):
        """The kernel, (inputs, units): a view of the Linear's weight."""
        return self.linear.weight.T

    @property
    def bias(self):
        return self.linear.bias if self.use_bias else None

    def pre_activation(self, inputs):
        """inputs · kernel + bias, before the activation (the losses use it for stable logs)."""
        return self.linear(inputs)

    def call(self, inputs, training=False):
        return self.activation(self.linear(inputs))  # (..., units)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_weights(self):
        if not self.built:
            return []
        weights = [self.linear.weight.numpy().T.copy()]
        if self.use_bias:
            weights.append(self.linear.bias.numpy().copy())
        return weights

    def _assign(self, weights):
        with ms.no_grad():
            self.linear.weight.copy_(np.asarray(weights[0], dtype=np.float32).T)
            if self.use_bias:
                self.linear.bias.copy_(np.asarray(weights[1], dtype=np.float32))

    def extra_repr(self):
        return (f"name={self.name!r}, units={self.units}, "
                f"activation={activations.name_of(self.activation)!r}")


class Flatten(Layer):
    """(None, 28, 28) -> (None, 784): everything but the batch dimension in one row."""

    def build(self, input_shape):
        self.flatten = nn.Flatten()

    def call(self, inputs, training=False):
        return self.flatten(inputs)  # (N, prod(rest))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))


class Reshape(Layer):
    """Reshape each example to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.target_shape = tuple(int(n) for n in target_shape)

    def call(self, inputs, training=False):
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape:
            known = math.prod(n for n in shape if n != -1)
            total = None if None in input_shape[1:] else math.prod(input_shape[1:])
            shape[shape.index(-1)] = None if total is None else total // known
        return (input_shape[0],) + tuple(shape)


class Dropout(Layer):
    """While training, zero each input with probability `rate` and scale the rest by
    1/(1 − rate); at evaluation and prediction, pass inputs through unchanged."""

    def __init__(self, rate, seed=None, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed
        # with a seed, the masks come from the layer's own stream, as in Keras
        self._generator = None if seed is None else ms.Generator().manual_seed(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self._generator is None:
            return F.dropout(inputs, self.rate, training=True)
        keep = ms.rand(*inputs.shape, generator=self._generator) >= self.rate
        return inputs * (keep.float() / (1.0 - self.rate))

    def extra_repr(self):
        return f"name={self.name!r}, rate={self.rate}"


class Activation(Layer):
    """Apply an activation on its own, e.g. Activation('relu')."""

    def __init__(self, activation, name=None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.activation = activations.get(activation)

    def pre_activation(self, inputs):
        return inputs

    def call(self, inputs, training=False):
        return self.activation(inputs)

    def extra_repr(self):
        return f"name={self.name!r}, activation={activations.name_of(self.activation)!r}"
