"""The `mlseries` command: list, run and tour the lessons, run the benchmarks.

    mlseries list
    mlseries run ch01.line --quick
    mlseries run day2 --out runs --seed 1
    mlseries run ch07.resnet --resume      # continue an interrupted run
    mlseries tour [--full]
    mlseries site
    mlseries data
    mlseries bench ...

A mistake a user can make (a bad option, an unusable --out, a missing or corrupt data file, a
folder another run is using, a loss that turns NaN, Ctrl-C) ends in one line saying what to do
and an exit status of its own (EXIT below, docs/running.md); a traceback means a bug in mlseries.
"""
import errno
import importlib
import io
import os
import re
import signal
import sys
import traceback
from pathlib import Path

import click

from . import __version__

# Exit statuses, one per kind of outcome, so scripts can tell them apart (docs/running.md).
EXIT = {
    "ok": 0,
    "target missed": 1,      # the lesson ran, a curriculum target was not reached
    "usage": 2,              # unknown id, bad option value, unusable --out, --resume that does not fit
    "data missing": 3,       # a data set is not installed: the message says how to install it
    "corrupt file": 4,       # a data file or checkpoint is corrupt: the message names it
    "folder busy": 5,        # another run is writing into the same output folder
    "diverged": 6,           # the training loss became NaN or infinite
    "resources": 7,          # out of memory or disk space, or the folder stopped being writable
    "bug": 70,               # an error inside mlseries: the traceback is printed, please report it
    "interrupted": 130,      # Ctrl-C (128 + SIGINT)
    "broken pipe": 141,      # the output's reader went away (`mlseries list | head`), 128 + SIGPIPE
    "terminated": 143,       # SIGTERM (128 + SIGTERM)
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that locks, temporary files and progress bars are cleaned up."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _silence_stdout():
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _loaded(module, name):
    """The class `module.name` if that module is already imported, else () (matches nothing):
    error handling must not import the course, with its Matplotlib, just to compare classes."""
    found = sys.modules.get(module)
    return getattr(found, name, ()) if found is not None else ()


def _stopped(err, hint):
    """The line for a run stopped by Ctrl-C or SIGTERM: what is left and how to continue."""
    info = getattr(err, "mlseries_run", None)
    what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
    if info is None:
        return f"{what}; nothing was written"
    line = (f"{what} in {info.lesson_id}; {info.out} still holds its previous complete run, if it had one "
            f"(the interrupted run's files are in {info.out}/.partial/)")
    if info.checkpoint is not None:
        line += (f"; `{hint or 'mlseries run ' + info.lesson_id} --resume` continues from the last checkpoint "
                 f"({info.saved_steps} training steps)")
    else:
        line += "; no checkpoint was saved yet, so run it again from the start"
    return line


def _classify(err, hint=None):
    """(exit status, one-line message) for an error a user can cause, or None for a bug."""
    where = getattr(getattr(err, "mlseries_run", None), "lesson_id", None)
    prefix = f"{where}: " if where else ""
    if isinstance(err, KeyboardInterrupt):
        return EXIT["terminated" if isinstance(err, Terminated) else "interrupted"], _stopped(err, hint)
    if isinstance(err, _loaded("mlseries.course.runfolder", "FolderBusyError")):
        return EXIT["folder busy"], str(err)
    if isinstance(err, _loaded("mlseries.course.runfolder", "OutputError")):
        return EXIT["usage"], str(err)
    if isinstance(err, _loaded("mlseries.course.resume", "ResumeError")):
        return EXIT["usage"], f"{prefix}cannot resume: {err}"
    if isinstance(err, _loaded("mlseries.course.training", "TrainingDiverged")):
        return EXIT["diverged"], f"{prefix}{err}"
    if isinstance(err, _loaded("mlseries.datasets.errors", "DatasetNotFoundError")):
        return EXIT["data missing"], f"{prefix}data missing: {err} (`mlseries data` lists what is installed; " \
                                     "`bash scripts/setup.sh` installs everything)"
    if isinstance(err, _loaded("mlseries.datasets.errors", "DatasetError")):
        return EXIT["corrupt file"], f"{prefix}bad data file: {err} (delete it and install it again: " \
                                     "`mlseries data` shows how)"
    if isinstance(err, _loaded("mlseries.labs.data", "LabDataError")):
        return EXIT["corrupt file"], f"{prefix}{err}"
    if isinstance(err, _loaded("mlseries.serialization", "CheckpointError")):
        return EXIT["corrupt file"], f"{prefix}bad checkpoint: {err} (run without --resume to start over)"
    if isinstance(err, MemoryError):
        return EXIT["resources"], f"{prefix}out of memory (try --quick, or close other programs)"
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM,
                                                  errno.EROFS, errno.EMFILE, errno.ENFILE):
        name = f": {err.filename}" if err.filename else ""
        return EXIT["resources"], (f"{prefix}{err.strerror or err}{name} (free some space or fix the "
                                   "permissions, then run again)")
    return None


class _Main(click.Group):
    """The command group: errors a user can cause become one line and their exit status."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BaseException as err:  # noqa: BLE001  sorted below; anything unknown is re-raised
            if isinstance(err, (SystemExit, GeneratorExit)):
                raise
            if isinstance(err, OSError) and err.errno == errno.EPIPE:
                # `mlseries list | head`: the reader left. Say nothing more (there is no one to
                # read it) and exit as a process stopped by SIGPIPE would.
                _silence_stdout()
                raise click.exceptions.Exit(EXIT["broken pipe"]) from None
            found = _classify(err, ctx.meta.get("mlseries.resume_hint"))
            if found is None:
                traceback.print_exc()
                click.secho("mlseries: this is a bug in mlseries, not something you did; please report it with "
                            "the traceback above", fg="red", err=True)
                raise click.exceptions.Exit(EXIT["bug"]) from None
            status, message = found
            click.secho(f"Error: {message}", fg="red", err=True)
            raise click.exceptions.Exit(status) from None


class _Every(click.ParamType):
    """--checkpoint-every: seconds (60, 60s, 5m) or training steps (200steps)."""

    name = "N[s|m|steps]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds?|m|min|minutes?|steps?)?\s*", str(value))
        if not m or float(m.group(1)) <= 0:
            self.fail(f"{value!r} is not a positive time (60, 60s, 5m) or step count (200steps)", param, ctx)
        number, unit = float(m.group(1)), (m.group(2) or "s")
        if unit.startswith("step"):
            if number != int(number):
                self.fail(f"{value!r}: a number of steps must be whole", param, ctx)
            return ("steps", int(number))
        return ("seconds", number * (60 if unit.startswith("m") else 1))


SEED = click.IntRange(0, 2 ** 63 - 1)


def _out_option():
    """--out as a Path, refusing an empty value (which would silently mean the current folder)."""
    def callback(ctx, param, value):
        if value is None:
            return None
        if not str(value).strip():
            raise click.BadParameter("is empty: name a folder (use --out . for the current folder)")
        return Path(value)
    return callback


def _course():
    # Imported on use, so `mlseries --help` stays fast and never pays for Matplotlib.
    course = importlib.import_module("mlseries.course")
    from . import viz
    viz.use_style(headless=True)  # the command line never opens a window, even for pyplot users
    return course


def _resolve(course, id):
    try:
        return course.resolve(id)
    except course.UnknownLessonError as err:
        raise click.BadParameter(str(err), param_hint="ID") from None  # exit code 2, no traceback


def _report_failures(results):
    failed = [f"{r.lesson.id}: {target}" for r in results for target, ok in r.checks.items()
              if not ok]
    if failed:
        click.secho("targets missed:\n  " + "\n  ".join(failed), fg="red", err=True)
        raise SystemExit(1)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlseries")
def main():
    """mlseries: the Machine Learning Series as runnable lessons on a from-scratch engine."""


@main.command("list")
def list_lessons():
    """List the lessons: id, Chinese and English title, tracks."""
    course = _course()
    from .course.table import format_table

    rows = [(les.id, les.title_zh, les.title_en, ", ".join(les.tracks) or "-")
            for les in course.lessons()]
    click.echo(format_table(["id", "中文", "English", "tracks"], rows))
    ids = course.known_ids()
    groups = [i for i in ids if i not in {les.id for les in course.lessons()}]
    if groups:
        click.echo(f"\nchapters, labs and tracks: {', '.join(groups)}")
    readers = [les for les in course.lessons() if les.data]
    if readers:
        click.echo("\n--data PATH (the original course's files instead of the offline substitute):")
        for les in readers:
            click.echo(f"  {les.id}: {les.data}")


def _out_folders(course, lessons, out, nested):
    """Check the output folders before anything runs (an unusable --out found after minutes of
    training is the worst time to find it): the root is created and tried, each lesson's folder
    checked for files in the way."""
    from .course.runfolder import check_output_folder
    option = "--out" if out is not None else "the output folder"   # runs/<id> when --out is not given
    check_output_folder(out if out is not None else Path("runs"), option)
    for les in lessons:
        check_output_folder(course.runner.lesson_out(les, out, nested), option, create=False)


def _check_data_option(id, lessons, course):
    """--data belongs to one lesson that reads the original course's files (a lab)."""
    readers = [les.id for les in course.lessons() if les.data]
    known = f"Lessons that read --data: {', '.join(readers)}." if readers else "No lesson reads --data yet."
    if len(lessons) != 1 or id == "labs":
        raise click.BadParameter(f"--data goes with one lab, but {id!r} runs {len(lessons)} lessons. {known}",
                                 param_hint="--data")
    if not lessons[0].data:
        raise click.BadParameter(f"{lessons[0].id} trains on the project's own data and reads no --data. {known}",
                                 param_hint="--data")


def _resume_hint(id, quick, out, seed, data=None):
    parts = ["mlseries run", id] + (["--quick"] if quick else []) + ([f"--out {out}"] if out is not None else [])
    return " ".join(parts + ([f"--seed {seed}"] if seed else []) + ([f"--data {data}"] if data is not None else []))


@main.command()
@click.argument("id")
@click.option("--quick", is_flag=True, help="Small settings that finish in seconds (as in the tests).")
@click.option("--out", type=click.Path(path_type=str), default=None, callback=_out_option(),
              help="Output folder. One lesson writes into it directly; a chapter or track "
                   "writes OUT/<lesson id>/. Default: runs/<lesson id>/.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for data, init and order (0 or more).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run from its last checkpoint (same id, --quick, --seed, --out); "
                   "lessons already finished are not run again.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or per-stage lines: only the summary.")
@click.option("--checkpoint-every", type=_Every(), default="60s", show_default=True,
              help="How often training saves its state for --resume: seconds (60, 5m) or steps (200steps).")
@click.option("--keep-checkpoint", is_flag=True,
              help="Keep the final training state (weights, optimiser, generators) as OUT/checkpoint.npz.")
@click.option("--engine", type=click.Choice(["mlseries", "torch"]), default="mlseries", show_default=True,
              help="Library to train on, in lessons that support it (ch12): the engine, or PyTorch "
                   "(also data-parallel under torchrun; see docs/scaling.md).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="Where PyTorch trains (cuda needs --engine torch and a GPU).")
@click.option("--data", type=click.Path(exists=True, path_type=str), default=None,
              help="A lab's original course files instead of its offline substitute "
                   "(e.g. hw01: the folder with covid.train.csv and covid.test.csv); "
                   "`mlseries list` says which labs read it and what they need.")
def run(id, quick, out, seed, resume, quiet, checkpoint_every, keep_checkpoint, engine, device, data):
    """Run a lesson (ch01.line), a chapter (ch01) or a track (day2).

    Exit status: 0 every target met, 1 a target missed, 2 usage error, 3 data missing,
    4 corrupt data or checkpoint file, 5 output folder in use, 6 training diverged,
    7 out of memory or disk, 130 interrupted (then --resume continues)."""
    course = _course()
    lessons = _resolve(course, id)
    from .course import engines
    try:
        engines.check(engine, device)
    except engines.EngineError as err:
        raise click.BadParameter(str(err), param_hint="--engine/--device") from None
    if data is not None:
        _check_data_option(id, lessons, course)
    nested = id != lessons[0].id  # a chapter or track id
    _out_folders(course, lessons, out, nested)
    click.get_current_context().meta["mlseries.resume_hint"] = _resume_hint(id, quick, out, seed, data)
    signal.signal(signal.SIGTERM, _on_sigterm)
    kind, every = checkpoint_every
    echo = click.echo
    if not engines.is_main_process():  # under torchrun, rank 0 alone prints (and run_lesson: writes)
        echo = lambda *args, **kwargs: None  # noqa: E731
    results = course.run_lessons(lessons, out=out, quick=quick, seed=seed, echo=echo, nested=nested,
                                 engine=engine, device=device, resume=resume, quiet=quiet,
                                 checkpoint_every=every if kind == "seconds" else None,
                                 checkpoint_steps=every if kind == "steps" else None,
                                 keep_checkpoint=keep_checkpoint, data=data)
    _report_failures(results)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default="runs", callback=_out_option(),
              show_default=True, help="Folder for every lesson's output and the site's pages.")
@click.option("--full", is_flag=True, help="Full runs (the recorded numbers; long) instead of quick ones.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or per-stage lines: only the summaries.")
def tour(out, full, seed, quiet):
    """Run every lesson (quick unless --full) and build the course site: OUT/index.html.

    Each lesson writes OUT/<lesson id>/ and gets a page there with its text, figures, targets,
    numbers and code. A lesson that crashes is reported and the tour goes on."""
    course = _course()
    from .course.runfolder import RunFolder, check_output_folder
    from .site import build_site

    check_output_folder(out)
    signal.signal(signal.SIGTERM, _on_sigterm)
    tour_lock = RunFolder(out).acquire(f"mlseries tour{' --full' if full else ''} --seed {seed}")
    click.get_current_context().call_on_close(tour_lock.release)
    results, crashed = [], {}   # a crashed lesson keeps its previous complete run; its page says so
    for les in course.lessons():
        try:
            results.append(course.run_lesson(les, out / les.id, quick=not full, seed=seed, echo=click.echo,
                                             quiet=quiet))
        except Exception as err:  # noqa: BLE001  one broken lesson must not hide the others
            crashed[les.id] = f"{type(err).__name__}: {err}"
            click.secho(f"{les.id} crashed: {crashed[les.id]}", fg="red", err=True)
    index = build_site(out, built_by=f"mlseries tour{' --full' if full else ''}", crashed=crashed)
    click.echo(f"wrote {index}")
    if crashed:
        click.secho("lessons that crashed: " + ", ".join(crashed), fg="red", err=True)
    _report_failures(results)
    if crashed:
        raise SystemExit(1)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default="runs", callback=_out_option(),
              show_default=True, help="Folder holding the runs (OUT/<lesson id>/metrics.json).")
def site(out):
    """Rebuild the course site's pages from runs that already exist in OUT."""
    _course()
    from .site import build_site

    click.echo(f"wrote {build_site(out, built_by='mlseries site')}")


@main.command("data")
@click.option("--wide", is_flag=True, help="Also show each data set's API.")
def data(wide):
    """List the data sets: installed here?, size, source, licence."""
    from .datasets.catalog import format_table, table  # the catalogue only: fast, no Matplotlib

    rows = table()
    head, pick = ["data set", "here", "size", "source", "licence"], [0, 4, 5, 2, 3]
    if wide:
        head, pick = head + ["API"], pick + [1]
    click.echo(format_table(head, [[r[i] for i in pick] for r in rows]))
    missing = [(r[0], r[6]) for r in rows if r[6] and "optional" not in r[4]]
    if missing:
        click.echo("\nnot installed here:")
        for name, command in missing:
            click.echo(f"  {name}: {command}")
        click.echo("(`bash scripts/setup.sh` installs all of them)")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args):
    """Benchmark the engine against PyTorch.

    All arguments are passed on to mlseries.bench (try `mlseries bench -h`)."""
    try:
        bench_module = importlib.import_module("mlseries.bench")
    except ModuleNotFoundError as err:
        if err.name != "mlseries.bench":  # a missing dependency inside bench is a real error
            raise
        raise click.ClickException("benchmarks are not available: this install has no "
                                   "mlseries.bench module") from None
    status = bench_module.main(list(args))
    raise SystemExit(status or 0)
