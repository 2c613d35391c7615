"""`DistributedSampler`: the share of a dataset that one process visits in distributed training."""
import math

import numpy as np

from ... import distributed as _dist
from ...random import Generator, _gen
from .sampler import Sampler


class DistributedSampler(Sampler):
    """Indices for process `rank` of `num_replicas`: the epoch's order (shuffled with `seed +
    epoch`, or 0..n−1), padded by repeating its start so that every process gets the same count
    (or cut, with drop_last), then every num_replicas-th index from position `rank`, as PyTorch's.

    Without num_replicas/rank they come from the default process group (`mlseries.distributed`),
    which must be initialised, as in PyTorch. Call `set_epoch(epoch)` at the start of each epoch
    so that the shuffle changes. The shuffled order is drawn by mlseries' generator, so it
    differs from PyTorch's for the same seed; the split between processes is the same.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = _dist.get_world_size()
        if rank is None:
            rank = _dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # Cut the tail so that every process gets the same number of whole samples.
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _indices(self):
        n = len(self.dataset)
        if self.shuffle:
            order = _gen(Generator().manual_seed(self.seed + self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        if not self.drop_last:
            padding = self.total_size - n
            if padding > 0:
                order = np.concatenate([order, np.resize(order, padding)])  # repeats the order from its start
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch number that, added to `seed`, seeds this epoch's shuffle."""
        self.epoch = epoch


__all__ = ["DistributedSampler"]
