"""`ChainDataset` and `StackDataset`, as in torch.utils.data: streams one after another, and
several equally long datasets read side by side (inputs, targets, masks kept in separate sets)."""
from .dataset import Dataset, IterableDataset


class ChainDataset(IterableDataset):
    """Iterate each IterableDataset in turn: the stream form of ConcatDataset, made on the fly."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            total += len(d)  # a stream without __len__ raises TypeError here, as in PyTorch
        return total


class StackDataset(Dataset):
    """Sample i is (a[i], b[i], ...) for StackDataset(a, b, ...) or {name: d[i]} for
    StackDataset(name=d, ...); all datasets must have the same length."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or ``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets = args if args else kwargs
        sets = list(args) if args else list(kwargs.values())
        self._length = len(sets[0])
        if any(len(d) != self._length for d in sets):
            raise ValueError(f"Size mismatch between datasets: lengths {[len(d) for d in sets]}")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        """A batch of samples at once (the DataLoader's fast path); uses each dataset's own
        __getitems__ where it has one."""
        def column(d):
            if callable(getattr(d, "__getitems__", None)):
                items = d.__getitems__(indices)
                if len(items) != len(indices):
                    raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, "
                                     f"got {len(items)}")
                return items
            return [d[i] for i in indices]

        if isinstance(self.datasets, dict):
            cols = {k: column(d) for k, d in self.datasets.items()}
            return [{k: c[j] for k, c in cols.items()} for j in range(len(indices))]
        cols = [column(d) for d in self.datasets]
        return [tuple(c[j] for c in cols) for j in range(len(indices))]

    def __len__(self):
        return self._length
