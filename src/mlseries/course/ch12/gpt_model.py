"""A GPT in nanoGPT's style, written once against a torch-like module `T` (mlseries or torch).

`gpt_classes(T)` defines the classes with `T.nn` as their library and returns them; the code
inside reads exactly like a PyTorch model file. The weights start from NumPy (`init_arrays`), so
the engine and PyTorch begin from the same numbers and can be compared step by step.

    GPT = gpt_classes(mlseries).GPT
    model = GPT(GPTConfig(vocab_size=64))
    logits, loss = model(idx, targets)      # idx, targets (B, T) int64
"""
import functools
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np


@dataclass
class GPTConfig:
    vocab_size: int = 64
    block_size: int = 64      # the longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    bias: bool = False        # nanoGPT's Shakespeare runs leave biases out of Linear and LayerNorm


@functools.cache
def gpt_classes(T):
    """The GPT's modules built on library `T` (one set of classes per library)."""
    nn, F = T.nn, T.nn.functional

    class CausalSelfAttention(nn.Module):
        """Multi-head self-attention where position t sees positions ≤ t only."""

        def __init__(self, cfg):
            super().__init__()
            self.n_head, self.n_embd = cfg.n_head, cfg.n_embd
            self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one product
            self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x):
            B, L, C = x.shape
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)           # 3 × (B, L, C)
            hs = C // self.n_head
            q = q.view(B, L, self.n_head, hs).transpose(1, 2)             # (B, nh, L, hs)
            k = k.view(B, L, self.n_head, hs).transpose(1, 2)             # (B, nh, L, hs)
            v = v.view(B, L, self.n_head, hs).transpose(1, 2)             # (B, nh, L, hs)
            # softmax(q kᵀ / √hs + causal mask) v, as one fused call in both libraries
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)   # (B, nh, L, hs)
            y = y.transpose(1, 2).contiguous().view(B, L, C)              # heads side by side
            return self.c_proj(y)                                         # (B, L, C)

    class MLP(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
            self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x):                                 # (B, L, C)
            return self.c_proj(F.gelu(self.c_fc(x)))          # (B, L, 4C) inside

    class Block(nn.Module):
        """Pre-norm: normalise, transform, add back. The residual path stays an identity."""

        def __init__(self, cfg):
            super().__init__()
            self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.attn = CausalSelfAttention(cfg)
            self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.mlp = MLP(cfg)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))      # tokens talk to each other
            return x + self.mlp(self.ln_2(x))    # each token thinks on its own

    class GPT(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.config = cfg
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(cfg.vocab_size, cfg.n_embd),    # token embeddings
                wpe=nn.Embedding(cfg.block_size, cfg.n_embd),    # learned position embeddings
                h=nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
                ln_f=nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
            ))
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            # weight tying: reading a token in and writing it out share one matrix
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx, targets=None):
            B, L = idx.shape
            if L > self.config.block_size:
                raise ValueError(f"GPT: a sequence of {L} tokens is longer than block_size "
                                 f"{self.config.block_size}")
            pos = T.arange(L, device=idx.device)                                 # (L,)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)           # (B, L, C)
            for block in self.transformer.h:
                x = block(x)                                                    # (B, L, C)
            logits = self.lm_head(self.transformer.ln_f(x))                     # (B, L, V)
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(B * L, -1), targets.view(B * L))
            return logits, loss

    return SimpleNamespace(CausalSelfAttention=CausalSelfAttention, MLP=MLP, Block=Block, GPT=GPT)


def init_arrays(model, rng, n_layer, std=0.02):
    """nanoGPT's initialisation as NumPy arrays, one per parameter name: matrices N(0, 0.02²),
    the projections back into the residual stream N(0, (0.02/√(2·layers))²) so the sum of
    2·layers contributions keeps its size, norms' weights 1, biases 0."""
    arrays = {}
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if name.endswith("c_proj.weight"):
            arrays[name] = rng.normal(0, std / math.sqrt(2 * n_layer), shape)
        elif len(shape) >= 2:
            arrays[name] = rng.normal(0, std, shape)
        elif ".ln_" in name or "ln_f" in name or "norm" in name:
            arrays[name] = np.ones(shape) if name.endswith("weight") else np.zeros(shape)
        else:
            arrays[name] = np.zeros(shape)
    return {k: v.astype(np.float32) for k, v in arrays.items()}


def configure_optimizer(T, model, lr, weight_decay, betas):
    """AdamW with weight decay on matrices only (nanoGPT): decaying biases, norms' gains and
    the like would only pull useful scales towards zero."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return T.optim.AdamW(groups, lr=lr, betas=betas)


def generate(T, model, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
    """Sample `max_new_tokens` tokens after `idx` (B, L): each step runs the model on the last
    block_size tokens, divides the last logits by `temperature` (< 1 sharper, > 1 flatter),
    keeps the `top_k` largest, and draws from the softmax. `generator` is a NumPy generator,
    so both libraries draw the same way."""
    F = T.nn.functional
    rng = generator or np.random.default_rng(0)
    block = model.config.block_size
    model.eval()
    with T.no_grad():
        for _ in range(max_new_tokens):
            logits, _ = model(idx[:, -block:])                     # (B, L, V)
            logits = logits[:, -1, :] / temperature                 # (B, V)
            if top_k is not None:
                v, _ = T.topk(logits, min(top_k, logits.shape[-1]))  # (B, k)
                logits = logits.masked_fill(logits < v[:, -1:], float("-inf"))
            probs = F.softmax(logits, dim=-1).cpu().numpy().astype(np.float64)  # (B, V)
            nxt = [rng.choice(len(p), p=p / p.sum()) for p in probs]
            nxt = T.tensor(np.array(nxt)[:, None], device=idx.device)  # (B, 1)
            idx = T.cat([idx, nxt], dim=1)                          # (B, L + 1)
    model.train()
    return idx
