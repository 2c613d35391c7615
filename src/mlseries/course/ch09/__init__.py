"""Chapter 9: Transformer 架构 / The Transformer.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import attention  # noqa: F401
from . import transformer  # noqa: F401
from . import vit  # noqa: F401
