"""HW4's models: the sample's Transformer classifier and the three techniques the lab adds.

- `SelfAttentionPooling`: a learned weight per frame instead of the plain mean over time.
- `ConformerBlock`: a Transformer layer with a convolution module inside (Gulati et al., 2020).
- `AMSoftmaxHead` / `am_softmax_loss`: additive-margin softmax (Wang et al., 2018).

The Transformer layer itself is the engine's `nn.TransformerEncoderLayer`, as the sample uses
PyTorch's; the Conformer has no PyTorch layer (torchaudio's is outside torch), so it is written here.
"""
import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn


class SelfAttentionPooling(nn.Module):
    """Σ_t α_t h_t with α = softmax_t(v·tanh(W h_t)): frames that carry the voice count more
    than silence and noise, which the mean weighs equally. (B, T, d) → (B, d)."""

    def __init__(self, d):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1))

    def forward(self, h, return_weights=False):
        alpha = F.softmax(self.score(h).squeeze(-1), dim=1)               # (B, T)
        pooled = (alpha.unsqueeze(-1) * h).sum(dim=1)                     # (B, d)
        return (pooled, alpha) if return_weights else pooled


class MeanPooling(nn.Module):
    """The sample's pooling: the average frame. (B, T, d) → (B, d)."""

    def forward(self, h):
        return h.mean(dim=1)


def feed_forward(d, hidden, dropout):
    return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden), nn.SiLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, d), nn.Dropout(dropout))


class ConvolutionModule(nn.Module):
    """LayerNorm → pointwise conv to 2d → GLU → depthwise conv over time → BatchNorm → SiLU →
    pointwise conv → dropout: local patterns (a formant's slope, a pitch period's ripple) that
    attention, which compares frames pairwise, finds only indirectly. (B, T, d) → (B, T, d)."""

    def __init__(self, d, kernel_size, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pointwise_in = nn.Conv1d(d, 2 * d, 1)
        self.depthwise = nn.Conv1d(d, d, kernel_size, padding=kernel_size // 2, groups=d)
        self.batch_norm = nn.BatchNorm1d(d)
        self.pointwise_out = nn.Conv1d(d, d, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h = self.norm(x).transpose(1, 2)                                  # (B, d, T): channels first
        h = F.glu(self.pointwise_in(h), dim=1)                            # (B, d, T)
        h = F.silu(self.batch_norm(self.depthwise(h)))                    # (B, d, T)
        return self.dropout(self.pointwise_out(h)).transpose(1, 2)        # (B, T, d)


class ConformerBlock(nn.Module):
    """x + ½FFN → x + MHSA → x + Conv → x + ½FFN → LayerNorm (the "macaron" layout). (B, T, d)."""

    def __init__(self, d, nhead, dim_feedforward, kernel_size=15, dropout=0.1):
        super().__init__()
        self.ff1 = feed_forward(d, dim_feedforward, dropout)
        self.attn_norm = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, nhead, dropout=dropout, batch_first=True)
        self.attn_dropout = nn.Dropout(dropout)
        self.conv = ConvolutionModule(d, kernel_size, dropout)
        self.ff2 = feed_forward(d, dim_feedforward, dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        x = x + 0.5 * self.ff1(x)
        h = self.attn_norm(x)
        x = x + self.attn_dropout(self.attn(h, h, h, need_weights=False)[0])
        x = x + self.conv(x)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class AMSoftmaxHead(nn.Module):
    """Logits s·cos θ_c between the L2-normalised embedding and each speaker's normalised weight
    vector; the margin is subtracted in `am_softmax_loss`, during training only."""

    def __init__(self, d, classes, scale):
        super().__init__()
        self.weight = nn.Parameter(ms.randn(classes, d) * 0.1)
        self.scale = scale

    def forward(self, e):
        cos = F.normalize(e, dim=1) @ F.normalize(self.weight, dim=1).T   # (B, classes)
        return self.scale * cos


def am_softmax_loss(logits, target, scale, margin):
    """Cross-entropy on s·(cos θ_y − m) for the true speaker and s·cos θ_c for the others: the
    true speaker must win by a margin m in cosine, so each speaker's utterances cluster tightly."""
    onehot = F.one_hot(target, logits.shape[1]).float()                   # (B, classes)
    return F.cross_entropy(logits - scale * margin * onehot, target)


class SpeakerNet(nn.Module):
    """mel frames (B, T, n_mels) → prenet → encoder layer → pooling → speaker logits.

    block "transformer" is the sample (the engine's TransformerEncoderLayer) or "conformer";
    pooling "mean" (the sample) or "attention"; head "mlp" (the sample's Linear-ReLU-Linear) or
    "am" (an embedding layer and the additive-margin head)."""

    def __init__(self, n_mels, classes, d_model=80, nhead=2, dim_feedforward=256, dropout=0.1,
                 block="transformer", pooling="mean", head="mlp", am_scale=15.0):
        super().__init__()
        self.prenet = nn.Linear(n_mels, d_model)
        if block == "transformer":
            self.encoder = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        else:
            self.encoder = ConformerBlock(d_model, nhead, dim_feedforward, dropout=dropout)
        self.pooling = SelfAttentionPooling(d_model) if pooling == "attention" else MeanPooling()
        if head == "am":
            self.head = nn.Sequential(nn.Linear(d_model, d_model), AMSoftmaxHead(d_model, classes, am_scale))
        else:
            self.head = nn.Sequential(nn.Linear(d_model, d_model), nn.ReLU(), nn.Linear(d_model, classes))

    def embed(self, mels):
        return self.pooling(self.encoder(self.prenet(mels)))              # (B, d_model)

    def forward(self, mels):
        return self.head(self.embed(mels))                                # (B, classes)
