"""HW05：机器翻译 / English → Chinese translation (ML 2022 Spring)."""
from . import translation  # noqa: F401
