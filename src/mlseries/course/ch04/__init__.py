"""Chapter 4: 详解反向传播算法 / Backpropagation in detail.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import derivatives  # noqa: F401
from . import dnn  # noqa: F401
