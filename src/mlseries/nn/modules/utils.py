"""`torch.nn.modules.utils`: `_single`, `_pair`, `_triple`, `_quadruple` and `_ntuple`, which
custom convolution code calls to turn `3` into `(3, 3)`.

The engine's own layers use `_pair(value, name)` helpers that also check the value and name the
argument in their errors; these are PyTorch's plain one-argument forms: an iterable is made a
tuple as it is, anything else is repeated n times."""
import collections.abc
import itertools

__all__ = ["_ntuple", "_single", "_pair", "_triple", "_quadruple"]


def _ntuple(n, name="parse"):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(itertools.repeat(x, n))
    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")
