"""Lazy layers: `LazyLinear`, `LazyConv2d`, `LazyBatchNorm1d`, `LazyBatchNorm2d`.

Each is built without its input size; the first call reads the size from the input, gives the
parameters their shapes, initialises them exactly as the ordinary layer does, and turns the
module into that layer (`type(m)` becomes `Linear`, ...), as PyTorch does. The parameter objects
are the same before and after, so an optimizer built before the first call keeps working.
"""
import numpy as np

from .. import _device, _dtype
from .._grad_mode import no_grad
from .._tensor import Tensor
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .parameter import Parameter

_UNINITIALIZED = ("Can't access the shape of an uninitialized parameter or buffer. Call `forward` (a dry run "
                  "with an example input) to initialize the parameters before accessing their attributes.")


class _Uninitialized:
    """Shared by the uninitialised parameter and buffer: no shape until `materialize`."""

    __slots__ = ()
    _is_uninitialized = True

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor its shape (values uninitialised) and turn it into its final class."""
        _device.check(device, "materialize(): ")
        npd = self._data.dtype if dtype is None else _dtype.to_np(dtype)
        self._data = np.empty(tuple(shape), npd)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_UNINITIALIZED)

    def size(self, dim=None):
        raise RuntimeError(_UNINITIALIZED)

    def numel(self):
        raise RuntimeError(_UNINITIALIZED)

    def dim(self):
        raise RuntimeError(_UNINITIALIZED)

    @property
    def ndim(self):
        raise RuntimeError(_UNINITIALIZED)

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _empty(dtype):
    return np.empty(0, _dtype.default_float.np if dtype is None else _dtype.to_np(dtype))


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter whose shape is decided by a lazy module's first call."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        _device.check(device, "UninitializedParameter(): ")
        Parameter.__init__(self, _empty(dtype), requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = UninitializedParameter(self.requires_grad, dtype=self._data.dtype)
        memo[id(self)] = new
        return new


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is decided by a lazy module's first call."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        _device.check(device, "UninitializedBuffer(): ")
        Tensor.__init__(self, _empty(dtype), requires_grad=requires_grad)


def _uninitialized(value):
    return getattr(value, "_is_uninitialized", False)


class LazyModuleMixin:
    """What every lazy layer shares: infer the shapes on the first call, then become `cls_to_become`."""

    cls_to_become = None

    def has_uninitialized_params(self):
        return any(_uninitialized(t) for t in list(self._parameters.values()) + list(self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define initialize_parameters")

    def __call__(self, *args, **kwargs):
        # Only the first call gets here: afterwards the module is of its ordinary class.
        if not args:
            raise TypeError(f"{type(self).__name__}: the first call needs the input as a positional argument "
                            "(its shape sets the layer's size)")
        with no_grad():
            self.initialize_parameters(*args, **kwargs)
        self._lazy_become()
        return Module.__call__(self, *args, **kwargs)

    def _lazy_become(self):
        """Once every parameter has a shape, the module is the ordinary layer from then on."""
        if not self.has_uninitialized_params() and self.cls_to_become is not None:
            self._infer_sizes_from_parameters()
            self.__class__ = self.cls_to_become

    def _infer_sizes_from_parameters(self):
        """After `load_state_dict` filled the parameters: record the sizes they imply."""


class LazyLinear(LazyModuleMixin, Linear):
    """A `Linear` whose `in_features` is the size of the last dimension of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        _device.check(device, "LazyLinear(): ")
        super().__init__(0, out_features, False, dtype=dtype)  # no bias yet; both parameters are set below
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()

    def _infer_sizes_from_parameters(self):
        self.in_features = self.weight._data.shape[1]


class LazyConv2d(LazyModuleMixin, Conv2d):
    """A `Conv2d` whose `in_channels` is the channel count of its first input ((N, C, H, W) or (C, H, W))."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        _device.check(device, "LazyConv2d(): ")
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                         dtype=dtype)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            if input.ndim not in (3, 4):
                raise ValueError(f"LazyConv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                                 f"{tuple(input.shape)}")
            self.in_channels = input.shape[1] if input.ndim == 4 else input.shape[0]
            if self.in_channels % self.groups:
                raise ValueError(f"LazyConv2d: in_channels ({self.in_channels}) must be divisible by groups "
                                 f"({self.groups})")
            self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _infer_sizes_from_parameters(self):
        self.in_channels = self.weight._data.shape[1] * self.groups


class _LazyBatchNorm(LazyModuleMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        _device.check(device, f"{type(self).__name__}(): ")
        super().__init__(0, eps, momentum, affine, track_running_stats, dtype=dtype)
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)

    def initialize_parameters(self, input):
        if input.ndim < 2:
            raise ValueError(f"{type(self).__name__}: expected an input with a channel dimension, got shape "
                             f"{tuple(input.shape)}")
        if self.num_features == 0:
            self.num_features = input.shape[1]
        if self.has_uninitialized_params():
            for name in ("weight", "bias", "running_mean", "running_var"):
                t = getattr(self, name)
                if t is not None:
                    t.materialize((self.num_features,))
            if self.affine:
                self.weight._data[...] = 1
                self.bias._data[...] = 0
            if self.track_running_stats:
                self.reset_running_stats()

    def _infer_sizes_from_parameters(self):
        for name in ("weight", "running_mean"):
            t = getattr(self, name)
            if t is not None:
                self.num_features = t._data.shape[0]
                return


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """A `BatchNorm1d` whose `num_features` is dimension 1 of its first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """A `BatchNorm2d` whose `num_features` is dimension 1 of its first input."""

    cls_to_become = BatchNorm2d


__all__ = ["LazyLinear", "LazyConv2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyModuleMixin",
           "UninitializedParameter", "UninitializedBuffer"]
