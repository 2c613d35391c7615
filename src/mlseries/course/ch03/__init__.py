"""Chapter 3: 分类问题：Keras 求解 / Classification with a Keras-style API.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import binary  # noqa: F401
from . import mnist  # noqa: F401
from . import optimizers  # noqa: F401
