"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the second moment."""
import numpy as np

from .._tensor import Tensor
from .adam import _check_adam_args
from .optimizer import Optimizer


class Adamax(Optimizer):
    """PyTorch's Adamax. Per parameter, with g = grad (+ weight_decay·p) and t the step count:

        m = m + (1 − β1)·(g − m)
        u = max(β2·u, |g| + eps)
        p = p − lr/(1 − β1ᵗ) · m / u
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), group["eps"]
            beta1, beta2 = (float(b) for b in group["betas"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                w = p._data
                state = self.state[p]
                if not state:
                    state["step"] = Tensor._make(np.zeros((), np.float32))
                    state["exp_avg"] = Tensor._make(np.zeros_like(w))
                    state["exp_inf"] = Tensor._make(np.zeros_like(w))
                state["step"]._data += 1
                t = float(state["step"]._data)
                g = self._effective_grad(w, p.grad._data, group["maximize"], group["weight_decay"])
                m, u = state["exp_avg"]._data, state["exp_inf"]._data
                tmp = self._temp(w, 0)
                np.subtract(g, m, out=tmp)           # m += (1 − β1)(g − m)
                tmp *= 1 - beta1
                m += tmp
                u *= beta2                           # u = max(β2 u, |g| + eps)
                np.abs(g, out=tmp)
                tmp += eps
                np.maximum(u, tmp, out=u)
                np.divide(m, u, out=tmp)
                tmp *= -(lr / (1 - beta1 ** t))
                w += tmp
                p._version += 1
        return loss
