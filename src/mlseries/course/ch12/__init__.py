"""Chapter 12: 大语言模型 / Large language models.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' models and helpers, written against a
torch-like module so that the same code runs on the mlseries engine and on PyTorch."""
from . import tokenizer  # noqa: F401
from . import gpt  # noqa: F401
from . import llama  # noqa: F401
from . import bert  # noqa: F401
from . import lora  # noqa: F401
