"""RunContext: what a lesson receives when it runs.

It carries the run's settings (quick mode, seed, output folder) and the helpers every lesson
needs, so lessons never deal with paths, file formats or progress-bar plumbing themselves:

    ctx.log("closed form: ...")                 # print without breaking a progress bar
    for step in ctx.progress(range(steps)): ... # a tqdm bar (hidden when not on a terminal)
    ctx.record(gd_m=m, gd_b=b)                  # metrics, written to metrics.json
    ctx.check("GD within 1e-3", err <= 1e-3)    # a curriculum target, PASS or FAIL
    ctx.save_figure(fig, "line_fit.png")        # a PNG in ctx.out
    with ctx.gif("line.gif") as gif: ...        # an animated GIF in ctx.out
"""
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import mlseries as ms

from .. import viz


def _plain(value):
    """A JSON-friendly Python value from a tensor, NumPy scalar or array, or plain value."""
    if isinstance(value, ms.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.item() if value.size == 1 else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class RunContext:
    def __init__(self, lesson_id, out=None, quick=False, seed=0, echo=None):
        self.lesson_id = lesson_id
        self.out = Path(out) if out is not None else Path("runs") / lesson_id
        self.quick = bool(quick)
        self.seed = int(seed)
        self.metrics = {}   # name -> number (or short string / list)
        self.checks = {}    # target description -> passed?
        self.files = []     # Paths written by this run, in order
        self._echo = echo or print
        self.out.mkdir(parents=True, exist_ok=True)

    # -- output to the reader ------------------------------------------------------------
    def log(self, message=""):
        with tqdm.external_write_mode():  # lifts an active progress bar out of the way
            self._echo(str(message))

    def progress(self, iterable, desc=None, total=None):
        """`iterable` wrapped in a progress bar; disable=None lets tqdm hide it off a terminal."""
        return tqdm(iterable, desc=desc or self.lesson_id, total=total, leave=False,
                    disable=None, dynamic_ncols=True)

    # -- randomness ------------------------------------------------------------------------
    def rng(self, stream=None):
        """A NumPy generator from the run's seed; pass `stream` (an int) for an independent one."""
        return np.random.default_rng(self.seed if stream is None else [self.seed, stream])

    # -- results ---------------------------------------------------------------------------
    def record(self, **metrics):
        for name, value in metrics.items():
            self.metrics[name] = _plain(value)

    def check(self, target, passed):
        """Record whether a curriculum target was reached, e.g. check("GD within 1e-3", err <= 1e-3)."""
        self.checks[target] = bool(passed)
        self.log(f"{'PASS' if passed else 'FAIL'}  {target}")
        return bool(passed)

    # -- files -----------------------------------------------------------------------------
    def path(self, name):
        """out/name, recorded as a file this run wrote (for data files a lesson writes itself)."""
        path = self.out / name
        self._add_file(path)
        return path

    def _add_file(self, path):
        path = Path(path)
        if path not in self.files:
            self.files.append(path)

    def save_figure(self, fig, name, dpi=None):
        path = viz.save_figure(fig, self.out / (name if Path(name).suffix else f"{name}.png"), dpi)
        self._add_file(path)
        return path

    def gif(self, name, fps=10, hold_last=1.5):
        """A GifWriter for out/name; the file is written (and recorded) when the writer closes."""
        return viz.GifWriter(self.out / name, fps=fps, hold_last=hold_last, on_close=self._add_file)

    def write_metrics(self, **info):
        """Write out/metrics.json: `info` (lesson, titles, timing), then metrics, checks, files."""
        record = {**info, "quick": self.quick, "seed": self.seed, "metrics": self.metrics,
                  "checks": self.checks, "files": [p.relative_to(self.out).as_posix()
                                                   for p in self.files]}
        path = self.out / "metrics.json"
        tmp = path.with_name(".metrics.json.tmp")
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
