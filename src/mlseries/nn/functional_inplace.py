"""The in-place functional spellings (F.relu_, F.leaky_relu_, ...) and max_pool*d_with_indices,
as in PyTorch. The `_` forms change their input (the engine's `inplace=True` arguments are
accepted but give a new tensor); they go through the same path as `x.relu_()`, so autograd
tracks them and a leaf that requires grad is refused."""
from .._inplace_more import _inplace
from . import functional as F

relu_, leaky_relu_, elu_, hardtanh_, threshold_, selu_, celu_, rrelu_ = (
    _inplace(name, getattr(F, name)) for name in ("relu", "leaky_relu", "elu", "hardtanh", "threshold", "selu",
                                                  "celu", "rrelu"))


def _with_indices(pool):
    def f(input, *args, **kwargs):
        return pool(input, *args, return_indices=True, **kwargs)
    f.__name__ = f.__qualname__ = pool.__name__ + "_with_indices"
    return f


max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices = (
    _with_indices(F.max_pool1d), _with_indices(F.max_pool2d), _with_indices(F.max_pool3d))


__all__ = ["relu_", "leaky_relu_", "elu_", "hardtanh_", "threshold_", "selu_", "celu_", "rrelu_",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices"]
