"""`nn.utils.weight_norm` / `remove_weight_norm`: w = g · v / ‖v‖ (Salimans & Kingma, 2016).

As in PyTorch's original form, the parameter `name` is replaced by two parameters,
`name_g` (the magnitude: one number per slice along `dim`) and `name_v` (the direction), and a
forward pre-hook recomputes `module.name` from them before every call, so the optimiser trains
g and v while the layer's forward uses the plain weight. dim=None (or -1, PyTorch's quirk in
this old API) normalises over the whole tensor.
"""
import warnings

from ... import _functions as _fn
from ..parameter import Parameter


def _norm_except_dim(v, dim):
    """‖v‖₂ over every dimension but `dim`, shaped to broadcast against v (whole norm when dim = −1)."""
    if dim == -1:
        return _fn.sqrt(_fn.sum(v * v))
    axes = tuple(i for i in range(v.ndim) if i != dim)
    return _fn.sqrt(_fn.sum(v * v, axes, keepdim=True))


class WeightNorm:
    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module, name, dim):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        weight = getattr(module, name, None)
        if not isinstance(weight, Parameter):
            raise ValueError(f"weight_norm: module has no parameter named {name!r}")
        fn = WeightNorm(name, dim)
        if fn.dim < -1:
            fn.dim += weight.ndim
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight.detach(), fn.dim).detach().clone()))
        module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
        object.__setattr__(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        if self.name in module.__dict__:
            object.__delattr__(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach().clone()))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparameterise `module.name` as g · v / ‖v‖ (parameters name_g and name_v); returns the module.
    Deprecated in PyTorch (with this warning) in favour of nn.utils.parametrizations.weight_norm."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of `torch.nn.utils.parametrizations.weight_norm`.",
                  FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_reparametrisation(module, kind, name, label):
    """Take off the forward pre-hook of class `kind` that recomputes `module.name` (weight or
    spectral norm), leaving one plain parameter with the current value."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"{label} of '{name}' not found in {module}")


def remove_weight_norm(module, name="weight"):
    """Undo weight_norm: `module.name` becomes one parameter again, with the current value."""
    return remove_reparametrisation(module, WeightNorm, name, "weight_norm")
