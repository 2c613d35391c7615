"""Other layers as functions (re-exported by `F`): bilinear, embedding bags, 1-D channel dropout,
alpha dropout, and the distances (`cosine_similarity`, `pairwise_distance`, defined in
`mlseries._distance`).

All are composed from primitives. An embedding bag is a row lookup (the `Embedding` node)
followed by a reduction per bag: an index-add of the (scaled) rows for sum and mean, a gather of
each bag's winning row per column for max; the bag structure itself is constant integer data.
"""
import math

import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._distance import cosine_similarity, pairwise_distance
from .._tensor import Tensor
from ..random import _gen
from .functional_sparse import _check_indices, _padding_index, _renorm_rows

__all__ = ["bilinear", "embedding_bag", "dropout1d", "alpha_dropout", "feature_alpha_dropout", "cosine_similarity",
           "pairwise_distance"]


def _const(array):
    return Tensor._make(array)


# ---- bilinear -----------------------------------------------------------------------------------
def bilinear(input1, input2, weight, bias=None):
    """y_o = x1ᵀ A_o x2 + b_o for x1 (*, in1), x2 (*, in2) and A = weight (out, in1, in2): (*, out).
    One matrix product x2·Aᵀ (B, out·in1), then a multiply by x1 and a sum over in1."""
    if not isinstance(weight, Tensor) or weight.ndim != 3:
        raise ValueError(f"bilinear: the weight must be 3-D (out_features, in1_features, in2_features), got "
                         f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    o, i1, i2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != i1:
        raise ValueError(f"bilinear: input1 of shape {tuple(input1.shape)} should have in1_features={i1} in its last "
                         "dimension")
    if input2.ndim == 0 or input2.shape[-1] != i2:
        raise ValueError(f"bilinear: input2 of shape {tuple(input2.shape)} should have in2_features={i2} in its last "
                         "dimension")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ValueError(f"bilinear: the batch dimensions of input1 {tuple(input1.shape)} and input2 "
                         f"{tuple(input2.shape)} do not match")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"bilinear: the bias must have shape ({o},), got {tuple(bias.shape)}")
    lead = tuple(input1.shape[:-1])
    x1 = _fn.reshape(input1, -1, i1)  # (B, in1)
    x2 = _fn.reshape(input2, -1, i2)  # (B, in2)
    u = _fn.matmul(x2, _fn.transpose(_fn.reshape(weight, o * i1, i2), 0, 1))  # (B, out·in1)
    y = _fn.sum(_fn.reshape(u, -1, o, i1) * _fn.unsqueeze(x1, 1), -1)  # (B, out)
    if bias is not None:
        y = y + bias
    return _fn.reshape(y, *lead, o)


# ---- embedding bags -----------------------------------------------------------------------------
def _bag_structure(input, offsets, include_last_offset, n_rows):
    """The flat indices and, for each, the bag it belongs to; and the number of bags."""
    idx = _check_indices(input, n_rows, "embedding_bag")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: if input is 2D, then offsets has to be None, as input is treated as a "
                             f"mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets).__name__}")
        bags, length = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(bags), length), bags
    if idx.ndim != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D, got shape {tuple(idx.shape)}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None (a 1-D input is cut into bags at "
                         "the positions in offsets)")
    off = offsets._data if isinstance(offsets, Tensor) else np.asarray(offsets)
    if off.ndim != 1 or off.dtype.kind not in "iu":
        raise ValueError(f"embedding_bag: offsets has to be a 1D integer tensor, got {off.dtype} of shape "
                         f"{tuple(off.shape)}")
    off = off.astype(np.int64)
    if off.size and off[0] != 0:
        raise ValueError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                         f"start from position 0. However, got {int(off[0])}")
    if off.size and off[-1] > idx.size:
        raise ValueError(f"embedding_bag: offsets[-1] can not be greater than input's length {idx.size} but got "
                         f"offsets[-1] of {int(off[-1])}")
    if np.any(np.diff(off) < 0):
        raise ValueError(f"embedding_bag: offsets must be non-decreasing, got {off.tolist()}")
    if include_last_offset:
        if off.size == 0:
            raise ValueError("embedding_bag: with include_last_offset=True, offsets needs at least one element")
        bags, end = off.size - 1, int(off[-1])
        starts = off[:-1]
    else:
        bags, end = off.size, idx.size
        starts = off
    bag_of = np.searchsorted(starts, np.arange(end), side="right") - 1  # (end,)
    return idx[:end], bag_of, bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows, without building the (bags, length, dim)
    lookup: input (B, N) is B bags of N indices; a 1-D input is cut into bags at `offsets`.
    Entries equal to padding_idx are left out (an empty bag gives zeros); per_sample_weights
    (mode='sum' only) weight each entry. Returns (B, embedding_dim)."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("embedding_bag: the weight must be 2-D (num_embeddings, embedding_dim)")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode={mode!r})")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("embedding_bag: max mode does not support scaling the gradient by the frequency")
    n_rows, dim = weight.shape
    flat, bag_of, bags = _bag_structure(input, offsets, include_last_offset, n_rows)
    psw = None
    if per_sample_weights is not None:
        src = input._data if isinstance(input, Tensor) else np.asarray(input)
        if tuple(per_sample_weights.shape) != tuple(src.shape):
            raise ValueError(f"embedding_bag: per_sample_weights of shape {tuple(per_sample_weights.shape)} must have "
                             f"the shape of the input {tuple(src.shape)}")
        psw = _fn.reshape(per_sample_weights, -1)[0:flat.size]
    pad = _padding_index(padding_idx, n_rows, "embedding_bag")
    if pad is not None:
        keep = flat != pad
        if not keep.all():
            flat, bag_of = flat[keep], bag_of[keep]
            psw = None if psw is None else psw[np.flatnonzero(keep)]
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    rows = _ops.Embedding.apply(weight, indices=flat, padding_idx=None,
                                scale_grad_by_freq=bool(scale_grad_by_freq))  # (M, dim)
    if mode == "max":
        return _bag_max(rows, bag_of, bags)
    if mode == "mean":
        counts = np.bincount(bag_of, minlength=bags)
        scale = (1.0 / np.maximum(counts, 1))[bag_of].astype(rows._data.dtype)
        rows = rows * _const(scale[:, None])
    elif psw is not None:
        rows = rows * _fn.unsqueeze(psw.type(rows._data.dtype), 1)
    return _ops.IndexAddZeros.apply(rows, shape=(bags, dim), index=(bag_of,))  # (bags, dim)


def _bag_max(rows, bag_of, bags):
    """Per bag and column, the largest entry (the first of equal ones), gathered from `rows`; empty
    bags gather from an appended zero row and so give 0 with no gradient."""
    r = rows._data
    m, dim = r.shape
    pick = np.full((bags, dim), m, np.int64)
    if m:
        starts = np.flatnonzero(np.r_[True, bag_of[1:] != bag_of[:-1]])  # first entry of each non-empty bag
        filled = bag_of[starts]
        best = np.maximum.reduceat(r, starts, axis=0)  # (non-empty bags, dim)
        position = np.where(r == best[np.searchsorted(filled, bag_of)], np.arange(m)[:, None], m)
        pick[filled] = np.minimum.reduceat(position, starts, axis=0)
    padded = _fn.cat([rows, _const(np.zeros((1, dim), r.dtype))], 0)  # (M + 1, dim)
    return _ops.Gather.apply(padded, dim=0, index=pick)


# ---- dropout variants -----------------------------------------------------------------------------
def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) (or one (C, L)) with probability p, scaling the rest by 1/(1−p)."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, but received a {input.ndim}-D "
                         f"input of shape {tuple(input.shape)} (dropout1d drops channels of 1-D signals)")
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    mask_shape = tuple(input.shape[:-1]) + (1,)  # (N, C, 1) or (C, 1)
    keep = _gen(None).random(mask_shape) >= p
    scale = keep.astype(dt) * (1.0 / (1.0 - p) if p < 1.0 else 0.0)
    return input * _const(scale.astype(dt))


# SELU's negative saturation value, −scale·alpha: alpha dropout sets dropped units to it.
_ALPHA_PRIME = 1.7580993408473766


def _alpha_dropout(input, p, training, mask_shape):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dt = input._data.dtype
    keep = (_gen(None).random(mask_shape) >= p).astype(np.float64)
    # An affine map a·x + b after the drop restores mean 0 and variance 1 (Klambauer et al., 2017).
    a = 1.0 / math.sqrt((_ALPHA_PRIME * _ALPHA_PRIME * p + 1.0) * (1.0 - p))
    b = (keep - 1.0) * _ALPHA_PRIME * a + _ALPHA_PRIME * a * p
    return input * _const((keep * a).astype(dt)) + _const(b.astype(dt))


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units take SELU's saturation value and an affine map keeps
    the mean and variance. Note PyTorch's default here is training=False."""
    return _alpha_dropout(input, p, training, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dimension 1; one mask entry per sample and channel)."""
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if input.ndim >= 2 else tuple(input.shape)
    return _alpha_dropout(input, p, training, mask_shape)

