"""The `mlseries` command: list, run and tour the lessons, run the benchmarks.

    mlseries list
    mlseries run ch01.line --quick
    mlseries run day2 --out runs --seed 1
    mlseries tour
    mlseries data
    mlseries bench ...
"""
import importlib
from pathlib import Path

import click

from . import __version__


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
        click.echo(f"\nchapters and tracks: {', '.join(groups)}")


@main.command()
@click.argument("id")
@click.option("--quick", is_flag=True, help="Small settings that finish in seconds (as in the tests).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder. One lesson writes into it directly; a chapter or track "
                   "writes OUT/<lesson id>/. Default: runs/<lesson id>/.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for data, init and order.")
def run(id, quick, out, seed):
    """Run a lesson (ch01.line), a chapter (ch01) or a track (day2)."""
    course = _course()
    lessons = _resolve(course, id)
    results = course.run_lessons(lessons, out=out, quick=quick, seed=seed, echo=click.echo,
                                 nested=id != lessons[0].id)  # a chapter or track id
    _report_failures(results)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="Folder for every lesson's output and index.html.")
@click.option("--seed", type=int, default=0, show_default=True)
def tour(out, seed):
    """Run the 7-day track quickly; write OUT/index.html.

    Every lesson of the day tracks runs in quick mode into OUT/<lesson id>/, and one page
    shows all their figures, animations and metrics."""
    course = _course()
    from .course.report import write_index

    sections, done = [], set()
    for track in course.TRACKS.values():
        todo = [les for les in course.lessons() if les.id in track.lessons and les.id not in done]
        todo.sort(key=lambda les: track.lessons.index(les.id))
        if not todo:
            continue
        results = [course.run_lesson(les, out / les.id, quick=True, seed=seed, echo=click.echo)
                   for les in todo]
        done.update(les.id for les in todo)
        sections.append((track.title_zh, track.title_en, results))
    index = write_index(sections, out / "index.html")
    click.echo(f"wrote {index}")
    _report_failures([r for _, _, results in sections for r in results])


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
