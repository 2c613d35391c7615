"""`F.embedding`: rows of a table picked by integer indices (word and position embeddings).

The gradient of the table adds each output row back into the row it came from; that is one
sparse-matrix product (see `_ops.EmbeddingBackward`), not a loop over the indices.
"""
import numpy as np

from .. import _ops
from .._grad_mode import no_grad
from .._tensor import Tensor

__all__ = ["embedding"]


def _padding_index(padding_idx, num_embeddings, where):
    """padding_idx as a row number in [0, num_embeddings) (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    p = int(padding_idx)
    if not -num_embeddings <= p < num_embeddings:
        raise ValueError(f"{where}: padding_idx {padding_idx} must be within num_embeddings "
                         f"(from {-num_embeddings} to {num_embeddings - 1})")
    return p % num_embeddings


def _check_indices(input, num_embeddings, where):
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be an integer tensor (int64 or int32), got {idx.dtype}; "
                        "convert them with .long()")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_embeddings:
            bad = hi if hi >= num_embeddings else lo
            raise IndexError(f"{where}: index {bad} is out of range (valid indices are 0 to {num_embeddings - 1})")
    return idx


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Scale, in place, the rows of weight that idx uses whose norm exceeds max_norm (PyTorch's
    embedding_renorm_: outside the graph, but counted as an in-place change)."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        with no_grad():
            scale = (max_norm / (norms[over] + 1e-7)).astype(w.dtype)
            w[rows[over]] *= scale[:, None]
            weight._version += 1


def _embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, where):
    if weight.ndim != 2:
        raise ValueError(f"{where}: the weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    n = weight.shape[0]
    idx = _check_indices(input, n, where)
    pad = _padding_index(padding_idx, n, where)
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _ops.Embedding.apply(weight, indices=idx, padding_idx=pad, scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """weight[input]: integer indices of any shape (*) -> (*, embedding_dim).

    padding_idx: that row gets no gradient. max_norm: rows used here whose norm_type-norm
    exceeds it are scaled down to it, in place. scale_grad_by_freq: each row's gradient is
    divided by how often its index occurs in this input. sparse is accepted, but the gradient
    is always a dense tensor (mlseries has no sparse tensors).
    """
    return _embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, "embedding")
