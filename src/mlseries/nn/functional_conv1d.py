"""1-D convolution and pooling, and adaptive max pooling, as functions (re-exported by `F`).

A signal (N, C, L) is an image (N, C, 1, L) of height one, so conv1d, conv_transpose1d and the
1-D pools call their 2-D forms with a unit kernel height: no calculus of their own, and every
gradient (second derivatives included) is the 2-D one. Arguments are checked here first, so that
errors speak of lengths and 1-D kernels rather than the 2-D call underneath.

Adaptive max pooling finds each window's maximum with NumPy and then *gathers* it from the
input, so its gradient is gather's (a scatter-add onto the winning positions).
"""
import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._tensor import ShapeError, Tensor
from .functional_conv import (_batched, _positive, _unbatch, adaptive_avg_pool2d, avg_pool2d, conv2d,
                              conv_transpose2d, max_pool2d)

__all__ = ["conv1d", "conv_transpose1d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "max_pool1d_with_indices"]


def _single(value, name):
    """An int, or a 1-tuple of one (PyTorch's _single), as an int."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = tuple(int(v) for v in value)
    if len(value) != 1:
        raise ValueError(f"{name} must be an int or a 1-tuple for a 1-D layer, got {value}")
    return value[0]


def _signal(name, input):
    """(N, C, L) or one unbatched (C, L)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {tuple(input.shape)}")


def _as_image(x):
    return _fn.unsqueeze(x, -2)  # (N, C, 1, L) or (C, 1, L)


def _as_signal(x):
    return _fn.squeeze(x, -2)


# ---- convolution ------------------------------------------------------------------------------
def _conv1d_weight(name, weight, layout):
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{name}: the weight must be 3-D {layout}, got {shape}")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of (N, C, L) with a weight (O, C/groups, k)."""
    _signal("conv1d", input)
    _conv1d_weight("conv1d", weight, "(out_channels, in_channels/groups, kernel_size)")
    o, cg, k = weight.shape
    c, length = input.shape[-2], input.shape[-1]
    if groups < 1 or c != cg * groups or o % groups:
        raise ShapeError(f"conv1d: given groups={groups} and a weight of shape {tuple(weight.shape)}, the input "
                         f"should have {cg * groups} channels (and out_channels divisible by groups), "
                         f"but the input of shape {tuple(input.shape)} has {c}")
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    _positive("conv1d", stride=(stride,), dilation=(dilation,))
    if isinstance(padding, str):
        pad2 = padding
    else:
        p = _single(padding, "padding")
        if p < 0:
            raise ValueError(f"conv1d: negative padding is not supported, got {p}")
        if (length + 2 * p - dilation * (k - 1) - 1) // stride + 1 < 1:
            raise ValueError(f"conv1d: the input's length {length} (padded by {p} on each side) is shorter than the "
                             f"kernel {k} with dilation {dilation}")
        pad2 = (0, p)
    out = conv2d(_as_image(input), _fn.unsqueeze(weight, 2), bias, (1, stride), pad2, (1, dilation), groups)
    return _as_signal(out)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-D convolution (upsampling by `stride`); the weight is (C_in, C_out/groups, k)."""
    _signal("conv_transpose1d", input)
    _conv1d_weight("conv_transpose1d", weight, "(in_channels, out_channels/groups, kernel_size)")
    cin, og, k = weight.shape
    c, length = input.shape[-2], input.shape[-1]
    if groups < 1 or c != cin or cin % groups:
        raise ValueError(f"conv_transpose1d: the weight of shape {tuple(weight.shape)} expects {cin} input channels "
                         f"(divisible by groups={groups}), but the input of shape {tuple(input.shape)} has {c}")
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    _positive("conv_transpose1d", stride=(stride,), dilation=(dilation,))
    p, op = _single(padding, "padding"), _single(output_padding, "output_padding")
    if not (0 <= op < stride or 0 <= op < dilation):
        raise ValueError(f"conv_transpose1d: output_padding must be smaller than either stride or dilation, got "
                         f"output_padding={op}, stride={stride}, dilation={dilation}")
    if (length - 1) * stride - 2 * p + dilation * (k - 1) + op + 1 < 1:
        raise ValueError(f"conv_transpose1d: padding {p} is too large for an input of length {length}")
    out = conv_transpose2d(_as_image(input), _fn.unsqueeze(weight, 2), bias, (1, stride), (0, p), (0, op), groups,
                           (1, dilation))
    return _as_signal(out)


# ---- pooling ----------------------------------------------------------------------------------
def _pool1d_args(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    _signal(name, input)
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _single(stride, "stride")
    p, d = _single(padding, "padding"), _single(dilation, "dilation")
    if k < 1 or s < 1 or d < 1:
        raise ValueError(f"{name}: kernel_size, stride and dilation must be positive, got {k}, {s}, {d}")
    if p < 0 or p > k // 2:
        raise ValueError(f"{name}: padding should be at most half of the kernel size, got padding={p} for "
                         f"kernel_size={k}")
    length = input.shape[-1]
    out = (length + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if out < 1:
        raise ValueError(f"{name}: the output length {out} is too small: input length {length}, kernel {k}, "
                         f"stride {s}, padding {p}, dilation {d}")
    return k, s, p, d


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of (N, C, L); with return_indices, also each maximum's position in L."""
    k, s, p, d = _pool1d_args("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode)
    out = max_pool2d(_as_image(input), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        return _as_signal(out[0]), _as_signal(out[1])  # in a height-1 plane the flat index is the position
    return _as_signal(out)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window of (N, C, L) (the divisor as in avg_pool2d)."""
    k, s, p, _ = _pool1d_args("avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode)
    return _as_signal(avg_pool2d(_as_image(input), (1, k), (1, s), (0, p), ceil_mode, count_include_pad))


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) to a fixed output length, with PyTorch's windows."""
    _signal("adaptive_avg_pool1d", input)
    out = _single(output_size, "output_size")
    if out < 1:
        raise ValueError(f"adaptive_avg_pool1d: output_size must be positive, got {out}")
    return _as_signal(adaptive_avg_pool2d(_as_image(input), (1, out)))


def _adaptive_windows(size, out):
    """(out, k) input positions of PyTorch's adaptive windows [⌊i·size/out⌋, ⌈(i+1)·size/out⌉),
    padded to the widest one by repeating each window's last position (harmless for a max)."""
    i = np.arange(out)
    start, end = (i * size) // out, -(-((i + 1) * size) // out)
    width = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(width)[None, :], end[:, None] - 1)


def _output_pair(name, output_size, hw):
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    sizes = tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size}")
    sizes = tuple(s if o is None else int(o) for o, s in zip(sizes, hw))
    if min(sizes) < 1:
        raise ValueError(f"{name}: output_size must be positive, got {sizes}")
    return sizes


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) to a fixed output size (None keeps that side), with PyTorch's
    windows; with return_indices, also the flat position h·W + w of each maximum in its plane."""
    if not isinstance(input, Tensor):
        raise TypeError(f"adaptive_max_pool2d: expected a tensor, got {type(input).__name__}")
    x, unbatched = _batched("adaptive_max_pool2d", input)
    n, c, h, w = x.shape
    oh, ow = _output_pair("adaptive_max_pool2d", output_size, (h, w))
    rows, cols = _adaptive_windows(h, oh), _adaptive_windows(w, ow)  # (oh, kh), (ow, kw)
    kh, kw = rows.shape[1], cols.shape[1]
    patches = x._data[:, :, rows[:, :, None, None], cols[None, None, :, :]]  # (N, C, oh, kh, ow, kw)
    patches = patches.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)
    best = patches.argmax(axis=-1)  # the first of equal maxima, as PyTorch
    i, j = np.divmod(best, kw)
    flat = rows[np.arange(oh)[:, None], i] * w + cols[np.arange(ow)[None, :], j]  # (N, C, oh, ow)
    out = _ops.Gather.apply(_fn.reshape(x, n, c, h * w), dim=2, index=flat.reshape(n, c, oh * ow))
    out = _unbatch(_fn.reshape(out, n, c, oh, ow), unbatched)
    if return_indices:
        return out, _unbatch(Tensor._make(flat.astype(np.int64)), unbatched)
    return out


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) to a fixed output length; with return_indices, also the positions."""
    _signal("adaptive_max_pool1d", input)
    out = _single(output_size, "output_size")
    res = adaptive_max_pool2d(_as_image(input), (1, out), return_indices)
    if return_indices:
        return _as_signal(res[0]), _as_signal(res[1])
    return _as_signal(res)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, return_indices=True)
