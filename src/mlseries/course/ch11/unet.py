"""A small U-Net (U 形网络) that predicts the noise ε in a noised image x_t, told the step t (and,
optionally, the class y): the denoiser of ch11.diffusion.

    (B, 1, 28, 28) → 2×2 pixel blocks as 4 channels (pixel_unshuffle) → (B, 4, 14, 14)
    14×14, C  ── ResBlock(t) ─────────── skip (concat) ──────────── ResBlock(t) → conv → (B, 4, 14, 14)
       │ conv, stride 2                                                ↑ upsample ×2         │
     7×7, 2C  ── ResBlock(t) ── ResBlock(t) ───────────────────────────┘          pixel_shuffle
                                                                                  → ε̂ (B, 1, 28, 28)

Two resolutions, and none at 28×28: folding each 2×2 block of pixels into channels first (space-
to-depth) makes every layer four times cheaper, and on a CPU that buys more training steps.
The step t enters as a sinusoidal embedding (正弦时间嵌入, the Transformer's position code applied
to the noise level) passed through a small MLP and added, per channel, inside every residual
block; the class, when given, is an embedding added to it. Class index `classes` (one past the
last) is the "no label" token that classifier-free guidance trains with. GroupNorm (组归一化)
rather than BatchNorm: the statistics of a batch mixing every noise level mean nothing.
"""
import math

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn


def timestep_embedding(t, dim):
    """Sinusoidal features (B, dim) of integer steps t (B,): sin and cos at geometric frequencies."""
    half = dim // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half) / half)          # (half,)
    angles = np.asarray(t, dtype=np.float64)[:, None] * freqs[None]      # (B, half)
    return ms.tensor(np.concatenate([np.sin(angles), np.cos(angles)], axis=1).astype(np.float32))


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, plus the step (and class) embedding as a per-channel shift, twice;
    a 1×1 conv on the shortcut when the channel count changes."""

    def __init__(self, c_in, c_out, emb_dim, groups=8):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(min(groups, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):                                   # x (B, C_in, H, W), emb (B, E)
        h = self.conv1(F.silu(self.norm1(x)))                    # (B, C_out, H, W)
        h = h + self.emb(F.silu(emb))[:, :, None, None]          # the step shifts every channel
        h = self.conv2(F.silu(self.norm2(h)))                    # (B, C_out, H, W)
        return h + self.skip(x)


class UNet(nn.Module):
    """ε̂(x_t, t[, y]) for images (B, 1, 28, 28): C channels at 14×14, 2C at 7×7."""

    def __init__(self, channels=32, emb_dim=64, classes=None):
        super().__init__()
        c, e = channels, emb_dim
        self.emb_dim = emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.classes = classes
        self.label_emb = nn.Embedding(classes + 1, e) if classes else None   # +1: the "no label" token
        self.stem = nn.Conv2d(4, c, 3, padding=1)                 # on 2×2 pixel blocks: 14×14
        self.down = ResBlock(c, c, e)                             # 14×14
        self.pool = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)   # → 7×7
        self.mid1 = ResBlock(2 * c, 2 * c, e)
        self.mid2 = ResBlock(2 * c, 2 * c, e)
        self.up = ResBlock(3 * c, c, e)                           # 14×14, after concat with `down`
        self.out_norm = nn.GroupNorm(min(8, c), c)
        self.out = nn.Conv2d(c, 4, 3, padding=1)                  # back to 2×2 pixel blocks
        nn.init.zeros_(self.out.weight)   # start by predicting ε̂ = 0: a calm start that trains faster
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t, y=None):                              # x (B, 1, 28, 28), t (B,) ints
        emb = self.time_mlp(timestep_embedding(t, self.emb_dim))  # (B, E)
        if self.label_emb is not None:
            if y is None:                                         # unconditional: the "no label" token
                y = np.full(len(t), self.classes)
            emb = emb + self.label_emb(ms.tensor(np.asarray(y, dtype=np.int64)))
        # space-to-depth: each 2×2 block of pixels becomes 4 channels, so no layer works at
        # 28×28 (a quarter of the cost) while every pixel still reaches the network
        h0 = self.stem(F.pixel_unshuffle(x, 2))                   # (B, C, 14, 14)
        h1 = self.down(h0, emb)                                   # (B, C, 14, 14)
        h = self.mid1(self.pool(h1), emb)                         # (B, 2C, 7, 7)
        h = self.mid2(h, emb)                                     # (B, 2C, 7, 7)
        h = F.interpolate(h, scale_factor=2, mode="nearest")      # (B, 2C, 14, 14)
        h = self.up(ms.cat([h, h1], dim=1), emb)                  # (B, C, 14, 14)
        h = self.out(F.silu(self.out_norm(h)))                    # (B, 4, 14, 14)
        return F.pixel_shuffle(h, 2)                              # (B, 1, 28, 28): ε̂
