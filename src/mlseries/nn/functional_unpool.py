"""Max unpooling, power-average (LP) pooling and pdist as functions (re-exported by `F`).

- max_unpool{1,2,3}d: the inverse placement of max pooling: each value goes back to the flat
  position (within its plane or volume) that `max_pool*d(return_indices=True)` reported, zeros
  elsewhere. It is `scatter` into a zero tensor, so its gradient is scatter's (a gather of the
  output gradient at those positions).
- lp_pool{1,2,3}d: (Σ over the window of xᵖ)^(1/p), computed as PyTorch does — the window mean of
  xᵖ times the kernel size — so ceil_mode's clipped windows and the gradient at zero agree too.
- pdist: the distances between every pair of rows i < j of an (N, M) matrix, in row-major order
  of the upper triangle, from `vector_norm` (whose gradient at a zero distance is zero).
"""
import math

import numpy as np

from .. import _functions as _fn
from .._tensor import Tensor
from .functional_conv import avg_pool2d
from .functional_conv1d import avg_pool1d
from .functional_conv3d import avg_pool3d

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "pdist"]


def _tuple(value, n, name):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


# ---- max unpooling ----------------------------------------------------------------------------
def _unpool_size(name, in_sizes, kernel, stride, pad, output_size):
    """PyTorch's output size: (in − 1)·stride − 2·padding + kernel per dimension, or output_size
    (its last n entries) when it is within one stride of that."""
    nd = len(kernel)
    default = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(in_sizes, stride, pad, kernel))
    if output_size is None:
        return default
    size = (int(output_size),) if isinstance(output_size, (int, np.integer)) else tuple(int(v) for v in output_size)
    if len(size) > nd:
        size = size[-nd:] if len(size) in (nd + 1, nd + 2) else size
    if len(size) != nd:
        raise ValueError(f"{name}: output_size should be a sequence containing {nd} or {nd + 2} elements, but it "
                         f"has a length of '{len(tuple(np.atleast_1d(output_size)))}'")
    for d, (want, base, s) in enumerate(zip(size, default, stride)):
        if not base - s < want < base + s:
            raise ValueError(f'{name}: invalid output_size "{size}" (dim {d} must be between {base - s} and '
                             f'{base + s}, exclusive)')
    return size


def _max_unpool(name, nd, input, indices, kernel_size, stride, padding, output_size):
    if not isinstance(input, Tensor) or not isinstance(indices, Tensor):
        raise TypeError(f"{name}: expected tensors for input and indices, got {type(input).__name__} and "
                        f"{type(indices).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{name}: expected a {nd + 1}-D or {nd + 2}-D input (an optional batch, channels and "
                         f"{nd} spatial dimensions), got shape {tuple(input.shape)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{name}: Expected shape of indices to be same as that of the input tensor "
                           f"({tuple(input.shape)}) but got indices tensor with shape: {tuple(indices.shape)}")
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: indices must be an integer (int64) tensor, got {indices.dtype}")
    kernel = _tuple(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0) \
        else _tuple(stride, nd, "stride")
    pad = _tuple(padding, nd, "padding")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{name}: kernel_size and stride must be positive, got {kernel} and {stride}")
    lead, in_sizes = tuple(input.shape[:-nd]), tuple(input.shape[-nd:])
    out = _unpool_size(name, in_sizes, kernel, stride, pad, output_size)
    if min(out) < 1:
        raise ValueError(f"{name}: the output size {out} must be positive")
    volume = int(np.prod(out))
    idx = indices._data.reshape(-1, int(np.prod(in_sizes)))
    if idx.size and (idx.min() < 0 or idx.max() >= volume):
        bad = idx[(idx < 0) | (idx >= volume)].flat[0]
        raise RuntimeError(f"{name}: Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out))}); were the indices made by max_pool with the same settings?")
    rows = idx.shape[0]
    zeros = Tensor._make(np.zeros((rows, volume), input._data.dtype))
    flat = _fn.scatter(zeros, 1, Tensor._make(idx.astype(np.int64)), _fn.reshape(input, rows, -1))  # (B, volume)
    return _fn.reshape(flat, *lead, *out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each value of (N, C, L) at its index in a zero signal of the pooled layer's input length."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each value of (N, C, H, W) at its flat index h·W + w in a zero image (the inverse of
    max_pool2d's placement; what is not a maximum stays zero)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each value of (N, C, D, H, W) at its flat index d·H·W + h·W + w in a zero volume."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# ---- power-average pooling --------------------------------------------------------------------
def _lp(out, norm_type, kernel):
    """(sign(m)·relu(|m|) · K)^(1/p) for the window mean m of xᵖ and window size K."""
    scaled = _fn.sign(out) * _fn.relu(_fn.abs(out)) * float(math.prod(kernel))
    return scaled ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, L): (Σ_window xᵖ)^(1/p); p=1 is sum pooling, p→∞ max pooling."""
    k = _tuple(kernel_size, 1, "kernel_size")
    out = avg_pool1d(input ** norm_type, k[0], stride, 0, ceil_mode)
    return _lp(out, norm_type, k)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, H, W): (Σ_window xᵖ)^(1/p)."""
    k = _tuple(kernel_size, 2, "kernel_size")
    out = avg_pool2d(input ** norm_type, k, stride, 0, ceil_mode)
    return _lp(out, norm_type, k)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling of (N, C, D, H, W): (Σ_window xᵖ)^(1/p)."""
    k = _tuple(kernel_size, 3, "kernel_size")
    out = avg_pool3d(input ** norm_type, k, stride, 0, ceil_mode)
    return _lp(out, norm_type, k)


# ---- pdist ------------------------------------------------------------------------------------
def pdist(input, p=2):
    """p-norm distances between the rows of (N, M): N·(N−1)/2 values, pairs (0,1), (0,2), ..., (1,2), ..."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pdist: expected a tensor, got {type(input).__name__}")
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"pdist only supports floating-point dtypes, got {input.dtype}")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    if len(i) == 0:
        return Tensor._make(np.zeros((0,), input._data.dtype))
    diff = input[Tensor._make(i.astype(np.int64))] - input[Tensor._make(j.astype(np.int64))]  # (pairs, M)
    from .. import linalg
    return linalg.vector_norm(diff, float(p), dim=1)
