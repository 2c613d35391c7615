"""RMSprop (Hinton): divide the gradient by a running root-mean-square of recent gradients."""
import numpy as np

from .optimizer import Optimizer, average_square, check_args


class RMSprop(Optimizer):
    """PyTorch's RMSprop. Per parameter, with g = grad (+ weight_decay·p):

        v   = α·v + (1 − α)·g²
        avg = √(v − ḡ²) + eps with ḡ = ḡ + (1 − α)(g − ḡ)   (centered)   or   √v + eps
        buf = momentum·buf + g / avg;  p = p − lr·buf        (momentum > 0)
        p   = p − lr · g / avg                                (otherwise)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_args(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = float(group["lr"]), group["alpha"], group["eps"], group["momentum"]
            buffers = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + \
                (("grad_avg",) if group["centered"] else ())
            for w, state, g, _ in self._stepped(group, *buffers):
                sq = state["square_avg"]._data
                avg = self._temp(w, 0)
                average_square(sq, g, alpha, avg)
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
        return loss
