"""`Conv2d` and `ConvTranspose2d`: learned 2-D filters, initialised and printed as in PyTorch."""
from .. import _device, _dtype
from .. import _functions as _fn
from .._factories import empty
from . import functional as F
from .functional_conv import _pair
from .linear import Linear
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNdBase(Module):
    """What every N-d convolution layer shares: weight (O, C/g, *kernel) or, transposed,
    (C, O/g, *kernel), bias (O,), PyTorch's default init, and the repr. Subclasses set `dims`
    (spatial dimensions) and `expand` (an int or tuple → a `dims`-tuple, naming the argument)."""

    transposed = False
    dims = 2
    expand = staticmethod(_pair)

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, output_padding=0, dtype=None):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        expand = self.expand
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = expand(kernel_size, "kernel_size")
        self.stride, self.dilation = expand(stride, "stride"), expand(dilation, "dilation")
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else expand(padding, "padding")
        self.output_padding = expand(output_padding, "output_padding")
        self.padding_mode = padding_mode
        dtype = _dtype.default_float if dtype is None else dtype
        # A transposed convolution's weight is (in, out/groups, *kernel): the forward one's with the roles swapped.
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(*shape, *self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    # PyTorch initialises convolutions exactly as Linear: weight U(−1/√fan_in, 1/√fan_in) through
    # kaiming_uniform_(a=√5), the bias with the same bound; fan_in counts in_channels/groups × kernel.
    reset_parameters = Linear.reset_parameters

    def extra_repr(self):
        zeros, ones = (0,) * self.dims, (1,) * self.dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or self.padding != zeros:
            s += f", padding={self.padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _output_padding_for(self, input, output_size):
        """The output_padding that makes a transposed convolution's output `output_size` (its
        last `dims` entries)."""
        n = self.dims
        want = tuple(output_size)[-n:]
        pads = []
        for d, size in enumerate(want):
            smallest = ((input.shape[-n + d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not smallest <= size < smallest + max(self.stride[d], self.dilation[d]):
                raise ValueError(f"{type(self).__name__}: requested output size {tuple(want)} is not reachable "
                                 f"from an input of size {tuple(input.shape[-n:])}; dimension {d} can be "
                                 f"{smallest}..{smallest + max(self.stride[d], self.dilation[d]) - 1}")
            pads.append(size - smallest)
        return tuple(pads)


_Conv2dBase = _ConvNdBase


class Conv2d(_Conv2dBase):
    """Slide `out_channels` filters of size in_channels/groups × kernel_size over (N, C, H, W).

    Output size per spatial dimension: ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        _device.check(device, "Conv2d(): ")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        # Other modes pad explicitly first (F.pad lists the last dimension first), then convolve unpadded.
        if isinstance(self.padding, str):
            pads = F._conv_pads(self.padding, self.kernel_size, self.dilation, self.stride)
        else:
            pads = (self.padding[0],) * 2 + (self.padding[1],) * 2
        padded = _fn.pad(input, (pads[2], pads[3], pads[0], pads[1]), mode=self.padding_mode)
        return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class _ConvTransposeNd(_ConvNdBase):
    """The transpose (gradient) of a convolution, used to upsample: each input pixel stamps the
    kernel onto the output, `stride` pixels apart. Subclasses name their functional (`function`).

    Output size: (size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.
    """

    transposed = True
    function = "conv_transpose2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        name = type(self).__name__
        _device.check(device, f"{name}(): ")
        if padding_mode != "zeros":
            raise ValueError(f"{name} only supports padding_mode='zeros', got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding=output_padding, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        return getattr(F, self.function)(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                         self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """The transpose of a 2-D convolution on (N, C, H, W): see _ConvTransposeNd."""
