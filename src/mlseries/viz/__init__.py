"""Figures for the lessons: one shared style, PNG saving and animated GIFs.

    from mlseries import viz
    fig = viz.figure()
    ax = fig.subplots()
    ax.set(title=viz.text("损失", "loss"), xlabel="x", ylabel="y")
    viz.save_figure(fig, "runs/demo/loss.png")

Figures are built as `matplotlib.figure.Figure` objects on the Agg canvas, never through
pyplot, so a lesson opens no windows and leaves no global figure list behind.
"""
from .gif import GifWriter, save_gif
from .graph import draw_graph
from .save import FigureWarning, missing_labels, save_figure
from .style import COLORS, cjk_font, figure, text, use_style

__all__ = ["COLORS", "FigureWarning", "GifWriter", "cjk_font", "draw_graph", "figure", "missing_labels", "save_figure",
           "save_gif", "text", "use_style"]
