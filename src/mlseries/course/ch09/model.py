"""The Transformer's parts, written from the engine's layers, for ch09.transformer and ch09.vit.

Each block is a few lines around `nn.MultiheadAttention`, `nn.LayerNorm` and `nn.Linear`, so
that a reader sees every residual connection and layer norm. They compute what
`nn.TransformerEncoderLayer` / `nn.TransformerDecoderLayer` compute (the tests check it, weight
for weight); writing them out lets a block keep every head's attention weights for the figures.
"""
import math

import numpy as np

import mlseries as ms
from mlseries import nn
from mlseries.datasets.text import PAD


def sinusoidal_table(max_len, d_model):
    """The paper's positional encoding as a (max_len, d_model) array:
    P[pos, 2i] = sin(pos / 10000^(2i/d)), P[pos, 2i+1] = cos(pos / 10000^(2i/d)).

    Each pair of columns is a clock turning at its own speed, from one turn every 2π positions
    (the first pair) to one every 10000·2π (the last): nearby positions get similar codes, and
    the code of pos + k is a fixed rotation of the code of pos, whatever pos is."""
    pos = np.arange(max_len)[:, None]                                # (max_len, 1)
    rates = 1.0 / 10000 ** (np.arange(0, d_model, 2) / d_model)      # (d/2,)
    table = np.zeros((max_len, d_model), dtype=np.float32)
    table[:, 0::2] = np.sin(pos * rates)
    table[:, 1::2] = np.cos(pos * rates)
    return table


class PositionalEncoding(nn.Module):
    """Adds the sinusoidal table to (B, T, d) embeddings, then dropout. No parameters."""

    def __init__(self, d_model, max_len=128, dropout=0.0):
        super().__init__()
        self.register_buffer("table", ms.tensor(sinusoidal_table(max_len, d_model)), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):                                   # (B, T, d)
        return self.dropout(x + self.table[:x.shape[1]])    # (B, T, d)


def feed_forward(d_model, d_ff, dropout, activation=nn.ReLU):
    """The position-wise network: the same two layers applied to every position on its own."""
    return nn.Sequential(nn.Linear(d_model, d_ff), activation(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))


class EncoderBlock(nn.Module):
    """Self-attention, then the feed-forward network, each followed by Add & Norm (post-norm,
    the paper's order), or preceded by the norm with norm_first=True (pre-norm, as ViT).

    keep_weights=True makes the next forward ask attention for every head's weights and keep
    them in `.weights` (N, heads, T, T); training leaves it off and uses the fused kernel."""

    def __init__(self, d_model, heads, d_ff, dropout=0.1, norm_first=False, activation=nn.ReLU):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.ff = feed_forward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm_first = norm_first
        self.keep_weights, self.weights = False, None

    def attend(self, x, padding):
        out, self.weights = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=self.keep_weights,
                                           average_attn_weights=False)
        return self.dropout1(out)

    def forward(self, x, padding=None):                    # x (N, T, d); padding (N, T), True = <pad>
        if self.norm_first:
            x = x + self.attend(self.norm1(x), padding)
            return x + self.dropout2(self.ff(self.norm2(x)))
        x = self.norm1(x + self.attend(x, padding))        # Add & Norm
        return self.norm2(x + self.dropout2(self.ff(x)))   # Add & Norm


class DecoderBlock(nn.Module):
    """Masked self-attention over the target so far, attention over the encoder's output
    (`memory`: queries from the target, keys and values from the source), then the feed-forward
    network; each followed by Add & Norm."""

    def __init__(self, d_model, heads, d_ff, dropout=0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.ff = feed_forward(d_model, d_ff, dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout1, self.dropout2, self.dropout3 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)
        self.keep_weights, self.weights, self.cross_weights = False, None, None

    def forward(self, y, memory, causal, memory_padding=None):   # y (N, T, d), memory (N, S, d)
        out, self.weights = self.self_attn(y, y, y, attn_mask=causal, is_causal=not self.keep_weights,
                                           need_weights=self.keep_weights, average_attn_weights=False)
        y = self.norm1(y + self.dropout1(out))                      # (N, T, d)
        out, self.cross_weights = self.cross_attn(y, memory, memory, key_padding_mask=memory_padding,
                                                  need_weights=self.keep_weights, average_attn_weights=False)
        y = self.norm2(y + self.dropout2(out))                      # (N, T, d)
        return self.norm3(y + self.dropout3(self.ff(y)))            # (N, T, d)


def causal_mask(size):
    """(size, size) bool, True above the diagonal: position t may not look at t+1, t+2, ..."""
    return ms.tensor(np.triu(np.ones((size, size), dtype=bool), 1))


class Translator(nn.Module):
    """Encoder–decoder Transformer for translation: source ids (N, S) and the target so far
    (N, T) -> scores for the next target token at every position (N, T, target vocabulary).

    The output layer shares its weight with the target embedding (weight tying, as the paper):
    a token's input vector and its output scoring vector are the same row."""

    def __init__(self, src_vocab, tgt_vocab, d_model=128, heads=4, layers=2, d_ff=256, dropout=0.1, max_len=128):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD)
        for emb in (self.src_embed, self.tgt_embed):   # N(0, 1/d): after the ×√d below, unit-size inputs
            nn.init.normal_(emb.weight, 0.0, d_model ** -0.5)
            with ms.no_grad():
                emb.weight[PAD] = 0.0
        self.position = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = nn.ModuleList([EncoderBlock(d_model, heads, d_ff, dropout) for _ in range(layers)])
        self.decoder = nn.ModuleList([DecoderBlock(d_model, heads, d_ff, dropout) for _ in range(layers)])
        self.out = nn.Linear(d_model, tgt_vocab)
        self.out.weight = self.tgt_embed.weight        # tied

    def embed(self, embedding, ids):                   # ids (N, T) -> (N, T, d)
        # ×√d: the embeddings are small (std 1/√d) and the positional code has entries of size 1
        return self.position(embedding(ids) * math.sqrt(self.d_model))

    def encode(self, src):                             # src (N, S)
        padding = src == PAD                           # (N, S), True = <pad>
        x = self.embed(self.src_embed, src)            # (N, S, d)
        for block in self.encoder:
            x = block(x, padding)                      # (N, S, d)
        return x, padding

    def decode(self, tgt, memory, padding):            # tgt (N, T), memory (N, S, d)
        y = self.embed(self.tgt_embed, tgt)            # (N, T, d)
        causal = causal_mask(tgt.shape[1])             # (T, T)
        for block in self.decoder:
            y = block(y, memory, causal, padding)      # (N, T, d)
        return self.out(y)                             # (N, T, tgt vocabulary)

    def forward(self, src, tgt):
        memory, padding = self.encode(src)
        return self.decode(tgt, memory, padding)

    def keep_weights(self, keep=True):
        """Make every block keep its heads' attention weights on the next forward (or stop)."""
        for block in [*self.encoder, *self.decoder]:
            block.keep_weights = keep
