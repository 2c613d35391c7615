"""3-D pooling layers, LP pooling, and the 3-D batch/instance norms and channel dropout
(wrappers over functional and the 2-D classes), stored and printed as in PyTorch."""
from . import functional as F
from .batchnorm import _BatchNorm
from .dropout import Dropout
from .instancenorm import _InstanceNorm
from .module import Module
from .pooling import _AdaptiveAvgPoolNd, _AvgPoolNd, _MaxPoolNd


class MaxPool3d(_MaxPoolNd):
    """Keep the largest value of each window of (N, C, D, H, W); stride defaults to the kernel size."""

    function = "max_pool3d"


class AvgPool3d(_AvgPoolNd):
    """Average each window of (N, C, D, H, W); stride defaults to the kernel size."""

    function = "avg_pool3d"


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average down to a fixed (D, H, W) whatever the input size (1 gives global average pooling)."""

    function = "adaptive_avg_pool3d"


class AdaptiveMaxPool3d(Module):
    """Max-pool down to a fixed (D, H, W); return_indices also gives the flat positions of the maxima."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _LPPool(Module):
    """(Σ_window xᵖ)^(1/p) over each window; stride defaults to the kernel size."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def extra_repr(self):
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, " \
               f"ceil_mode={self.ceil_mode}"


class LPPool1d(_LPPool):
    def forward(self, input):
        return F.lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPool):
    def forward(self, input):
        return F.lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool3d(_LPPool):
    def forward(self, input):
        return F.lp_pool3d(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W): statistics per channel, over the batch and all voxels."""

    expected_dims = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W) or one (C, D, H, W)."""

    unbatched_dims = 4


class Dropout3d(Dropout):
    """Like Dropout (same p, inplace and repr), but each (sample, channel) volume is kept or zeroed whole."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)
