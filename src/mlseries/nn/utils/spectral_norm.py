"""`nn.utils.spectral_norm` / `remove_spectral_norm`: divide a weight by its largest singular
value, estimated by power iteration (Miyato et al., 2018: SN-GAN's discriminator).

PyTorch's original form, names included: the parameter becomes `name_orig`, the power-iteration
vectors are the buffers `name_u` (rows) and `name_v` (columns) of the weight seen as a matrix
(`dim` first, the rest flattened), and a forward pre-hook sets `module.name` = W / σ, with
σ = uᵀ W v, before every call. In training mode each call first runs `n_power_iterations` steps
(updating u and v in place, without gradient); in eval mode u and v are used as they are.
"""
import numpy as np

from ... import _functions as _fn
from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...random import _gen
from ..parameter import Parameter
from .weight_norm import remove_reparametrisation


def _normalize(a, eps):
    return a / max(float(np.linalg.norm(a)), eps)


class SpectralNorm:
    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations="
                             f"{n_power_iterations}")
        self.name, self.dim, self.eps, self.n_power_iterations = name, dim, eps, n_power_iterations

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = _fn.movedim(weight, self.dim, 0)
        return _fn.reshape(weight, (weight.shape[0], -1))

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            w = mat._data
            with no_grad():
                for _ in range(self.n_power_iterations):
                    # in place, so the buffers carry the estimate to the next call
                    v._data[...] = _normalize(w.T @ u._data, self.eps)
                    u._data[...] = _normalize(w @ v._data, self.eps)
                u._vc[0] += 1
                v._vc[0] += 1
            u, v = Tensor._make(u._data.copy()), Tensor._make(v._data.copy())
        sigma = _fn.dot(u, _fn.matmul(mat, v))
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        if self.name in module.__dict__:
            object.__delattr__(module, self.name)
        del module._parameters[self.name + "_orig"]
        del module._buffers[self.name + "_u"]
        del module._buffers[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach().clone()))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"spectral_norm: module has no parameter named {name!r}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        with no_grad():
            mat = fn.reshape_weight_to_matrix(weight)._data
            h, w = mat.shape
            rng = _gen()
            u = _normalize(rng.standard_normal(h), eps).astype(mat.dtype)
            v = _normalize(rng.standard_normal(w), eps).astype(mat.dtype)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        object.__setattr__(module, name, Tensor._make(weight._data))
        module.register_buffer(name + "_u", Tensor._make(u))
        module.register_buffer(name + "_v", Tensor._make(v))
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide `module.name` by its spectral norm before every forward; returns the module. dim
    defaults to 0, or 1 for transposed convolutions (their output channels are dim 1)."""
    if dim is None:
        dim = 1 if type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: `module.name` becomes a parameter holding W / σ."""
    return remove_reparametrisation(module, SpectralNorm, name, "spectral_norm")
