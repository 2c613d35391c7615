"""Saving figures: PNG files written whole or not at all, and checks that nothing is unlabelled,
covered, cut off or too small to read (`check.py`)."""
import warnings
from pathlib import Path

from .._atomic import atomic_write

from .check import layout_problems


class FigureWarning(UserWarning):
    """A figure was saved without a title or an axis label."""


def missing_labels(fig):
    """What a reader would miss: a list like ['no title', 'axes 1: no ylabel'] (empty when complete)."""
    problems = []
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison and ax.get_label() != "<colorbar>"]
    # Figure.get_suptitle arrived in Matplotlib 3.8; older versions simply skip that check.
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if not suptitle and not any(ax.get_title() for ax in axes):
        problems.append("no title")
    for i, ax in enumerate(axes):
        if not ax.get_xlabel():
            problems.append(f"axes {i}: no xlabel")
        if not ax.get_ylabel():
            problems.append(f"axes {i}: no ylabel")
    return problems


def save_figure(fig, path, dpi=None):
    """Write `fig` to `path` (PNG unless the suffix says otherwise) and return the Path.

    The file is written under a unique temporary name and renamed, so an interrupted run never
    leaves a half-written image where a complete one is expected, and two processes saving the
    same figure never mix their bytes.
    """
    path = Path(path)
    problems = missing_labels(fig) + layout_problems(fig, dpi)
    if problems:
        warnings.warn(f"{path.name}: {', '.join(problems)}", FigureWarning, stacklevel=2)
    fmt = path.suffix.lstrip(".") or "png"
    return atomic_write(path, lambda f: fig.savefig(f, dpi=dpi, format=fmt))
