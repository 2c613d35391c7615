"""Chapter 10: 生成式模型 / Generative models.

One module per lesson, imported in the order the chapter teaches them (each registers itself
with `@lesson`); the Fréchet-distance measure they share is `mlseries.course.fd`."""
from . import autoencoder  # noqa: F401
from . import gan  # noqa: F401
from . import style  # noqa: F401
from . import pix2pix  # noqa: F401
