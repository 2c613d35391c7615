"""Building the site: one folder of run results in, the same folder with HTML pages out.

    root/index.html                 the home page
    root/assets/                    site.css, code.css, site.js (no CDN: the site works offline)
    root/<lesson id>/index.html     a lesson's page, beside the figures its run wrote there
    root/<lesson id>/<module>.py    a copy of the lesson's code, which the page links to

A lesson without a run in root still gets its page (text and code, "not run yet"), so the table
of contents always reaches every registered lesson.
"""
import importlib
import inspect
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .._atomic import write_text
from . import code, pages
from .contents import from_course
from .recorded import load_recorded
from .runs import Run, read_run


@dataclass
class LessonSource:
    """What the site takes from a lesson's module: its docstring, figure captions and code."""
    doc: str
    text: str
    repo_path: str                 # e.g. src/mlseries/course/ch01/line.py
    copy_name: str                 # the file name of the copy beside the page
    captions: dict = field(default_factory=dict)   # figure file -> (zh, en) or en


def lesson_source(les):
    """The LessonSource of a registered lesson, or None when its module cannot be read."""
    try:
        module = importlib.import_module(les.module)
        path = Path(inspect.getsourcefile(module))
        text = path.read_text(encoding="utf-8")
    except (ImportError, TypeError, OSError):
        return None
    parts = les.module.split(".")
    repo_path = "src/" + "/".join(parts) + ".py"
    return LessonSource(module.__doc__ or "", text, repo_path, path.name,
                        dict(getattr(module, "CAPTIONS", {}) or {}))


def write_assets(root):
    folder = Path(root) / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    assets = resources.files("mlseries.site").joinpath("assets")
    for name in ("site.css", "site.js"):
        (folder / name).write_text(assets.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "code.css").write_text(code.stylesheet() + "\n", encoding="utf-8")
    return folder


def _write(path, text):
    # a unique temporary name (two builds at once never share one), then one rename
    return write_text(path, text)


def build_site(root="runs", contents=None, recorded=None, built_by="mlseries site", crashed=None):
    """Write the site into `root` from the runs found there; returns the home page's Path.

    `contents` (site.contents.Contents) and `recorded` ({id: Recorded}) default to the installed
    course and its recorded numbers; tests pass their own. `crashed` ({lesson id: message})
    names lessons whose latest attempt raised: their page says so (and shows the previous
    complete run, which the runner leaves in place, if there is one) and their badge is FAIL."""
    root = Path(root)
    contents = contents or from_course()
    recorded = load_recorded() if recorded is None else recorded
    runs = {}
    for les in contents.lessons:
        run = read_run(root / les.id, les.id)
        if les.id in (crashed or {}):
            run = run or Run(id=les.id, folder=root / les.id, quick=False)
            run.error = crashed[les.id]
        if run is not None:
            runs[les.id] = run
    write_assets(root)
    lessons = contents.lessons
    for i, les in enumerate(lessons):
        source = lesson_source(les)
        folder = root / les.id
        folder.mkdir(parents=True, exist_ok=True)
        if source is not None:
            shutil.copyfile(inspect.getsourcefile(importlib.import_module(les.module)),
                            folder / source.copy_name)
        html = pages.lesson_page(les, contents, runs, recorded.get(les.id), source,
                                 lessons[i - 1] if i > 0 else None,
                                 lessons[i + 1] if i + 1 < len(lessons) else None)
        _write(folder / "index.html", html)
    return _write(root / "index.html", pages.home_page(contents, runs, built_by))
