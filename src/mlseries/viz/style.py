"""One look for every figure, and Chinese text only where a font can draw it.

Matplotlib draws a character its font lacks as an empty box ("tofu"). So labels are written
in both languages through `text(zh, en)`, which drops the Chinese half when no CJK font is
installed (or when MLSERIES_LANG=en asks for English only).
"""
import os
from functools import lru_cache

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Families that cover simplified Chinese, most common first (Linux, then macOS / Windows).
_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC", "Hiragino Sans GB",
    "Heiti SC", "Microsoft YaHei", "SimHei", "Arial Unicode MS",
)

# Colours used across lessons, so "closed form" or "gradient descent" look the same everywhere.
COLORS = {
    "data": "#4c72b0",
    "reference": "#222222",   # an exact answer (closed form, ground truth)
    "search": "#dd8452",      # brute force / the traditional way
    "learned": "#c44e52",     # what training found
    "grid": "#dddddd",
}

_STYLE = {
    "figure.figsize": (6.4, 4.4),
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.color": COLORS["grid"],
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 10.5,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "image.cmap": "viridis",
}


@lru_cache(maxsize=None)
def cjk_font():
    """The name of an installed font family that draws Chinese, or None.

    MLSERIES_LANG=en also gives None: English-only figures even where a CJK font exists."""
    if os.environ.get("MLSERIES_LANG", "").lower().startswith("en"):
        return None
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in _CJK_FAMILIES if family in installed), None)


def text(zh, en, sep=" / "):
    """A label in Chinese and English, or English alone when Chinese cannot be drawn."""
    return f"{zh}{sep}{en}" if cjk_font() else en


def use_style(headless=False):
    """Apply the shared rcParams. headless=True also selects the Agg backend for pyplot users
    (the command line does this: lessons run without a display)."""
    if headless:
        matplotlib.use("Agg")
    matplotlib.rcParams.update(_STYLE)
    family = ["DejaVu Sans"]
    if cjk_font():
        # Matplotlib falls back glyph by glyph along this list: Latin letters and digits come
        # from DejaVu Sans, Chinese characters from the CJK font.
        family.append(cjk_font())
    matplotlib.rcParams["font.family"] = family


def figure(**kwargs):
    """A new Figure in the shared style on an Agg canvas (no pyplot, nothing to close)."""
    use_style()
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig
