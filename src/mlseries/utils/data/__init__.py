"""Datasets and loaders with the names of torch.utils.data (and its submodules `dataset`,
`sampler`, `dataloader` and `distributed`)."""
from . import dataloader, dataset, distributed, sampler  # noqa: F401
from .dataloader import DataLoader, WorkerInfo, default_collate, default_convert, get_worker_info
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .dataset_extra import ChainDataset, StackDataset  # noqa: E402
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
           "DistributedSampler"]
__all__ += ["ChainDataset", "StackDataset"]
