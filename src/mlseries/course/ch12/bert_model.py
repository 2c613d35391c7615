"""A small BERT written against a torch-like module `T` (mlseries or torch): a bidirectional
Transformer encoder, a masked-language-model head and a sentence classifier on [CLS].

Attention is written out (scores, mask, softmax, weighted sum) rather than called as one fused
function, so each layer can keep its attention weights for the lesson's attention maps.
"""
import functools
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass
class BertConfig:
    vocab_size: int = 3000
    max_len: int = 64
    n_layer: int = 4
    n_head: int = 4
    dim: int = 128
    hidden: int = 512
    pre_norm: bool = True     # LayerNorm before each sub-layer (GPT-2's way); BERT's own is after
    alibi: bool = True        # distance penalties on attention (ALiBi) instead of learned positions
    tie: bool = False         # share the input embedding with the MLM output layer (BERT does)


class CharVocab:
    """Characters seen at least `min_freq` times in the training text, after the five specials."""

    def __init__(self, texts, min_freq=2):
        counts = {}
        for text in texts:
            for c in text:
                counts[c] = counts.get(c, 0) + 1
        self.itos = list(SPECIALS) + sorted(c for c, n in counts.items() if n >= min_freq)
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def encode(self, texts, max_len):
        """[CLS] text [SEP], cut to max_len and padded with [PAD]: int64 (N, max_len)."""
        out = np.full((len(texts), max_len), PAD, dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [CLS] + [self.stoi.get(c, UNK) for c in text[:max_len - 2]] + [SEP]
            out[i, :len(ids)] = ids
        return out


def mask_tokens(ids, vocab_size, rng, rate=0.15):
    """BERT's masking: choose `rate` of the real tokens; of those, 80 % become [MASK], 10 % a
    random token, 10 % stay. Returns (inputs, targets) with targets −100 (ignored) elsewhere."""
    real = ids > SEP                                                   # not a special token
    chosen = real & (rng.random(ids.shape) < rate)
    targets = np.where(chosen, ids, -100)
    inputs = ids.copy()
    roll = rng.random(ids.shape)
    inputs[chosen & (roll < 0.8)] = MASK
    swap = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = rng.integers(len(SPECIALS), vocab_size, size=int(swap.sum()))
    return inputs, targets


@functools.cache
def bert_classes(T):
    nn, F = T.nn, T.nn.functional

    class SelfAttention(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.n_head = cfg.n_head
            self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
            self.proj = nn.Linear(cfg.dim, cfg.dim)
            self.weights = None                      # the last attention weights, for pictures

        def forward(self, x, pad, bias=None):                              # x (B, L, C), pad (B, L)
            B, L, C = x.shape
            hs = C // self.n_head
            q, k, v = self.qkv(x).split(C, dim=2)                          # 3 × (B, L, C)
            q = q.view(B, L, self.n_head, hs).transpose(1, 2)              # (B, nh, L, hs)
            k = k.view(B, L, self.n_head, hs).transpose(1, 2)
            v = v.view(B, L, self.n_head, hs).transpose(1, 2)
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)             # (B, nh, L, L)
            if bias is not None:
                scores = scores + bias                                     # (nh, L, L): −slope·|i − j|
            # every token sees every other real token, before and after it: bidirectional
            scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
            att = F.softmax(scores, dim=-1)                                # (B, nh, L, L)
            self.weights = att.detach()
            y = (att @ v).transpose(1, 2).contiguous().view(B, L, C)       # (B, L, C)
            return self.proj(y)

    class Layer(nn.Module):
        """Pre-norm, x + f(LayerNorm(x)), or BERT's post-norm, LayerNorm(x + f(x)). At this small
        scale pre-norm tolerates a larger learning rate, so pre-training gets further in the same steps."""

        def __init__(self, cfg):
            super().__init__()
            self.pre_norm = cfg.pre_norm
            self.attn = SelfAttention(cfg)
            self.ln1 = nn.LayerNorm(cfg.dim)
            self.ff = nn.Sequential(nn.Linear(cfg.dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim))
            self.ln2 = nn.LayerNorm(cfg.dim)

        def forward(self, x, pad, bias=None):
            if self.pre_norm:
                x = x + self.attn(self.ln1(x), pad, bias)
                return x + self.ff(self.ln2(x))
            x = self.ln1(x + self.attn(x, pad, bias))
            return self.ln2(x + self.ff(x))

    class Bert(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.config = cfg
            self.tok = nn.Embedding(cfg.vocab_size, cfg.dim)
            self.pos = None if cfg.alibi else nn.Embedding(cfg.max_len, cfg.dim)
            if cfg.alibi:   # head h penalises distance with slope 2^(−8(h+1)/nh): near-sighted to far-sighted
                slopes = 2.0 ** (-8.0 * np.arange(1, cfg.n_head + 1) / cfg.n_head)               # (nh,)
                dist = np.abs(np.arange(cfg.max_len)[:, None] - np.arange(cfg.max_len)[None, :])  # (L, L)
                self.register_buffer("alibi_bias", T.tensor((-slopes[:, None, None] * dist).astype(np.float32)),
                                     persistent=False)                                           # (nh, L, L)
            self.ln = nn.LayerNorm(cfg.dim)
            self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.dim)       # pre-norm leaves the last sum unnormalised
            # masked-LM head: transform, then score every vocabulary entry with the (tied) embeddings
            self.mlm_dense = nn.Linear(cfg.dim, cfg.dim)
            self.mlm_ln = nn.LayerNorm(cfg.dim)
            self.mlm_bias = nn.Parameter(T.zeros(cfg.vocab_size))
            self.mlm_out = None if cfg.tie else nn.Parameter(T.zeros(cfg.vocab_size, cfg.dim))
            # sentence head: [CLS]'s vector -> 2 classes
            self.classifier = nn.Linear(cfg.dim, 2)

        def encode(self, ids, extra=None):                                  # ids (B, L)
            """Final hidden states (B, L, C). extra: embeddings (B, L, C) added to the tokens'
            (e.g. BERT's segment embeddings, which a lab's question answering needs)."""
            B, L = ids.shape
            pad = ids == PAD                                                # (B, L)
            x = self.tok(ids)                                               # (B, L, C)
            if extra is not None:
                x = x + extra
            bias = None
            if self.pos is not None:
                x = x + self.pos(T.arange(L, device=ids.device))
            else:
                bias = self.alibi_bias[:, :L, :L]                           # (nh, L, L)
            x = self.ln(x)
            for layer in self.layers:
                x = layer(x, pad, bias)
            return self.ln_f(x) if self.config.pre_norm else x              # (B, L, C)

        def mlm_loss(self, inputs, targets):
            """Cross-entropy on the masked positions only (the others carry target −100)."""
            h = self.encode(inputs)                                         # (B, L, C)
            flat = targets.view(-1)
            where = T.nonzero(flat != -100).view(-1)                        # (M,) masked positions
            h = h.view(-1, h.shape[-1])[where]                              # (M, C)
            h = self.mlm_ln(F.gelu(self.mlm_dense(h)))                      # (M, C)
            logits = h @ self.output_matrix().T + self.mlm_bias             # (M, V)
            return F.cross_entropy(logits, flat[where])

        def output_matrix(self):
            return self.tok.weight if self.mlm_out is None else self.mlm_out   # (V, C)

        def classify(self, ids):
            """Two logits from the mean of the real tokens' vectors. (BERT reads [CLS], which its
            second pre-training task, next-sentence prediction, trains; with masked-LM alone the
            mean of the tokens carries more of what pre-training learned.)"""
            h = self.encode(ids)                                            # (B, L, C)
            real = (ids != PAD).unsqueeze(-1).to(h.dtype)                   # (B, L, 1)
            return self.classifier((h * real).sum(dim=1) / real.sum(dim=1)) # (B, 2)

    return SimpleNamespace(SelfAttention=SelfAttention, Layer=Layer, Bert=Bert)


def init_arrays(model, rng, std=0.02):
    """BERT's initialisation as NumPy: matrices N(0, 0.02²), LayerNorm gains 1, biases 0."""
    arrays = {}
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        owner = name.split(".")[-2] if "." in name else ""
        if len(shape) >= 2:
            arrays[name] = rng.normal(0, std, shape)
        elif "ln" in owner and name.endswith("weight"):
            arrays[name] = np.ones(shape)
        else:
            arrays[name] = np.zeros(shape)
    return {k: v.astype(np.float32) for k, v in arrays.items()}
