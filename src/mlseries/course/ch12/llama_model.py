"""A Llama-style decoder written against a torch-like module `T` (mlseries or torch): RMSNorm,
rotary position embeddings, SwiGLU, grouped-query attention and a KV cache.

    Llama = llama_classes(mlseries).Llama
    model = Llama(LlamaConfig(vocab_size=5000))
    logits, loss = model(idx, targets)                  # training: the whole window at once
    cache = KVCache(cfg.n_layer)
    logits, _ = model(prompt, cache=cache)              # generation: the prompt once ...
    logits, _ = model(next_token, cache=cache)          # ... then one new token per call
"""
import functools
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np


@dataclass
class LlamaConfig:
    vocab_size: int = 5000
    block_size: int = 64        # training window
    max_len: int = 512          # longest sequence the rotary tables cover (generation)
    n_layer: int = 4
    n_head: int = 4             # query heads
    n_kv_head: int = 2          # key/value heads (grouped-query attention: n_head / n_kv_head share one)
    dim: int = 128
    hidden: int = 352           # SwiGLU width: about 8/3 · dim, as Llama, rounded to a multiple of 32
    eps: float = 1e-5
    rope_base: float = 10000.0


def rope_tables(head_dim, max_len, base=10000.0):
    """cos and sin (max_len, head_dim / 2) of the rotary angles: position p turns the i-th pair
    of coordinates by the angle p · base^(−2i / head_dim) — fast turns for the first pairs, slow
    ones for the last, like the hands of a clock."""
    inv_freq = base ** (-np.arange(0, head_dim, 2) / head_dim)           # (hd/2,)
    angles = np.outer(np.arange(max_len), inv_freq)                      # (max_len, hd/2)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


class KVCache:
    """Keys and values of every layer for the positions seen so far, so that generating one more
    token computes attention for that token only, instead of re-running the whole sequence."""

    def __init__(self, n_layer):
        self.k = [None] * n_layer
        self.v = [None] * n_layer
        self.length = 0             # positions already stored

    def update(self, layer, k, v, T):
        """Append this step's keys and values (B, n_kv, L, hs); return all of them so far."""
        if self.k[layer] is not None:
            k = T.cat([self.k[layer], k], dim=2)                         # (B, n_kv, past + L, hs)
            v = T.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v


@functools.cache
def llama_classes(T):
    """The Llama modules built on library `T` (one set of classes per library)."""
    nn, F = T.nn, T.nn.functional

    class RMSNorm(nn.Module):
        """x / rms(x) · g: LayerNorm without subtracting the mean and without a bias — cheaper,
        and it works as well (Zhang & Sennrich 2019)."""

        def __init__(self, dim, eps):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(T.ones(dim))

        def forward(self, x):                                                   # (B, L, C)
            rms = T.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)       # (B, L, 1)
            return x * rms * self.weight

    def apply_rope(x, cos, sin):
        """Rotate each (x_i, x_{i+hs/2}) pair of every head by its position's angle. Queries and keys
        are both turned, so q·k depends only on how far apart the two positions are."""
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]                                   # (B, h, L, hs/2) each
        return T.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)        # (B, h, L, hs)

    class Attention(nn.Module):
        """Grouped-query attention: n_head query heads, n_kv_head key/value heads, each
        key/value head shared by n_head / n_kv_head query heads (a smaller KV cache)."""

        def __init__(self, cfg):
            super().__init__()
            self.n_head, self.n_kv = cfg.n_head, cfg.n_kv_head
            self.hs = cfg.dim // cfg.n_head
            self.wq = nn.Linear(cfg.dim, cfg.n_head * self.hs, bias=False)
            self.wk = nn.Linear(cfg.dim, cfg.n_kv_head * self.hs, bias=False)
            self.wv = nn.Linear(cfg.dim, cfg.n_kv_head * self.hs, bias=False)
            self.wo = nn.Linear(cfg.n_head * self.hs, cfg.dim, bias=False)

        def forward(self, x, cos, sin, mask, cache=None, layer=0):
            B, L, _ = x.shape
            q = self.wq(x).view(B, L, self.n_head, self.hs).transpose(1, 2)     # (B, nh, L, hs)
            k = self.wk(x).view(B, L, self.n_kv, self.hs).transpose(1, 2)       # (B, nkv, L, hs)
            v = self.wv(x).view(B, L, self.n_kv, self.hs).transpose(1, 2)       # (B, nkv, L, hs)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)             # positions enter here
            if cache is not None:
                k, v = cache.update(layer, k, v, T)                             # (B, nkv, past + L, hs)
            group = self.n_head // self.n_kv
            k = k.repeat_interleave(group, dim=1)                               # (B, nh, S, hs)
            v = v.repeat_interleave(group, dim=1)                               # (B, nh, S, hs)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)         # (B, nh, L, hs)
            return self.wo(y.transpose(1, 2).contiguous().view(B, L, -1))       # (B, L, C)

    class SwiGLU(nn.Module):
        """w2(silu(w1 x) ⊙ w3 x): one branch decides how much of the other passes (a gate)."""

        def __init__(self, cfg):
            super().__init__()
            self.w1 = nn.Linear(cfg.dim, cfg.hidden, bias=False)
            self.w3 = nn.Linear(cfg.dim, cfg.hidden, bias=False)
            self.w2 = nn.Linear(cfg.hidden, cfg.dim, bias=False)

        def forward(self, x):                                                   # (B, L, C)
            return self.w2(F.silu(self.w1(x)) * self.w3(x))                     # (B, L, hidden) inside

    class Block(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.attention_norm = RMSNorm(cfg.dim, cfg.eps)
            self.attention = Attention(cfg)
            self.ffn_norm = RMSNorm(cfg.dim, cfg.eps)
            self.feed_forward = SwiGLU(cfg)

        def forward(self, x, cos, sin, mask, cache=None, layer=0):
            x = x + self.attention(self.attention_norm(x), cos, sin, mask, cache, layer)
            return x + self.feed_forward(self.ffn_norm(x))

    class Llama(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.config = cfg
            self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)        # no position embedding:
            self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])  # RoPE does that
            self.norm = RMSNorm(cfg.dim, cfg.eps)
            self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
            cos, sin = rope_tables(cfg.dim // cfg.n_head, cfg.max_len, cfg.rope_base)
            self.register_buffer("rope_cos", T.tensor(cos), persistent=False)   # (max_len, hs/2)
            self.register_buffer("rope_sin", T.tensor(sin), persistent=False)

        def forward(self, idx, targets=None, cache=None):
            B, L = idx.shape
            start = cache.length if cache is not None else 0                    # positions already cached
            if start + L > self.config.max_len:
                raise ValueError(f"Llama: position {start + L} is past max_len {self.config.max_len}")
            cos = self.rope_cos[start:start + L]                                # (L, hs/2)
            sin = self.rope_sin[start:start + L]
            mask = None
            if L > 1:   # new position i may see every cached position and new positions ≤ i
                allowed = np.arange(start + L)[None, :] <= start + np.arange(L)[:, None]  # (L, start + L)
                mask = T.tensor(allowed, device=idx.device)
            x = self.tok_embeddings(idx)                                        # (B, L, C)
            for i, layer in enumerate(self.layers):
                x = layer(x, cos, sin, mask, cache, i)                          # (B, L, C)
            if cache is not None:
                cache.length += L
            logits = self.output(self.norm(x))                                  # (B, L, V)
            if targets is None:
                return logits, None
            return logits, F.cross_entropy(logits.view(B * L, -1), targets.view(B * L))

    return SimpleNamespace(RMSNorm=RMSNorm, apply_rope=apply_rope, Attention=Attention, SwiGLU=SwiGLU,
                           Block=Block, Llama=Llama)


def init_arrays(model, rng, n_layer, std=0.02):
    """Initial weights as NumPy, one array per parameter: matrices N(0, 0.02²), the projections
    back into the residual stream (wo, w2) scaled down by √(2·layers), norms' gains 1."""
    arrays = {}
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if len(shape) == 1:
            arrays[name] = np.ones(shape)
        elif name.endswith(("wo.weight", "w2.weight")):
            arrays[name] = rng.normal(0, std / np.sqrt(2 * n_layer), shape)
        else:
            arrays[name] = rng.normal(0, std, shape)
    return {k: v.astype(np.float32) for k, v in arrays.items()}


def generate(T, model, prompt, n_new, cached=True, temperature=1.0, rng=None, keep_logits=False):
    """Continue `prompt` (1, L) by `n_new` tokens. cached: run the prompt once, then feed one
    token per step through a KVCache; otherwise re-run the whole sequence every step (what a
    model without a cache must do). temperature 0 is greedy; otherwise draw with NumPy's `rng`.
    Returns the ids (1, L + n_new) as NumPy and, with keep_logits, each step's last logits."""
    rng = rng or np.random.default_rng(0)
    model.eval()
    ids = np.asarray(prompt)
    steps = []
    with T.no_grad():
        cache = KVCache(model.config.n_layer) if cached else None
        feed = ids
        for _ in range(n_new):
            logits, _ = model(T.tensor(feed, device=_device(model)), cache=cache)   # (1, L, V)
            last = logits[0, -1].cpu().numpy().astype(np.float64)                   # (V,)
            if keep_logits:
                steps.append(last)
            if temperature == 0:
                nxt = int(last.argmax())
            else:
                p = np.exp((last - last.max()) / temperature)
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids = np.concatenate([ids, [[nxt]]], axis=1)                             # (1, L + 1)
            feed = ids[:, -1:] if cached else ids            # the cache already holds the rest
    model.train()
    return (ids, np.array(steps)) if keep_logits else ids


def _device(model):
    return next(model.parameters()).device
