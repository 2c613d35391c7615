"""Chapter 6: 训练神经网络 / Training neural networks.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import train  # noqa: F401
from . import diagnose  # noqa: F401
