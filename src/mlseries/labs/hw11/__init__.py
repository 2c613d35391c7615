"""HW11 领域自适应 / domain adaptation: labelled MNIST digits → unlabelled digits in another style."""
from . import adapt  # noqa: F401
