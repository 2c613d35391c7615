"""Callbacks: code that `fit` calls at the start and end of training, of each epoch and batch.

    history = model.fit(x, y, epochs=5)        # History is always there: history.history['loss']
    model.fit(x, y, callbacks=[EarlyStopping(patience=2, restore_best_weights=True)])
    model.fit(x, y, callbacks=[LambdaCallback(on_train_batch_end=lambda batch, logs: ...)])

`logs` are dicts of plain floats: during an epoch the running means so far ('loss',
'accuracy'), at its end the epoch's values plus 'val_loss', 'val_accuracy' when there is
validation data.
"""
import warnings

import numpy as np

from .progbar import Progbar

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override the hooks you need; `self.model` and `self.params` are set by fit."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params


def _no_op(self, *args, **kwargs):
    pass


for _hook in _HOOKS:
    setattr(Callback, _hook, _no_op)


class CallbackList:
    """Several callbacks called as one, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback objects, got {type(cb).__name__}")
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def call_all(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call_all


class History(Callback):
    """Records the epoch logs: `history.history['loss']` is the loss of each epoch."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints progress: verbose=1 a bar per epoch, verbose=2 one line per epoch."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 1:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)
        self.bar = Progbar(self.params["steps"], verbose=self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.bar.seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if self.params.get("mode") == "evaluate":
            self.bar = Progbar(self.params["steps"], verbose=self.verbose)

    def on_test_batch_end(self, batch, logs=None):
        if self.params.get("mode") == "evaluate":
            self.bar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if self.params.get("mode") == "evaluate":
            self.bar.update(self.bar.seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self.bar = Progbar(self.params["steps"], verbose=self.verbose)

    def on_predict_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1)

    def on_predict_end(self, logs=None):
        self.bar.update(self.bar.seen, finalize=True)


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, **hooks):
        super().__init__()
        unknown = sorted(set(hooks) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; known: {', '.join(_HOOKS)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


def _better(mode, min_delta):
    if mode == "max":
        return lambda current, best: current - min_delta > best
    return lambda current, best: current + min_delta < best


def _mode_for(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(word in monitor for word in ("acc", "auc")) else "min"


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; with
    `restore_best_weights`, end with the weights of the best epoch."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.min_delta = abs(min_delta)
        self.mode = _mode_for(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._improved = _better(self.mode, self.min_delta)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = -np.inf if self.mode == "max" else np.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: {self.monitor!r} is not in the logs (available: "
                          f"{', '.join(logs or {})}); give validation data or monitor another key",
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """At each epoch's start, set the learning rate to schedule(epoch, current_rate)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        rate = float(self.schedule(epoch, self.model.optimizer.learning_rate))
        self.model.optimizer.learning_rate = rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate
