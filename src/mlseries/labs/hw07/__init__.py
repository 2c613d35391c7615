"""HW07：抽取式问答 / extractive question answering with BERT (ML 2022 Spring)."""
from . import qa  # noqa: F401
