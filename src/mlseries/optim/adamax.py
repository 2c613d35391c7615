"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the second moment."""
import numpy as np

from .optimizer import Optimizer, check_args


class Adamax(Optimizer):
    """PyTorch's Adamax. Per parameter, with g = grad (+ weight_decay·p) and t the step count:

        m = m + (1 − β1)·(g − m)
        u = max(β2·u, |g| + eps)
        p = p − lr/(1 − β1ᵗ) · m / u
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), group["eps"]
            beta1, beta2 = (float(b) for b in group["betas"])
            for w, state, g, t in self._stepped(group, "exp_avg", "exp_inf"):
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
        return loss
