"""Reading a lesson's run folder: the one place the site knows metrics.json's field names.

`mlseries run` writes <out>/<lesson id>/metrics.json beside the figures. The runner may grow or
rename fields; everything the site needs goes through `read_run`, so such a change is one edit
here. A folder without a readable metrics.json is "not run" (None), never an error: the site
still shows the lesson's text and code.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".svg")


@dataclass
class Run:
    """What one run of one lesson left behind, as the site shows it."""
    id: str
    folder: Path
    quick: bool
    seed: int = 0
    seconds: float = None
    engine: str = "mlseries"                     # what trained it (--engine), when not the engine
    metrics: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)   # target -> passed?
    files: list = field(default_factory=list)    # names relative to folder, in the order written
    error: str = None                            # set when the latest attempt crashed (see build)

    @property
    def passed(self):
        """True when every target passed, False when one failed (or the run crashed), None when
        it has no targets."""
        if self.error:
            return False
        return all(self.checks.values()) if self.checks else None

    @property
    def images(self):
        """Figures and animations that exist, in the order the lesson wrote them."""
        return [name for name in self.files
                if name.lower().endswith(IMAGE_SUFFIXES) and (self.folder / name).is_file()]

    @property
    def downloads(self):
        """Other files the lesson wrote (sessions, sounds, tables), except metrics.json."""
        return [name for name in self.files
                if not name.lower().endswith(IMAGE_SUFFIXES) and name != "metrics.json"
                and (self.folder / name).is_file()]


def read_run(folder, lesson_id=None):
    """The Run recorded in folder/metrics.json, or None when there is none (or it is unreadable)."""
    folder = Path(folder)
    try:
        record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    files = record.get("files")
    if not isinstance(files, list):  # an older record: take what the folder holds
        files = sorted(p.name for p in folder.iterdir() if p.is_file())
    return Run(id=str(record.get("id") or lesson_id or folder.name), folder=folder,
               quick=bool(record.get("quick", False)), seed=record.get("seed", 0),
               seconds=record.get("seconds"), engine=str(record.get("engine") or "mlseries"),
               metrics=dict(record.get("metrics") or {}),
               checks={str(k): bool(v) for k, v in (record.get("checks") or {}).items()},
               files=[str(name) for name in files])
