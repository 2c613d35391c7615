"""The DataLoader and collation, with the names of torch.utils.data.dataloader.

A `DataLoader` draws indices from a sampler, groups them into batches, fetches the samples and
collates them into tensors. When the dataset is a `TensorDataset` (or a `Subset` of one) and
the default collate is used, a batch is cut with one fancy index per tensor instead of being
assembled sample by sample — the difference between milliseconds and seconds per epoch.
"""
import collections
import numbers
import warnings

import numpy as np

from ..._tensor import Tensor
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler


# ---- collation ----------------------------------------------------------------------------------
def default_convert(data):
    """Arrays become tensors (recursively inside lists, tuples and dicts); nothing is stacked."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return Tensor._make(data)
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Stack a list of samples into a batch: tensors and arrays are stacked along a new first
    dimension, Python ints become int64 and floats float32 (mlseries' default float, as in
    `mlseries.tensor`), bools bool; tuples, lists and dicts are collated field by field;
    strings stay a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        _check_same_shapes(batch, lambda t: tuple(t.shape))
        return Tensor._make(np.stack([t._data for t in batch]))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        _check_same_shapes(batch, lambda a: a.shape)
        return Tensor._make(np.stack(batch))
    if isinstance(elem, np.generic):
        return Tensor._make(np.asarray(batch))
    if isinstance(elem, bool):
        return Tensor._make(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._make(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._make(np.asarray(batch, dtype=np.float32))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple: keep the type
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


def _check_same_shapes(batch, shape_of):
    first = shape_of(batch[0])
    for i, item in enumerate(batch):
        if shape_of(item) != first:
            raise RuntimeError(f"default_collate: stack expects each sample to have the same shape, but sample 0 "
                               f"has shape {first} and sample {i} has shape {shape_of(item)} "
                               "(pad the samples or pass a collate_fn)")


def _tensor_source(dataset):
    """(tensors, index map) when batches can be cut straight out of whole tensors: a
    TensorDataset, possibly wrapped in Subsets. Otherwise None."""
    index_map = None
    while isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
        return dataset.tensors, index_map
    return None


# ---- workers ------------------------------------------------------------------------------------
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: id, num_workers, seed and dataset."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        return ("WorkerInfo(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "dataset")
                + ", dataset=...)")


_current_worker = [None]


def get_worker_info():
    """Inside the loader's (one, emulated) worker: its WorkerInfo; in the main program: None."""
    return _current_worker[0]


class _InWorker:
    def __init__(self, info):
        self.info = info

    def __enter__(self):
        self.prev = _current_worker[0]
        _current_worker[0] = self.info

    def __exit__(self, *exc):
        _current_worker[0] = self.prev
        return False


# ---- the loader ---------------------------------------------------------------------------------
class DataLoader:
    """Iterate over a dataset in mini-batches.

        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        for xb, yb in loader: ...

    `shuffle=True` draws a new order each epoch from `generator`, or from the default generator
    (so `mlseries.manual_seed` fixes it).

    Everything runs in this one process: NumPy already runs the heavy array work in C, and the
    fast path makes fetching a batch a single indexing operation. `num_workers=N` is accepted and
    behaves as one worker would: `worker_init_fn(0)` runs at the start of each epoch (once, with
    `persistent_workers=True`), and dataset code sees `get_worker_info()` with id 0 and
    num_workers 1, so an IterableDataset that splits its stream by worker yields all of it once.
    The batches are those of `num_workers=0`. `pin_memory=True` warns, as PyTorch does when no
    accelerator is present, and changes nothing.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device=""):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.generator = generator
        self._worker = None
        self._epochs_started = 0
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: samplers cannot be used")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        if self.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", UserWarning, stacklevel=2)
        worker = self._start_worker()
        batches = self._batches()
        return batches if worker is None else self._in_worker(batches, worker)

    def _batches(self):
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        source = _tensor_source(self.dataset) if self._default_collate else None
        if source is not None and isinstance(self.batch_sampler, BatchSampler):
            return self._iter_tensors(*source)
        return self._iter_samples()

    def _start_worker(self):
        """The emulated worker of this epoch (None without workers), initialised as PyTorch's are."""
        if self.num_workers == 0:
            return None
        if self.persistent_workers and self._worker is not None:
            return self._worker
        from ...random import default_generator
        seed = (default_generator.initial_seed() + self._epochs_started) % 2 ** 63
        self._epochs_started += 1
        info = WorkerInfo(id=0, num_workers=1, seed=seed, dataset=self.dataset)
        if self.worker_init_fn is not None:
            with _InWorker(info):
                self.worker_init_fn(0)
        self._worker = info
        return info

    @staticmethod
    def _in_worker(batches, info):
        """Run the dataset's and collate_fn's code as the worker would: with get_worker_info() set."""
        while True:
            with _InWorker(info):
                try:
                    batch = next(batches)
                except StopIteration:
                    return
            yield batch

    def _iter_tensors(self, tensors, index_map):
        arrays = [t._data for t in tensors]
        for idx in self.batch_sampler._index_batches():
            if index_map is not None:
                idx = index_map[idx]
            yield [Tensor._make(a[idx]) for a in arrays]

    def _iter_samples(self):
        getitems = getattr(self.dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            samples = getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]
            yield self.collate_fn(samples)

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)


__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
