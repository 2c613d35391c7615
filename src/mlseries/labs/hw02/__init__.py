from . import framewise  # noqa: F401
