"""Rearranging pixels, as functions (re-exported by `F`): `unfold`/`fold` (im2col and col2im in
PyTorch's layout) and the pixel and channel shuffles.

The shuffles are reshapes and one permutation, so their gradients are the inverse permutation;
unfold and fold are the adjoint pair in `_ops_fold.py`.
"""
from .. import _functions as _fn
from .._ops_conv import Geometry
from .._ops_fold import Fold, Unfold
from .._tensor import Tensor
from .functional_conv import _pair

__all__ = ["unfold", "fold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"]


def _fold_geometry(name, spatial, kernel_size, dilation, padding, stride):
    """The sliding-block geometry over an image of size `spatial`, checked in PyTorch's words."""
    kernel, dilation = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    padding, stride = _pair(padding, "padding"), _pair(stride, "stride")
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: kernel_size, dilation and stride must be positive and padding non-negative, got "
                         f"kernel_size={kernel}, dilation={dilation}, padding={padding}, stride={stride}")
    blocks = tuple((sz + 2 * p - d * (k - 1) - 1) // s + 1
                   for sz, k, d, p, s in zip(spatial, kernel, dilation, padding, stride))
    if min(blocks) < 1:
        raise ValueError(f"{name}: given an image of spatial size {tuple(spatial)}, kernel_size={kernel}, "
                         f"dilation={dilation}, padding={padding}, stride={stride}, the array of sliding blocks "
                         f"would be {blocks}, but each side must be at least one")
    pads = (padding[0], padding[0], padding[1], padding[1])
    return Geometry(kernel, stride, dilation, pads, tuple(spatial), blocks)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of (N, C, H, W) as columns: (N, C·kh·kw, L), L the number of blocks (row by
    row). An unbatched (C, H, W) image gives (C·kh·kw, L)."""
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {shape}")
    x = _fn.unsqueeze(input, 0) if input.ndim == 3 else input
    geom = _fold_geometry("unfold", x.shape[2:], kernel_size, dilation, padding, stride)
    out = Unfold.apply(x, geom=geom)
    return _fn.squeeze(out, 0) if input.ndim == 3 else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: columns (N, C·kh·kw, L) summed back into (N, C, H, W), H, W =
    output_size (overlapping blocks add up). An unbatched (C·kh·kw, L) input gives (C, H, W)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"fold: expected a 2-D (C·kh·kw, L) or 3-D (N, C·kh·kw, L) input, got {shape}")
    cols = _fn.unsqueeze(input, 0) if input.ndim == 2 else input
    out_hw = _pair(output_size, "output_size")
    geom = _fold_geometry("fold", out_hw, kernel_size, dilation, padding, stride)
    kh, kw = geom.kernel
    if cols.shape[1] % (kh * kw):
        raise ValueError(f"fold: the input's dimension 1 (size {cols.shape[1]}) must be divisible by the product of "
                         f"kernel_size {geom.kernel} ({kh * kw})")
    n_blocks = geom.out_hw[0] * geom.out_hw[1]
    if cols.shape[2] != n_blocks:
        raise ValueError(f"fold: given output_size={out_hw}, kernel_size={geom.kernel}, dilation={geom.dilation}, "
                         f"padding={_pair(padding, 'padding')}, stride={geom.stride}, there are "
                         f"{geom.out_hw[0]} * {geom.out_hw[1]} = {n_blocks} sliding blocks, but the input's "
                         f"dimension 2 has size {cols.shape[2]}")
    out = Fold.apply(cols, geom=geom)
    return _fn.squeeze(out, 0) if input.ndim == 2 else out


def _check_image(name, input):
    if not isinstance(input, Tensor) or input.ndim < 3:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"{name}: expected an input of shape (*, C, H, W) with at least 3 dimensions, got {shape}")


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r): channels become sub-pixel positions (ESPCN's upsampler)."""
    _check_image("pixel_shuffle", input)
    r = int(upscale_factor)
    if r < 1:
        raise ValueError(f"pixel_shuffle: upscale_factor must be positive, got {upscale_factor}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = _fn.reshape(input, *lead, c // (r * r), r, r, h, w)
    x = _fn.permute(x, *range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return _fn.reshape(x, *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W): the inverse of pixel_shuffle."""
    _check_image("pixel_unshuffle", input)
    r = int(downscale_factor)
    if r < 1:
        raise ValueError(f"pixel_unshuffle: downscale_factor must be positive, got {downscale_factor}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but input "
                         f"of shape {tuple(input.shape)} has height {h} and width {w}, downscale_factor={r}")
    k = len(lead)
    x = _fn.reshape(input, *lead, c, h // r, r, w // r, r)
    x = _fn.permute(x, *range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return _fn.reshape(x, *lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, C, *) with the channels of `groups` groups interleaved (ShuffleNet): channel i of group a
    (number a·C/g + i) moves to number i·g + a."""
    if not isinstance(input, Tensor) or input.ndim < 3:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"channel_shuffle: expected an input of shape (N, C, *) with at least 3 dimensions, "
                         f"got {shape}")
    g = int(groups)
    n, c, *rest = input.shape
    if g < 1 or c % g:
        raise ValueError(f"channel_shuffle: the number of channels must be divisible by groups. Got {c} channels "
                         f"and {groups} groups.")
    x = _fn.reshape(input, n, g, c // g, *rest)
    return _fn.reshape(_fn.transpose(x, 1, 2), n, c, *rest)


native_channel_shuffle = channel_shuffle
