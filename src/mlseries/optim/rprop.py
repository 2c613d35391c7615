"""Rprop (Riedmiller & Braun): each weight has its own step size, grown while its gradient keeps
its sign and shrunk when the sign flips; only the gradient's sign is used."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_args


class Rprop(Optimizer):
    """PyTorch's Rprop. Per element, with g = grad (−grad when maximizing) and g' the previous one:

        step = clamp(step·η₊, ·, max) if g·g' > 0;  clamp(step·η₋, min, ·) if g·g' < 0 (and g := 0)
        p    = p − sign(g)·step;   g' = g
    Steps start at lr. Full-batch training is what it is made for: mini-batch noise flips signs.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        check_args(lr=lr)
        etaminus, etaplus = etas
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Invalid eta values: {etaminus}, {etaplus}")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            smin, smax = group["step_sizes"]
            for w, state, g, _ in self._stepped(group, "prev"):
                if "step_size" not in state:
                    state["step_size"] = Tensor._make(np.full_like(w, float(group["lr"])))
                prev, size = state["prev"]._data, state["step_size"]._data
                agree = np.sign(g * prev)                   # +1 same sign, −1 flipped, 0 either is zero
                factor = np.where(agree > 0, etaplus, np.where(agree < 0, etaminus, 1.0)).astype(w.dtype)
                size *= factor
                np.clip(size, smin, smax, out=size)
                g = np.where(agree < 0, 0, g).astype(w.dtype)  # after a flip, skip this update
                w -= np.sign(g) * size
                np.copyto(prev, g)
        return loss
