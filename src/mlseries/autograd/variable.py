"""`torch.autograd.variable`: the `Variable` of PyTorch before 0.4, kept so old programs run.

Since 0.4 a Variable is just a tensor. PyTorch keeps the name as a class whose `isinstance`
check accepts every tensor and whose call returns a plain tensor: the data detached (sharing its
memory) with `requires_grad` set as asked. `volatile=` no longer does anything (it warns and
says to use `no_grad()`), exactly as in PyTorch.
"""
import warnings

from .._tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    # Old code checks `isinstance(x, Variable)`: every tensor is one now.
    def __instancecheck__(cls, other):
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """`Variable(tensor, requires_grad=False, volatile=False)` → `tensor.detach()` with
    `requires_grad` set; `Variable()` is an empty float tensor. The result is a Tensor."""

    def __new__(cls, data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            from .._factories import empty
            out = empty(0)
        elif isinstance(data, Tensor):
            out = data.detach()  # shares memory and version counter, as PyTorch's
        else:
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad:
            out.requires_grad_(True)
        return out
