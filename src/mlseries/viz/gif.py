"""Animated GIFs from Matplotlib frames, with Pillow.

A lesson draws a figure once, then for each frame moves its artists and calls `add(fig)`;
the writer keeps each frame as a small paletted image and writes the file when closed.
GIFs hold at most 256 colours, so all frames share one palette (taken from the first, middle
and last frames) to keep colours from flickering between frames.
"""
import io
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from .._atomic import write_bytes
from .check import layout_problems
from .save import FigureWarning

MAX_BYTES = 3_000_000


def rasterize(fig):
    """The figure as an RGB Pillow image at the figure's own dpi."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())  # (H, W, 4) uint8
    return Image.fromarray(rgba[..., :3].copy())


def _shared_palette(frames):
    picks = [frames[0], frames[len(frames) // 2], frames[-1]]
    width, height = picks[0].size
    sheet = Image.new("RGB", (width, height * len(picks)))
    for i, frame in enumerate(picks):
        sheet.paste(frame, (0, i * height))
    # No dithering: plots are flat colours, and dither noise would defeat GIF compression.
    return sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def _encode(frames, durations):
    palette = _shared_palette(frames)
    images = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=durations, loop=0, disposal=1)
    return buffer.getvalue()


def _thin(frames, durations):
    """Every other frame (always keeping the last), each shown twice as long."""
    keep = list(range(0, len(frames) - 1, 2)) + [len(frames) - 1]
    return [frames[i] for i in keep], [durations[i] * 2 if i != keep[-1] else durations[i]
                                       for i in keep]


def save_gif(frames, path, fps=10, hold_last=1.5, max_bytes=MAX_BYTES):
    """Write Pillow RGB frames as a looping GIF at `path`; the last frame stays `hold_last` seconds.

    If the file would exceed `max_bytes`, frames are thinned (every other one dropped, the rest
    shown longer) until it fits, so an animation always stays small enough to share.
    """
    if not frames:
        raise ValueError(f"{path}: a GIF needs at least one frame")
    frame_ms = round(1000 / fps)
    durations = [frame_ms] * (len(frames) - 1) + [max(frame_ms, round(1000 * hold_last))]
    data = _encode(frames, durations)
    while len(data) > max_bytes and len(frames) > 2:
        frames, durations = _thin(frames, durations)
        data = _encode(frames, durations)
    return write_bytes(Path(path), data)  # whole or not at all, under a unique temporary name


class GifWriter:
    """Collects frames from a figure and writes them as a GIF when closed (or on leaving `with`).

        with GifWriter("line.gif", fps=12) as gif:
            for step in steps:
                line.set_ydata(...)
                gif.add(fig)
    """

    def __init__(self, path, fps=10, hold_last=1.5, max_bytes=MAX_BYTES, on_close=None):
        self.path = Path(path)
        self.fps = fps
        self.hold_last = hold_last
        self.max_bytes = max_bytes
        self.frames = []
        self._on_close = on_close

    def add(self, fig):
        """Append the figure as it looks now. The layout is computed for the first frame and then
        frozen, so the axes do not jitter as changing text resizes, and later frames draw faster."""
        if not self.frames:  # the first frame stands for the rest: same layout, same fonts
            problems = layout_problems(fig, fig.dpi)
            if problems:
                warnings.warn(f"{self.path.name}: {', '.join(problems)}", FigureWarning, stacklevel=2)
        self.frames.append(rasterize(fig))
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")

    def close(self):
        path = save_gif(self.frames, self.path, self.fps, self.hold_last, self.max_bytes)
        self.frames = []
        if self._on_close is not None:
            self._on_close(path)
        return path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:  # an error mid-animation should surface, not write a partial GIF
            self.close()
        return False
