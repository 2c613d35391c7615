"""Datasets and loaders with the names of torch.utils.data (filled in by the engine work)."""


class Dataset:
    """An indexable collection of samples: subclasses define __getitem__ and __len__."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")
