"""Samplers with the names of torch.utils.data.sampler: the orders in which a DataLoader
visits a dataset, and BatchSampler, which groups them into batches.

Indices are drawn lazily, a chunk at a time, as PyTorch does: `RandomSampler(ds,
replacement=True, num_samples=10**10)` (PyTorch's idiom for "sample forever") costs the memory
of one chunk, not of ten billion indices. Drawing in chunks gives exactly the numbers one big
draw would (NumPy's generators produce the same stream either way), so seeds keep their orders.
"""
import itertools

import numpy as np

from ..._tensor import Tensor
from ...random import _gen

CHUNK = 1 << 16   # indices drawn at a time


def _chunks(sampler):
    """The sampler's indices as NumPy arrays, a chunk at a time (any iterable sampler works).

    The samplers here hand over whole arrays; a sampler whose `__iter__` was written elsewhere
    (a subclass too) is iterated, so that its own order is the one used."""
    own = getattr(type(sampler).__iter__, "__module__", None) in (__name__, "mlseries.utils.data.distributed")
    if own and hasattr(sampler, "_index_chunks"):
        yield from sampler._index_chunks()
        return
    if own and hasattr(sampler, "_indices"):   # at most one data set's worth of indices
        yield np.asarray(sampler._indices(), dtype=np.int64)
        return
    it = iter(sampler)
    while True:
        block = np.fromiter(itertools.islice(it, CHUNK), dtype=np.int64)
        if not len(block):
            return
        yield block


class Sampler:
    """An iterable of dataset indices."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)

    def _indices(self):
        return np.arange(len(self.data_source))


class RandomSampler(Sampler):
    """A fresh random order every epoch, drawn from `generator` (default: the global one, so
    `mlseries.manual_seed` fixes the sequence of epochs)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self):
        """The epoch's indices, drawn lazily: CHUNK at a time with replacement, one permutation
        of the data set at a time without (the last one cut to num_samples)."""
        n, rng, left = len(self.data_source), _gen(self.generator), self.num_samples
        while left > 0:
            if self.replacement:
                block = rng.integers(0, n, size=min(CHUNK, left))
            else:
                block = rng.permutation(n)[:left]
            left -= len(block)
            yield block

    def _indices(self):
        return np.concatenate(list(self._index_chunks()))

    def __iter__(self):
        for block in self._index_chunks():
            yield from block.tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _indices(self):
        return np.asarray(self.indices)[_gen(self.generator).permutation(len(self.indices))]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probability proportional to `weights` (to rebalance classes)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.weights = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_chunks(self):
        p = self.weights / self.weights.sum()
        rng = _gen(self.generator)
        if not self.replacement:   # at most len(weights) indices: one draw
            yield rng.choice(len(p), size=self.num_samples, replace=False, p=p)
            return
        left = self.num_samples
        while left > 0:
            block = rng.choice(len(p), size=min(CHUNK, left), replace=True, p=p)
            left -= len(block)
            yield block

    def _indices(self):
        return np.concatenate(list(self._index_chunks()))

    def __iter__(self):
        for block in self._index_chunks():
            yield from block.tolist()

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of batch_size."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self):
        """Batches as NumPy index arrays, cut from the sampler's chunks as they are drawn (no
        Python loop per item, and no whole epoch of indices in memory)."""
        size, carry = self.batch_size, None
        for block in _chunks(self.sampler):
            if carry is not None and len(carry):
                block = np.concatenate([carry, block])
            stop = len(block) - len(block) % size
            for i in range(0, stop, size):
                yield block[i:i + size]
            carry = block[stop:]
        if carry is not None and len(carry) and not self.drop_last:
            yield carry

    def __iter__(self):
        for batch in self._index_batches():
            yield batch.tolist()

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]
