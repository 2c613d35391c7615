"""Adam (Kingma & Ba), with PyTorch's options: L2 weight decay, AMSGrad, maximize."""
import math

import numpy as np

from .. import _parallel
from .optimizer import Optimizer, average_square, check_args


def update_moments(m, v, g, beta1, beta2, tmp):
    """Adam's moment estimates, in place: m += (1 − β1)(g − m) and v = β2·v + (1 − β2)·g²."""
    np.subtract(g, m, out=tmp)
    tmp *= 1 - beta1
    m += tmp
    average_square(v, g, beta2, tmp)


class Adam(Optimizer):
    """PyTorch's Adam. Per parameter, with g = grad and t the step count:

        g  = g + weight_decay·p            (or p = p·(1 − lr·weight_decay) when decoupled: AdamW)
        m  = m + (1 − β1)·(g − m)
        v  = β2·v + (1 − β2)·g²            (amsgrad: v̂ = max(v̂, v) is used below instead of v)
        p  = p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = group["eps"]
            decoupled = group.get("decoupled_weight_decay", False)
            moments = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
            for w, state, g, t in self._stepped(group, *moments, decoupled=decoupled):
                arrays = [w, g, self._temp(w, 0)] + [state[name]._data for name in moments]
                step_size = lr / (1 - beta1 ** t)
                root_bc2 = math.sqrt(1 - beta2 ** t)

                def update(rows, arrays=arrays, step_size=step_size, root_bc2=root_bc2):
                    w, g, tmp, m, v, *vmax = (a[rows] for a in arrays)
                    update_moments(m, v, g, beta1, beta2, tmp)
                    if vmax:  # amsgrad
                        v = np.maximum(vmax[0], v, out=vmax[0])
                    np.sqrt(v, out=tmp)              # denominator: √v / √(1 - β2ᵗ) + eps
                    tmp /= root_bc2
                    tmp += eps
                    np.divide(m, tmp, out=tmp)
                    tmp *= -step_size
                    w += tmp

                # elementwise, so a large parameter (an embedding table) is updated in parts on
                # idle cores with the same result
                _parallel.by_rows(w, update)
        return loss
