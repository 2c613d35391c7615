"""Adagrad (Duchi et al.): per-element learning rates shrinking with the summed squared gradients."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_args


class Adagrad(Optimizer):
    """PyTorch's Adagrad. Per parameter, with g = grad (+ weight_decay·p) and t the step count:

        clr = lr / (1 + (t − 1)·lr_decay)
        sum = sum + g²
        p   = p − clr · g / (√sum + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_args(lr=lr, eps=eps, lr_decay=lr_decay, weight_decay=weight_decay,
                   initial_accumulator_value=initial_accumulator_value)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state up front, so it is in state_dict() before any step.
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": Tensor._make(np.zeros((), np.float32)),
                                 "sum": Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))}

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = float(group["lr"]), group["lr_decay"], group["eps"]
            for w, state, g, t in self._stepped(group):
                clr = lr / (1 + (t - 1) * lr_decay)
                acc = state["sum"]._data
                tmp = self._temp(w, 0)
                np.multiply(g, g, out=tmp)
                acc += tmp
                np.sqrt(acc, out=tmp)
                tmp += eps
                np.divide(g, tmp, out=tmp)
                tmp *= -clr
                w += tmp
        return loss
