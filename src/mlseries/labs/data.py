"""Reading a lab's original course files given with `--data PATH`.

A student who has the course's own data (from Kaggle or the course page) can train a lab on it
instead of the offline substitute. These helpers find the expected files and turn every way
they can be wrong into a `LabDataError` that names the file and what was expected; the command
line prints it as one line with exit status 4 (docs/running.md).
"""
from pathlib import Path


class LabDataError(ValueError):
    """A --data file that is missing, or not in the course's format: the message says which and why."""


def data_files(path, names):
    """The course files `names` ("covid.train.csv", ...) for --data `path`: a folder holding them
    all, or, when one name is asked for, that file itself. Returns {name: Path}."""
    path = Path(path)
    if path.is_file():
        if len(names) == 1:
            return {names[0]: path}
        raise LabDataError(f"--data {path}: give the folder that holds {', '.join(names)}, not one file")
    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise LabDataError(f"--data {path}: {', '.join(missing)} not found in this folder "
                           f"(expected {', '.join(names)})")
    return {n: path / n for n in names}
