"""HW8 异常检测 / Anomaly detection: faces, on Fashion-MNIST's seen and unseen classes."""
from . import anomaly  # noqa: F401
