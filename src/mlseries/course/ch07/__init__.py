"""Chapter 7: 卷积神经网络 / Convolutional neural networks.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the other modules here are the lessons' helpers."""
from . import conv  # noqa: F401
from . import cnn  # noqa: F401
from . import alexnet  # noqa: F401
from . import unet  # noqa: F401
from . import resnet  # noqa: F401
