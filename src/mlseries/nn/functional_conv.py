"""Image layers as functions (re-exported by `nn.functional`): convolution, pooling, batch
normalisation, channel dropout and resizing, with PyTorch's signatures.

The calculus lives in `_ops_conv.py`; here arguments are normalised (ints or pairs, 'same'
padding, ceil_mode, unbatched (C, H, W) inputs) and checked, with errors in the caller's terms.
Resizing and adaptive pooling are separable linear maps: one small constant matrix per spatial
axis, applied with the fused `Linear` primitive, so their gradients come from there.
"""
import math
import warnings

import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._ops_conv import (AvgPool2d, BatchNorm, Conv2d, ConvTranspose2d, Geometry, MaxPool2d, _const,
                        max_and_argmax)
from .._tensor import ShapeError
from ..random import _gen

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "dropout2d", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]


def _ntuple(value, name, n, error=ValueError):
    """An int, a 1-tuple or an n-tuple (a layer argument such as kernel_size) as an n-tuple of ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        what = "a pair of ints" if n == 2 else f"a tuple of {n} ints for a {n}-D layer"
        raise error(f"{name} must be an int or {what}, got {value}")
    return value


def _pair(value, name):
    return _ntuple(value, name, 2)


def _positive(name, **pairs):
    """Refuse a stride, dilation or kernel size that is zero or negative, as PyTorch does, before
    it becomes a division by zero or an empty slice deep inside."""
    for what, value in pairs.items():
        if min(value) < 1:
            raise ValueError(f"{name}: {what} must be positive, got {what}={value} "
                             f"(non-positive {what} is not supported)")


def _batched(name, input):
    """Accept (N, C, H, W) or one unbatched image (C, H, W); say which it was."""
    if input.ndim == 4:
        return input, False
    if input.ndim == 3:
        return _fn.unsqueeze(input, 0), True
    raise ValueError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")


def _unbatch(out, squeeze):
    return _fn.squeeze(out, 0) if squeeze else out


def _conv_out(size, k, s, p_total, d):
    return (size + p_total - d * (k - 1) - 1) // s + 1


def _conv_operands(name, input, weight, bias, weight_layout):
    """Check what both convolutions need; return the batched input and whether it was unbatched."""
    x, unbatched = _batched(name, input)
    if weight.ndim != 4:
        raise ValueError(f"{name}: the weight must be 4-D {weight_layout}, got shape {tuple(weight.shape)}")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and t._data.dtype != x._data.dtype:
            raise TypeError(f"{name}: the input is {x.dtype} but the {what} is {t.dtype}; convert one "
                            f"(x.to({t.dtype}) or model.to({x.dtype}))")
    return x, unbatched


def _conv_pads(padding, kernel, dilation, stride):
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same' (extra on the bottom/right,
    as PyTorch does for even kernels)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"negative padding is not supported, got {(ph, pw)}")
    return ph, ph, pw, pw


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C, H, W) with a weight (O, C/groups, kh, kw)."""
    x, unbatched = _conv_operands("conv2d", input, weight, bias, "(out_channels, in_channels/groups, kh, kw)")
    o, cg, kh, kw = weight.shape
    n, c, h, w = x.shape
    if groups < 1 or c != cg * groups or o % groups:
        raise ShapeError(f"conv2d: given groups={groups} and a weight of shape {tuple(weight.shape)}, the input "
                         f"should have {cg * groups} channels (and out_channels divisible by groups), "
                         f"but the input of shape {tuple(input.shape)} has {c}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"conv2d: the bias must have shape ({o},), got {tuple(bias.shape)}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    _positive("conv2d", stride=stride, dilation=dilation)
    pads = _conv_pads(padding, (kh, kw), dilation, stride)
    out_hw = (_conv_out(h, kh, stride[0], pads[0] + pads[1], dilation[0]),
              _conv_out(w, kw, stride[1], pads[2] + pads[3], dilation[1]))
    if min(out_hw) < 1:
        raise ShapeError(f"conv2d: the input's spatial size {(h, w)} (padded by {pads}) is smaller than the "
                         f"kernel {(kh, kw)} with dilation {dilation}")
    geom = Geometry((kh, kw), stride, dilation, pads, (h, w), out_hw, groups)
    args = (x, weight) if bias is None else (x, weight, bias)
    return _unbatch(Conv2d.apply(*args, geom=geom), unbatched)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution: the gradient of conv2d with respect to its input, as a layer
    (upsampling by `stride`). The weight is (in_channels, out_channels/groups, kh, kw)."""
    x, unbatched = _conv_operands("conv_transpose2d", input, weight, bias,
                                  "(in_channels, out_channels/groups, kh, kw)")
    cin, og, kh, kw = weight.shape
    n, c, h, w = x.shape
    if groups < 1 or c != cin or cin % groups:
        raise ValueError(f"conv_transpose2d: the weight of shape {tuple(weight.shape)} expects {cin} input "
                         f"channels (divisible by groups={groups}), but the input of shape {tuple(input.shape)} has {c}")
    if bias is not None and tuple(bias.shape) != (og * groups,):
        raise ValueError(f"conv_transpose2d: the bias must have shape ({og * groups},), got {tuple(bias.shape)}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    _positive("conv_transpose2d", stride=stride, dilation=dilation)
    (ph, pw), (oph, opw) = _pair(padding, "padding"), _pair(output_padding, "output_padding")
    for op, s, d in ((oph, stride[0], dilation[0]), (opw, stride[1], dilation[1])):
        if not (0 <= op < s or 0 <= op < d):
            raise ValueError(f"conv_transpose2d: output_padding must be smaller than either stride or dilation, "
                             f"got output_padding={(oph, opw)}, stride={stride}, dilation={dilation}")
    out_h = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    out_w = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"conv_transpose2d: the output size {(out_h, out_w)} is too small (padding {(ph, pw)} "
                         f"is too large for an input of size {(h, w)})")
    # The convolution this transposes maps (out_h, out_w) to (h, w).
    geom = Geometry((kh, kw), stride, dilation, (ph, ph, pw, pw), (out_h, out_w), (h, w), groups)
    args = (x, weight) if bias is None else (x, weight, bias)
    return _unbatch(ConvTranspose2d.apply(*args, geom=geom), unbatched)


# ---- pooling ----------------------------------------------------------------------------------
def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size: with ceil_mode the last window may hang over the edge, but
    must start inside the input or its left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _pair(stride, "stride")
    pad, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    _positive(name, kernel_size=kernel, stride=stride, dilation=dilation)
    for p, k in zip(pad, kernel):
        if p < 0 or p > k // 2:
            raise ValueError(f"{name}: padding should be at most half of the kernel size, got padding={pad} "
                             f"for kernel_size={kernel}")
    h, w = x.shape[2:]
    out_hw = tuple(_pool_out(sz, k, s, p, d, ceil_mode) for sz, k, s, p, d in zip((h, w), kernel, stride, pad, dilation))
    if min(out_hw) < 1:
        raise ValueError(f"{name}: the output size {out_hw} is too small: input {(h, w)}, kernel {kernel}, "
                         f"stride {stride}, padding {pad}, dilation {dilation}")
    # Room on the bottom/right for windows that ceil_mode lets hang over the edge.
    extra = [max(0, (o - 1) * s + d * (k - 1) + 1 - (sz + 2 * p))
             for o, s, d, k, sz, p in zip(out_hw, stride, dilation, kernel, (h, w), pad)]
    pads = (pad[0], pad[0] + extra[0], pad[1], pad[1] + extra[1])
    return Geometry(kernel, stride, dilation, pads, (h, w), out_hw)


def _flat_indices(argmax, geom):
    """PyTorch's return_indices: the flat position h·W + w of each window's maximum in its plane."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    ti, tj = np.divmod(argmax.astype(np.int64), kw)
    rows = np.arange(ho)[:, None, None] * sh - geom.pads[0] + ti * dh  # (N, Ho, Wo, C)
    cols = np.arange(wo)[None, :, None] * sw - geom.pads[2] + tj * dw
    return _const((rows * geom.in_hw[1] + cols).transpose(0, 3, 1, 2).copy())


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each kernel window; stride defaults to kernel_size (non-overlapping windows)."""
    x, unbatched = _batched("max_pool2d", input)
    geom = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    out = MaxPool2d.apply(x, geom=geom)
    if return_indices:
        # The node keeps the argmax; without a graph there is no node, so find it again.
        argmax = out.grad_fn.argmax if out.grad_fn is not None else max_and_argmax(x._data, geom)[1]
        return _unbatch(out, unbatched), _unbatch(_flat_indices(argmax, geom), unbatched)
    return _unbatch(out, unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each kernel window. The divisor follows PyTorch: the window size, or (with
    count_include_pad=False) only the elements inside the input, or divisor_override."""
    x, unbatched = _batched("avg_pool2d", input)
    geom = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must be non-zero")
        scale = np.full((1, 1, 1), 1.0 / divisor_override)
    else:
        counts = []
        for size, k, s, p, o in zip(geom.in_hw, geom.kernel, geom.stride, geom.pads[::2], geom.out_hw):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            counts.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
        scale = 1.0 / (counts[0][:, None, None] * counts[1][None, :, None])
    out = AvgPool2d.apply(x, geom=geom, scale=scale.astype(x._data.dtype))
    return _unbatch(out, unbatched)


def _averaging_matrix(size, out, dtype):
    """(out, size): row i averages PyTorch's adaptive window [floor(i·size/out), ceil((i+1)·size/out))."""
    m = np.zeros((out, size), dtype)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _along_spatial(x, mh, mw):
    """Apply (Ho, H) along height and (Wo, W) along width of (N, C, H, W): two Linear nodes."""
    if mw is not None:
        x = _ops.Linear.apply(x, _const(mw))  # (N, C, H, Wo)
    if mh is not None:
        x = _fn.transpose(_ops.Linear.apply(_fn.transpose(x, 2, 3), _const(mh)), 2, 3)  # (N, C, Ho, Wo)
    return x


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (None keeps that dimension), with PyTorch's windows."""
    x, unbatched = _batched("adaptive_avg_pool2d", input)
    h, w = x.shape[2:]
    oh, ow = (output_size, output_size) if isinstance(output_size, int) or output_size is None else output_size
    oh, ow = h if oh is None else int(oh), w if ow is None else int(ow)
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    if (oh, ow) == (1, 1):
        out = _fn.mean(x, (2, 3), keepdim=True)
    else:
        dt = x._data.dtype
        out = _along_spatial(x, None if oh == h else _averaging_matrix(h, oh, dt),
                             None if ow == w else _averaging_matrix(w, ow, dt))
    return _unbatch(out, unbatched)


# ---- batch normalisation ----------------------------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (dimension 1) of (N, C, *) to zero mean and unit variance.

    Training: with the batch's statistics, and the running ones (if given) move towards them:
    r = (1 − momentum)·r + momentum·batch, with the unbiased variance, as PyTorch does.
    Evaluation: with the running statistics, as a per-channel scale and shift.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for t, what in ((running_mean, "running_mean"), (running_var, "running_var"), (weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {what} should have {c} elements (one per channel), got shape {tuple(t.shape)}")
    dt = input._data.dtype
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        if input.numel() // c <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"of shape {tuple(input.shape)}")
        stats = {}
        affine = [t for t in (weight, bias) if t is not None]
        out = BatchNorm.apply(input, *affine, eps=eps, has_weight=weight is not None, has_bias=bias is not None,
                              stats=stats)
        count = stats["count"]
        for running, batch in ((running_mean, stats["mean"]), (running_var, stats["var"] * (count / (count - 1)))):
            if running is not None:
                running._data *= 1.0 - momentum
                running._data += momentum * batch
                running._version += 1
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
    invstd = (1.0 / np.sqrt(running_var._data + eps)).astype(dt)
    scale = _const(invstd.reshape(shape))
    if weight is not None:
        scale = scale * _fn.reshape(weight, shape)
    out = (input - _const(running_mean._data.reshape(shape).astype(dt))) * scale
    return out + _fn.reshape(bias, shape) if bias is not None else out


# ---- dropout and resizing ---------------------------------------------------------------------
def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels with probability p (scaling the rest by 1/(1−p)): neighbouring pixels
    are correlated, so dropping single pixels would hardly regularise a conv net.

    As in PyTorch 2.x: a 4-D input is (N, C, H, W); a 3-D input is taken as (N, C, L) — one mask
    entry per (sample, channel), not per channel of one (C, H, W) image — with a warning; other
    ranks warn and drop along the first two dimensions (each element for a 2-D input)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    ndim = input.ndim
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use dropout "
                      "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
                      stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    if not training or p == 0.0:
        return input
    if ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    dt = input._data.dtype
    mask_shape = tuple(input.shape[:2]) + (1,) * (ndim - 2)
    keep = _gen(None).random(mask_shape) >= p
    scale = keep.astype(dt) * (1.0 / (1.0 - p) if p < 1.0 else 0.0)
    return input * _const(scale.astype(dt))


def _out_sizes(in_sizes, size, scale_factor):
    n = len(in_sizes)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) * n if isinstance(size, int) else tuple(int(s) for s in size)
        if len(sizes) != n:
            raise ValueError(f"interpolate: size {size} has {len(sizes)} values for {n} spatial dimensions")
        return sizes, (None,) * n
    scales = (float(scale_factor),) * n if isinstance(scale_factor, (int, float)) else tuple(float(s) for s in scale_factor)
    if len(scales) != n:
        raise ValueError(f"interpolate: scale_factor {scale_factor} has {len(scales)} values for {n} spatial dimensions")
    return tuple(int(math.floor(i * s)) for i, s in zip(in_sizes, scales)), scales


def _nearest_index(size, out, scale, exact):
    """PyTorch's nearest source index, computed in float32 as its kernel does."""
    step = np.float32(1.0 / scale) if scale else np.float32(size) / np.float32(out)
    dst = np.arange(out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(dst * step).astype(np.int64), size - 1)


def _linear_matrix(size, out, scale, align_corners, dtype):
    """(out, size) weights of 1-D linear interpolation at PyTorch's source coordinates."""
    if align_corners:
        step = (size - 1) / (out - 1) if out > 1 else 0.0
        src = np.arange(out) * step
    else:
        step = 1.0 / scale if scale else size / out
        src = np.maximum((np.arange(out) + 0.5) * step - 0.5, 0.0)
    if dtype == np.float32:
        src = src.astype(np.float32)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    m = np.zeros((out, size), dtype)
    rows = np.arange(out)
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def _repeat_nearest(x, idx_h, idx_w):
    """Nearest resizing: an integer upscale is a broadcast (fast, and its gradient a sum);
    anything else gathers rows and columns."""
    (h, w), (oh, ow) = x.shape[2:], (len(idx_h), len(idx_w))
    if oh % h == 0 and ow % w == 0 and np.array_equal(idx_h, np.arange(oh) // (oh // h)) \
            and np.array_equal(idx_w, np.arange(ow) // (ow // w)):
        n, c = x.shape[:2]
        fh, fw = oh // h, ow // w
        big = _fn.expand(_fn.reshape(x, n, c, h, 1, w, 1), n, c, h, fh, w, fw)
        return _fn.reshape(big, n, c, oh, ow)
    if not np.array_equal(idx_h, np.arange(h)):
        x = _fn.index_select(x, 2, idx_h)
    if not np.array_equal(idx_w, np.arange(w)):
        x = _fn.index_select(x, 3, idx_w)
    return x


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W) by 'nearest', 'nearest-exact', 'linear' (3-D) or
    'bilinear' (4-D), with PyTorch's pixel-centre conventions."""
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear"):
        raise ValueError(f"interpolate: mode {mode!r} is not supported; use 'nearest', 'nearest-exact', "
                         "'linear' (3-D input) or 'bilinear' (4-D input)")
    if mode in ("nearest", "nearest-exact") and align_corners is not None:
        raise ValueError("interpolate: align_corners only has an effect with 'linear' or 'bilinear'")
    if input.ndim not in (3, 4) or (mode == "linear" and input.ndim != 3) or (mode == "bilinear" and input.ndim != 4):
        want = {"linear": "3-D (N, C, L)", "bilinear": "4-D (N, C, H, W)"}.get(mode, "3-D or 4-D")
        raise ValueError(f"interpolate: mode {mode!r} expects a {want} input, got shape {tuple(input.shape)}")
    x = _fn.unsqueeze(input, 2) if input.ndim == 3 else input  # (N, C, 1, L): resize the last axis only
    in_sizes = tuple(input.shape[2:])
    out_sizes, scales = _out_sizes(in_sizes, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * len(scales)
    if min(out_sizes) < 1:
        raise ValueError(f"interpolate: the output size {out_sizes} must be positive")
    if input.ndim == 3:
        in_sizes, out_sizes, scales = (1,) + in_sizes, (1,) + out_sizes, (None,) + scales
    if mode.startswith("nearest"):
        exact = mode == "nearest-exact"
        idx = [_nearest_index(i, o, s, exact) for i, o, s in zip(in_sizes, out_sizes, scales)]
        out = _repeat_nearest(x, *idx)
    else:
        dt = x._data.dtype
        mats = [None if (i == o and s in (None, 1.0)) else _linear_matrix(i, o, s, bool(align_corners), dt)
                for i, o, s in zip(in_sizes, out_sizes, scales)]
        out = _along_spatial(x, *mats)
    return _fn.squeeze(out, 2) if input.ndim == 3 else out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
