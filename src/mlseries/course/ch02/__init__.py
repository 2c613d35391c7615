"""Chapter 2: 深度学习原理 / How deep learning works.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import principle  # noqa: F401
from . import data  # noqa: F401
