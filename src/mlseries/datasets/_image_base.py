"""The base of the image classification data sets: torchvision's attributes plus whole-array access.

Lessons train on whole arrays (one conversion, then slicing mini-batches) far faster than on
item-by-item loops, so `as_arrays()` / `tensors()` sit beside the usual `__getitem__`.
"""

import numpy as np

from ..utils.data import Dataset
from ._convert import to_numpy, to_tensor


class ImageClassification(Dataset):
    """What the image classification sets share: uint8 (N, H, W) images and int64 labels.

    Subclasses load the arrays and set `classes`, `source`, `location`, `mean`, `std`.
    """

    classes = ()
    source = ""

    def __init__(self, images, labels, train, transform, target_transform):
        self._images = images
        self._labels = labels.astype(np.int64)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform

    # torchvision's attributes, as engine tensors
    @property
    def data(self):
        return to_tensor(self._images)

    @data.setter
    def data(self, value):
        self._images = np.asarray(to_numpy(value), dtype=np.uint8)

    @property
    def targets(self):
        return to_tensor(self._labels)

    @targets.setter
    def targets(self, value):
        self._labels = np.asarray(to_numpy(value), dtype=np.int64)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def as_arrays(self, flatten=False, normalize=False):
        """All images at once as NumPy: float32 (N, 1, H, W) in [0, 1] (or (N, H·W) when
        `flatten`), and int64 labels (N,).

        `normalize=True` standardises with this source's training-set mean and std (the
        attributes `mean`, `std`); a pair `(mean, std)` uses those numbers instead.
        """
        x = self._images.astype(np.float32)
        x /= 255.0
        if normalize is True:
            normalize = (self.mean, self.std)
        if normalize:
            mean, std = normalize
            x -= np.float32(mean)
            x /= np.float32(std)
        n, h, w = self._images.shape
        x = x.reshape(n, h * w) if flatten else x.reshape(n, 1, h, w)
        return x, self._labels.copy()

    def tensors(self, flatten=False, normalize=False):
        """`as_arrays` as engine tensors: (float32 images, int64 labels)."""
        x, y = self.as_arrays(flatten=flatten, normalize=normalize)
        return to_tensor(x), to_tensor(y)

    def class_counts(self):
        return np.bincount(self._labels, minlength=len(self.classes))

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}",
                 f"    Number of datapoints: {len(self)}",
                 f"    Split: {({True: 'Train', False: 'Test'}).get(self.train, 'All')}",
                 f"    Source: {self.source} ({self.location})"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)
