"""Chapter 8: 循环神经网络 / Recurrent neural networks.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import rnn  # noqa: F401
from . import lstm  # noqa: F401
from . import lm  # noqa: F401
from . import seq2seq  # noqa: F401
