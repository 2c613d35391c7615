"""Running lessons: seed everything, call the lesson, time it, write metrics.json, print a summary.

Each lesson runs inside its output folder's lock, writes into a staging folder and is moved into
place when it has finished (course/runfolder.py); its training loops save checkpoints there, from
which `resume=True` continues an interrupted run (course/resume.py).
"""
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import mlseries as ms

from .. import viz
from .context import RunContext
from .engines import world
from .resume import Checkpointer, check_meta, read_checkpoint
from .runfolder import INCOMPLETE, METRICS, STAGE, OutputError, RunFolder, check_output_folder
from .table import format_table, format_value

CHECKPOINT = "checkpoint.npz"


@dataclass
class LessonResult:
    lesson: object          # the registry's Lesson
    out: Path
    seconds: float
    metrics: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    files: list = field(default_factory=list)


@dataclass
class RunInfo:
    """Attached to an exception that stopped a lesson (as `err.mlseries_run`), for the message."""
    lesson_id: str
    out: Path
    checkpoint: Path = None     # where the last checkpoint is, if one was written
    saved_steps: int = 0        # training steps it holds


def _matches(record, lesson, quick, seed):
    return (record.get("id") == lesson.id and record.get("quick") is bool(quick) and record.get("seed") == seed
            and isinstance(record.get("metrics"), dict) and isinstance(record.get("checks"), dict))


def _from_record(lesson, out, record):
    files = [out / name for name in record.get("files", []) if isinstance(name, str)]
    return LessonResult(lesson, out, float(record.get("seconds") or 0.0), dict(record["metrics"]),
                        {k: bool(v) for k, v in record["checks"].items()}, files + [out / METRICS])


def run_lesson(lesson, out=None, quick=False, seed=0, echo=print, *, resume=False, quiet=False,
               checkpoint_every=60.0, checkpoint_steps=None, keep_checkpoint=False, command=None,
               engine="mlseries", device="cpu", data=None):
    """Run one lesson into `out` (default runs/<id>) and return what it measured and wrote.

    resume: continue the interrupted run whose checkpoint is in out/.partial/ (same lesson,
    mode and seed), or, when `out` already holds a finished run with these settings, return it
    without running again. checkpoint_every (seconds) or checkpoint_steps (training steps):
    how often training loops save. keep_checkpoint: keep the final training state as
    out/checkpoint.npz. quiet: no progress bars and no per-stage lines, only the summary.
    engine, device: --engine / --device, for lessons that can train on PyTorch (course/engines.py).
    data: --data, the original course's files for a lab that reads them (`lesson.data` says what).

    Under torchrun only rank 0 owns the folder (lock, checkpoints, metrics.json); the other
    processes run the lesson with a private scratch folder and write nothing into `out`.
    """
    if world()[0] != 0:
        return _run_secondary_rank(lesson, out, quick, seed, resume, engine, device)
    out = check_output_folder(Path(out) if out is not None else Path("runs") / lesson.id)
    for name in (METRICS, INCOMPLETE):   # found now, not when the finished run is moved in
        if (out / name).is_dir():
            raise OutputError(f"{out}: {name} is a folder; the run writes a file there (remove or rename it)")
    folder = RunFolder(out)
    mode = "quick" if quick else "full"
    with folder.acquire(command or f"mlseries run {lesson.id}{' --quick' if quick else ''} --seed {seed}"):
        meta = {"lesson": lesson.id, "quick": bool(quick), "seed": int(seed), "version": ms.__version__}
        checkpoint = folder.stage / CHECKPOINT
        saved = None
        if resume:
            if checkpoint.is_file():
                saved = read_checkpoint(checkpoint)
                check_meta(saved["meta"], meta)
            else:
                record = folder.complete_record()
                if record is not None and _matches(record, lesson, quick, seed):
                    if not quiet:
                        echo(f"== {lesson.id}: {out} already holds a finished {mode} run with seed {seed}; "
                             "nothing to resume ==")
                    result = _from_record(lesson, out, record)
                    echo(summary(result))
                    return result
                if not quiet:
                    echo(f"(nothing to resume in {out}: starting {lesson.id} from the beginning)")
        if saved is None:
            if not resume and checkpoint.is_file() and not quiet:
                echo(f"(discarding the checkpoint of an interrupted run in {out}/.partial/; "
                     "`--resume` would have continued it)")
            folder.reset_stage()
        else:
            folder.ensure_stage()
        viz.use_style()
        _seed_everything(seed)
        checkpointer = Checkpointer(checkpoint, meta, saved, every_seconds=checkpoint_every,
                                    every_steps=checkpoint_steps)
        ctx = RunContext(lesson.id, out, quick=quick, seed=seed, echo=echo, stage=folder.stage, quiet=quiet,
                         checkpointer=checkpointer, engine=engine, device=device, data=data)
        checkpointer._log = ctx.log
        ctx.engine, ctx.device = engine, device   # --engine / --device: read by engines.select(ctx)
        resumed = f", resuming after {checkpointer.resumed_steps} training steps" if saved is not None else ""
        ctx.log(f"== {lesson.id}  {lesson.title_zh} / {lesson.title_en}  ({mode}, seed {seed}{resumed}) ==")
        start = time.perf_counter()
        try:
            lesson.run(ctx)
        except BaseException as err:
            try:   # for the command line's message: what is left, and how to continue
                err.mlseries_run = RunInfo(lesson.id, out, checkpoint if checkpoint.is_file() else None,
                                           _saved_steps(checkpoint))
            except AttributeError:   # an exception type that takes no attributes
                pass
            raise
        seconds = time.perf_counter() - start
        if keep_checkpoint and checkpoint.is_file():
            ctx._add_file(checkpoint)
        info = dict(id=lesson.id, title_zh=lesson.title_zh, title_en=lesson.title_en, seconds=round(seconds, 3))
        if getattr(ctx, "engine_used", False):   # the lesson trained through engines.select(ctx)
            info.update(engine=engine, device=device)
        elif engine != "mlseries":
            ctx.log(f"note: {lesson.id} trains on the mlseries engine only; --engine {engine} changed nothing")
        if data is not None:
            info["data"] = Path(data).as_posix()
        if saved is not None:
            info["resumed"] = True
        folder.commit(ctx.file_names(), ctx.metrics_record(**info))
    result = LessonResult(lesson, ctx.out, seconds, dict(ctx.metrics), dict(ctx.checks),
                          ctx.files + [ctx.out / METRICS])
    echo(summary(result))
    return result


def _run_secondary_rank(lesson, out, quick, seed, resume, engine, device):
    """A torchrun process other than rank 0: the same lesson, files into a scratch folder that is
    thrown away, no checkpoints of its own (under --resume it reads rank 0's)."""
    out = Path(out) if out is not None else Path("runs") / lesson.id
    saved = None
    checkpoint = out / STAGE / CHECKPOINT
    if resume and checkpoint.is_file():
        saved = read_checkpoint(checkpoint)
    meta = {"lesson": lesson.id, "quick": bool(quick), "seed": int(seed), "version": ms.__version__}
    viz.use_style()
    _seed_everything(seed)
    with tempfile.TemporaryDirectory(prefix=f"mlseries-rank{world()[0]}-") as scratch:
        ctx = RunContext(lesson.id, out, quick=quick, seed=seed, echo=lambda message: None, stage=scratch,
                         quiet=True, checkpointer=Checkpointer(None, meta, saved), engine=engine, device=device)
        start = time.perf_counter()
        lesson.run(ctx)
        seconds = time.perf_counter() - start
    return LessonResult(lesson, out, seconds, dict(ctx.metrics), dict(ctx.checks), [])


def _seed_everything(seed):
    """The engine's generator (init, order, dropout) and NumPy's legacy global one (for code
    that calls np.random.* directly); lessons draw the rest from ctx.rng(), made from the seed."""
    ms.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)


def _saved_steps(checkpoint):
    """Training steps held by the checkpoint file (0 if there is none or it cannot be read)."""
    if not checkpoint.is_file():
        return 0
    try:
        return sum(int(u.get("steps", 0)) for u in read_checkpoint(checkpoint)["units"].values())
    except Exception:  # only for a message: never mask the error being reported
        return 0


def lesson_out(lesson, out, nested):
    """Where a lesson writes: `out` itself, or <out>/<lesson id> when nested; runs/<id> by default."""
    if out is not None and not nested:
        return Path(out)
    return Path(out if out is not None else "runs") / lesson.id


def run_lessons(lessons, out=None, quick=False, seed=0, echo=print, nested=None, **options):
    """Run lessons in order. `nested` (default: when there is more than one) gives each lesson
    its own folder under `out`; the command line nests whenever the id was a chapter or track.
    `options` (resume, quiet, checkpoint_every, ...) are passed to run_lesson."""
    nested = len(lessons) > 1 if nested is None else nested
    return [run_lesson(les, lesson_out(les, out, nested), quick, seed, echo, **options) for les in lessons]


def _size(path):
    size = path.stat().st_size
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def summary(result):
    """The table a run ends with: metrics, targets, files."""
    parts = [f"{result.lesson.id} finished in {result.seconds:.2f} s",
             format_table(["metric", "value"],
                          [(k, format_value(v)) for k, v in result.metrics.items()], "<>")]
    if result.checks:
        parts.append(format_table(["target", "result"],
                                  [(k, "PASS" if ok else "FAIL") for k, ok in result.checks.items()]))
    parts.append(format_table(["file", "size"], [(p.as_posix(), _size(p)) for p in result.files],
                              "<>"))
    return "\n\n".join(parts) + "\n"
