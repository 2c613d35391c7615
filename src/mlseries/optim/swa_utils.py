"""Stochastic weight averaging and EMA of weights: `AveragedModel`, `SWALR`, `update_bn`, and the
averaging functions (`get_swa_avg_fn`, `get_ema_avg_fn` and their list-at-once versions).

Averaging several points along the end of training (Izmailov et al., 2018) or keeping an
exponential moving average of the weights usually generalises better than the last weights.
"""
import copy
import itertools
import math

import numpy as np

from .._grad_mode import no_grad
from .._tensor import Tensor
from ..nn.batchnorm import _BatchNorm
from ..nn.module import Module
from .lr_scheduler import LRScheduler, _per_group


def get_ema_multi_avg_fn(decay=0.999):
    """ema ← ema + (1 − decay)·(current − ema), for lists of tensors, in place."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        for e, c in zip(ema_param_list, current_param_list):
            if e._data.dtype.kind in "fc":
                e._data += (c._data - e._data) * (1 - decay)
            else:
                e._data[...] = e._data * decay + c._data * (1 - decay)
            e._version += 1

    return ema_update


def get_swa_multi_avg_fn():
    """avg ← avg + (current − avg) / (n + 1), for lists of tensors, in place."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged._data if isinstance(num_averaged, Tensor) else num_averaged)
        for a, c in zip(averaged_param_list, current_param_list):
            a._data[...] = a._data + (c._data - a._data) / (n + 1)
            a._version += 1

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """A function (ema, current, n) -> decay·ema + (1 − decay)·current."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """A function (avg, current, n) -> the running mean after one more model."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of `model` (`self.module`) whose weights are an average of the weights passed to
    `update_parameters(model)`: the equal-weight running mean by default (SWA), or what
    `avg_fn(avg, current, n)` returns, or what `multi_avg_fn(avgs, currents, n)` writes in place
    (e.g. `get_ema_multi_avg_fn(0.999)`). Buffers (BatchNorm statistics) are averaged too when
    `use_buffers`, else copied from the model (then recompute them with `update_bn`)."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor._make(np.array(0, np.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        mine = list(itertools.chain(self.module.parameters(), self.module.buffers()) if self.use_buffers
                    else self.parameters())
        theirs = list(itertools.chain(model.parameters(), model.buffers()) if self.use_buffers
                      else model.parameters())
        mine, theirs = [p.detach() for p in mine], [p.detach() for p in theirs]
        n = int(self.n_averaged._data)
        with no_grad():
            if n == 0:
                for a, c in zip(mine, theirs):
                    np.copyto(a._data, c._data, casting="unsafe")
                    a._version += 1
            elif self.avg_fn is not None:
                for a, c in zip(mine, theirs):
                    np.copyto(a._data, _array(self.avg_fn(a, c, self.n_averaged.clone())), casting="unsafe")
                    a._version += 1
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                by_dtype = {}
                for a, c in zip(mine, theirs):
                    lists = by_dtype.setdefault(a._data.dtype, ([], []))
                    lists[0].append(a)
                    lists[1].append(c)
                for avgs, currents in by_dtype.values():
                    fn(avgs, currents, self.n_averaged.clone())
            if not self.use_buffers:
                # the buffers follow the model, so BatchNorm statistics belong to its weights
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    np.copyto(b_avg._data, b_model._data, casting="unsafe")
                    b_avg._version += 1
        self.n_averaged._data += 1


def _array(value):
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running statistics with one pass over `loader` (batches, or
    (input, ...) tuples whose first item is fed to the model): averaged weights need their own
    statistics. The statistics are exact means over the batches (momentum=None during the pass)."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to `swa_lr` over `anneal_epochs` steps ('cos' or 'linear'), then
    hold it there: the schedule used while collecting SWA averages."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        self.anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        return t if self.anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        # the lr before annealing began, recovered from the current one (chainable form)
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]
