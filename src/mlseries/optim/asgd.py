"""Averaged SGD (Polyak & Juditsky): SGD with a decaying step, plus a running average `ax` of the
iterates (kept in the state; the parameters themselves follow plain SGD)."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_args


class ASGD(Optimizer):
    """PyTorch's ASGD. Per parameter, with g = grad (+ weight_decay·p) and t the step count:

        p   = p·(1 − λ·η) − η·g
        ax  = p  while μ = 1, else  ax + μ·(p − ax)
        η   = lr / (1 + λ·lr·t)^α;   μ = 1 / max(1, t − t0)
    η and μ are stored as float32 0-d tensors (as PyTorch's are), so their rounding matches.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_args(lr=lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = float(group["lr"]), group["lambd"], group["alpha"], group["t0"]
            for w, state, g, t in self._stepped(group, "ax"):
                if "eta" not in state:
                    state["eta"] = Tensor._make(np.array(lr, np.float32))
                    state["mu"] = Tensor._make(np.array(1.0, np.float32))
                eta, mu = float(state["eta"]._data), float(state["mu"]._data)
                w *= 1 - lambd * eta
                w -= eta * g
                ax = state["ax"]._data
                if mu != 1:
                    ax += (w - ax) * mu
                else:
                    np.copyto(ax, w)
                state["eta"]._data[...] = lr / ((1 + lambd * lr * t) ** alpha)
                state["mu"]._data[...] = 1 / max(1, t - t0)
        return loss
