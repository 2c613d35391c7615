"""`nn.utils.parametrizations`: weight_norm and spectral_norm written with `parametrize`
(PyTorch's current API), and so with PyTorch's state-dict keys:
`parametrizations.weight.original0` (g) / `original1` (v) for weight_norm, and
`parametrizations.weight.original` plus `parametrizations.weight.0._u` / `._v` for spectral_norm.
"""
from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...random import _gen
from ... import _functions as _fn
from ..module import Module
from . import parametrize
from .spectral_norm import _normalize
from .weight_norm import _norm_except_dim


class _WeightNorm(Module):
    """(g, v) -> g · v / ‖v‖, the norm taken over every dim but `dim` (all of them when -1)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim).detach().clone(), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize `module.name` as g · v / ‖v‖, with g = `parametrizations.name.original0` and
    v = `original1`. dim=None normalises over the whole tensor. Returns the module."""
    w = getattr(module, name, None)
    if isinstance(w, Tensor) and dim is not None and dim < -1:
        dim += w.ndim
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """W -> W / σ(W), σ estimated by power iteration on W seen as a matrix (`dim` first); the
    vectors are the buffers `_u` and `_v`, refined once per forward in training mode."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                             f"but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)._data
            h, w = mat.shape
            rng = _gen()
            self.register_buffer("_u", Tensor._make(_normalize(rng.standard_normal(h), eps).astype(mat.dtype)))
            self.register_buffer("_v", Tensor._make(_normalize(rng.standard_normal(w), eps).astype(mat.dtype)))
            self._power_method(mat, 15)  # start from a good estimate

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = _fn.movedim(weight, self.dim, 0)
        return _fn.reshape(weight, (weight.shape[0], -1))

    def _power_method(self, mat, n):
        u, v = self._u._data, self._v._data
        for _ in range(n):
            # in place, so the buffers carry the estimate to the next call
            u[...] = _normalize(mat @ v, self.eps)
            v[...] = _normalize(mat.conj().T @ u, self.eps)
        self._u._version += 1
        self._v._version += 1

    def forward(self, weight):
        if weight.ndim == 1:
            from .. import functional as F
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            with no_grad():
                self._power_method(mat._data, self.n_power_iterations)
        u, v = Tensor._make(self._u._data.copy()), Tensor._make(self._v._data.copy())
        sigma = _fn.dot(u, _fn.matmul(mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide `module.name` by its largest singular value on every access. dim defaults to 0,
    or 1 for transposed convolutions. Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
