"""The curriculum as runnable lessons.

    from mlseries import course
    course.resolve("day2")            # -> [Lesson ch01.line]
    course.run_lessons(course.resolve("ch01.line"), quick=True)

The folder tree reads like the table of contents: one package per chapter (`ch01/` ...), one
module per lesson in it (`ch01/line.py` is lesson ch01.line) that registers its `run(ctx)` with
`@lesson`; shared pieces sit beside them once (`training.py`: the image lessons' training loop;
`table.py`: printed tables; figures are `mlseries.viz`). Importing this package imports every
chapter; keep the imports below in curriculum order, since that is the order `mlseries list`
shows and chapters run.
"""
from .catalog import CHAPTERS, TRACKS, Chapter, Track
from .context import RunContext
from .registry import Lesson, UnknownLessonError, get, known_ids, lesson, lessons, resolve, title
from .runner import LessonResult, run_lesson, run_lessons

from . import ch01  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch02  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch03  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch04  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch05  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch06  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch07  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch08  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch09  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch10  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch11  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from . import ch12  # noqa: E402,F401  (a chapter imports its lessons, which register themselves)
from .. import labs  # noqa: E402,F401  (Hung-yi Lee's labs, registered as hw01.<name> ...)

__all__ = ["CHAPTERS", "TRACKS", "Chapter", "Lesson", "LessonResult", "RunContext", "Track",
           "UnknownLessonError", "get", "known_ids", "lesson", "lessons", "resolve",
           "run_lesson", "run_lessons", "title"]
