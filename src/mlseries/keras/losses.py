"""Losses with Keras's names: `BinaryCrossentropy`, `SparseCategoricalCrossentropy`, ...

A loss is called as `loss(y_true, y_pred)` (Keras's order, the reverse of PyTorch's) and
returns the mean over the batch as an engine tensor, differentiable in y_pred.

Cross-entropies on probabilities clip them to [1e-7, 1 − 1e-7] before the log, as Keras does.
When a model's last layer ends in a sigmoid or a softmax, `fit` instead hands the loss the
scores before that activation (`for_logits`), so the log is taken of a log-softmax and never
of a rounded-off probability — what Keras's TensorFlow backend does too.
"""
import numpy as np

import mlseries as ms
from mlseries.nn import functional as F

from ._tensors import as_array, as_float

EPSILON = 1e-7  # Keras's fuzz factor


def _like(y_true, y_pred):
    """y_true as float32, shaped like y_pred: labels (N,) beside predictions (N, 1) become (N, 1)."""
    y = as_float(y_true)
    if y.shape != y_pred.shape and y.numel() == y_pred.numel():
        y = y.reshape(y_pred.shape)
    if y.shape != y_pred.shape:
        raise ValueError(f"the targets have shape {tuple(y.shape)} but the model's outputs have shape "
                         f"{tuple(y_pred.shape)}")
    return y


class Loss:
    """Base class. `name` is the snake_case name used in logs; subclasses implement `compute`."""

    name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in ("sum_over_batch_size", "sum", "none", None):
            raise ValueError(f"reduction must be 'sum_over_batch_size', 'sum' or 'none', got {reduction!r}")
        if name is not None:
            self.name = name
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = as_float(y_pred)
        per_example = self.compute(y_true, y_pred)   # (N,)
        if sample_weight is not None:
            per_example = per_example * as_float(sample_weight).reshape(per_example.shape)
        if self.reduction == "sum":
            return per_example.sum()
        if self.reduction in ("none", None):
            return per_example
        return per_example.mean()

    def compute(self, y_true, y_pred):
        """The loss of each example, shape (N,)."""
        raise NotImplementedError

    def for_logits(self, activation_name):
        """The same loss taking the scores before `activation_name`, or None when there is none."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}()"


def _mean_rest(t):
    """Mean over every axis but the batch axis: (N, ...) -> (N,)."""
    return t.reshape(t.shape[0], -1).mean(dim=1) if t.ndim > 1 else t


class BinaryCrossentropy(Loss):
    """−[y·log p + (1 − y)·log(1 − p)], averaged over the outputs of each example."""

    name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)

    def compute(self, y_true, y_pred):
        y = _like(y_true, y_pred)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            return _mean_rest(F.binary_cross_entropy_with_logits(y_pred, y, reduction="none"))
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        return _mean_rest(-(y * p.log() + (1.0 - y) * (1.0 - p).log()))

    def for_logits(self, activation_name):
        if self.from_logits or activation_name != "sigmoid":
            return None
        return BinaryCrossentropy(True, self.label_smoothing, self.name, self.reduction)


class CategoricalCrossentropy(Loss):
    """−Σ y·log p over the classes, for one-hot (or soft) targets y."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, name=None,
                 reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)
        self.axis = axis

    def _log_probs(self, y_pred):
        if self.from_logits:
            return F.log_softmax(y_pred, dim=self.axis)
        p = y_pred / y_pred.sum(dim=self.axis, keepdim=True)  # Keras renormalises first
        return p.clamp(EPSILON, 1.0 - EPSILON).log()

    def compute(self, y_true, y_pred):
        y = _like(y_true, y_pred)
        if self.label_smoothing:
            classes = y_pred.shape[self.axis]
            y = y * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        return -(y * self._log_probs(y_pred)).sum(dim=self.axis)

    def for_logits(self, activation_name):
        if self.from_logits or activation_name != "softmax":
            return None
        return CategoricalCrossentropy(True, self.label_smoothing, self.axis, self.name, self.reduction)


class SparseCategoricalCrossentropy(Loss):
    """−log p[label], for integer labels (N,) beside class scores (N, classes)."""

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.from_logits = from_logits

    def compute(self, y_true, y_pred):
        labels = _labels(y_true, y_pred)
        if self.from_logits:  # log-softmax and the pick of −log p[label] fused in one op
            return F.cross_entropy(y_pred, labels, reduction="none")   # (N,)
        logp = y_pred.clamp(EPSILON, 1.0 - EPSILON).log()              # (N, C)
        return F.nll_loss(logp, labels, reduction="none")              # (N,)

    def for_logits(self, activation_name):
        if self.from_logits or activation_name != "softmax":
            return None
        return SparseCategoricalCrossentropy(True, self.name, self.reduction)


def _labels(y_true, y_pred):
    """Integer labels (N,) for scores (N, C); (N, 1) labels are accepted as Keras accepts them."""
    y = as_array(y_true)
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"sparse_categorical_crossentropy: labels of shape {y.shape} do not match "
                         f"scores of shape {tuple(y_pred.shape)} (expected labels of shape "
                         f"{tuple(y_pred.shape[:-1])}, one class index per example)")
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError("sparse_categorical_crossentropy: labels must be whole numbers (class indices); "
                             "for one-hot targets use categorical_crossentropy")
    y = y.astype(np.int64)
    classes = y_pred.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"sparse_categorical_crossentropy: labels must be in 0..{classes - 1} for "
                         f"{classes} outputs, got labels from {y.min()} to {y.max()}")
    return ms.from_numpy(y)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def compute(self, y_true, y_pred):
        return _mean_rest((y_pred - _like(y_true, y_pred)) ** 2)


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def compute(self, y_true, y_pred):
        return _mean_rest((y_pred - _like(y_true, y_pred)).abs())


class Huber(Loss):
    name = "huber_loss"

    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size"):
        super().__init__(name, reduction)
        self.delta = float(delta)

    def compute(self, y_true, y_pred):
        y = _like(y_true, y_pred)
        return _mean_rest(F.huber_loss(y_pred, y, reduction="none", delta=self.delta))


_BY_NAME = {
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}
_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})

# Keras's function-style names: losses.binary_crossentropy(y_true, y_pred) -> per-example losses.
binary_crossentropy = BinaryCrossentropy(reduction="none")
categorical_crossentropy = CategoricalCrossentropy(reduction="none")
sparse_categorical_crossentropy = SparseCategoricalCrossentropy(reduction="none")
mean_squared_error = mse = MeanSquaredError(reduction="none")
mean_absolute_error = mae = MeanAbsoluteError(reduction="none")


def known_names():
    return sorted(k for k in _BY_NAME if k.islower())


def get(identifier):
    """A Loss from a name ('binary_crossentropy', 'mse', ...), a Loss instance or class, or a
    function (y_true, y_pred) -> per-example losses."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if callable(identifier) and not isinstance(identifier, type):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"unknown loss {identifier!r}; known names: {', '.join(known_names())} "
                     "(or a Loss instance such as losses.BinaryCrossentropy(from_logits=True))")


class LossFunctionWrapper(Loss):
    """A plain function fn(y_true, y_pred) used as a loss; its name names it in the logs."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size"):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction)
        self.fn = fn

    def compute(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        return _mean_rest(out) if out.ndim else out.reshape(1)
