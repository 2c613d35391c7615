"""`Sequential`: layers in a row, with Keras's compile / fit / evaluate / predict / summary.

    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)
    model.evaluate(x_test, y_test)

The model is an engine `nn.Module` whose children are the layers (state_dict keys such as
'dense.linear.weight'); training runs the engine's autograd and `ms.optim` (training.py).
"""
import mlseries as ms
from mlseries import nn

from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers
from . import training
from .summary import format_summary


class Sequential(nn.Module):
    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__()
        self.name = name or "sequential"
        # the shape from an Input, when the model was given one; kept as a plain tuple (an
        # InputLayer stored as an attribute would become a child module and a row of summary())
        self.input_spec = None
        self.optimizer = None
        self.loss = None
        self.metric_ids = []           # what compile() was given, e.g. ['accuracy']
        self.compiled_metrics = None   # Metric objects, chosen at the first batch
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    # -- structure ------------------------------------------------------------------------------
    @property
    def layers(self):
        """The layers in order (the InputLayer is not counted, as in Keras)."""
        return list(self._modules.values())

    def _unique_name(self, layer):
        taken = set(self._modules)
        if layer.name is not None:
            if layer.name in taken:
                raise ValueError(f"{self.name}: a layer named {layer.name!r} is already in the model; "
                                 "layer names must be unique")
            return layer.name
        base = layer.default_name()
        name, i = base, 0
        while name in taken:
            i += 1
            name = f"{base}_{i}"
        return name

    def add(self, layer):
        """Append a layer; with an Input (or input_shape=) first, every layer is built at once."""
        if not isinstance(layer, _layers.Layer):
            raise TypeError(f"Sequential.add takes a Keras layer such as keras.layers.Dense(8), "
                            f"got {type(layer).__name__}")
        if isinstance(layer, _layers.InputLayer):
            if self.input_spec is not None or self.layers:
                raise ValueError(f"{self.name}: an Input can only be the first layer of a Sequential model")
            self.input_spec = layer.shape
            return
        if not self.layers and self.input_spec is None and layer._declared_input is not None:
            self.add(_layers.InputLayer(shape=layer._declared_input[1:]))
        layer.name = self._unique_name(layer)
        shape = self._output_shape_so_far()
        self.add_module(layer.name, layer)
        if shape is not None:
            layer.ensure_built(shape)

    def pop(self):
        if not self.layers:
            raise IndexError(f"{self.name} has no layers to pop")
        name = list(self._modules)[-1]
        return self._modules.pop(name)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        if name in self._modules:
            return self._modules[name]
        raise ValueError(f"no layer named {name!r}; the layers are: {', '.join(self._modules)}")

    def _output_shape_so_far(self):
        """The shape coming out of the last layer, when the input shape is known; else None."""
        if self.input_spec is None:
            return None
        shape = self.input_spec
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def built(self):
        return (self.input_spec is not None or bool(self.layers)) and all(l.built for l in self.layers)

    def build(self, input_shape):
        """Build every layer for inputs of `input_shape`, e.g. (None, 784)."""
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        return self

    @property
    def input_shape(self):
        if self.input_spec is not None:
            return self.input_spec
        return self.layers[0].input_shape if self.layers and self.layers[0].built else None

    @property
    def output_shape(self):
        return self.layers[-1].output_shape

    # -- running ----------------------------------------------------------------------------
    def check_input(self, x):
        expected = self.input_shape
        if expected is not None and tuple(x.shape[1:]) != tuple(expected[1:]):
            raise ValueError(f"{self.name} expects inputs of shape {expected} (batch first), "
                             f"got an array of shape {tuple(x.shape)}")

    def forward(self, inputs, training=False):
        x = _layers.as_float(inputs)
        self.check_input(x)
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    # -- weights ----------------------------------------------------------------------------
    @property
    def trainable(self):
        return all(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value):
        for layer in self.layers:
            layer.trainable = value

    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def count_params(self):
        if not self.built:
            raise ValueError(f"{self.name} is not built yet; give it an Input(shape=...) or call it on data")
        return sum(p.numel() for p in self.weights)

    def get_weights(self):
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.get_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"{self.name} has {expected} weight arrays, got {len(weights)}")
        for layer in self.layers:
            n = len(layer.get_weights())
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def save_weights(self, filepath):
        """The weights as an engine checkpoint (arrays only, written atomically)."""
        ms.save(self.state_dict(), filepath)

    def load_weights(self, filepath):
        self.load_state_dict(ms.load(filepath))

    def summary(self, line_length=None, print_fn=None):
        text = format_summary(self, line_length)
        (print_fn or print)(text)

    # -- training ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics, by name or as objects."""
        self.optimizer = _optimizers.get(optimizer)
        self.loss = None if loss is None else _losses.get(loss)
        if metrics is not None and (isinstance(metrics, str) or not hasattr(metrics, "__iter__")):
            raise TypeError(f"metrics must be a list, such as metrics=['accuracy'], got {metrics!r}")
        self.metric_ids = list(metrics or [])
        for m in self.metric_ids:
            _metrics.check(m)
        self.compiled_metrics = None

    @property
    def metrics_names(self):
        names = [getattr(m, "name", m) for m in (self.compiled_metrics or self.metric_ids)]
        return ["loss"] + [n if isinstance(n, str) else getattr(n, "__name__", "metric") for n in names]

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0):
        """Train for `epochs` passes over (x, y); returns a History (history.history['loss'], ...)."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                            validation_data, shuffle, initial_epoch)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False, callbacks=None):
        """The loss (and metrics) on (x, y): a number, [loss, metric, ...], or a dict."""
        return training.evaluate(self, x, y, batch_size, verbose, return_dict, callbacks)

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """The model's outputs for x, as a NumPy array (dropout off)."""
        return training.predict(self, x, batch_size, verbose, callbacks)

    def extra_repr(self):
        return f"name={self.name!r}"


Model = Sequential  # the only model kind here; `keras.Model` names it too
