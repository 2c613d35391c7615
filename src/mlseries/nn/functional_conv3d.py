"""Volumetric (3-D) convolution, pooling and channel dropout as functions (re-exported by `F`).

No calculus of its own: every operation here is built from existing differentiable pieces, so
gradients (and second derivatives) come from theirs.

- conv3d: the depth axis is folded into channels. The depth windows of the (padded) input are
  cut with `Tensor.unfold` (a strided view and its adjoint), each output depth slice becomes one
  image of kd·C channels, and a single grouped `conv2d` does the rest with the weight reshaped
  (O, C/g, kd, kh, kw) -> (O, C/g·kd, kh, kw). The channel order (c, tap) keeps groups contiguous,
  so `groups` passes straight through.
- conv_transpose3d: along depth a transposed convolution is a stride-1 convolution of the
  zero-interleaved, re-padded input with the depth-flipped kernel; the same folding then hands
  height and width to one grouped `conv_transpose2d`.
- avg_pool3d: window sums over height and width by `avg_pool2d` (divisor 1) on (N, C·D, H, W),
  then over depth by unfold + sum, times PyTorch's divisor per output position.
- max_pool3d / adaptive_max_pool3d: each window's argmax is found with NumPy on a strided
  window view and the maxima are *gathered* from the input, so the gradient is gather's
  (a scatter-add onto the winners, ties to the first in (d, h, w) order as in PyTorch).
- adaptive_avg_pool3d: separable, one small averaging matrix per axis (the fused `Linear`).
"""
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _functions as _fn
from .. import _ops
from .._tensor import ShapeError, Tensor
from ..random import _gen
from .functional_conv import (_averaging_matrix, _conv_out, _ntuple, _positive, _pool_out, avg_pool2d, conv2d,
                              conv_transpose2d)
from .functional_conv1d import _adaptive_windows

__all__ = ["conv3d", "conv_transpose3d", "max_pool3d", "max_pool3d_with_indices", "avg_pool3d",
           "adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "dropout3d"]


def _triple(value, name):
    """An int, a 1-tuple or a 3-tuple (PyTorch's _triple), as a 3-tuple of ints; PyTorch raises a
    RuntimeError for 3-D layers."""
    return _ntuple(value, name, 3, RuntimeError)


def _positive3(name, **triples):
    """The 2-D check, raised as PyTorch raises it for 3-D layers (a RuntimeError)."""
    try:
        _positive(name, **triples)
    except ValueError as e:
        raise RuntimeError(str(e)) from None


def _volume(name, input):
    """Accept (N, C, D, H, W) or one unbatched (C, D, H, W); say which it was."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(input).__name__}")
    if input.ndim == 5:
        return input, False
    if input.ndim == 4:
        return _fn.unsqueeze(input, 0), True
    raise RuntimeError(f"{name}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, got shape "
                     f"{tuple(input.shape)}")


def _unbatch(out, unbatched):
    return _fn.squeeze(out, 0) if unbatched else out


def _pad_depth(x, front, back, value=0.0):
    """Pad (front > 0) or crop (front < 0) dimension 2 of (N, C, D, ...)."""
    if front < 0 or back < 0:
        x = x[:, :, max(0, -front):x.shape[2] - max(0, -back)]
        front, back = max(0, front), max(0, back)
    if front or back:
        x = _fn.pad(x, (0, 0) * (x.ndim - 3) + (front, back), value=value)
    return x


def _depth_windows(x, k, s, d):
    """(N, C, Dp, H, W) -> (N·Do, C·k, H, W): for every output depth, its k (dilated) depth taps
    as channels, ordered (c, tap) — the layout a weight (O, C/g, k, ...) reshapes to."""
    n, c, _, h, w = x.shape
    win = x.unfold(2, d * (k - 1) + 1, s)  # (N, C, Do, H, W, span)
    if d > 1:
        win = win[..., ::d]  # (N, C, Do, H, W, k)
    do = win.shape[2]
    return _fn.reshape(_fn.permute(win, (0, 2, 1, 5, 3, 4)), n * do, c * k, h, w), do


def _operands(name, input, weight, bias, layout):
    x, unbatched = _volume(name, input)
    if not isinstance(weight, Tensor) or weight.ndim != 5:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{name}: the weight must be 5-D {layout}, got {shape}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and t._data.dtype != x._data.dtype:
            raise TypeError(f"{name}: the input is {x.dtype} but the {what} is {t.dtype}; convert one "
                            f"(x.to({t.dtype}) or model.to({x.dtype}))")
    return x, unbatched


# ---- convolution ------------------------------------------------------------------------------
def _same_pads(kernel, dilation):
    """'same' padding per dimension as (before, after): the extra one after, as PyTorch does."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) of (N, C, D, H, W) with a weight (O, C/groups, kd, kh, kw)."""
    x, unbatched = _operands("conv3d", input, weight, bias, "(out_channels, in_channels/groups, kd, kh, kw)")
    o, cg, kd, kh, kw = weight.shape
    n, c, d, h, w = x.shape
    if groups < 1 or c != cg * groups or o % groups:
        raise ShapeError(f"conv3d: given groups={groups} and a weight of shape {tuple(weight.shape)}, the input "
                         f"should have {cg * groups} channels (and out_channels divisible by groups), "
                         f"but the input of shape {tuple(input.shape)} has {c}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"conv3d: the bias must have shape ({o},), got {tuple(bias.shape)}")
    stride, dilation = _triple(stride, "stride"), _triple(dilation, "dilation")
    _positive3("conv3d", stride=stride, dilation=dilation)
    kernel = (kd, kh, kw)
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * 3
        elif padding == "same":
            if stride != (1, 1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads(kernel, dilation)
        else:
            raise RuntimeError(f"padding must be an int, a tuple of 3 ints, 'valid' or 'same', got {padding!r}")
    else:
        p = _triple(padding, "padding")
        if min(p) < 0:
            raise RuntimeError(f"conv3d: negative padding is not supported, got {p}")
        pads = [(v, v) for v in p]
    out = [_conv_out(size, k, s, a + b, dl) for size, k, s, (a, b), dl in zip((d, h, w), kernel, stride, pads, dilation)]
    if min(out) < 1:
        raise RuntimeError(f"conv3d: the input's spatial size {(d, h, w)} (padded by {tuple(pads)}) is smaller than "
                         f"the kernel {kernel} with dilation {dilation}")
    xp = _pad_depth(x, *pads[0])  # (N, C, Dp, H, W)
    cols, do = _depth_windows(xp, kd, stride[0], dilation[0])  # (N·Do, C·kd, H, W)
    hw_pad = (pads[1][0], pads[2][0]) if pads[1][0] == pads[1][1] and pads[2][0] == pads[2][1] else "same"
    w2 = _fn.reshape(weight, o, cg * kd, kh, kw)
    y = conv2d(cols, w2, bias, stride[1:], hw_pad, dilation[1:], groups)  # (N·Do, O, Ho, Wo)
    y = _fn.permute(_fn.reshape(y, n, do, o, y.shape[2], y.shape[3]), (0, 2, 1, 3, 4))  # (N, O, Do, Ho, Wo)
    return _unbatch(y, unbatched)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 3-D convolution (upsampling by `stride`); the weight is (C_in, C_out/groups, kd, kh, kw)."""
    x, unbatched = _operands("conv_transpose3d", input, weight, bias,
                             "(in_channels, out_channels/groups, kd, kh, kw)")
    cin, og, kd, kh, kw = weight.shape
    n, c, d, h, w = x.shape
    if groups < 1 or c != cin or cin % groups:
        raise RuntimeError(f"conv_transpose3d: the weight of shape {tuple(weight.shape)} expects {cin} input "
                         f"channels (divisible by groups={groups}), but the input of shape {tuple(input.shape)} has {c}")
    if bias is not None and tuple(bias.shape) != (og * groups,):
        raise RuntimeError(f"conv_transpose3d: the bias must have shape ({og * groups},), got {tuple(bias.shape)}")
    stride, dilation = _triple(stride, "stride"), _triple(dilation, "dilation")
    _positive3("conv_transpose3d", stride=stride, dilation=dilation)
    if isinstance(padding, str):
        raise RuntimeError(f"conv_transpose3d: padding must be an int or a tuple of 3 ints, got {padding!r}")
    pad, opad = _triple(padding, "padding"), _triple(output_padding, "output_padding")
    for op, s, dl in zip(opad, stride, dilation):
        if not (0 <= op < s or 0 <= op < dl):
            raise RuntimeError(f"conv_transpose3d: output_padding must be smaller than either stride or dilation, "
                             f"got output_padding={opad}, stride={stride}, dilation={dilation}")
    out = [(size - 1) * s - 2 * p + dl * (k - 1) + op + 1
           for size, s, p, dl, k, op in zip((d, h, w), stride, pad, dilation, (kd, kh, kw), opad)]
    if min(out) < 1:
        raise RuntimeError(f"conv_transpose3d: the output size {tuple(out)} is too small (padding {pad} is too "
                         f"large for an input of size {(d, h, w)})")
    sd, dd = stride[0], dilation[0]
    if sd > 1:  # put sd − 1 zeros after every depth slice, then drop the trailing ones
        z = _fn.pad(_fn.unsqueeze(x, 3), (0, 0, 0, 0, 0, sd - 1))  # (N, C, D, sd, H, W)
        x = _fn.reshape(z, n, c, d * sd, h, w)[:, :, :(d - 1) * sd + 1]
    reach = dd * (kd - 1)
    x = _pad_depth(x, reach - pad[0], reach - pad[0] + opad[0])
    cols, do = _depth_windows(x, kd, 1, dd)  # (N·Dout, C_in·kd, H, W)
    w2 = _fn.reshape(_fn.permute(_fn.flip(weight, (2,)), (0, 2, 1, 3, 4)), cin * kd, og, kh, kw)
    y = conv_transpose2d(cols, w2, bias, stride[1:], pad[1:], opad[1:], groups, dilation[1:])  # (N·Dout, O, Ho, Wo)
    y = _fn.permute(_fn.reshape(y, n, do, og * groups, y.shape[2], y.shape[3]), (0, 2, 1, 3, 4))
    return _unbatch(y, unbatched)


# ---- pooling ----------------------------------------------------------------------------------
def _pool3d_args(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Kernel, stride, padding, dilation, output size and the extra room that ceil_mode's last
    windows need past the bottom padding, per dimension; checked as PyTorch checks them."""
    kernel = _triple(kernel_size, "kernel_size")
    empty = stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)
    stride = kernel if empty else _triple(stride, "stride")
    pad, dilation = _triple(padding, "padding"), _triple(dilation, "dilation")
    _positive3(name, kernel_size=kernel, stride=stride, dilation=dilation)
    for p, k in zip(pad, kernel):
        if p < 0 or p > k // 2:
            raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, got padding={pad} "
                             f"for kernel_size={kernel}")
    sizes = tuple(x.shape[2:])
    out = tuple(_pool_out(sz, k, s, p, dl, ceil_mode) for sz, k, s, p, dl in zip(sizes, kernel, stride, pad, dilation))
    if min(out) < 1:
        raise RuntimeError(f"{name}: the output size {out} is too small: input {sizes}, kernel {kernel}, "
                         f"stride {stride}, padding {pad}, dilation {dilation}")
    extra = tuple(max(0, (o - 1) * s + dl * (k - 1) + 1 - (sz + 2 * p))
                  for o, s, dl, k, sz, p in zip(out, stride, dilation, kernel, sizes, pad))
    return kernel, stride, pad, dilation, out, extra


def _window_argmax(a, kernel, stride, pad, dilation, out, extra):
    """Flat index (into each unpadded plane's volume) of every window's maximum: (N, C, *out).
    NaN wins, and among equals the first in scan order, as in PyTorch."""
    nd = len(kernel)
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    ap = np.pad(a, [(0, 0), (0, 0)] + [(p, p + e) for p, e in zip(pad, extra)], constant_values=fill)
    spans = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    view = sliding_window_view(ap, spans, axis=tuple(range(2, 2 + nd)))
    view = view[(slice(None),) * 2 + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride))
                + tuple(slice(None, None, dl) for dl in dilation)]
    windows = view.reshape(view.shape[:2 + nd] + (-1,))
    nan = np.isnan(windows) if a.dtype.kind == "f" else None
    tap = windows.argmax(axis=-1)
    if nan is not None and nan.any():
        tap = np.where(nan.any(axis=-1), nan.argmax(axis=-1), tap)
    taps = np.unravel_index(tap, kernel)
    coords = [np.arange(o).reshape((-1,) + (1,) * (nd - 1 - i)) * s - p + t * dl
              for i, (o, s, p, t, dl) in enumerate(zip(out, stride, pad, taps, dilation))]
    return np.ravel_multi_index(coords, a.shape[2:]).astype(np.int64)


def _gather_at(x, flat):
    """x (N, C, *in) at the flat positions `flat` (N, C, *out) of each plane, differentiably."""
    n, c = x.shape[:2]
    out = _ops.Gather.apply(_fn.reshape(x, n, c, -1), dim=2, index=flat.reshape(n, c, -1))
    return _fn.reshape(out, n, c, *flat.shape[2:])


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of (N, C, D, H, W); stride defaults to kernel_size. With
    return_indices, also each maximum's flat position d·H·W + h·W + w in its volume."""
    x, unbatched = _volume("max_pool3d", input)
    args = _pool3d_args("max_pool3d", x, kernel_size, stride, padding, dilation, ceil_mode)
    flat = _window_argmax(x._data, *args)
    out = _unbatch(_gather_at(x, flat), unbatched)
    if return_indices:
        return out, _unbatch(Tensor._make(flat), unbatched)
    return out


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window of (N, C, D, H, W); the divisor as in avg_pool2d (window size, the
    elements inside the input with count_include_pad=False, or divisor_override)."""
    x, unbatched = _volume("avg_pool3d", input)
    kernel, stride, pad, _, out, extra = _pool3d_args("avg_pool3d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool3d: divisor_override must be non-zero")
    n, c, d, h, w = x.shape
    # Sums over height and width: avg_pool2d with divisor 1 treats the C·D planes alike.
    s2 = avg_pool2d(_fn.reshape(x, n, c * d, h, w), kernel[1:], stride[1:], pad[1:], ceil_mode, True, 1)
    s2 = _fn.reshape(s2, n, c, d, out[1], out[2])
    s3 = _fn.sum(_pad_depth(s2, pad[0], pad[0] + extra[0]).unfold(2, kernel[0], stride[0]), -1)  # (N, C, Do, Ho, Wo)
    if divisor_override is not None:
        scale = np.full((1, 1, 1), 1.0 / divisor_override)
    else:
        counts = []
        for size, k, s, p, o in zip((d, h, w), kernel, stride, pad, out):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            counts.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
        scale = 1.0 / (counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :])
    return _unbatch(s3 * Tensor._make(scale.astype(x._data.dtype)), unbatched)


def _output_triple(name, output_size, sizes):
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * 3
    out = tuple(output_size)
    if len(out) != 3:
        raise RuntimeError(f"{name}: output_size must be an int or a tuple of 3, got {output_size}")
    out = tuple(s if o is None else int(o) for o, s in zip(out, sizes))
    if min(out) < 1:
        raise RuntimeError(f"{name}: output_size must be positive, got {out}")
    return out


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of (N, C, D, H, W) to a fixed output size (None keeps that side), with
    PyTorch's windows [⌊i·size/out⌋, ⌈(i+1)·size/out⌉) on each axis."""
    x, unbatched = _volume("adaptive_avg_pool3d", input)
    sizes = tuple(x.shape[2:])
    out = _output_triple("adaptive_avg_pool3d", output_size, sizes)
    if out == (1, 1, 1):
        return _unbatch(_fn.mean(x, (2, 3, 4), keepdim=True), unbatched)
    for axis, (size, o) in enumerate(zip(sizes, out), 2):
        if size != o:
            m = Tensor._make(_averaging_matrix(size, o, x._data.dtype))  # (o, size)
            x = _fn.transpose(_ops.Linear.apply(_fn.transpose(x, axis, 4), m), axis, 4)
    return _unbatch(x, unbatched)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of (N, C, D, H, W) to a fixed output size, with PyTorch's windows; with
    return_indices, also each maximum's flat position in its volume."""
    x, unbatched = _volume("adaptive_max_pool3d", input)
    sizes = tuple(x.shape[2:])
    out = _output_triple("adaptive_max_pool3d", output_size, sizes)
    idx = [_adaptive_windows(size, o) for size, o in zip(sizes, out)]  # (o, k) per axis
    k = tuple(i.shape[1] for i in idx)
    sel = np.ix_(*[i.reshape(-1) for i in idx])  # positions (o·k) per axis
    a = x._data[(slice(None), slice(None)) + sel]  # (N, C, od·kd, oh·kh, ow·kw)
    n, c = a.shape[:2]
    a = a.reshape(n, c, out[0], k[0], out[1], k[1], out[2], k[2]).transpose(0, 1, 2, 4, 6, 3, 5, 7)
    a = a.reshape(n, c, *out, -1)
    tap = a.argmax(axis=-1)
    nan = np.isnan(a) if a.dtype.kind == "f" else None
    if nan is not None and nan.any():
        tap = np.where(nan.any(axis=-1), nan.argmax(axis=-1), tap)
    t = np.unravel_index(tap, k)
    coords = [idx[i][np.arange(out[i]).reshape((-1,) + (1,) * (2 - i)), t[i]] for i in range(3)]
    flat = np.ravel_multi_index(coords, sizes).astype(np.int64)
    res = _unbatch(_gather_at(x, flat), unbatched)
    if return_indices:
        return res, _unbatch(Tensor._make(flat), unbatched)
    return res


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, return_indices=True)


# ---- dropout ----------------------------------------------------------------------------------
def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) (or one unbatched (C, D, H, W)) with probability p,
    scaling the rest by 1/(1−p): one mask entry per (sample, channel) volume. Other ranks warn
    and are treated as unbatched (one mask entry per index of the first dimension), as in PyTorch."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    ndim = input.ndim
    if ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will result in "
                      "an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      "inputs).", stacklevel=2)
    if not training or p == 0.0:
        return input
    if ndim < 1:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    dt = input._data.dtype
    mask_shape = tuple(input.shape[:2]) + (1,) * (ndim - 2) if ndim == 5 else (input.shape[0],) + (1,) * (ndim - 1)
    keep = _gen(None).random(mask_shape) >= p
    scale = keep.astype(dt) * (1.0 / (1.0 - p) if p < 1.0 else 0.0)
    return input * Tensor._make(scale.astype(dt))
