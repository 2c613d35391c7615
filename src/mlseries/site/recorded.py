"""The recorded full-run numbers, shown beside a quick run's.

They live in `mlseries/course/recorded.json`, one entry per lesson:

    "ch07.cnn": {"command": "OMP_NUM_THREADS=1 mlseries run ch07.cnn",
                 "metrics": {"fashion_test_acc": "0.9217", "mnist_test_acc": "0.968"}}

Keys are the names the lesson records in metrics.json, so a quick run's value and the full
run's stand in one row. Values are strings written exactly as docs/course.md prints them: a test
checks that every one of them appears there, so the docs and the site cannot drift apart
without a failing test (the docs keep their prose and tables; this file keeps only numbers).
A value ending in " %" is a percentage in the docs; the site shows the quick run's fraction
the same way.
The order of a lesson's metrics is the order the site shows them as headline numbers.
"""
import json
from dataclasses import dataclass, field
from importlib import resources


@dataclass(frozen=True)
class Recorded:
    command: str
    metrics: dict = field(default_factory=dict)   # metric name -> the value as the docs print it
    note: str = ""


def load_recorded(text=None):
    """{lesson id: Recorded}; `text` (JSON) replaces the packaged file, for tests."""
    if text is None:
        try:
            text = resources.files("mlseries.course").joinpath("recorded.json").read_text(encoding="utf-8")
        except (FileNotFoundError, ModuleNotFoundError):
            return {}
    table = json.loads(text)
    return {lesson_id: Recorded(entry.get("command", f"mlseries run {lesson_id}"),
                                dict(entry.get("metrics", {})), entry.get("note", ""))
            for lesson_id, entry in table.items() if not lesson_id.startswith("_")}


def as_number(text):
    """The recorded string as a float when it is one ("0.9217", "8.3e-7", "34.51 %", and
    "13 243": the docs group thousands with spaces), else None."""
    try:
        return float(str(text).replace("−", "-").rstrip("% ").replace(" ", ""))
    except ValueError:
        return None
