"""Spatial transformers: `affine_grid` makes a sampling grid from affine matrices, `grid_sample`
reads an image at those (fractional) positions. Both are differentiable with respect to the
image and the grid, which is what lets a Spatial Transformer Network learn its θ.

`grid_sample` is composed of Tensor operations: the four neighbours of each sample position
are gathered from the flattened image, and their weights are computed from the grid, so the
gradient for the image (a scatter-add) and for the grid (the weights' slopes) come from the
existing rules. Coordinates follow PyTorch: x (width) first, −1 and +1 the outer edges
(align_corners=False) or the centres of the corner pixels (align_corners=True).

Differs from PyTorch: 4-D input only (no 5-D volumes), and mode 'bicubic' is not implemented.
"""
import warnings

import numpy as np

from .. import _functions as _fn
from .._tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _const(a):
    return Tensor._make(a)


def _check_align(name, align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(n, align_corners, dtype):
    """The normalised coordinates of n pixel centres in [−1, 1]."""
    if n <= 1:
        return np.zeros(max(n, 0), dtype)
    c = np.linspace(-1.0, 1.0, n)
    if not align_corners:
        c = c * (n - 1) / n
    return c.astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """theta (N, 2, 3) and size (N, C, H, W) -> grid (N, H, W, 2): where each output pixel reads
    the input, for grid_sample."""
    align = _check_align("affine_grid", align_corners)
    if not isinstance(theta, Tensor) or theta._data.dtype.kind != "f":
        raise TypeError("affine_grid: expected theta to be a floating-point tensor")
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes, for 2D affine transformations here; got "
                                  f"size {list(size)} (5-D volumes are not implemented)")
    N, C, H, W = size
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. Got "
                         f"{list(theta.shape)}.")
    if theta.shape[0] != N:
        raise ValueError(f"affine_grid: theta has {theta.shape[0]} matrices but size asks for a batch of {N}")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    dt = theta._data.dtype
    base = np.empty((H, W, 3), dt)  # (H, W, 3): x, y, 1 for every output pixel
    base[..., 0] = _base_coords(W, align, dt)[None, :]
    base[..., 1] = _base_coords(H, align, dt)[:, None]
    base[..., 2] = 1.0
    flat = _const(base.reshape(1, H * W, 3))
    grid = flat @ _fn.transpose(theta, 1, 2)  # (N, H·W, 2)
    return _fn.reshape(grid, (N, H, W, 2))


def _unnormalize(coord, size, align):
    """Normalised [−1, 1] -> pixel coordinates (0 … size−1 at the centres)."""
    if align:
        return (coord + 1.0) * ((size - 1) / 2.0)
    return ((coord + 1.0) * size - 1.0) / 2.0


def _reflect(x, lo2, hi2):
    """Reflect x into [lo2/2, hi2/2] (the bounds given doubled, as PyTorch does), as a Tensor
    expression: the slope is ±1, so the gradient flips sign where the coordinate was mirrored."""
    if lo2 == hi2:
        return x * 0.0
    lo, span = lo2 / 2.0, (hi2 - lo2) / 2.0
    d = _fn.abs(x - lo)
    flips = np.floor(d._data / span)
    extra = d - _const((flips * span).astype(d._data.dtype))
    even = (flips % 2) == 0
    return _fn.where(_const(even), extra + lo, (span - extra) + lo)


def _source_coords(coord, size, padding_mode, align):
    x = _unnormalize(coord, size, align)
    if padding_mode == "border":
        x = _fn.clamp(x, 0.0, float(size - 1))
    elif padding_mode == "reflection":
        x = _reflect(x, 0.0, 2.0 * (size - 1)) if align else _reflect(x, -1.0, 2.0 * size - 1.0)
        x = _fn.clamp(x, 0.0, float(size - 1))
    return x


def _gather(flat, yi, xi, H, W):
    """flat (N, C, H·W), integer positions yi, xi (N, Ho·Wo) -> (N, C, Ho·Wo), zero outside."""
    N, C = flat.shape[0], flat.shape[1]
    inside = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
    idx = np.where(inside, np.clip(yi, 0, H - 1) * W + np.clip(xi, 0, W - 1), 0)
    idx = np.broadcast_to(idx[:, None, :], (N, C, idx.shape[-1]))
    vals = _fn.gather(flat, 2, _const(np.ascontiguousarray(idx)))
    return vals, inside


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample input (N, C, H, W) at grid (N, Ho, Wo, 2) positions -> (N, C, Ho, Wo).

    mode 'bilinear' or 'nearest'; padding_mode 'zeros' (outside reads 0), 'border' (the edge
    pixel) or 'reflection' (mirrored at the edge)."""
    align = _check_align("grid_sample", align_corners)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample(mode='bicubic') is not implemented in mlseries; use 'bilinear'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if not isinstance(input, Tensor) or not isinstance(grid, Tensor):
        raise TypeError("grid_sample: input and grid must be tensors")
    if input.ndim != 4:
        raise NotImplementedError(f"grid_sample: only 4-D input (N, C, H, W) is supported here, got "
                                  f"{input.ndim}-D (5-D volumes are not implemented)")
    if grid.ndim != 4 or grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sample(): expected grid to have size 2 in last dimension and 4 dimensions for "
                           f"4-D input, but got grid with sizes {list(grid.shape)}")
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input._data.dtype.kind != "f" or grid._data.dtype != input._data.dtype:
        raise RuntimeError(f"grid_sample(): expected input and grid to have the same floating-point dtype, got "
                           f"{input.dtype} and {grid.dtype}")
    N, C, H, W = input.shape
    Ho, Wo = grid.shape[1], grid.shape[2]
    g = _fn.reshape(grid, (N, Ho * Wo, 2))
    x = _source_coords(g[..., 0], W, padding_mode, align)  # (N, Ho·Wo) pixel coordinates
    y = _source_coords(g[..., 1], H, padding_mode, align)
    flat = _fn.reshape(input, (N, C, H * W))
    dt = input._data.dtype
    if mode == "nearest":
        xi = np.round(x._data).astype(np.int64)  # round half to even, as PyTorch's nearbyint
        yi = np.round(y._data).astype(np.int64)
        vals, inside = _gather(flat, yi, xi, H, W)
        out = vals * _const(inside[:, None, :].astype(dt))
        if grid.requires_grad:  # the grid gets PyTorch's zero gradient rather than none
            out = out + _fn.unsqueeze((x + y) * 0.0, 1)
        return _fn.reshape(out, (N, C, Ho, Wo))
    x0 = np.floor(x._data)
    y0 = np.floor(y._data)
    wx1 = x - _const(x0.astype(dt))  # (N, Ho·Wo): weight of the right neighbour
    wy1 = y - _const(y0.astype(dt))
    wx0, wy0 = 1.0 - wx1, 1.0 - wy1
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    out = None
    for yi, wy in ((y0i, wy0), (y0i + 1, wy1)):
        for xi, wx in ((x0i, wx0), (x0i + 1, wx1)):
            vals, inside = _gather(flat, yi, xi, H, W)
            w = wx * wy * _const(inside.astype(dt))  # (N, Ho·Wo)
            term = vals * _fn.unsqueeze(w, 1)
            out = term if out is None else out + term
    return _fn.reshape(out, (N, C, Ho, Wo))
