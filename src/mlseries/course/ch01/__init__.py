"""Chapter 1: 认识机器学习：绘制直线 / Meeting machine learning: drawing a line.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import functions  # noqa: F401
from . import numpy_basics  # noqa: F401
from . import line  # noqa: F401
