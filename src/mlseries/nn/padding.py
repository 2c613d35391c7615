"""Padding layers: constant (`ZeroPad`, `ConstantPad`), `ReflectionPad`, `ReplicationPad` and
`CircularPad`, 1-D and 2-D, as PyTorch stores and prints them. `padding` is an int (the same on
every side) or a tuple (left, right[, top, bottom]) — F.pad's order, last dimension first."""
from . import functional as F
from .module import Module


def _expand(padding, n_dims, name):
    if isinstance(padding, int):
        return (padding,) * (2 * n_dims)
    padding = tuple(int(p) for p in padding)
    if len(padding) != 2 * n_dims:
        raise ValueError(f"{name}: padding must be an int or a tuple of {2 * n_dims} ints, got {padding}")
    return padding


class _PadNd(Module):
    n_dims = 1
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _expand(padding, self.n_dims, type(self).__name__)

    def forward(self, input):
        if self.mode != "constant":
            self._check(input)
        return F.pad(input, self.padding, self.mode)

    def _check(self, input):
        name, n = type(self).__name__, self.n_dims
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, got shape "
                             f"{tuple(input.shape)}")
        for i in range(n):
            size = input.shape[input.ndim - 1 - i]
            before, after = self.padding[2 * i], self.padding[2 * i + 1]
            if self.mode == "reflect" and max(before, after) >= size:
                raise ValueError(f"{name}: padding size should be less than the corresponding input dimension, but got "
                                 f"padding {(before, after)} at dimension {input.ndim - 1 - i} of input "
                                 f"{tuple(input.shape)}")
            if self.mode == "circular" and max(before, after) > size:
                raise ValueError(f"{name}: padding {(before, after)} is larger than dimension {input.ndim - 1 - i} "
                                 f"of input {tuple(input.shape)}")
            if self.mode == "replicate" and size == 0:
                raise ValueError(f"{name}: cannot replicate the edge of an empty dimension (input "
                                 f"{tuple(input.shape)})")

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    n_dims = 1


class ConstantPad2d(_ConstantPadNd):
    n_dims = 2


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    n_dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    n_dims, mode = 2, "reflect"


class ReplicationPad1d(_PadNd):
    n_dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    n_dims, mode = 2, "replicate"


class CircularPad1d(_PadNd):
    n_dims, mode = 1, "circular"


class CircularPad2d(_PadNd):
    n_dims, mode = 2, "circular"
