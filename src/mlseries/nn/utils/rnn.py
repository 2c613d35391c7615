"""Batches of sequences of different lengths, as in `torch.nn.utils.rnn`.

A padded batch is (T, B, *) (or (B, T, *) with `batch_first`), each sequence followed by
padding. A `PackedSequence` keeps only the real steps: `data` holds time step 0 of every
sequence, then step 1 of those still running, and so on, with the sequences ordered by
decreasing length; `batch_sizes[t]` says how many sequences take part in step t. The recurrent
layers accept it and then never compute on the padding, and their final state is each
sequence's own last step instead of a step over padding.

Moving between the two forms is one gather (`Pack`) or one scatter (`Unpack`) with a flat
index, each the other's gradient.
"""
import collections

import numpy as np

from ... import _dtype
from ..._functions import cat
from ..._ops_rnn import Pack, Unpack
from ..._tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "unpad_sequence",
           "pack_sequence", "unpack_sequence", "invert_permutation"]

_PackedSequenceFields = collections.namedtuple("PackedSequence",
                                               ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceFields):
    """Sequences of different lengths packed together (made by `pack_padded_sequence` or
    `pack_sequence`, not by hand).

    Fields: `data` (sum of lengths, *), `batch_sizes` (int64, one count per time step),
    `sorted_indices` (the batch order used inside, longest first; None if the input was already
    sorted) and `unsorted_indices` (its inverse, which restores the caller's order).
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), which PyTorch also accepts
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with `data` converted (`.to(mlseries.float64)`); the indices stay int64."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def cpu(self):
        return self

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The permutation that undoes `permutation` (an int64 tensor), or None for None."""
    if permutation is None:
        return None
    perm = _int_array(permutation)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    return Tensor._make(inverse)


def _int_array(values):
    arr = values._data if isinstance(values, Tensor) else np.asarray(values)
    return arr.astype(np.int64, copy=False).reshape(-1)


def _running(sizes_sorted, steps):
    """(steps, B) mask: which sequence (in sorted order) takes part in each time step."""
    return np.arange(steps)[:, None] < sizes_sorted[None, :]


def _flat_positions(mask, perm, steps, batch_first):
    """Flat indices into a padded (T, B) or (B, T) layout of every packed row, in packed order
    (time step by time step, longest sequence first); `perm[j]` is the batch column of the
    j-th longest sequence."""
    tt, jj = np.nonzero(mask)
    cols = perm[jj]
    return cols * steps + tt if batch_first else tt * len(perm) + cols


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) — or (B, T, *) with `batch_first` — whose sequence b has
    `lengths[b]` real steps. With `enforce_sorted=True` the lengths must already be in
    decreasing order; with False the batch is sorted here and the order kept in the result."""
    lengths = _int_array(lengths)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: the input must have a time and a batch dimension, "
                         f"got shape {tuple(input.shape)}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lengths.size != batch:
        raise RuntimeError(f"pack_padded_sequence: got {lengths.size} lengths for a batch of {batch} sequences "
                         f"(input shape {tuple(input.shape)}, batch_first={batch_first})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("pack_padded_sequence: every length must be at least 1, "
                         f"but lengths are {lengths.tolist()}")
    if lengths.size and lengths.max() > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths.max()} is longer than the input's "
                         f"{steps} time steps")
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(f"pack_padded_sequence: `lengths` must be sorted in decreasing order when "
                               f"enforce_sorted=True, got {lengths.tolist()}; pass enforce_sorted=False to "
                               "have the batch sorted for you")
        perm, sorted_indices = np.arange(batch), None
    else:
        perm = np.argsort(-lengths, kind="stable")
        sorted_indices = Tensor._make(perm)
    mask = _running(lengths[perm], int(lengths.max()) if lengths.size else 0)
    index = _flat_positions(mask, perm, steps, batch_first)
    data = Pack.apply(input, index=index)
    batch_sizes = Tensor._make(mask.sum(1).astype(np.int64))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo `pack_padded_sequence`: (padded batch, lengths), in the caller's batch order.
    `total_length` pads to that many steps (so the shape matches the input before packing)."""
    data, batch_sizes, sorted_indices, _ = sequence
    sizes = _int_array(batch_sizes)
    steps, batch = sizes.size, int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps_out = int(total_length)
    else:
        steps_out = steps
    perm = np.arange(batch) if sorted_indices is None else _int_array(sorted_indices)
    mask = np.arange(batch)[None, :] < sizes[:, None]  # (T, B) in sorted order
    index = _flat_positions(mask, perm, steps_out, batch_first)
    lead = (batch, steps_out) if batch_first else (steps_out, batch)
    padded = Unpack.apply(data, index=index, shape=lead + tuple(data.shape[1:]), padding_value=padding_value)
    lengths = np.empty(batch, np.int64)
    lengths[perm] = mask.sum(0)
    return padded, Tensor._make(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into one (max L, B, *) tensor — (B, max L, *) with
    `batch_first` — filling the rest with `padding_value`, after each sequence (`padding_side`
    'right') or before it ('left')."""
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: got an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise ValueError("pad_sequence: all sequences must have the same shape after their first (time) "
                             f"dimension; got {tuple(sequences[0].shape)} and {tuple(s.shape)}")
    lengths = np.array([s.shape[0] for s in sequences], np.int64)
    batch, steps = len(sequences), int(lengths.max())
    cols = np.repeat(np.arange(batch), lengths)
    tt = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # step within its sequence
    if padding_side == "left":
        tt = tt + np.repeat(steps - lengths, lengths)
    index = cols * steps + tt if batch_first else tt * batch + cols
    lead = (batch, steps) if batch_first else (steps, batch)
    data = cat(sequences) if len(sequences) > 1 else sequences[0]
    return Unpack.apply(data, index=index, shape=lead + trailing, padding_value=padding_value)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences in a padded batch, each cut to its length (the inverse of pad_sequence)."""
    lengths = _int_array(lengths)
    if batch_first:
        return [padded_sequences[i, :int(n)] for i, n in enumerate(lengths)]
    return [padded_sequences[:int(n), i] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *); with `enforce_sorted` they must come longest first."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences in a PackedSequence, in the caller's order (the inverse of pack_sequence)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
