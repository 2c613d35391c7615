"""Adam (Kingma & Ba), with PyTorch's options: L2 weight decay, AMSGrad, maximize."""
import math

import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer


def _check_adam_args(lr, betas, eps, weight_decay):
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


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
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p):
        zeros = np.zeros_like(p._data)
        state = {"step": Tensor._make(np.zeros((), np.float32)),
                 "exp_avg": Tensor._make(zeros),
                 "exp_avg_sq": Tensor._make(zeros.copy())}
        return state

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps, wd = group["eps"], group["weight_decay"]
            decoupled = group.get("decoupled_weight_decay", False)
            for p in group["params"]:
                if p.grad is None:
                    continue
                w = p._data
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p))
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = Tensor._make(np.zeros_like(w))
                state["step"]._data += 1
                t = float(state["step"]._data)
                if wd and decoupled:
                    w *= 1 - lr * wd
                g = self._effective_grad(w, p.grad._data, group["maximize"], 0 if decoupled else wd)
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                tmp = self._temp(w, 0)
                np.subtract(g, m, out=tmp)       # m += (1 - β1)(g - m)
                tmp *= 1 - beta1
                m += tmp
                v *= beta2                       # v = β2 v + (1 - β2) g²
                np.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v += tmp
                if group["amsgrad"]:
                    vmax = state["max_exp_avg_sq"]._data
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                step_size = lr / (1 - beta1 ** t)
                np.sqrt(v, out=tmp)              # denominator: √v / √(1 - β2ᵗ) + eps
                tmp /= math.sqrt(1 - beta2 ** t)
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= -step_size
                w += tmp
                p._version += 1
        return loss
