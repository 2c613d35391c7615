"""NAdam (Dozat): Adam with Nesterov momentum and a momentum schedule."""
import numpy as np

from .._tensor import Tensor
from .adam import update_moments
from .optimizer import Optimizer, check_args


class NAdam(Optimizer):
    """PyTorch's NAdam. Per parameter, with g = grad (+ weight_decay·p, or p scaled by
    1 − lr·weight_decay when decoupled) and t the step count:

        μₜ = β1·(1 − ½·0.96^(t·ψ)),  Πₜ = Π μ₁..μₜ    (ψ = momentum_decay; Π kept in float32, as PyTorch does)
        m  = m + (1 − β1)·(g − m);   v = β2·v + (1 − β2)·g²
        d  = √(v / (1 − β2ᵗ)) + eps
        p  = p − lr·(1 − μₜ)/(1 − Πₜ) · g/d − lr·μₜ₊₁/(1 − Πₜ·μₜ₊₁) · m/d
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_args(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, psi = float(group["lr"]), group["eps"], group["momentum_decay"]
            beta1, beta2 = (float(b) for b in group["betas"])
            decoupled = group.get("decoupled_weight_decay", False)
            for w, state, g, t in self._stepped(group, "exp_avg", "exp_avg_sq", decoupled=decoupled):
                if "mu_product" not in state:
                    state["mu_product"] = Tensor._make(np.ones((), np.float32))
                bias_correction2 = 1 - beta2 ** t
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
                mu_product = state["mu_product"]._data
                mu_product *= mu
                prod = float(mu_product)
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                tmp, denom = self._temp(w, 0), self._temp(w, 2)
                update_moments(m, v, g, beta1, beta2, tmp)
                np.divide(v, bias_correction2, out=denom)
                np.sqrt(denom, out=denom)
                denom += eps
                np.divide(g, denom, out=tmp)
                tmp *= -lr * (1.0 - mu) / (1.0 - prod)
                w += tmp
                np.divide(m, denom, out=tmp)
                tmp *= (-lr * mu_next) / (1.0 - prod * mu_next)
                w += tmp
        return loss
