"""Checks a reader would make of a figure, made by the machine before it is saved.

A figure can be correct and still mislead or annoy: a legend parked on the curves it explains,
a title cut off at the edge, text too small to read once the image sits in a web page. These
are measured on the drawn figure (after layout), in pixels at the dpi it is saved with:

    layout_problems(fig, dpi)  ->  ["legend 1 covers data (line 'tanh')", "text 'xyz' is 7 px"]

`save_figure` warns (FigureWarning) with whatever this returns, so a lesson's quick-run test
fails on it.
"""
import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.text import Text

MIN_TEXT_PX = 9        # below this a Latin letter is hard to read, a Chinese character illegible
CLIP_TOLERANCE_PX = 3  # a glyph box reaches below the ink (descent); a label 2 px over is not cut
LEGEND_MARGIN_PX = 2   # a line just touching the legend's frame does not hide anything


def _renderer(fig):
    fig.canvas.draw()  # lays the figure out (constrained layout too), as saving would
    return fig.canvas.get_renderer()


def _data_artists(ax):
    """Lines and scatter plots drawn in data coordinates (axhline/axvline are reference lines,
    drawn in axes coordinates, and a legend may sit over them)."""
    for line in ax.get_lines():
        if line.get_visible() and line.get_transform() is ax.transData:
            yield line
    for coll in ax.collections:
        if coll.get_visible() and isinstance(coll, PathCollection):
            yield coll


def _label(artist):
    label = artist.get_label() or ""
    return label if not label.startswith("_") else type(artist).__name__


def _covered(artist, box):
    """Does the artist draw anything inside the display-space box?"""
    if isinstance(artist, Line2D):
        xy = artist.get_transform().transform(np.asarray(artist.get_xydata(), dtype=float))  # units converted
        finite = np.isfinite(xy).all(axis=1)
        pts = [xy[finite]]
        if artist.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1:
            # sample every segment every 2 px: a straight segment can cross a box between its
            # ends; a NaN ends a segment (that is how a plot leaves a gap)
            ok = finite[:-1] & finite[1:]
            start, seg = xy[:-1][ok], np.diff(xy, axis=0)[ok]
            steps = np.minimum(2000, np.maximum(1, np.ceil(np.abs(seg).max(axis=1, initial=0) / 2)))
            pts += [a + np.outer(np.arange(n) / n, d) for a, d, n in zip(start, seg, steps.astype(int))]
        pts = np.concatenate(pts)
    else:
        offsets = np.asarray(artist.get_offsets(), dtype=float).reshape(-1, 2)
        pts = artist.get_offset_transform().transform(offsets)
        pts = pts[np.isfinite(pts).all(axis=1)]
    inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
    return bool(inside.any())


def legend_problems(fig, renderer):
    problems = []
    for i, ax in enumerate(fig.axes):
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer).padded(-LEGEND_MARGIN_PX)
        axes_box = ax.get_window_extent(renderer)
        if not box.overlaps(axes_box):
            continue  # a legend beside the axes hides nothing
        hidden = [_label(a) for a in _data_artists(ax) if _covered(a, box)]
        if hidden:
            problems.append(f"axes {i}: the legend covers data ({', '.join(hidden[:3])})")
    return problems


def _texts(fig):
    """Every text that will be drawn: titles, labels, tick labels inside the view, annotations."""
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text().strip() and text.figure is fig:
            yield text


def _hidden_tick_labels(fig):
    """Tick labels outside their axis' view: laid out, never drawn (ids, to skip them)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            drawn = ax.axison and axis.get_visible()
            scale = axis.get_transform()   # compare in the axis' scale (log axes: in decades)
            lo, hi = sorted(scale.transform(np.asarray(axis.get_view_interval(), dtype=float)))
            slack = 1e-9 * max(1.0, hi - lo)
            # the tick lists as drawn (get_major_ticks() may add fresh ticks, never drawn)
            for tick in list(axis.majorTicks) + list(axis.minorTicks):
                with np.errstate(all="ignore"):
                    loc = scale.transform(np.array([tick.get_loc()], dtype=float))[0]
                if not (drawn and tick.get_visible() and lo - slack <= loc <= hi + slack):
                    hidden.update((id(tick.label1), id(tick.label2)))
    return hidden


def text_problems(fig, renderer, dpi):
    problems, small, fig_box = [], set(), fig.bbox
    scale = dpi / fig.dpi
    hidden = _hidden_tick_labels(fig)
    for text in _texts(fig):
        if id(text) in hidden:
            continue
        box = text.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        px = text.get_fontsize() * dpi / 72
        if px < MIN_TEXT_PX - 1e-9:
            small.add(f"{px:.0f} px")
        over = max(fig_box.x0 - box.x0, box.x1 - fig_box.x1, fig_box.y0 - box.y0, box.y1 - fig_box.y1)
        if over * scale > CLIP_TOLERANCE_PX:
            problems.append(f"text {text.get_text()[:30]!r} is cut off at the figure's edge")
    if small:
        problems.append(f"text smaller than {MIN_TEXT_PX} px ({', '.join(sorted(small))})")
    return problems


def layout_problems(fig, dpi=None):
    """What a reader would trip over in `fig` saved at `dpi` (default: the savefig dpi)."""
    from matplotlib import rcParams

    dpi = dpi or (rcParams["savefig.dpi"] if rcParams["savefig.dpi"] != "figure" else fig.dpi)
    renderer = _renderer(fig)
    return legend_problems(fig, renderer) + text_problems(fig, renderer, dpi)
