"""HW14 终身学习 / life-long learning: five rotated-MNIST tasks in sequence."""
from . import lifelong  # noqa: F401
