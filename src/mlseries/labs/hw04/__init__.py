from . import speakers  # noqa: F401
