"""Turning text into ids and back: a vocabulary, a character tokenizer, padding, and windows of a
corpus for language models.

Ids 0–3 are always `<pad> <unk> <bos> <eos>`, so padding is 0 in every lesson and a model's
embedding table can reserve its first rows without asking the vocabulary.
"""

from collections import Counter

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = 0, 1, 2, 3


class Vocab:
    """A fixed list of tokens (`itos`) and its inverse (`stoi`); unknown tokens map to `<unk>`."""

    def __init__(self, itos):
        itos = list(itos)
        if tuple(itos[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"Vocab: the first tokens must be {SPECIALS}, got {itos[:4]}")
        if len(set(itos)) != len(itos):
            dup = next(t for t, c in Counter(itos).items() if c > 1)
            raise ValueError(f"Vocab: token {dup!r} appears more than once")
        self.itos = itos
        self.stoi = {t: i for i, t in enumerate(itos)}

    @classmethod
    def build(cls, sequences, min_freq=1, max_size=None):
        """Count the tokens of `sequences` (iterables of tokens, e.g. strings for characters) and
        keep those seen at least `min_freq` times, most frequent first (ties in code-point
        order, so the same data always gives the same ids); `max_size` counts the specials."""
        counts = Counter()
        for seq in sequences:
            counts.update(seq)
        for s in SPECIALS:
            counts.pop(s, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max(0, max_size - len(SPECIALS))]
        return cls(list(SPECIALS) + kept)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token):
        return self.stoi.get(token, UNK)

    def encode(self, tokens, bos=False, eos=False):
        ids = [self.stoi.get(t, UNK) for t in tokens]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def decode(self, ids, skip_special=True):
        """Tokens for `ids`; with `skip_special`, stop at `<eos>` and leave out pad/bos."""
        out = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if skip_special:
                if i == EOS:
                    break
                if i in (PAD, BOS):
                    continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else SPECIALS[UNK])
        return out

    def __repr__(self):
        return f"Vocab({len(self)} tokens: {' '.join(self.itos[:12])}{' …' if len(self) > 12 else ''})"


def pad_sequences(sequences, max_len=None, pad_id=PAD, truncate="end"):
    """Lists of ids -> (int64 array (N, L), int64 lengths (N,)), padded on the right.

    L is `max_len`, or the longest sequence when None. Longer sequences lose their end
    (`truncate="end"`) or their start (`"start"`); lengths count what was kept.
    """
    if truncate not in ("end", "start"):
        raise ValueError(f"pad_sequences: truncate must be 'end' or 'start', got {truncate!r}")
    sequences = [list(s) for s in sequences]
    if max_len is None:
        max_len = max((len(s) for s in sequences), default=0)
    out = np.full((len(sequences), max_len), pad_id, dtype=np.int64)
    lengths = np.zeros(len(sequences), dtype=np.int64)
    for row, seq in enumerate(sequences):
        seq = seq[:max_len] if truncate == "end" else seq[max(0, len(seq) - max_len):]
        out[row, :len(seq)] = seq
        lengths[row] = len(seq)
    return out, lengths


class CharTokenizer:
    """One token per character (what Chinese text and character language models want)."""

    def __init__(self, vocab):
        self.vocab = vocab

    @classmethod
    def from_texts(cls, texts, min_freq=1, max_size=None):
        return cls(Vocab.build(texts, min_freq=min_freq, max_size=max_size))

    def __len__(self):
        return len(self.vocab)

    def encode(self, text, bos=False, eos=False, max_len=None):
        """Ids of `text`; with `max_len`, the characters are cut first so that bos/eos survive."""
        chars = list(text)
        if max_len is not None:
            chars = chars[:max(0, max_len - int(bos) - int(eos))]
        return self.vocab.encode(chars, bos=bos, eos=eos)

    def decode(self, ids):
        return "".join(self.vocab.decode(ids))

    def encode_batch(self, texts, max_len=None, bos=False, eos=False, truncate="end"):
        """Texts -> (int64 ids (N, L), int64 lengths (N,)); see `pad_sequences`."""
        seqs = [self.vocab.encode(list(t), bos=bos, eos=eos) for t in texts]
        if max_len is not None and eos:
            # keep the <eos> marker when cutting: a model should still see where text ends
            seqs = [s if len(s) <= max_len else
                    (s[:max_len - 1] + [EOS] if truncate == "end" else s[len(s) - max_len:])
                    for s in seqs]
        return pad_sequences(seqs, max_len=max_len, truncate=truncate)


class CharLMDataset(Dataset):
    """Windows of a long id sequence for next-token prediction: item i is
    (ids[i : i+block_size], ids[i+1 : i+block_size+1]) as int64 tensors."""

    def __init__(self, ids, block_size):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.block_size = int(block_size)
        if len(self.ids) <= self.block_size:
            raise ValueError(f"CharLMDataset: {len(self.ids)} ids is too short for "
                             f"block_size {self.block_size}")

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"CharLMDataset index {i} out of range for {len(self)} windows")
        i = i % len(self)
        chunk = self.ids[i:i + self.block_size + 1]
        return to_tensor(chunk[:-1]), to_tensor(chunk[1:])

    def batch(self, batch_size, generator):
        """`batch_size` random windows at once, (x, y) of shape (B, block_size): the usual way
        to feed a GPT, faster than going through a DataLoader item by item."""
        starts = generator.integers(0, len(self), size=batch_size)
        idx = starts[:, None] + np.arange(self.block_size + 1)  # (B, T+1)
        chunk = self.ids[idx]
        return to_tensor(chunk[:, :-1]), to_tensor(chunk[:, 1:])
