"""Chapter 5: 张量和自动微分 / Tensors and automatic differentiation.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import autodiff  # noqa: F401
from . import micrograd  # noqa: F401
from . import tinygrad  # noqa: F401
