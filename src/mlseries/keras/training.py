"""The loops behind `fit`, `evaluate` and `predict`.

One training step is the engine's ordinary four lines — zero the gradients, forward, loss,
backward, step — plus Keras's bookkeeping: running means of the loss and metrics, callbacks,
the progress bar. Batches are cut from the whole arrays, reshuffled every epoch with the
engine's generator (so `ms.manual_seed` / `keras.utils.set_random_seed` fix the order).
"""
import numpy as np

import mlseries as ms

from . import activations
from . import callbacks as _callbacks
from . import metrics as _metrics
from ._tensors import as_array, as_float

DEFAULT_BATCH = 32


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose


def _arrays(x, y, where):
    if x is None:
        raise ValueError(f"{where}: no input data (x) given")
    x = np.ascontiguousarray(as_array(x), dtype=np.float32)
    if x.ndim == 0:
        raise ValueError(f"{where}: x must have a batch dimension, got a scalar")
    if y is None:
        return x, None
    y = as_array(y)
    if len(y) != len(x):
        raise ValueError(f"{where}: x has {len(x)} examples but y has {len(y)}")
    return x, y


def _batches(n, batch_size, order=None):
    order = np.arange(n) if order is None else order
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _ready(model, x, where):
    if model.optimizer is None:
        raise RuntimeError(f"call model.compile(optimizer=..., loss=...) before {where}()")
    if model.loss is None:
        raise ValueError(f"{where}(): the model was compiled without a loss; pass loss= to compile()")
    if not model.layers:
        raise ValueError(f"{model.name} has no layers")
    if not model.built:  # no Input was given: the first example decides the shapes
        with ms.no_grad():
            model(x[:1])


def _fused_loss(model):
    """The loss on the last layer's scores before its sigmoid/softmax, when that applies."""
    last = model.layers[-1]
    if not hasattr(last, "pre_activation"):
        return None
    return model.loss.for_logits(activations.name_of(last.activation))


def _outputs(model, x, training, fused):
    """(predictions, scores for the fused loss or None) for a batch x."""
    if fused is None:
        return model(x, training=training), None
    model.check_input(x)
    h = x
    *body, last = model.layers
    for layer in body:
        h = layer(h, training=training)
    last.ensure_built(h.shape)
    logits = last.pre_activation(h)
    with ms.no_grad():
        predictions = last.activation(logits)
    return predictions, logits


class _Trackers:
    """The running loss and the compiled metrics, resolved at the first batch they see."""

    def __init__(self, model):
        self.model = model
        self.loss = _metrics.Mean("loss")

    def reset(self):
        self.loss.reset_state()
        for m in self.model.compiled_metrics or []:
            m.reset_state()

    def update(self, loss_value, y, predictions):
        model = self.model
        if model.compiled_metrics is None:
            model.compiled_metrics = [_metrics.get(m, y, predictions) for m in model.metric_ids]
        self.loss.update_state(loss_value, sample_weight=len(predictions))
        for m in model.compiled_metrics:
            m.update_state(y, predictions)

    def logs(self, prefix=""):
        logs = {prefix + "loss": float(self.loss.result())}
        for m in self.model.compiled_metrics or []:
            logs[prefix + m.name] = float(m.result())
        return logs


def _step(model, loss, fused, xb, yb, training):
    predictions, logits = _outputs(model, ms.from_numpy(xb), training, fused)
    value = fused(yb, logits) if fused is not None else loss(yb, predictions)
    return value, predictions.detach().numpy()


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
        shuffle, initial_epoch):
    verbose = _verbosity(verbose)
    batch_size = batch_size or DEFAULT_BATCH
    x, y = _arrays(x, y, "fit")
    if y is None:
        raise ValueError("fit: targets y are needed (this model learns from labelled examples)")
    if validation_data is None and validation_split:
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
        split_at = int(len(x) * (1.0 - validation_split))  # the last fraction, before any shuffling
        if split_at in (0, len(x)):
            raise ValueError(f"validation_split={validation_split} leaves no examples for "
                             f"{'training' if split_at == 0 else 'validation'} out of {len(x)}")
        x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
        validation_data = (x_val, y_val)
    elif validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        validation_data = _arrays(*validation_data, where="fit(validation_data)")

    _ready(model, x, "fit")
    variables = model.trainable_weights
    if not model.optimizer._bound_to(variables):
        model.optimizer.build(variables)
    fused = _fused_loss(model)
    steps = -(-len(x) // batch_size)
    history = _callbacks.History()
    extra = [_callbacks.ProgbarLogger(verbose)] if verbose else []
    cbs = _callbacks.CallbackList([history, *(callbacks or []), *extra], model,
                                  {"verbose": verbose, "epochs": epochs, "steps": steps})
    trackers = _Trackers(model)
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        trackers.reset()
        cbs.on_epoch_begin(epoch)
        order = ms.randperm(len(x)).numpy() if shuffle else None
        for step, idx in enumerate(_batches(len(x), batch_size, order)):
            cbs.on_train_batch_begin(step)
            model.optimizer.zero_grad()
            value, predictions = _step(model, model.loss, fused, x[idx], y[idx], training=True)
            value.backward()
            model.optimizer.step()
            trackers.update(value.item(), y[idx], predictions)
            cbs.on_train_batch_end(step, trackers.logs())
            if model.stop_training:
                break
        logs = trackers.logs()
        if validation_data is not None:
            logs.update(_evaluate_arrays(model, *validation_data, batch_size, fused, prefix="val_"))
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
    return history


def _evaluate_arrays(model, x, y, batch_size, fused, prefix="", cbs=None):
    trackers = _Trackers(model)
    trackers.reset()
    with ms.no_grad():
        for step, idx in enumerate(_batches(len(x), batch_size)):
            if cbs:
                cbs.on_test_batch_begin(step)
            value, predictions = _step(model, model.loss, fused, x[idx], y[idx], training=False)
            trackers.update(value.item(), y[idx], predictions)
            if cbs:
                cbs.on_test_batch_end(step, trackers.logs(prefix))
    return trackers.logs(prefix)


def evaluate(model, x, y, batch_size, verbose, return_dict, callbacks):
    verbose = _verbosity(verbose)
    batch_size = batch_size or DEFAULT_BATCH
    x, y = _arrays(x, y, "evaluate")
    if y is None:
        raise ValueError("evaluate: targets y are needed to compute the loss")
    _ready(model, x, "evaluate")
    extra = [_callbacks.ProgbarLogger(verbose)] if verbose else []
    cbs = _callbacks.CallbackList([*(callbacks or []), *extra], model,
                                  {"verbose": verbose, "steps": -(-len(x) // batch_size), "mode": "evaluate"})
    cbs.on_test_begin()
    logs = _evaluate_arrays(model, x, y, batch_size, _fused_loss(model), cbs=cbs)
    cbs.on_test_end(logs)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size, verbose, callbacks):
    verbose = _verbosity(verbose)
    batch_size = batch_size or DEFAULT_BATCH
    x, _ = _arrays(x, None, "predict")
    extra = [_callbacks.ProgbarLogger(verbose)] if verbose else []
    cbs = _callbacks.CallbackList([*(callbacks or []), *extra], model,
                                  {"verbose": verbose, "steps": -(-len(x) // batch_size)})
    outputs = []
    cbs.on_predict_begin()
    with ms.no_grad():
        for step, idx in enumerate(_batches(len(x), batch_size)):
            cbs.on_predict_batch_begin(step)
            outputs.append(model(as_float(x[idx]), training=False).numpy())
            cbs.on_predict_batch_end(step)
    cbs.on_predict_end()
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)
