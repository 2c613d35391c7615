"""The lesson registry: `@lesson(...)` records a lesson's run function under its id, and
`resolve(id)` turns a lesson, chapter or track id into the lessons to run."""
from dataclasses import dataclass
from typing import Callable

from .catalog import CHAPTERS, LABS, TRACKS


@dataclass(frozen=True)
class Lesson:
    id: str          # "ch01.line": chapter, dot, short name
    title_zh: str
    title_en: str
    run: Callable    # run(ctx: RunContext) -> None
    module: str
    data: str = None  # what `--data PATH` reads (a lab's original files), or None: the lesson takes no --data

    @property
    def chapter(self):
        return self.id.split(".")[0]

    @property
    def tracks(self):
        """The 7-day track days that teach this lesson, e.g. ("day2",)."""
        return tuple(t.id for t in TRACKS.values() if self.id in t.lessons)


class UnknownLessonError(LookupError):
    """An id that names no lesson, chapter or track; the message lists the ids that do."""

    def __init__(self, id, known, reason="unknown lesson id"):
        self.id = id
        self.known = known
        super().__init__(f"{reason} {id!r}. Known ids: {', '.join(known)}")


_LESSONS = {}  # id -> Lesson, in registration order (the order lesson modules are imported)


def lesson(id, zh, en, data=None):
    """Register the decorated `run(ctx)` function as lesson `id` with its Chinese and English titles.

    data: for a lesson that can read the original course's files with `--data PATH` (the labs),
    one line saying what PATH must be; the lesson finds it as `ctx.data` (a Path, or None)."""
    if "." not in id:
        raise ValueError(f"lesson id {id!r} should look like 'ch01.line' (chapter.name)")

    def register(run):
        if id in _LESSONS:
            raise ValueError(f"lesson {id!r} is registered twice "
                             f"({_LESSONS[id].module} and {run.__module__})")
        _LESSONS[id] = Lesson(id, zh, en, run, run.__module__, data)
        return run

    return register


def lessons():
    """Every registered lesson, in curriculum order."""
    return list(_LESSONS.values())


def get(id):
    try:
        return _LESSONS[id]
    except KeyError:
        raise UnknownLessonError(id, known_ids()) from None


def _chapter_lessons(chapter):
    return [les for les in _LESSONS.values() if les.chapter == chapter]


def _track_lessons(track):
    return [_LESSONS[i] for i in TRACKS[track].lessons if i in _LESSONS]


def _lab_lessons():
    return [les for les in _LESSONS.values() if les.chapter in LABS]


def known_ids():
    """Ids that `resolve` accepts: lessons, then chapters (and labs) and tracks that have at least
    one lesson, then "labs" (every lab) once one exists."""
    chapters = sorted({les.chapter for les in _LESSONS.values()})
    tracks = [t for t in TRACKS if _track_lessons(t)]
    return list(_LESSONS) + chapters + tracks + (["labs"] if _lab_lessons() else [])


def resolve(id):
    """The lessons an id stands for: one lesson, a chapter's (or lab's) lessons, a track's
    lessons, or "labs": every lab's lessons in order."""
    if id in _LESSONS:
        return [_LESSONS[id]]
    found = _chapter_lessons(id) or (_track_lessons(id) if id in TRACKS else [])
    if id == "labs":
        found = _lab_lessons()
    if found:
        return found
    if id in CHAPTERS or id in TRACKS or id in LABS or id == "labs":
        raise UnknownLessonError(id, known_ids(), reason="no lessons written yet for")
    raise UnknownLessonError(id, known_ids())


def title(id):
    """(Chinese, English) title of a lesson, chapter or track id."""
    for table in (_LESSONS, CHAPTERS, TRACKS, LABS):
        if id in table:
            return table[id].title_zh, table[id].title_en
    if id == "labs":
        return "李宏毅机器学习 2022 作业", "Hung-yi Lee's ML 2022 labs"
    raise UnknownLessonError(id, known_ids())
