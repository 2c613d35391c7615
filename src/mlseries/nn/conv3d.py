"""`Conv3d` and `ConvTranspose3d`: learned volumetric filters (video, medical volumes), with
PyTorch's parameter names, shapes and initialisation, so a PyTorch state_dict loads as is."""
from .. import _device
from .. import _functions as _fn
from . import functional as F
from .conv import _ConvNdBase, _ConvTransposeNd
from .functional_conv3d import _same_pads, _triple


class _Conv3dBase(_ConvNdBase):
    """conv.py's layer base in three dimensions: weight (O, C/g, kd, kh, kw) or, transposed,
    (C, O/g, kd, kh, kw)."""

    dims = 3
    expand = staticmethod(_triple)


class Conv3d(_Conv3dBase):
    """Slide `out_channels` filters of size in_channels/groups × kd × kh × kw over (N, C, D, H, W).

    Output size per spatial dimension: ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        _device.check(device, "Conv3d(): ")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        # Other modes pad explicitly first (F.pad lists the last dimension first), then convolve unpadded.
        if isinstance(self.padding, str):
            pads = _same_pads(self.kernel_size, self.dilation) if self.padding == "same" else [(0, 0)] * 3
        else:
            pads = [(p, p) for p in self.padding]
        flat = tuple(v for pair in reversed(pads) for v in pair)
        return F.conv3d(_fn.pad(input, flat, mode=self.padding_mode), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    """The transpose (gradient) of a 3-D convolution, used to upsample volumes (see _ConvTransposeNd)."""

    dims = 3
    expand = staticmethod(_triple)
    function = "conv_transpose3d"
