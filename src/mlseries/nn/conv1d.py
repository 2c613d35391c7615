"""`Conv1d` and `ConvTranspose1d`: learned filters sliding along one axis (audio, text, time
series), initialised, stored and printed as in PyTorch (weights (out, in/groups, k) and
(in, out/groups, k), sizes as 1-tuples)."""
from .. import _device, _dtype
from .. import _functions as _fn
from .._factories import empty
from . import functional as F
from .functional_conv1d import _single
from .linear import Linear
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple1(value, name):
    return (_single(value, name),)


class _Conv1dBase(Module):
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 output_padding=0, dtype=None):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"padding must be an int, 'valid' or 'same', got {padding!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple1(kernel_size, "kernel_size")
        self.stride, self.dilation = _tuple1(stride, "stride"), _tuple1(dilation, "dilation")
        if padding == "same" and self.stride != (1,):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else _tuple1(padding, "padding")
        self.output_padding = _tuple1(output_padding, "output_padding")
        self.padding_mode = padding_mode
        dtype = _dtype.default_float if dtype is None else dtype
        shape = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(*shape, *self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    # As Conv2d: U(−1/√fan_in, 1/√fan_in) through kaiming_uniform_(a=√5), fan_in = in/groups·k.
    reset_parameters = Linear.reset_parameters

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_Conv1dBase):
    """Slide `out_channels` filters of size in_channels/groups × kernel_size along (N, C, L).

    Output length: ⌊(L + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        _device.check(device, "Conv1d(): ")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        # Other modes pad explicitly, then convolve without padding.
        if self.padding == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            pads = (total // 2, total - total // 2)
        elif self.padding == "valid":
            pads = (0, 0)
        else:
            pads = (self.padding[0],) * 2
        padded = _fn.pad(input, pads, mode=self.padding_mode)
        return F.conv1d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_Conv1dBase):
    """The transpose (gradient) of a 1-D convolution, used to upsample by `stride`.

    Output length: (L − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.
    """

    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        _device.check(device, "ConvTranspose1d(): ")
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose1d only supports padding_mode='zeros', got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose1d: padding must be an int, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding=output_padding, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding[0]
        if output_size is not None:
            want = int(tuple(output_size)[-1]) if not isinstance(output_size, int) else int(output_size)
            s, p, d, k = self.stride[0], self.padding[0], self.dilation[0], self.kernel_size[0]
            smallest = (input.shape[-1] - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= want < smallest + max(s, d):
                raise ValueError(f"ConvTranspose1d: requested output length {want} is not reachable from an input of "
                                 f"length {input.shape[-1]}; it can be {smallest}..{smallest + max(s, d) - 1}")
            output_padding = want - smallest
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)
