"""ch09.attention — 注意力汇聚与评分函数 / Attention pooling and scoring functions.

Attention is a way of choosing what to look at. In the language of the chapter, a **query**
(查询, what you are looking for) is compared with every **key** (键, what each item offers);
the comparison gives a score per key, a softmax turns the scores into **attention weights**
(注意力权重, positive, summing to 1), and the output is the weighted mean of the **values** (值)
that belong to the keys. That weighted mean is **attention pooling** (注意力汇聚).

The lesson starts where the idea started, in 1964 statistics, on the seed's data: 50 noisy
points of y = 2·sin x + x^0.8 on [0, 5]. To predict y at a new x (the query), the training
x's are the keys and their y's the values.

1. **Average pooling** ignores the query: every prediction is the mean of all y's — a flat line.
2. **Nadaraya–Watson kernel regression** (non-parametric): weight each training point by how
   close its x is to the query, softmax(−(x_query − x_i)² / 2). Near points count, far points do
   not, and the prediction follows the curve. Nothing is learned.
3. **Parametric Nadaraya–Watson**: softmax(−((x_query − x_i)·w)² / 2) with one learned width w.
   w is trained with the engine by predicting every training point from the *other* 49
   (leave-one-out: with itself among the keys the best w would be infinite — copy your own y).
   Its heat map of weights is sharper than the fixed kernel's.

The Gaussian score −(q − k)²/2 = q·k − q²/2 − k²/2 already contains a dot product: the q² part is
the same for every key and the softmax cancels it. That is the bridge to the scoring functions
(注意力评分函数) of modern networks, where queries and keys are vectors:

- **masked softmax** (掩蔽 softmax): padded positions of a batch of sequences must get weight
  exactly 0, so their scores are replaced by a huge negative number before the softmax;
- **additive attention** (加性注意力): score(q, k) = w_vᵀ tanh(W_q q + W_k k), for queries and keys
  of different sizes;
- **scaled dot-product attention** (缩放点积注意力): score(q, k) = q·k / √d. Dividing by √d keeps
  the scores' spread near 1 whatever d is (a dot product of d random unit-variance numbers has
  variance d), so the softmax does not saturate. Checked equal to `F.scaled_dot_product_attention`.
- **multi-head attention** (多头注意力): h smaller attentions side by side, each on its own
  projection of the queries, keys and values, concatenated and projected again. Written here
  from nothing but matrix products and a softmax, and checked equal to `nn.MultiheadAttention`
  (whose own tests compare it with PyTorch's) — outputs, weights and gradients.

The heat maps show every set of weights: rows are queries, columns keys, and each row sums to 1.

    mlseries run ch09.attention [--quick]
"""
import math

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from ..registry import lesson

FULL = dict(epochs=200)
QUICK = dict(epochs=60)   # the width settles within a few dozen full-batch steps
DATA = dict(n_train=50, noise=0.5, low=0.0, high=5.0, test_step=0.1)
# full-batch SGD on the one width w, from the fixed kernel's w = 1; the loss is flat beyond
# w ≈ 2 (see width_training.png), so the rate is large or w would crawl there for hundreds of steps
PARAM = dict(lr=5.0, w0=1.0)
MHA = dict(embed_dim=16, num_heads=4, length=6, batch=2)
TOLERANCE = 1e-10              # float64: the hand-written attention against the engine's


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "pooling_fits.png": ("平均汇聚（虚线）不看查询，只是一条水平线；w = 1 的核回归跟着曲线走，却把峰和谷都抹平了；"
                         "学到的宽度紧贴真实曲线，测试误差最小。",
                         "Average pooling (dashed) ignores the query: a flat line. Kernel regression with w = 1 follows "
                         "the curve but flattens its hill and valley; the learned width follows the true curve closely, "
                         "with the lowest test MSE."),
    "pooling_weights.png": ("每行是一个查询在 50 个训练点上的权重。w = 1 时权重铺得很宽；学到的 w 更大，权重集中在离查询"
                            "最近的几个点上，成了一条窄窄的对角带。",
                            "Each row is one query's weights over the 50 training points. With w = 1 they spread wide; "
                            "the larger learned w concentrates them on the few nearest points, a narrow diagonal band."),
    "width_training.png": ("左：学习率很大，留一法损失的下降几乎全在 SGD 的第一步完成，之后只是缓慢减小。右：各宽度下的"
                           "损失（黑线）在 w ≈ 2 之后几乎是平的，最低点在 5 附近；圆点是 SGD 从 w = 1 出发走过的路。",
                           "Left: with its large rate, the first SGD step does nearly all of the leave-one-out loss's "
                           "descent; then it creeps down. Right: the loss at every width (black) is nearly flat "
                           "beyond w ≈ 2, lowest near 5; the dots are SGD's path from w = 1."),
    "masked_attention.png": ("虚线右边是填充位置，权重恰好为 0；每一行在真实的键上仍然加起来等于 1。上排是加性注意力，"
                             "下排是缩放点积注意力。",
                             "Right of the dashed line is padding, with weight exactly 0; each row still sums to 1 over "
                             "the real keys. Top: additive attention; bottom: scaled dot-product attention."),
    "multihead_weights.png": ("手写多头注意力中四个头的权重：同一个序列，每个头分配权重的方式各不相同，但都不看最后两个"
                              "填充位置。",
                              "The four heads of the hand-written multi-head attention on one sequence: each weighs the "
                              "positions its own way, and none looks at the two padded positions at the end."),
}


# ---------------------------------------------------------------- 1. data: the seed's curve

def truth(x):
    """The curve behind the data, y = 2·sin x + x^0.8."""
    return 2 * np.sin(x) + x ** 0.8


def make_data(rng):
    """50 training points with noise N(0, 0.5²), sorted by x; test queries every 0.1 on [0, 5)."""
    x_train = np.sort(rng.uniform(DATA["low"], DATA["high"], DATA["n_train"]))
    y_train = truth(x_train) + rng.normal(0.0, DATA["noise"], DATA["n_train"])
    x_test = np.arange(DATA["low"], DATA["high"], DATA["test_step"])
    return x_train, y_train, x_test


# ---------------------------------------------------------------- 2. attention pooling

def gaussian_weights(queries, keys, w=1.0, exclude_self=False):
    """softmax over the keys of −((query − key)·w)² / 2: (Q,) and (K,) -> weights (Q, K).

    Engine tensors throughout, so that w can be a Parameter and learn. exclude_self masks the
    diagonal (query i = key i), for the leave-one-out training of the width."""
    diff = queries[:, None] - keys[None, :]              # (Q, K)
    scores = -((diff * w) ** 2) / 2                       # (Q, K)
    if exclude_self:
        scores = scores.masked_fill(ms.eye(len(keys), dtype=ms.bool), -math.inf)
    return F.softmax(scores, dim=-1)                      # (Q, K), each row sums to 1


def attention_pool(weights, values):
    """The weighted mean of the values: (Q, K) @ (K,) -> (Q,)."""
    return weights @ values


def train_width(x_train, y_train, epochs, lr=PARAM["lr"], w0=PARAM["w0"]):
    """Learn w of the parametric kernel by full-batch SGD on the leave-one-out squared error.

    Returns w and the history [(loss, w)] of every step, each loss at the w it was computed at."""
    x, y = ms.tensor(x_train), ms.tensor(y_train)
    w = nn.Parameter(ms.tensor([w0], dtype=x.dtype))
    optimizer = ms.optim.SGD([w], lr=lr)
    history = []
    for _ in range(epochs):
        prediction = attention_pool(gaussian_weights(x, x, w, exclude_self=True), y)   # (N,)
        loss = F.mse_loss(prediction, y) / 2
        history.append((loss.item(), w.item()))   # the loss at this w, before the step moves it
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.item(), history


def loo_loss(x_train, y_train, w):
    """The leave-one-out loss at a given width (no training), for comparing widths."""
    x, y = ms.tensor(x_train), ms.tensor(y_train)
    with ms.no_grad():
        return (F.mse_loss(attention_pool(gaussian_weights(x, x, w, exclude_self=True), y), y) / 2).item()


# ---------------------------------------------------------------- 3. masks and scoring functions

def masked_softmax(scores, valid_lens=None):
    """softmax over the last dimension of scores (B, Q, K) in which only the first valid_lens
    keys count: valid_lens (B,) per sequence or (B, Q) per query; None: every key counts.

    Masked scores become −1e9 rather than −inf: a row with no valid key then gets a harmless
    uniform row instead of 0/0 = NaN, and exp(−1e9 − max) is exactly 0 in float32 and float64."""
    if valid_lens is None:
        return F.softmax(scores, dim=-1)
    keys = ms.arange(scores.shape[-1])                              # (K,)
    lens = valid_lens[:, None] if valid_lens.ndim == 1 else valid_lens   # (B, 1) or (B, Q)
    masked = keys[None, None, :] >= lens[:, :, None]                # (B, Q or 1, K), True = padding
    return F.softmax(scores.masked_fill(masked, -1e9), dim=-1)


class AdditiveAttention(nn.Module):
    """score(q, k) = w_vᵀ tanh(W_q q + W_k k): queries and keys may have different sizes."""

    def __init__(self, query_size, key_size, hidden, dtype=None):
        super().__init__()
        self.W_q = nn.Linear(query_size, hidden, bias=False, dtype=dtype)
        self.W_k = nn.Linear(key_size, hidden, bias=False, dtype=dtype)
        self.w_v = nn.Linear(hidden, 1, bias=False, dtype=dtype)
        self.weights = None   # the last attention weights, for the heat map

    def forward(self, queries, keys, values, valid_lens=None):
        q, k = self.W_q(queries), self.W_k(keys)              # (B, Q, h), (B, K, h)
        features = ms.tanh(q[:, :, None, :] + k[:, None, :, :])   # (B, Q, K, h): every pair
        scores = self.w_v(features).squeeze(-1)               # (B, Q, K)
        self.weights = masked_softmax(scores, valid_lens)     # (B, Q, K)
        return self.weights @ values                          # (B, Q, value size)


class DotProductAttention(nn.Module):
    """score(q, k) = q·k / √d: no parameters; queries and keys must have the same size d."""

    def __init__(self):
        super().__init__()
        self.weights = None

    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        scores = queries @ keys.transpose(1, 2) / math.sqrt(d)   # (B, Q, K)
        self.weights = masked_softmax(scores, valid_lens)        # (B, Q, K)
        return self.weights @ values                             # (B, Q, value size)


# ---------------------------------------------------------------- 4. multi-head attention by hand

def multi_head_attention(x_q, x_kv, mha, key_padding_mask=None, attn_mask=None):
    """nn.MultiheadAttention (batch_first) recomputed from matrix products, with its weights.

    x_q (N, L, E) queries, x_kv (N, S, E) keys = values; key_padding_mask (N, S) and attn_mask
    (L, S) are bool, True = may not be looked at (padding; for attn_mask, e.g. the future).
    Returns the output (N, L, E) and the weights of every head (N, H, L, S)."""
    E, H = mha.embed_dim, mha.num_heads
    hd = E // H
    W_q, W_k, W_v = mha.in_proj_weight[:E], mha.in_proj_weight[E:2 * E], mha.in_proj_weight[2 * E:]
    b_q, b_k, b_v = mha.in_proj_bias[:E], mha.in_proj_bias[E:2 * E], mha.in_proj_bias[2 * E:]
    q = x_q @ W_q.T + b_q                                   # (N, L, E): every head's queries side by side
    k = x_kv @ W_k.T + b_k                                  # (N, S, E)
    v = x_kv @ W_v.T + b_v                                  # (N, S, E)
    N, L, S = x_q.shape[0], x_q.shape[1], x_kv.shape[1]
    q = q.reshape(N, L, H, hd).transpose(1, 2)              # (N, H, L, hd): head h owns features h·hd ... (h+1)·hd
    k = k.reshape(N, S, H, hd).transpose(1, 2)              # (N, H, S, hd)
    v = v.reshape(N, S, H, hd).transpose(1, 2)              # (N, H, S, hd)
    scores = q @ k.transpose(2, 3) / math.sqrt(hd)          # (N, H, L, S)
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], -math.inf)
    if attn_mask is not None:
        scores = scores.masked_fill(attn_mask, -math.inf)   # (L, S) broadcasts over N and H
    weights = F.softmax(scores, dim=-1)                     # (N, H, L, S)
    heads = weights @ v                                     # (N, H, L, hd)
    concat = heads.transpose(1, 2).reshape(N, L, E)         # (N, L, E): the heads concatenated
    out = concat @ mha.out_proj.weight.T + mha.out_proj.bias   # (N, L, E)
    return out, weights


def compare_with_engine_mha(rng):
    """Max differences between the hand-written multi-head attention and nn.MultiheadAttention
    (float64, with a padding mask): outputs, per-head weights, and gradients of both inputs."""
    E, H, L, N = MHA["embed_dim"], MHA["num_heads"], MHA["length"], MHA["batch"]
    mha = nn.MultiheadAttention(E, H, batch_first=True, dtype=ms.float64)
    with ms.no_grad():   # non-zero biases, so that they are checked too
        mha.in_proj_bias.copy_(ms.tensor(rng.normal(0, 0.1, 3 * E)))
        mha.out_proj.bias.copy_(ms.tensor(rng.normal(0, 0.1, E)))
    x_np = rng.normal(size=(N, L, E))
    padding = np.zeros((N, L), dtype=bool)
    padding[1, L - 2:] = True                                # the second sequence is 2 shorter
    mask = ms.tensor(padding)
    grad_out = ms.tensor(rng.normal(size=(N, L, E)))

    x_hand = ms.tensor(x_np, requires_grad=True)
    out_hand, w_hand = multi_head_attention(x_hand, x_hand, mha, mask)
    (out_hand * grad_out).sum().backward()
    x_engine = ms.tensor(x_np, requires_grad=True)
    out_engine, w_engine = mha(x_engine, x_engine, x_engine, key_padding_mask=mask, average_attn_weights=False)
    (out_engine * grad_out).sum().backward()
    errors = {"output": np.abs(out_hand.detach().numpy() - out_engine.detach().numpy()).max(),
              "weights": np.abs(w_hand.detach().numpy() - w_engine.detach().numpy()).max(),
              "input_grad": np.abs(x_hand.grad.numpy() - x_engine.grad.numpy()).max()}
    return {k: float(v) for k, v in errors.items()}, w_hand.detach().numpy(), padding


# ---------------------------------------------------------------- 5. figures

def plot_fits(x_train, y_train, x_test, predictions):
    fig = viz.figure(figsize=(10, 4.6))
    ax = fig.subplots()
    ax.plot(x_test, truth(x_test), color=viz.COLORS["reference"], lw=2, label=viz.text("真实曲线", "truth"))
    ax.scatter(x_train, y_train, s=18, color=viz.COLORS["data"], alpha=0.7, label=viz.text("训练点", "training points"))
    styles = {"average": ("--", viz.COLORS["search"]), "nonparametric": ("-", "#55a868"),
              "parametric": ("-", viz.COLORS["learned"])}
    for name, (label, y_hat, mse) in predictions.items():
        ls, color = styles[name]
        ax.plot(x_test, y_hat, ls=ls, color=color, lw=1.8, label=f"{label} (MSE {mse:.3f})")
    ax.set(title=viz.text("注意力汇聚：y = 2·sin x + x^0.8", "Attention pooling: y = 2·sin x + x^0.8"),
           xlabel="x", ylabel="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)
    return fig


def plot_weight_maps(x_train, x_test, maps):
    """Heat maps of (test queries × training keys) weights, one per pooling rule."""
    fig = viz.figure(figsize=(5.2 * len(maps), 4.6))
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    for ax, (title, weights) in zip(axes, maps):
        # keys are not evenly spaced: imshow shows them by rank, so label ticks with their x
        shown = ax.imshow(weights, cmap="Reds", aspect="auto", vmin=0)
        ticks = np.linspace(0, len(x_train) - 1, 6).round().astype(int)
        ax.set_xticks(ticks, [f"{x_train[i]:.1f}" for i in ticks])
        rows = np.linspace(0, len(x_test) - 1, 6).round().astype(int)
        ax.set_yticks(rows, [f"{x_test[i]:.1f}" for i in rows])
        ax.grid(False)
        ax.set(title=title, xlabel=viz.text("键：训练点的 x", "keys: training x"),
               ylabel=viz.text("查询：测试点的 x", "queries: test x"))
        fig.colorbar(shown, ax=ax, shrink=0.85, label=viz.text("注意力权重", "attention weight"))
    fig.suptitle(viz.text("注意力权重（每行和为 1）", "Attention weights (each row sums to 1)"))
    return fig


def plot_width_training(history, w_grid, grid_losses):
    loss, w = np.array(history).T
    fig = viz.figure(figsize=(10, 3.9))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(np.arange(1, len(loss) + 1), loss, color=viz.COLORS["learned"])
    ax1.set(title=viz.text("留一法损失", "Leave-one-out loss"), xlabel=viz.text("步数", "step"),
            ylabel=viz.text("损失 ½·MSE", "loss ½·MSE"))
    ax2.plot(w_grid, grid_losses, color=viz.COLORS["reference"], label=viz.text("各宽度的损失", "loss at each w"))
    ax2.plot(w, loss, "o", ms=3, color=viz.COLORS["learned"], alpha=0.6, label=viz.text("SGD 的路径", "SGD's path"))
    ax2.axvline(1.0, color=viz.COLORS["search"], ls="--", lw=1, label=viz.text("固定核 w = 1", "fixed kernel w = 1"))
    ax2.set(title=viz.text("学到的宽度 w", "The learned width w"), xlabel="w",
            ylabel=viz.text("损失 ½·MSE", "loss ½·MSE"))
    ax2.legend(fontsize=8)
    return fig


def plot_masked(maps):
    """Each (title, weights (B, Q, K), valid_lens) as one heat map per batch element."""
    fig = viz.figure(figsize=(10.5, 5.2))
    axes = fig.subplots(len(maps), 2, squeeze=False)
    for row, (title, weights, lens) in enumerate(maps):
        for b in range(2):
            ax = axes[row, b]
            shown = ax.imshow(weights[b], cmap="Reds", vmin=0, vmax=max(weights.max(), 1e-9), aspect="auto")
            ax.axvline(lens[b] - 0.5, color=viz.COLORS["data"], ls="--", lw=1.5)
            ax.set_xticks(range(weights.shape[2]))
            ax.set_yticks(range(weights.shape[1]))
            ax.grid(False)
            ax.set(title=f"{title}, valid_len = {lens[b]}", xlabel=viz.text("键", "key"),
                   ylabel=viz.text("查询", "query"))
            fig.colorbar(shown, ax=ax, shrink=0.8)
    fig.suptitle(viz.text("掩蔽 softmax：虚线右侧是填充，权重为 0",
                          "Masked softmax: right of the dashed line is padding, weight 0"))
    return fig


def plot_heads(weights, padding):
    """The hand-written multi-head attention's weights (N, H, L, S) for the shorter sequence."""
    n = 1   # the sequence with padding
    heads = weights.shape[1]
    fig = viz.figure(figsize=(3.2 * heads, 3.6))
    axes = fig.subplots(1, heads)
    for h, ax in enumerate(axes):
        shown = ax.imshow(weights[n, h], cmap="Reds", vmin=0, vmax=weights[n].max())
        ax.axvline(int((~padding[n]).sum()) - 0.5, color=viz.COLORS["data"], ls="--", lw=1.5)
        ax.grid(False)
        ax.set(title=viz.text(f"头 {h + 1}", f"head {h + 1}"), xlabel=viz.text("键位置", "key position"),
               ylabel=viz.text("查询位置", "query position"))
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label=viz.text("注意力权重", "attention weight"))
    fig.suptitle(viz.text("多头注意力：每个头有自己的权重（最后两个位置是填充）",
                          "Multi-head attention: each head has its own weights (last two positions are padding)"))
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch09.attention", zh="注意力汇聚：从核回归到多头注意力",
        en="Attention pooling: from kernel regression to multi-head attention")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. data
    x_train, y_train, x_test = make_data(rng)
    y_true = truth(x_test)
    ctx.log(f"data: {len(x_train)} training points of 2·sin x + x^0.8 + N(0, {DATA['noise']}²), "
            f"{len(x_test)} test queries on [0, 5)")

    # 2. attention pooling: average, Nadaraya–Watson, parametric Nadaraya–Watson
    x, y, xq = ms.tensor(x_train), ms.tensor(y_train), ms.tensor(x_test)
    average = np.full_like(x_test, y_train.mean())
    with ms.no_grad():
        nw_weights = gaussian_weights(xq, x)                          # (50, 50)
        nw = attention_pool(nw_weights, y).numpy()
    w, history = train_width(x_train, y_train, settings["epochs"])
    with ms.no_grad():
        param_weights = gaussian_weights(xq, x, w)
        param = attention_pool(param_weights, y).numpy()
    mse = {name: float(np.mean((pred - y_true) ** 2))
           for name, pred in (("average", average), ("nonparametric", nw), ("parametric", param))}
    loo_fixed, loo_learned = loo_loss(x_train, y_train, 1.0), loo_loss(x_train, y_train, w)
    ctx.log(f"test MSE against the true curve: average pooling {mse['average']:.4f}, "
            f"Nadaraya–Watson (w = 1) {mse['nonparametric']:.4f}, learned width w = {w:.3f}: {mse['parametric']:.4f}")
    ctx.log(f"leave-one-out training loss: w = 1 {loo_fixed:.4f} -> learned {loo_learned:.4f}")
    ctx.record(mse_average=mse["average"], mse_nadaraya_watson=mse["nonparametric"],
               mse_parametric=mse["parametric"], learned_width=w, loo_loss_w1=loo_fixed,
               loo_loss_learned=loo_learned, width_steps=settings["epochs"])
    ctx.check("Nadaraya–Watson beats average pooling (lower test MSE)", mse["nonparametric"] < mse["average"])
    ctx.check("the learned width at least halves average pooling's test MSE",
              mse["parametric"] <= 0.5 * mse["average"])
    ctx.check("the learned width lowers the leave-one-out loss", loo_learned < loo_fixed)
    ctx.check("the learned kernel is sharper (w > 1)", w > 1.0)
    ctx.check("the learned width also fits the true curve better than w = 1",
              mse["parametric"] < mse["nonparametric"])
    # Rows of attention weights are probability distributions over the keys
    row_err = float(np.abs(param_weights.numpy().sum(axis=1) - 1).max())
    ctx.check("every row of weights sums to 1 (≤ 1e-12)", row_err <= 1e-12)

    # 3. masked softmax, additive and scaled dot-product attention on a toy batch
    ms.manual_seed(ctx.seed)
    B, Q, K = 2, 3, 6
    lens = ms.tensor([2, 5])
    queries = ms.tensor(rng.normal(size=(B, Q, 8)))                   # (2, 3, 8)
    keys = ms.tensor(rng.normal(size=(B, K, 8)))                      # (2, 6, 8)
    values = ms.tensor(rng.normal(size=(B, K, 4)))                    # (2, 6, 4)
    weights = masked_softmax(ms.tensor(rng.normal(size=(B, Q, K))), lens).numpy()
    padded_weight = max(weights[0, :, 2:].max(), weights[1, :, 5:].max())
    ctx.log(f"masked softmax with valid_lens (2, 5): largest weight on padding {padded_weight:.1e}, "
            f"rows sum to 1 within {np.abs(weights.sum(-1) - 1).max():.1e}")
    additive = AdditiveAttention(query_size=8, key_size=8, hidden=16, dtype=ms.float64)
    dot = DotProductAttention()
    with ms.no_grad():
        out_add = additive(queries, keys, values, lens)
        out_dot = dot(queries, keys, values, lens)
        take_part = ms.arange(K)[None, None, :] < lens[:, None, None]   # (B, 1, K), True = a real key
        out_sdpa = F.scaled_dot_product_attention(queries, keys, values, attn_mask=take_part)
    sdpa_err = float(np.abs(out_dot.numpy() - out_sdpa.numpy()).max())
    ctx.log(f"additive attention output {tuple(out_add.shape)}; dot-product attention vs "
            f"F.scaled_dot_product_attention: max difference {sdpa_err:.1e}")
    ctx.record(masked_weight_max=float(padded_weight), sdpa_max_err=sdpa_err)
    ctx.check("masked positions get weight 0", padded_weight == 0.0)
    ctx.check(f"dot-product attention equals F.scaled_dot_product_attention (≤ {TOLERANCE:g})", sdpa_err <= TOLERANCE)

    # 4. multi-head attention from matrix products, against the engine's nn.MultiheadAttention
    errors, head_weights, padding = compare_with_engine_mha(rng)
    ctx.log("hand-written multi-head attention vs nn.MultiheadAttention (float64, padding mask): "
            + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    ctx.record(**{f"mha_max_err_{k}": v for k, v in errors.items()})
    ctx.check(f"multi-head attention by hand equals nn.MultiheadAttention (≤ {TOLERANCE:g})",
              max(errors.values()) <= TOLERANCE)

    # 5. figures
    predictions = {"average": (viz.text("平均汇聚", "average pooling"), average, mse["average"]),
                   "nonparametric": (viz.text("核回归 w = 1", "Nadaraya–Watson, w = 1"), nw, mse["nonparametric"]),
                   "parametric": (viz.text(f"学到的 w = {w:.2f}", f"learned w = {w:.2f}"), param, mse["parametric"])}
    ctx.save_figure(plot_fits(x_train, y_train, x_test, predictions), "pooling_fits.png")
    ctx.save_figure(plot_weight_maps(x_train, x_test, [
        (viz.text("非参数 (w = 1)", "non-parametric (w = 1)"), nw_weights.numpy()),
        (viz.text(f"参数化 (w = {w:.2f})", f"parametric (w = {w:.2f})"), param_weights.numpy())]),
        "pooling_weights.png")
    w_grid = np.linspace(0.3, max(8.0, 1.5 * w), 100)
    ctx.save_figure(plot_width_training(history, w_grid, [loo_loss(x_train, y_train, g) for g in w_grid]),
                    "width_training.png")
    ctx.save_figure(plot_masked([
        (viz.text("加性", "additive"), additive.weights.numpy(), [2, 5]),
        (viz.text("缩放点积", "scaled dot-product"), dot.weights.numpy(), [2, 5])]), "masked_attention.png")
    ctx.save_figure(plot_heads(head_weights, padding), "multihead_weights.png")
