"""HW06 图像生成 / image generation: DCGAN, WGAN and WGAN-GP on Fashion-MNIST (or the course's faces)."""
from . import gan  # noqa: F401
