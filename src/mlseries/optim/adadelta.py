"""Adadelta (Zeiler): step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .optimizer import Optimizer, average_square, check_args


class Adadelta(Optimizer):
    """PyTorch's Adadelta. Per parameter, with g = grad (+ weight_decay·p):

        v     = ρ·v + (1 − ρ)·g²
        Δ     = √(u + eps) / √(v + eps) · g
        u     = ρ·u + (1 − ρ)·Δ²
        p     = p − lr·Δ
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_args(lr=lr, eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), group["rho"], group["eps"]
            for w, state, g, _ in self._stepped(group, "square_avg", "acc_delta"):
                v, u = state["square_avg"]._data, state["acc_delta"]._data
                std, delta = self._temp(w, 0), self._temp(w, 2)
                average_square(v, g, rho, std)       # v = ρ v + (1 − ρ) g²
                np.add(v, eps, out=std)              # √(v + eps)
                np.sqrt(std, out=std)
                np.add(u, eps, out=delta)            # Δ = √(u + eps) / √(v + eps) · g
                np.sqrt(delta, out=delta)
                delta /= std
                delta *= g
                average_square(u, delta, rho, std)   # u = ρ u + (1 − ρ) Δ²
                delta *= -lr
                w += delta
        return loss
