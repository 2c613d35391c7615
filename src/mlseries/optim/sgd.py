"""Stochastic gradient descent, with momentum, Nesterov momentum, weight decay and maximize."""
import numpy as np

from .._tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD. Per parameter, with d = grad (+ weight_decay·p):

        buf = d                          on the first step, then
        buf = momentum·buf + (1 − dampening)·d
        d   = d + momentum·buf  (nesterov)   or   d = buf
        p   = p − lr·d
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
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
            for p in group["params"]:
                if p.grad is None:
                    continue
                w = p._data
                d = self._effective_grad(w, p.grad._data, group["maximize"], group["weight_decay"])
                tmp = self._temp(w, 0)
                if momentum != 0:
                    state = self.state[p]
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
                p._version += 1
        return loss
