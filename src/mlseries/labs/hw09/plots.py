"""HW09's figures: explanations side by side, the deletion test, IG's completeness, filter
visualisations and the Transformer's attention."""
import numpy as np
from matplotlib.patches import Rectangle

from mlseries import viz

from .sentiment import WORDS

METHODS = {"saliency": ("梯度", "gradient"), "smoothgrad": ("加噪平均", "SmoothGrad"),
           "ig": ("积分梯度", "integrated gradients"), "lime": ("LIME（局部代理）", "LIME")}
SIGNED = ("ig", "lime")          # drawn on a diverging scale: red for the class, blue against


def word(i):
    zh, en = WORDS[i]
    return zh if viz.cjk_font() else en


def pick_examples(labels, pred, count):
    """Indices of `count` explained images of different true classes, wrong predictions included
    if there are any (what a model gets wrong is worth explaining too)."""
    chosen, seen = [], set()
    wrong = [i for i in range(len(labels)) if labels[i] != pred[i]][:1]
    for i in wrong + list(range(len(labels))):
        if labels[i] not in seen and len(chosen) < count:
            chosen.append(i)
            seen.add(labels[i])
    return np.array(chosen)


def plot_methods(images, labels, pred, maps, names):
    """Rows: images; columns: the image, then each method's map (magnitudes on 'magma', signed
    maps on a symmetric red-blue scale)."""
    n, cols = len(images), 1 + len(maps)
    fig = viz.figure(figsize=(2.0 * cols, 2.15 * n + 0.6))
    axes = fig.subplots(n, cols, squeeze=False)
    for r in range(n):
        ax = axes[r, 0]
        ax.imshow(images[r, 0], cmap="gray")
        ax.set_title(f"{names[labels[r]]}\n→ {names[pred[r]]}", fontsize=8.5,
                     color="black" if labels[r] == pred[r] else viz.COLORS["learned"])
        for c, (key, m) in enumerate(maps.items(), start=1):
            ax = axes[r, c]
            a = m[r, 0]
            if key in SIGNED:
                limit = np.abs(a).max() or 1.0
                ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit)
            else:
                ax.imshow(a, cmap="magma")
            if r == 0:
                ax.set_title(viz.text(*METHODS[key], sep="\n"), fontsize=9)
    for ax in axes.ravel():
        ax.set_axis_off()                 # pixels need no scale
    fig.suptitle(viz.text("四种方法解释同一个 CNN 的预测（真实 → 预测）",
                          "Four explanations of the CNN's predictions (true → predicted)", sep="\n"))
    return fig


def plot_deletion(fractions, p_before, curves, random, scores):
    fig = viz.figure(figsize=(9.8, 4.6))
    ax = fig.add_subplot()
    xs = np.array((0.0,) + tuple(fractions)) * 100
    for key, curve in curves.items():
        ax.plot(xs, np.r_[p_before, curve], "o-", ms=4,
                label=f"{viz.text(*METHODS[key])} (×{scores[key]:.2f})")
    ax.plot(xs, np.r_[p_before, random], "--", color="0.5", label=viz.text("随机像素", "random pixels"))
    ax.set(title=viz.text("删除测试：抹去排名最高的像素", "Deletion test: blanking the top-ranked pixels"),
           xlabel=viz.text("抹去的像素比例 (%)", "pixels blanked (%)"),
           ylabel=viz.text("预测类别的平均概率", "mean probability of the prediction", sep="\n"), ylim=(0, 1.02))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5)   # beside the axes: the curves can reach any corner
    return fig


def plot_completeness(sums, differences, errors):
    fig = viz.figure(figsize=(5.6, 5.0))
    ax = fig.add_subplot()
    lo, hi = min(sums.min(), differences.min()), max(sums.max(), differences.max())
    pad = 0.05 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ":", color=viz.COLORS["reference"],
            label=viz.text("完全相等", "equal"))
    ax.scatter(differences, sums, s=18, color=viz.COLORS["learned"], label=viz.text("每张图", "each image"))
    ax.set(title=viz.text(f"积分梯度的完备性（最大误差 {errors.max():.2%}）",
                          f"Completeness of integrated gradients (largest error {errors.max():.2%})", sep="\n"),
           xlabel=viz.text("F(x) − F(空白图)", "F(x) − F(blank)"),
           ylabel=viz.text("归因之和", "sum of attributions"))
    ax.legend(loc="lower right")          # the points run along the diagonal, clear of this corner
    return fig


def plot_filters(vis, best_images, channels, ratios):
    """Row 1: each filter's visualisation; row 2: the test image exciting it most."""
    k = len(channels)
    fig = viz.figure(figsize=(1.6 * k, 4.8))
    axes = fig.subplots(2, k, squeeze=False)
    for j in range(k):
        axes[0, j].imshow(vis[j, 0], cmap="gray")
        axes[0, j].set_title(viz.text(f"滤波器 {channels[j]}", f"filter {channels[j]}", sep="\n")
                             + f"\n×{ratios[j]:.2f}", fontsize=9)
        axes[1, j].imshow(best_images[j, 0], cmap="gray")
        axes[1, j].set_title(viz.text("最强测试图", "best test image", sep="\n"), fontsize=8)
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.suptitle(viz.text("第二层卷积滤波器的激活最大化", "Activation maximisation of second-layer filters"))
    return fig


def plot_heads(attn, ids, where, label):
    """One review's attention per layer (rows) and head (columns), tokens on both axes."""
    layers, heads = len(attn), attn[0].shape[1]
    tokens = [word(i) for i in ids]
    fig = viz.figure(figsize=(4.2 * heads, 4.0 * layers + 0.5))
    axes = fig.subplots(layers, heads, squeeze=False)
    for l in range(layers):
        for h in range(heads):
            ax = axes[l, h]
            shown = ax.imshow(attn[l][0, h], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
            ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
            ax.grid(False)
            ax.add_patch(Rectangle((where - 0.5, -0.5), 1, len(tokens), fill=False, ec=viz.COLORS["learned"], lw=1.5))
            ax.set_title(viz.text(f"第 {l + 1} 层 头 {h + 1}", f"layer {l + 1} head {h + 1}"), fontsize=10)
            ax.set(xlabel=viz.text("键", "key"), ylabel=viz.text("查询", "query"))
    fig.colorbar(shown, ax=axes, shrink=0.6, label=viz.text("注意力权重", "attention weight"))
    polarity = viz.text("正面", "positive") if label == 1 else viz.text("负面", "negative")
    fig.suptitle(viz.text(f"一条评论的注意力（标签：{polarity}；红框 = 情感词）",
                          f"Attention in one review (label: {polarity}; red box = sentiment word)", sep="\n"))
    return fig


def plot_rollout(rows, ids, where, labels):
    """Rollout weight from [CLS] to each word (cells), one review per row, the word written in."""
    n, t = rows.shape
    fig = viz.figure(figsize=(1.0 * t + 1.5, 0.6 * n + 1.6))
    ax = fig.add_subplot()
    shown = ax.imshow(rows, cmap="Blues", vmin=0, vmax=rows.max(), aspect="auto")
    for r in range(n):
        for c in range(t):
            ax.text(c, r, word(ids[r, c]), ha="center", va="center", fontsize=8,
                    color="white" if rows[r, c] > 0.6 * rows.max() else "black")
        ax.add_patch(Rectangle((where[r] - 0.5, r - 0.5), 1, 1, fill=False, ec=viz.COLORS["learned"], lw=2))
    ax.set_yticks(range(n), [viz.text("正", "pos") if y == 1 else viz.text("负", "neg") for y in labels], fontsize=8)
    ax.set_xticks(range(t), ["[CLS]"] + [str(i) for i in range(1, t)], fontsize=8)
    ax.grid(False)
    ax.set(xlabel=viz.text("位置", "position"), ylabel=viz.text("评论（标签）", "review (label)"),
           title=viz.text("[CLS] 的注意力展开（红框 = 情感词）", "Attention rollout from [CLS] (red box = sentiment word)"))
    fig.colorbar(shown, ax=ax, label=viz.text("展开权重", "rollout weight"))
    return fig
