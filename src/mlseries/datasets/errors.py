"""The errors the data loaders raise.

Every message names the file (or the places searched) and says what is wrong in words a
learner can act on; a NumPy or gzip traceback from deep inside is never the whole story.
"""


class DatasetError(Exception):
    """Base class: something is wrong with a data set or its files."""


class CorruptFileError(DatasetError, ValueError):
    """A data file exists but its contents are not what its format promises."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The files of a data set are not where they were looked for."""
