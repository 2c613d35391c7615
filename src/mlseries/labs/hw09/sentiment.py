"""HW09's Transformer to explain: a sentiment task whose answer sits in one known token.

Each "review" is [CLS] and ten words: nine neutral ones (这个 this, 手机 phone, 觉得 feel, ...)
and one sentiment word (好 good, 失望 let down, ...) at a random place; the label is the
sentiment word's polarity. Only the sentiment word decides the answer, so we *know* where a
faithful explanation must point — which real reviews never tell us. The classifier reads the
[CLS] token's last vector, so whatever it knows about the sentiment word reached [CLS] through
attention: its attention maps (and their rollout through the layers) can be checked against the
known position.

The model is chapter 9's encoder blocks (`course/ch09/model.py`, pre-norm as in ViT) on word
embeddings with the sinusoidal positional encoding; attention rollout is ViT's (`course/ch09/vit.py`).
"""
import numpy as np

import mlseries as ms
from mlseries import nn

from ...course.ch09.model import EncoderBlock, PositionalEncoding

NEUTRAL = (("这个", "this"), ("手机", "phone"), ("电影", "film"), ("今天", "today"), ("我", "I"),
           ("觉得", "feel"), ("真的", "really"), ("有点", "a bit"), ("的", "of"), ("很", "very"),
           ("服务", "service"), ("价格", "price"), ("质量", "quality"), ("东西", "stuff"),
           ("快递", "delivery"), ("还", "yet"))
POSITIVE = (("好", "good"), ("棒", "great"), ("喜欢", "like"), ("满意", "pleased"))
NEGATIVE = (("差", "bad"), ("烂", "awful"), ("失望", "let down"), ("讨厌", "hate"))
WORDS = (("[CLS]", "[CLS]"),) + NEUTRAL + POSITIVE + NEGATIVE      # id 0 is [CLS]
CLS = 0
LENGTH = 10                                                          # words after [CLS]


def make_reviews(n, rng, length=LENGTH):
    """ids (n, 1 + length) int64 starting with [CLS]; labels (n,) 1 = positive; and the
    position (1..length) of each review's sentiment word."""
    first_neutral, first_positive = 1, 1 + len(NEUTRAL)
    first_negative = first_positive + len(POSITIVE)
    ids = rng.integers(first_neutral, first_positive, size=(n, 1 + length))
    ids[:, 0] = CLS
    labels = rng.integers(0, 2, size=n)
    where = rng.integers(1, 1 + length, size=n)
    word = np.where(labels == 1, first_positive + rng.integers(0, len(POSITIVE), n),
                    first_negative + rng.integers(0, len(NEGATIVE), n))
    ids[np.arange(n), where] = word
    return ids.astype(np.int64), labels.astype(np.int64), where


class ReviewTransformer(nn.Module):
    """Word embeddings + positions → encoder blocks → the [CLS] vector → 2 logits."""

    def __init__(self, vocab=len(WORDS), d_model=32, heads=2, depth=2, d_ff=64, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = PositionalEncoding(d_model, max_len=64)
        self.blocks = nn.ModuleList([EncoderBlock(d_model, heads, d_ff, dropout, norm_first=True)
                                     for _ in range(depth)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 2)

    def forward(self, ids):                                          # (B, T) int64
        x = self.position(self.embed(ids))                           # (B, T, d)
        for block in self.blocks:
            x = block(x)                                             # (B, T, d)
        return self.head(self.norm(x[:, 0]))                         # (B, 2): from [CLS] only

    def attention_maps(self, ids):
        """Every block's attention weights per head: a list of NumPy (B, heads, T, T)."""
        self.eval()
        for block in self.blocks:
            block.keep_weights = True
        with ms.no_grad():
            self(ms.tensor(ids))
        maps = [block.weights.numpy() for block in self.blocks]
        for block in self.blocks:
            block.keep_weights, block.weights = False, None
        return maps


def hit_rate(cls_rows, where):
    """Fraction of reviews whose [CLS] row (B, T) puts most weight (among the words, not [CLS]
    itself) on the sentiment word at `where`."""
    return float(np.mean(cls_rows[:, 1:].argmax(axis=1) + 1 == where))
