"""HW3 图像分类 / Image classification: Food-11, on a small Fashion-MNIST training set."""
from . import classification  # noqa: F401
