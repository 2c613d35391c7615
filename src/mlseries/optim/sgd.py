"""Stochastic gradient descent, with momentum, Nesterov momentum, weight decay and maximize."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer, check_args


class SGD(Optimizer):
    """PyTorch's SGD. Per parameter, with d = grad (+ weight_decay·p):

        buf = d                          on the first step, then
        buf = momentum·buf + (1 − dampening)·d
        d   = d + momentum·buf  (nesterov)   or   d = buf
        p   = p − lr·d
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_args(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            for w, state, d, _ in self._stepped(group, count=False):
                tmp = self._temp(w, 0)
                if momentum != 0:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(d.copy())
                    else:
                        b = buf._data
                        b *= momentum
                        np.multiply(d, 1 - dampening, out=tmp)
                        b += tmp
                    if group["nesterov"]:
                        np.multiply(buf._data, momentum, out=tmp)
                        tmp += d
                        d = tmp
                    else:
                        d = buf._data
                np.multiply(d, -lr, out=tmp)
                w += tmp
        return loss
