"""`Parameter`: a tensor that a Module registers as one of its learnable weights."""
import numpy as np

from .._tensor import Tensor, _as_array


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that a Module lists in `parameters()`.

    It shares memory with the tensor (or array) it is made from, as in PyTorch, so
    `Parameter(w)` is a view of `w`'s values, not a copy.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        super().__init__(np.empty(0, dtype=np.float32) if data is None else _as_array(data),
                         requires_grad=requires_grad)
        if isinstance(data, Tensor):
            self._vc = data._vc  # the same memory, so the same version counter

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # copy.deepcopy(model) (target networks, "best so far" snapshots) must give new storage.
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            new.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = new
        return new


class Buffer(Tensor):
    """A tensor marked as a buffer: `self.mean = nn.Buffer(torch.zeros(3))` in a Module registers
    it as `register_buffer("mean", ..., persistent)` would (PyTorch 2.5's spelling). Shares memory
    with the tensor it is made from."""

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent=True):
        super().__init__(np.empty(0, dtype=np.float32) if data is None else _as_array(data), requires_grad=False)
        if isinstance(data, Tensor):
            self._vc = data._vc
        self.persistent = persistent
