"""The curriculum as runnable lessons.

    from mlseries import course
    course.resolve("day2")            # -> [Lesson ch01.line]
    course.run_lessons(course.resolve("ch01.line"), quick=True)

Each lesson is a module (ch01_line.py, ...) that registers its `run(ctx)` with `@lesson`.
Importing this package imports them all; keep the imports below in curriculum order, since
that is the order `mlseries list` shows and chapters run.
"""
from .catalog import CHAPTERS, TRACKS, Chapter, Track
from .context import RunContext
from .registry import Lesson, UnknownLessonError, get, known_ids, lesson, lessons, resolve, title
from .runner import LessonResult, run_lesson, run_lessons

from . import ch01_functions  # noqa: E402,F401
from . import ch01_numpy  # noqa: E402,F401
from . import ch01_line  # noqa: E402,F401  (lesson modules register themselves on import)
from . import ch02_principle  # noqa: E402,F401
from . import ch02_data  # noqa: E402,F401
from . import ch03_binary  # noqa: E402,F401
from . import ch03_mnist  # noqa: E402,F401
from . import ch03_optimizers  # noqa: E402,F401
from . import ch04_derivatives  # noqa: E402,F401
from . import ch04_dnn  # noqa: E402,F401
from . import ch05_autodiff  # noqa: E402,F401
from . import ch05_micrograd  # noqa: E402,F401
from . import ch05_tinygrad  # noqa: E402,F401
from . import ch06_train  # noqa: E402,F401
from . import ch06_diagnose  # noqa: E402,F401
from . import ch07_conv  # noqa: E402,F401
from . import ch07_cnn  # noqa: E402,F401
from . import ch07_alexnet  # noqa: E402,F401
from . import ch07_unet  # noqa: E402,F401
from . import ch07_resnet  # noqa: E402,F401

__all__ = ["CHAPTERS", "TRACKS", "Chapter", "Lesson", "LessonResult", "RunContext", "Track",
           "UnknownLessonError", "get", "known_ids", "lesson", "lessons", "resolve",
           "run_lesson", "run_lessons", "title"]
