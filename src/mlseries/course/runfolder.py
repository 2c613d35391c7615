"""Run folders: one run at a time per folder, and a folder that always holds one whole run.

A lesson's output folder (runs/ch01.line/ by default) is only ever seen in one of two states:

- a complete run: its files and `metrics.json` (the manifest, written last), all from one run;
- marked incomplete: `INCOMPLETE.txt` says so, and `metrics.json` is absent. This happens only
  if a run is killed in the few milliseconds in which it moves its finished files in.

While a lesson runs it writes into `OUT/.partial/` (its figures, and `checkpoint.npz` for
`--resume`), so the previous complete run stays untouched until the new one has finished; a
run stopped part-way (Ctrl-C, a crash, SIGKILL) leaves the old run intact beside `.partial/`.
Only at the end are the new files moved in, one rename each, and `metrics.json` written.

`OUT/.lock` is held (an advisory `flock`, released by the kernel even when the process is
killed) for the whole run, so a second run into the same folder stops at once with a message
naming the first, instead of splicing its figures into the other's. Temporary files have
unique names (`mlseries._atomic`), so even writers that bypass the lock never share one.
"""
import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; runs into one folder are then not serialised
    fcntl = None

from .._atomic import write_text

STAGE = ".partial"
LOCK = ".lock"
INCOMPLETE = "INCOMPLETE.txt"
METRICS = "metrics.json"

_INCOMPLETE_TEXT = """\
This folder is incomplete: an mlseries run was stopped while it moved its finished files in,
so the files here may come from two different runs. Run the lesson again (or with --resume)
to get a complete folder; this note disappears when a run finishes.
"""


class OutputError(ValueError):
    """An output folder that cannot be used (a file, a device, not writable, an empty name)."""


class FolderBusyError(RuntimeError):
    """Another run holds the output folder's lock."""


def check_output_folder(path, option="--out", create=True):
    """Make sure `path` is, or can become, a folder this process can write into; create it
    (with create=False only check that nothing in the way is a file).

    Everything that would otherwise fail only after a lesson has trained for minutes is tried
    here first, and reported in one sentence naming the option and the path."""
    text = os.fspath(path) if path is not None else ""
    if not text.strip():
        raise OutputError(f"{option} is empty: name a folder (use {option} . for the current folder)")
    if "\0" in text:
        raise OutputError(f"{option} {text!r} contains a NUL character")
    path = Path(text)
    if path.exists() and not path.is_dir():
        what = "a file" if path.is_file() else "a device or other special file"
        raise OutputError(f"{option} {text}: is {what}, not a folder; choose a folder (it is created if needed)")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"{option} {text}: {parent} is a file, so no folder can be made under it")
            break
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{option} {text}: cannot create the folder ({e.strerror or e})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{option} {text}: cannot write into this folder ({e.strerror or e}); choose "
                          "another folder or fix its permissions") from None
    return path


def _safe_name(out, name):
    """`name` (from a metrics.json) as a path inside `out`, or None if it would point outside."""
    if not isinstance(name, str) or not name or "\0" in name:
        return None
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    target = out / rel
    try:   # a symlinked folder on the way must not lead outside either
        target.resolve().relative_to(out.resolve())
    except (ValueError, OSError):
        return None
    return target


class RunFolder:
    """The output folder of one lesson run: its lock, its staging area, and the final swap."""

    def __init__(self, path):
        self.path = Path(path)
        self.stage = self.path / STAGE
        self._lock_fd = None

    # -- the lock ----------------------------------------------------------------------------
    def acquire(self, description):
        """Take the folder's lock or raise FolderBusyError naming the run that holds it.
        `description` (the command, say) is written into the lock file for that message."""
        if fcntl is None:
            return self
        lock = self.path / LOCK
        for _ in range(20):
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise OutputError(f"{self.path}: cannot create its lock file {LOCK} ({e.strerror or e}); "
                                  f"remove whatever is at {lock}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise FolderBusyError(f"{self.path} is in use by another mlseries run ({self._holder(lock)}); "
                                      "wait for it to finish, or choose another --out") from None
            # The holder before us may have removed the file between our open and our flock;
            # then we hold a lock on a file nobody else can see: try again with the new one.
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()}, {description}, started {time.strftime('%H:%M:%S')}\n"
                         .encode("utf-8", "replace"))
                self._lock_fd = fd
                return self
            os.close(fd)
        raise FolderBusyError(f"{self.path}: could not take the folder's lock (it keeps being replaced)")

    @staticmethod
    def _holder(lock):
        try:
            text = lock.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        return text or "it has just started"

    def release(self):
        if self._lock_fd is None:
            return
        try:
            os.unlink(self.path / LOCK)   # while still holding it: see acquire()
        except OSError:
            pass
        os.close(self._lock_fd)
        self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    # -- the staging area --------------------------------------------------------------------
    def reset_stage(self):
        """An empty staging folder (whatever an earlier, stopped run left there is dropped)."""
        self.remove_stage()
        self.stage.mkdir(parents=True)

    def ensure_stage(self):
        self.stage.mkdir(parents=True, exist_ok=True)

    def remove_stage(self):
        if self.stage.is_symlink() or self.stage.is_file():
            self.stage.unlink()
        elif self.stage.exists():
            shutil.rmtree(self.stage)

    # -- what is there ---------------------------------------------------------------------
    def complete_record(self):
        """metrics.json of the complete run in this folder, or None."""
        if (self.path / INCOMPLETE).exists():
            return None
        try:
            record = json.loads((self.path / METRICS).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):   # missing, unreadable, not JSON, absurdly nested
            return None
        return record if isinstance(record, dict) else None

    # -- the swap ----------------------------------------------------------------------------
    def commit(self, names, record_text):
        """Move the staged files `names` (relative paths) into the folder and write
        metrics.json (`record_text`) last. Between the first and the last step the folder is
        marked incomplete; files the previous run listed and this one did not are removed."""
        old = self.complete_record() or {}
        write_text(self.path / INCOMPLETE, _INCOMPLETE_TEXT)
        metrics = self.path / METRICS
        if metrics.exists():
            metrics.unlink()
        for name in names:
            source, target = self.stage / name, self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        keep = {Path(n).as_posix() for n in names}
        for name in old.get("files", []) if isinstance(old.get("files"), list) else []:
            target = _safe_name(self.path, name)
            if target is None or Path(name).as_posix() in keep or Path(name).as_posix() == METRICS:
                continue
            if target.is_file() and not target.is_symlink():
                target.unlink()
        write_text(metrics, record_text)
        (self.path / INCOMPLETE).unlink()
        self.remove_stage()
