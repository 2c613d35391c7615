"""HW13 网络压缩 / network compression: a teacher and students of ≤ 100 000 parameters on Fashion-MNIST."""
from . import compress  # noqa: F401
