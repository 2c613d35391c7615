"""Writing a file whole or not at all: every file mlseries writes (checkpoints, figures, GIFs,
metrics.json, index.html, data files) goes through `atomic_write`.

The bytes go to a temporary file with a unique name in the target's folder (two processes
writing the same target never share a temporary file), are flushed to disk, and the file is
renamed over the target: readers see the old file or the new one, never a mixture, and a crash
leaves at most a stray `.tmp-*` file, never a half-written target.

The new file gets the mode an ordinary `open(path, "w")` would give it (0644 under umask 022),
not the 0600 of `tempfile.mkstemp`; a target that already exists keeps its mode. A target that
exists but is read-only is not replaced: renaming over it would succeed (only the folder's
permissions count for a rename), silently discarding a file the user protected.
"""
import errno
import os
import tempfile
from pathlib import Path


def current_umask():
    """The process's umask, read without changing it where Linux allows (os.umask can only be
    read by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_replaceable(path):
    """Refuse to replace an existing file the user made read-only (PermissionError, as open()
    would raise)."""
    path = os.fspath(path)
    if os.path.lexists(path) and not os.path.isdir(path) and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, f"{path} is read-only; not replacing it (make it writable with "
                                            "chmod u+w, or write somewhere else)", path)


def atomic_write(path, write, mode="wb"):
    """Call `write(f)` with a temporary file object and put the result at `path` in one rename.

    `mode` is "wb" or "w" (text, UTF-8). Returns `path` as a Path. On any error (or Ctrl-C) the
    temporary file is removed and the target is left as it was."""
    path = Path(path)
    check_replaceable(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            file_mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            file_mode = 0o666 & ~current_umask()
        os.fchmod(fd, file_mode)
        kwargs = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            fd = None
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_bytes(path, data):
    return atomic_write(path, lambda f: f.write(data))


def write_text(path, text):
    return atomic_write(path, lambda f: f.write(text), mode="w")
