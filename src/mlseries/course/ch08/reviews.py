"""The Chinese product reviews as the chapter's lessons feed them to a recurrent network:
tokens → ids → padded batches of similar length.

Shared by ch08.rnn (the hand-written network) and ch08.lstm (the engine's layers), so both
see the same split, the same vocabulary rules and the same batches.
"""
import numpy as np

from mlseries import datasets


def load_splits(n_train=None, n_test=None):
    """{"train" | "validation" | "test": (texts, labels)}; the first n_train / n_test reviews
    of the (already shuffled, stratified) splits when given, else all of them."""
    out = {}
    for split, n in (("train", n_train), ("validation", n_test), ("test", n_test)):
        data = datasets.Reviews(split)
        out[split] = (data.texts[:n], data.labels[:n])
    return out


def chars(text):
    """Character tokens: for Chinese a character is already close to a word piece."""
    return list(text)


def word_tokenizer():
    """jieba's word segmenter as a function text → words (酒店前台 → 酒店 / 前台). Imported
    here, when a lesson asks for it: loading its dictionary takes about half a second."""
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)  # it reports building its prefix dictionary at INFO
    return jieba.lcut


def encode(texts, vocab, tokenize, max_len):
    """Texts → (ids (N, L) int64 padded with 0 on the right, lengths (N,)).

    Reviews longer than max_len keep their *last* max_len tokens: a review's verdict is
    often in its closing words ("…总之不推荐"), and a network reading left to right should
    end on them."""
    seqs = [vocab.encode(tokenize(t)) or [datasets.text.UNK] for t in texts]
    return datasets.pad_sequences(seqs, max_len=max_len, truncate="start")


def length_batches(lengths, batch_size, rng):
    """Index batches of reviews of similar length, in random order: the network then runs
    over little padding (a batch's longest review sets its number of steps).

    Lengths are jittered before sorting, so batches differ from epoch to epoch."""
    jitter = rng.uniform(0, 1, len(lengths))
    order = np.lexsort((jitter, lengths))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def trim(ids, lengths, index):
    """Rows `index` of the padded ids, cut to the longest of them (fewer steps to run)."""
    longest = int(lengths[index].max())
    return ids[index, :longest], lengths[index]
