"""RAdam (Liu et al.): Adam whose adaptive step is switched on only once the variance of its
estimate is tractable, and then rectified."""
import math

import numpy as np

from .adam import update_moments
from .optimizer import Optimizer, check_args


class RAdam(Optimizer):
    """PyTorch's RAdam. Per parameter, with g = grad (+ weight_decay·p, or p scaled by
    1 − lr·weight_decay when decoupled) and t the step count:

        m = m + (1 − β1)·(g − m);   v = β2·v + (1 − β2)·g²;   m̂ = m / (1 − β1ᵗ)
        ρ∞ = 2/(1 − β2) − 1;        ρₜ = ρ∞ − 2t·β2ᵗ/(1 − β2ᵗ)
        ρₜ > 5:  p = p − m̂·lr·√(1 − β2ᵗ)/(√v + eps)·r,  r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ))
        else:    p = p − m̂·lr
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), group["eps"]
            beta1, beta2 = (float(b) for b in group["betas"])
            decoupled = group.get("decoupled_weight_decay", False)
            for w, state, g, t in self._stepped(group, "exp_avg", "exp_avg_sq", decoupled=decoupled):
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                tmp, upd = self._temp(w, 0), self._temp(w, 2)
                update_moments(m, v, g, beta1, beta2, tmp)
                bias_correction1 = 1 - beta1 ** t
                bias_correction2 = 1 - beta2 ** t
                np.divide(m, bias_correction1, out=upd)
                upd *= lr
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
                if rho_t > 5.0:
                    np.sqrt(v, out=tmp)              # adaptive lr: √(1 − β2ᵗ) / (√v + eps)
                    tmp += eps
                    np.divide(math.sqrt(bias_correction2), tmp, out=tmp)
                    upd *= tmp
                    upd *= math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                w -= upd
        return loss
