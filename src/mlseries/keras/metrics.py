"""Metrics with Keras's names: running means over the batches of an epoch.

A metric keeps a running total: `update_state(y_true, y_pred)` adds a batch, `result()` is
the mean so far, `reset_state()` starts again (fit does at every epoch). Metrics only watch,
so they work on NumPy copies of the predictions, outside the autograd graph.

`metrics=['accuracy']` means a different metric for different outputs; as in Keras, the
choice is made from the shapes of the first batch: one output -> BinaryAccuracy (p > 0.5),
integer labels beside class scores -> SparseCategoricalAccuracy, one-hot -> CategoricalAccuracy.
"""
import numpy as np

import mlseries as ms

from . import losses as _losses
from ._tensors import as_array


class Metric:
    default_name = "metric"

    def __init__(self, name=None):
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The (weighted) mean of the values given to update_state."""

    default_name = "mean"

    def update_state(self, values, sample_weight=None):
        values = np.asarray(as_array(values), dtype=np.float64).reshape(-1)
        weight = (np.ones_like(values) if sample_weight is None
                  else np.broadcast_to(np.asarray(sample_weight, np.float64).reshape(-1), values.shape))
        self.total += float(np.dot(values, weight))
        self.count += float(weight.sum())


class MeanMetricWrapper(Mean):
    """The mean over examples of fn(y_true, y_pred), a function giving one value per example."""

    def __init__(self, fn, name=None):
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        with ms.no_grad():
            values = self.fn(y_true, y_pred)
        super().update_state(values, sample_weight)


def _targets_like(y_true, y_pred):
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)
    return y_true, y_pred


def _per_example(hits):
    return hits.reshape(len(hits), -1).mean(axis=1) if hits.ndim > 1 else hits


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _targets_like(y_true, y_pred)
    return _per_example((y_pred > threshold).astype(np.float64) == y_true)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _per_example(np.argmax(y_pred, axis=-1) == y_true)


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    return _per_example(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1))


def accuracy(y_true, y_pred):
    """Exact equality of predictions and targets (Keras's `Accuracy` class)."""
    y_true, y_pred = _targets_like(y_true, y_pred)
    return _per_example(y_true == y_pred)


class BinaryAccuracy(MeanMetricWrapper):
    default_name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(lambda t, p: binary_accuracy(t, p, threshold), name or self.default_name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    default_name = "sparse_categorical_accuracy"

    def __init__(self, name=None):
        super().__init__(sparse_categorical_accuracy, name or self.default_name)


class CategoricalAccuracy(MeanMetricWrapper):
    default_name = "categorical_accuracy"

    def __init__(self, name=None):
        super().__init__(categorical_accuracy, name or self.default_name)


class Accuracy(MeanMetricWrapper):
    default_name = "accuracy"

    def __init__(self, name=None):
        super().__init__(accuracy, name or self.default_name)


class MeanSquaredError(MeanMetricWrapper):
    default_name = "mean_squared_error"

    def __init__(self, name=None):
        super().__init__(_losses.MeanSquaredError(reduction="none"), name or self.default_name)


class MeanAbsoluteError(MeanMetricWrapper):
    default_name = "mean_absolute_error"

    def __init__(self, name=None):
        super().__init__(_losses.MeanAbsoluteError(reduction="none"), name or self.default_name)


_BY_NAME = {
    "binary_accuracy": BinaryAccuracy, "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_LOSS_NAMES = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")


def known_names():
    return sorted(["accuracy", "acc", *_BY_NAME, *_LOSS_NAMES])


def _accuracy_for(y_true, y_pred, name):
    """Keras's choice for 'accuracy', from the shapes of targets and predictions."""
    t_shape, p_shape = np.shape(as_array(y_true)), tuple(y_pred.shape)
    if p_shape[-1] == 1:
        return BinaryAccuracy(name)
    if len(t_shape) < len(p_shape) or (t_shape[-1] == 1 and p_shape[-1] > 1):
        return SparseCategoricalAccuracy(name)
    return CategoricalAccuracy(name)


def get(identifier, y_true=None, y_pred=None):
    """A Metric from a name, an instance or class, or a function (y_true, y_pred) -> values.
    'accuracy' needs a batch (y_true, y_pred) to choose its kind."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if identifier in ("accuracy", "acc"):
        if y_pred is None:
            raise ValueError("'accuracy' picks its kind from the data: pass y_true and y_pred")
        return _accuracy_for(y_true, y_pred, identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](name=identifier)
    if isinstance(identifier, str) and identifier in _LOSS_NAMES:
        return MeanMetricWrapper(_losses.get(identifier).__class__(reduction="none"), identifier)
    if callable(identifier) and not isinstance(identifier, type):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"unknown metric {identifier!r}; known names: {', '.join(known_names())}")


def check(identifier):
    """Raise now (at compile) for a name `get` would reject later (at the first batch)."""
    if isinstance(identifier, str) and identifier not in known_names():
        raise ValueError(f"unknown metric {identifier!r}; known names: {', '.join(known_names())}")
