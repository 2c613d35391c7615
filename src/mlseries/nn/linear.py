"""`Linear` (a fully connected layer) and `Identity`."""
import math

from .. import _device, _dtype
from .._factories import empty
from .._tensor import ShapeError
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer from a model)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x Wᵀ + b, with W of shape (out_features, in_features).

    Initialised as PyTorch does: W ~ kaiming_uniform_(a=√5), which is U(−1/√in, 1/√in), and
    b ~ U(−1/√in, 1/√in), both drawn from the default generator (so `manual_seed` fixes them).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        _device.check(device, "Linear(): ")
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dtype = _dtype.default_float if dtype is None else dtype
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            n = input.shape[-1] if input.ndim else "no"
            raise ShapeError(f"Linear(in_features={self.in_features}): input of shape {tuple(input.shape)} "
                             f"has {n} features in its last dimension")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
