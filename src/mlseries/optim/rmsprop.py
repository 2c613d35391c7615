"""RMSprop (Hinton): divide the gradient by a running root-mean-square of recent gradients."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """PyTorch's RMSprop. Per parameter, with g = grad (+ weight_decay·p):

        v   = α·v + (1 − α)·g²
        avg = √(v − ḡ²) + eps with ḡ = ḡ + (1 − α)(g − ḡ)   (centered)   or   √v + eps
        buf = momentum·buf + g / avg;  p = p − lr·buf        (momentum > 0)
        p   = p − lr · g / avg                                (otherwise)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = float(group["lr"]), group["alpha"], group["eps"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                w = p._data
                state = self.state[p]
                if not state:
                    state["step"] = Tensor._make(np.zeros((), np.float32))
                    state["square_avg"] = Tensor._make(np.zeros_like(w))
                    if momentum > 0:
                        state["momentum_buffer"] = Tensor._make(np.zeros_like(w))
                    if group["centered"]:
                        state["grad_avg"] = Tensor._make(np.zeros_like(w))
                state["step"]._data += 1
                g = self._effective_grad(w, p.grad._data, group["maximize"], group["weight_decay"])
                sq = state["square_avg"]._data
                avg = self._temp(w, 0)
                sq *= alpha
                np.multiply(g, g, out=avg)
                avg *= 1 - alpha
                sq += avg
                if group["centered"]:
                    ga = state["grad_avg"]._data
                    np.subtract(g, ga, out=avg)
                    avg *= 1 - alpha
                    ga += avg
                    np.multiply(ga, ga, out=avg)
                    np.subtract(sq, avg, out=avg)
                    np.sqrt(avg, out=avg)
                else:
                    np.sqrt(sq, out=avg)
                avg += eps
                np.divide(g, avg, out=avg)       # avg now holds g / avg
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += avg
                    np.multiply(buf, -lr, out=avg)
                else:
                    avg *= -lr
                w += avg
                p._version += 1
        return loss
