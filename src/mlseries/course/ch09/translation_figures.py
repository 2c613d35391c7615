"""Figures for ch09.transformer: every head's attention for one sentence, the training curves,
and greedy decoding against beam search."""
import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
from mlseries import viz
from mlseries.datasets.text import BOS, EOS, PAD


def head_weights(model, src_row, out_row):
    """Every layer's and head's attention for one sentence as the model translated it.

    src_row: source ids (with padding); out_row: the model's output ids (ending in <eos>). The
    decoder reads <bos> y1 … yn and predicts y1 … yn <eos>, so each row of the cross-attention
    belongs to one output character. Returns {"encoder": [(heads, S, S) per layer],
    "cross": [(heads, n + 1, S) per layer]}."""
    src = src_row[src_row != PAD][None]                         # (1, S)
    out = out_row.tolist()
    out = out[:out.index(EOS)] if EOS in out else out
    tgt = np.array([[BOS] + out], dtype=np.int64)               # (1, n + 1)
    model.eval()
    model.keep_weights(True)
    with ms.no_grad():
        model(ms.tensor(src), ms.tensor(tgt))
    model.keep_weights(False)
    return {"encoder": [b.weights.numpy()[0] for b in model.encoder],
            "cross": [b.cross_weights.numpy()[0] for b in model.decoder]}


def _grid(layers, heads, width, height):
    fig = viz.figure(figsize=(max(width * heads + 1.0, 10.0), height * layers + 1.2))
    return fig, np.array(fig.subplots(layers, heads, squeeze=False))


def plot_cross_heads(cross, en_tokens, zh_tokens, sentence):
    """Encoder–decoder attention of every decoder layer (rows) and head (columns)."""
    layers, heads = len(cross), cross[0].shape[0]
    fig, axes = _grid(layers, heads, 3.1, 3.5)
    for layer in range(layers):
        for h in range(heads):
            ax = axes[layer, h]
            ax.imshow(cross[layer][h], cmap="Blues", vmin=0, vmax=1, aspect="auto")
            ax.grid(False)
            ax.set_xticks(range(len(en_tokens)), en_tokens, rotation=70, ha="right", fontsize=7)
            ax.set_yticks(range(len(zh_tokens)), zh_tokens, fontsize=7.5)
            ax.set(title=viz.text(f"第 {layer + 1} 层 头 {h + 1}", f"layer {layer + 1} head {h + 1}"),
                   xlabel=viz.text("英文（键）", "English (keys)"), ylabel=viz.text("中文（查询）", "Chinese (queries)"))
    fig.suptitle(viz.text(f"编码器-解码器注意力，每一层每个头：“{sentence}”",
                          f"Encoder–decoder attention, every layer and head: \"{sentence}\"", sep="\n"))
    return fig


def plot_self_heads(weights, en_tokens):
    """The encoder's self-attention, every layer (rows) and head (columns)."""
    layers, heads = len(weights), weights[0].shape[0]
    fig, axes = _grid(layers, heads, 3.1, 3.5)
    for layer in range(layers):
        for h in range(heads):
            ax = axes[layer, h]
            ax.imshow(weights[layer][h], cmap="Purples", vmin=0, vmax=1)
            ax.grid(False)
            ax.set_xticks(range(len(en_tokens)), en_tokens, rotation=70, ha="right", fontsize=7)
            ax.set_yticks(range(len(en_tokens)), en_tokens, fontsize=7)
            ax.set(title=viz.text(f"第 {layer + 1} 层 头 {h + 1}", f"layer {layer + 1} head {h + 1}"),
                   xlabel=viz.text("键", "key"), ylabel=viz.text("查询", "query"))
    fig.suptitle(viz.text("编码器自注意力，每一层每个头", "Encoder self-attention, every layer and head"))
    return fig


def plot_training(numbers, software, target=None):
    """Loss per step for both tasks, and the number task's exact match after each epoch."""
    fig = viz.figure(figsize=(13, 4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for ax, history, title in ((ax1, numbers, viz.text("数字翻译：训练损失", "Numbers: training loss", sep="\n")),
                               (ax2, software, viz.text("软件界面字符串：训练损失", "Software strings: training loss",
                                                        sep="\n"))):
        steps = np.array(history["step_loss"])
        window = max(1, min(50, len(steps) // 10))
        smooth = np.convolve(steps, np.ones(window) / window, mode="valid")
        ax.plot(steps, color=viz.COLORS["data"], alpha=0.25, lw=0.7, label=viz.text("每步", "each step"))
        ax.plot(np.arange(window - 1, len(steps)), smooth, color=viz.COLORS["learned"],
                label=viz.text(f"{window} 步平均", f"mean of {window} steps"))
        ax.set(title=title, xlabel=viz.text("步数", "step"),
               ylabel=viz.text("交叉熵", "cross-entropy"))
        ax.legend(fontsize=8)
    epochs = np.arange(1, len(numbers["eval"]) + 1)
    ax3.plot(epochs, numbers["eval"], "o-", color=viz.COLORS["learned"], ms=4,
             label=viz.text("300 个测试句，贪心", "300 test sentences, greedy"))
    if target is not None:
        ax3.axhline(target, color=viz.COLORS["reference"], ls="--", lw=1, label=viz.text(f"目标 {target}", f"target {target}"))
    ax3.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax3.set(title=viz.text("数字翻译：完全匹配率", "Numbers: exact match", sep="\n"), xlabel=viz.text("轮次", "epoch"),
            ylabel=viz.text("完全匹配率", "exact match"), ylim=(0, 1.02))
    ax3.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)   # below: the curve fills the axes
    return fig


def plot_decoders(exact, bleu, ch08_bleu=None):
    """Greedy against beam search: exact match on the numbers, BLEU on the software strings."""
    fig = viz.figure(figsize=(9.5, 3.9))
    ax1, ax2 = fig.subplots(1, 2)
    colors = [viz.COLORS["search"], viz.COLORS["learned"]]
    names = [viz.text("贪心", "greedy"), viz.text("束搜索", "beam search")]
    for ax, values, fmt in ((ax1, exact, "{:.4f}"), (ax2, bleu, "{:.2f}")):
        bars = ax.bar(names, list(values.values()), color=colors, width=0.55)
        for bar, v in zip(bars, values.values()):
            ax.text(bar.get_x() + bar.get_width() / 2, v, fmt.format(v), ha="center", va="bottom", fontsize=9)
    low = min(exact.values())
    ax1.set(title=viz.text("数字翻译：完全匹配率", "Numbers: exact match"), xlabel=viz.text("解码方式", "decoder"),
            ylabel=viz.text("完全匹配率", "exact match"), ylim=(max(0.0, low - 0.1), 1.0 + 0.05 * (1 - low + 0.1)))
    top = max(list(bleu.values()) + ([ch08_bleu] if ch08_bleu else []))
    if ch08_bleu is not None:
        ax2.axhline(ch08_bleu, color=viz.COLORS["reference"], ls="--", lw=1,
                    label=viz.text(f"ch08 GRU + 注意力 {ch08_bleu:.2f}", f"ch08 GRU + attention {ch08_bleu:.2f}"))
        ax2.legend(fontsize=8, loc="upper center")   # above the bars: the y range leaves room
    ax2.set(title=viz.text("软件界面字符串：BLEU", "Software strings: BLEU"), xlabel=viz.text("解码方式", "decoder"),
            ylabel="BLEU (sacrebleu, zh)", ylim=(0, max(1.0, top) * 1.4))
    return fig
