"""Running lessons: seed everything, call the lesson, time it, write metrics.json, print a summary."""
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlseries as ms

from .. import viz
from .context import RunContext
from .table import format_table, format_value


@dataclass
class LessonResult:
    lesson: object          # the registry's Lesson
    out: Path
    seconds: float
    metrics: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    files: list = field(default_factory=list)


def run_lesson(lesson, out=None, quick=False, seed=0, echo=print):
    """Run one lesson into `out` (default runs/<id>) and return what it measured and wrote."""
    viz.use_style()
    ms.manual_seed(seed)  # engine randomness (init, order, dropout); NumPy is seeded via ctx.seed
    ctx = RunContext(lesson.id, out, quick=quick, seed=seed, echo=echo)
    mode = "quick" if quick else "full"
    echo(f"== {lesson.id}  {lesson.title_zh} / {lesson.title_en}  ({mode}, seed {seed}) ==")
    start = time.perf_counter()
    lesson.run(ctx)
    seconds = time.perf_counter() - start
    metrics_file = ctx.write_metrics(id=lesson.id, title_zh=lesson.title_zh,
                                     title_en=lesson.title_en, seconds=round(seconds, 3))
    result = LessonResult(lesson, ctx.out, seconds, dict(ctx.metrics), dict(ctx.checks),
                          ctx.files + [metrics_file])
    echo(summary(result))
    return result


def lesson_out(lesson, out, nested):
    """Where a lesson writes: `out` itself, or <out>/<lesson id> when nested; runs/<id> by default."""
    if out is not None and not nested:
        return Path(out)
    return Path(out if out is not None else "runs") / lesson.id


def run_lessons(lessons, out=None, quick=False, seed=0, echo=print, nested=None):
    """Run lessons in order. `nested` (default: when there is more than one) gives each lesson
    its own folder under `out`; the command line nests whenever the id was a chapter or track."""
    nested = len(lessons) > 1 if nested is None else nested
    return [run_lesson(les, lesson_out(les, out, nested), quick, seed, echo) for les in lessons]


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
