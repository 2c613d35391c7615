"""RunContext: what a lesson receives when it runs.

It carries the run's settings (quick mode, seed, output folder) and the helpers every lesson
needs, so lessons never deal with paths, file formats or progress-bar plumbing themselves:

    ctx.log("closed form: ...")                 # print without breaking a progress bar
    for step in ctx.progress(range(steps)): ... # a tqdm bar: rate and time left (hidden when not
                                                # on a terminal, and with --quiet)
    ctx.record(gd_m=m, gd_b=b)                  # metrics, written to metrics.json
    ctx.check("GD within 1e-3", err <= 1e-3)    # a curriculum target, PASS or FAIL
    ctx.save_figure(fig, "line_fit.png")        # a PNG in the run folder
    with ctx.gif("line.gif") as gif: ...        # an animated GIF in the run folder
    state = ctx.resumable("cnn", model=model, optimizer=opt, rng=rng)   # a training loop that
                                                # `--resume` can continue: see course/resume.py

Files are written into a staging folder (`ctx.stage`, OUT/.partial/ under `mlseries run`) and
moved into `ctx.out` when the lesson has finished, so an interrupted run never leaves a folder
mixing two runs (see course/runfolder.py). `ctx.files` lists them by their final paths.
"""
import json
import math
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import mlseries as ms

from .. import viz
from .resume import Checkpointer


def _plain(value):
    """A JSON-friendly Python value from a tensor, NumPy scalar or array, or plain value."""
    if isinstance(value, ms.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.item() if value.size == 1 else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_safe(value, where, notes):
    """`value` as strict JSON (what any parser reads): NaN and ±infinity become null, and
    `notes[where]` says what they were; tuples and sets become lists, keys strings, NumPy and
    tensor values plain numbers; anything else is written as its text (noted too)."""
    value = _plain(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        notes[where] = ("NaN" if math.isnan(value) else "infinity" if value > 0 else "-infinity") + \
            ", written as null"
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v, f"{where}.{k}", notes) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [json_safe(v, f"{where}[{i}]", notes) for i, v in enumerate(items)]
    if isinstance(value, Path):
        return value.as_posix()
    notes[where] = f"a {type(value).__name__}, written as text"
    return str(value)


class RunContext:
    def __init__(self, lesson_id, out=None, quick=False, seed=0, echo=None, *, stage=None, quiet=False,
                 checkpointer=None, engine="mlseries", device="cpu", data=None):
        self.lesson_id = lesson_id
        self.data = Path(data) if data is not None else None   # --data: the original course's files (labs)
        self.engine = engine         # --engine / --device: read through course.engines.select(ctx)
        self.device = device
        self.engine_used = False     # set by engines.select: the runner notes a lesson that ignores --engine
        self.out = Path(out) if out is not None else Path("runs") / lesson_id
        self.stage = Path(stage) if stage is not None else self.out   # where files are written meanwhile
        self.quick = bool(quick)
        self.seed = int(seed)
        self.quiet = bool(quiet)
        self.metrics = {}   # name -> number (or short string / list)
        self.checks = {}    # target description -> passed?
        self.files = []     # Paths (in self.out) written by this run, in order
        self.checkpointer = checkpointer if checkpointer is not None else Checkpointer()
        self._echo = echo or print
        self.stage.mkdir(parents=True, exist_ok=True)

    # -- output to the reader ------------------------------------------------------------
    def log(self, message=""):
        """A line for the reader (one per finished stage of work); silent with --quiet."""
        if self.quiet:
            return
        with tqdm.external_write_mode():  # lifts an active progress bar out of the way
            self._echo(str(message))

    def progress(self, iterable, desc=None, total=None, initial=0):
        """`iterable` wrapped in a progress bar with rate and time left. Hidden with --quiet, and
        (disable=None) when the output is not a terminal, so logs and pipes get no bar debris."""
        return tqdm(iterable, desc=desc or self.lesson_id, total=total, initial=initial, leave=False,
                    disable=True if self.quiet else None, dynamic_ncols=True, mininterval=0.5)

    # -- randomness ------------------------------------------------------------------------
    def rng(self, stream=None):
        """A NumPy generator from the run's seed; pass `stream` (an int) for an independent one."""
        return np.random.default_rng(self.seed if stream is None else [self.seed, stream])

    # -- resumable training ----------------------------------------------------------------
    def resumable(self, name, **tracked):
        """A TrainingState for the training loop `name` that changes the `tracked` objects
        (modules, optimisers, schedulers, generators, dicts of arrays): under `--resume` their
        saved state is loaded now. See course/resume.py for the pattern a loop follows."""
        return self.checkpointer.unit(name, tracked)

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
        """Where to write the file `name` (for data files a lesson writes itself); recorded as a
        file of this run. It lands in the run folder when the run finishes."""
        path = self.stage / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._add_file(path)
        return path

    def _add_file(self, path):
        path = Path(path)
        try:
            path = self.out / path.relative_to(self.stage)
        except ValueError:
            pass
        if path not in self.files:
            self.files.append(path)

    def save_figure(self, fig, name, dpi=None):
        path = viz.save_figure(fig, self.stage / (name if Path(name).suffix else f"{name}.png"), dpi)
        self._add_file(path)
        return path

    def gif(self, name, fps=10, hold_last=1.5):
        """A GifWriter for out/name; the file is written (and recorded) when the writer closes."""
        return viz.GifWriter(self.stage / name, fps=fps, hold_last=hold_last, on_close=self._add_file)

    def file_names(self):
        """This run's files, relative to the run folder."""
        return [p.relative_to(self.out).as_posix() for p in self.files]

    def metrics_record(self, **info):
        """metrics.json's content as strict JSON text: `info` (lesson, titles, timing), then
        quick, seed, metrics, checks, files, and `notes` when a value had to be changed to fit
        strict JSON: {"metrics.loss": "NaN, written as null"}."""
        notes = {}
        record = {**info, "quick": self.quick, "seed": self.seed,
                  "metrics": json_safe(self.metrics, "metrics", notes),
                  "checks": json_safe(self.checks, "checks", notes),
                  "files": self.file_names()}
        record = {k: (v if k in ("metrics", "checks") else json_safe(v, k, notes)) for k, v in record.items()}
        if notes:
            record["notes"] = notes
        return json.dumps(record, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def write_metrics(self, **info):
        """Write metrics.json into the run's folder directly (the runner instead moves the
        staged files in first and writes it last; this is for a RunContext used on its own)."""
        from .._atomic import write_text
        return write_text(self.stage / "metrics.json", self.metrics_record(**info))
