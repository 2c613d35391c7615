"""Adadelta (Zeiler): step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """PyTorch's Adadelta. Per parameter, with g = grad (+ weight_decay·p):

        v     = ρ·v + (1 − ρ)·g²
        Δ     = √(u + eps) / √(v + eps) · g
        u     = ρ·u + (1 − ρ)·Δ²
        p     = p − lr·Δ
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), group["rho"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                w = p._data
                state = self.state[p]
                if not state:
                    state["step"] = Tensor._make(np.zeros((), np.float32))
                    state["square_avg"] = Tensor._make(np.zeros_like(w))
                    state["acc_delta"] = Tensor._make(np.zeros_like(w))
                state["step"]._data += 1
                g = self._effective_grad(w, p.grad._data, group["maximize"], group["weight_decay"])
                v, u = state["square_avg"]._data, state["acc_delta"]._data
                std, delta = self._temp(w, 0), self._temp(w, 2)
                v *= rho                             # v = ρ v + (1 − ρ) g²
                np.multiply(g, g, out=std)
                std *= 1 - rho
                v += std
                np.add(v, eps, out=std)              # √(v + eps)
                np.sqrt(std, out=std)
                np.add(u, eps, out=delta)            # Δ = √(u + eps) / √(v + eps) · g
                np.sqrt(delta, out=delta)
                delta /= std
                delta *= g
                u *= rho                             # u = ρ u + (1 − ρ) Δ²
                np.multiply(delta, delta, out=std)
                std *= 1 - rho
                u += std
                delta *= -lr
                w += delta
                p._version += 1
        return loss
