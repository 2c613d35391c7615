"""Turning a trained translator into sentences, and scoring them: greedy decoding, beam
search, exact match and BLEU (sacrebleu, the same call as ch08.seq2seq).

Decoding runs without gradients and re-reads the whole target prefix at every step (no key/value
cache): targets here are at most a few dozen tokens, and it keeps the code short.
"""
import numpy as np
import sacrebleu

import mlseries as ms
import mlseries.nn.functional as F
from mlseries.datasets.text import BOS, EOS, PAD


def _batches(n, size):
    for start in range(0, n, size):
        yield slice(start, start + size)


def greedy_decode(model, src, max_len, batch_size=256):
    """At every step take the single most likely next token. src (N, S) int64 -> (N, ≤ max_len)
    ids after <bos>, each row ending at its first <eos> (padded with <pad>)."""
    model.eval()
    rows = []
    with ms.no_grad():
        for part in _batches(len(src), batch_size):
            s = ms.tensor(src[part])
            memory, padding = model.encode(s)                             # (B, S, d)
            ys = np.full((len(s), 1), BOS, dtype=np.int64)               # (B, 1)
            done = np.zeros(len(s), dtype=bool)
            for _ in range(max_len):
                logits = model.decode(ms.tensor(ys), memory, padding)   # (B, t, V)
                nxt = logits[:, -1].numpy().argmax(axis=-1)              # (B,)
                nxt[done] = PAD
                ys = np.concatenate([ys, nxt[:, None]], axis=1)          # (B, t + 1)
                done |= nxt == EOS
                if done.all():
                    break
            rows.append(ys[:, 1:])
    return _stack(rows)


def beam_search(model, src, max_len, beam=4, alpha=0.6, batch_size=64):
    """Keep the `beam` most likely prefixes at every step instead of one; finished hypotheses
    (ending in <eos>) are ranked by log-probability / length penalty ((5 + len) / 6)^alpha, so
    that longer translations are not punished just for having more factors below 1.
    src (N, S) -> (N, ≤ max_len) ids of the best hypothesis for each row."""
    model.eval()
    rows = []
    with ms.no_grad():
        for part in _batches(len(src), batch_size):
            rows.append(_beam_batch(model, src[part], max_len, beam, alpha))
    return _stack(rows)


def _beam_batch(model, src, max_len, k, alpha):
    n = len(src)
    memory, padding = model.encode(ms.tensor(src))                        # (n, S, d)
    # every sentence's encoding repeated for its k beams: rows n·k, beam-major within a sentence
    index = ms.tensor(np.repeat(np.arange(n), k))
    memory, padding = memory[index], padding[index]                       # (n·k, S, d), (n·k, S)
    ys = np.full((n, k, 1), BOS, dtype=np.int64)                          # (n, k, t)
    scores = np.full((n, k), -np.inf)
    scores[:, 0] = 0.0                                                    # start from one live beam
    finished = np.zeros((n, k), dtype=bool)
    for _ in range(max_len):
        logits = model.decode(ms.tensor(ys.reshape(n * k, -1)), memory, padding)   # (n·k, t, V)
        logp = F.log_softmax(logits[:, -1], dim=-1).numpy().astype(np.float64)    # (n·k, V)
        V = logp.shape[-1]
        logp = logp.reshape(n, k, V)
        # a finished beam continues only with <pad>, at no cost, so it keeps its score
        logp[finished] = -np.inf
        logp[finished, PAD] = 0.0
        total = (scores[:, :, None] + logp).reshape(n, k * V)               # (n, k·V)
        best = np.argsort(-total, axis=1, kind="stable")[:, :k]             # (n, k)
        origin, token = best // V, best % V
        scores = np.take_along_axis(total, best, axis=1)
        ys = np.concatenate([np.take_along_axis(ys, origin[:, :, None], axis=1), token[:, :, None]], axis=2)
        finished = np.take_along_axis(finished, origin, axis=1) | (token == EOS)
        if finished.all():
            break
    lengths = (ys[:, :, 1:] != PAD).sum(axis=2)                             # tokens incl. <eos>
    ranked = scores / ((5 + lengths) / 6) ** alpha                          # (n, k)
    ranked[~finished] -= 1e9                                                # unfinished only if nothing else
    choice = ranked.argmax(axis=1)
    return ys[np.arange(n), choice, 1:]


def _stack(rows):
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=PAD) for r in rows])


def to_text(vocab, ids, sep=""):
    """Ids after <bos> -> a string, stopping at the first <eos>."""
    return sep.join(vocab.decode(ids))


def exact_match(hypotheses, references):
    """Fraction of sentences translated exactly (every character right)."""
    return float(np.mean([h == r for h, r in zip(hypotheses, references)]))


def bleu(hypotheses, references):
    """Corpus BLEU (0–100) with sacrebleu's Chinese tokenizer: characters for Chinese,
    words for Latin text — the call ch08.seq2seq uses, so the two lessons' numbers compare."""
    return sacrebleu.corpus_bleu(hypotheses, [references], tokenize="zh")
