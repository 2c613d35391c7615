"""The figures of ch11.diffusion: forward noising, the score and Langevin, DDPM training and
samples, DDIM against steps, guidance, and the two GIFs."""
import numpy as np
from matplotlib.ticker import NullFormatter

from mlseries import viz


def tile(images, cols):
    """Images (N, 1, 28, 28) in [0, 1] as one picture with 1-pixel gaps (0 = white under gray_r)."""
    n = len(images)
    rows = -(-n // cols)
    sheet = np.zeros((rows * 29 - 1, cols * 29 - 1))
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        sheet[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = image.reshape(28, 28)
    return sheet


def show(ax, picture, title=None):
    ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1)
    if title:
        ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def forward(panels, mix2d):
    """Top row: 1-D histograms of x_t with the closed-form density; bottom: 2-D samples of x_t."""
    fig = viz.figure(figsize=(14, 6.6))
    axes = fig.subplots(2, len(panels))
    grid = np.linspace(-3.5, 3.5, 400)
    for col, p in enumerate(panels):
        ax = axes[0, col]
        ax.hist(p["x1"], bins=80, range=(-3.5, 3.5), density=True, color=viz.COLORS["data"], alpha=0.6,
                label=viz.text("样本", "samples"))
        ax.plot(grid, p["density"].density(grid[:, None]), color=viz.COLORS["reference"], lw=1.4,
                label=viz.text("闭式 q(x_t)", "closed form q(x_t)"))
        ax.set(title=f"t = {p['t'] + 1}   √ᾱ = {p['scale']:.2f}", xlabel="x_t",
               ylabel=viz.text("密度", "density"), xlim=(-3.5, 3.5))
        ax = axes[1, col]
        for k in range(len(mix2d["weights"])):
            pts = p["x2"][p["k2"] == k][:1500]
            ax.scatter(pts[:, 0], pts[:, 1], s=2, color=f"C{k}", alpha=0.5, rasterized=True,
                       label=viz.text(f"成分 {k + 1}", f"component {k + 1}"))
        ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal", xlabel="x₁", ylabel="x₂")
    handles = axes[0, 0].get_legend_handles_labels()[0] + axes[1, 0].get_legend_handles_labels()[0]
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncol=5, markerscale=5,
               fontsize=9, frameon=False)
    fig.suptitle(viz.text("前向加噪：x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε，混合分布逐步变成标准正态",
                          "Forward noising x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε: the mixtures blur into a standard normal",
                          sep="\n"))
    return fig


def score_langevin(toy):
    mix = toy["mixture"]
    fig = viz.figure(figsize=(14, 5))
    axes = fig.subplots(1, 3)
    lim = 6
    g = np.linspace(-lim, lim, 200)
    gx, gy = np.meshgrid(g, g)
    logp = mix.log_density(np.stack([gx.ravel(), gy.ravel()], 1)).reshape(gx.shape)
    a = np.linspace(-lim + 0.5, lim - 0.5, 17)
    ax_, ay_ = np.meshgrid(a, a)
    pts = np.stack([ax_.ravel(), ay_.ravel()], 1)
    learned = toy["score"](pts, 1.0)              # a middle σ: arrows everywhere, not only near the modes
    length = np.linalg.norm(learned, axis=1, keepdims=True)
    arrows = learned / np.maximum(length, 1e-9)   # directions only: the length varies a hundredfold
    ax = axes[0]
    ax.contourf(gx, gy, np.maximum(logp, -25), levels=20, cmap="Blues")
    ax.quiver(pts[:, 0], pts[:, 1], arrows[:, 0], arrows[:, 1], color=viz.COLORS["learned"], scale=30,
              width=0.004, label=viz.text("学到的分数方向（σ = 1）", "learned score direction (σ = 1)"))
    ax.set(title=viz.text("log p(x) 与学到的分数 s_θ(x, σ)", "log p(x) and the learned score s_θ(x, σ)", sep="\n"))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.28), fontsize=8)
    for ax, key, zh, en in ((axes[1], "plain", f"朗之万，单一 σ = {toy['sigma']}", f"Langevin at one σ = {toy['sigma']}"),
                            (axes[2], "annealed", "退火朗之万（σ 从 6 到 0.1）", "annealed Langevin (σ from 6 to 0.1)")):
        ax.contour(gx, gy, logp, levels=np.linspace(-12, logp.max(), 6), colors=viz.COLORS["reference"],
                   linewidths=0.6, linestyles="solid")
        p = toy[key]
        ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.4, color=viz.COLORS["learned"], rasterized=True,
                   label=viz.text("采样点", "samples"))
        shares = ((p[:, None, :] - mix.means[None]) ** 2).sum(-1).argmin(1)
        for k, m in enumerate(mix.means):
            share = np.mean(shares == k)
            ax.annotate(f"{share:.2f} ({mix.weights[k]:.1f})", m + np.array([0, 1.0]), ha="center", fontsize=9,
                        bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.8))
        ax.set(title=viz.text(zh, en, sep="\n"))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.28), fontsize=8)
    for ax in axes:
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="x₁", ylabel="x₂")
    fig.suptitle(viz.text("二维高斯混合：分数与朗之万采样（标注：采样比例（真实权重））",
                          "A 2-D Gaussian mixture: the score and Langevin sampling (labels: share of samples (true weight))",
                          sep="\n"))
    return fig


def training(losses, track, dcgan, floor):
    fig = viz.figure(figsize=(12, 5.2))
    axes = fig.subplots(1, 2)
    ax = axes[0]
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color=viz.COLORS["data"], alpha=0.3, lw=0.8, label=viz.text("每步", "each step"))
    window = max(len(losses) // 30, 1)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1:], smooth, color=viz.COLORS["learned"], lw=1.6,
            label=viz.text(f"{window} 步平均", f"mean of {window} steps"))
    ax.set(title=viz.text("噪声预测损失 ‖ε − ε_θ(x_t, t)‖²", "noise-prediction loss ‖ε − ε_θ(x_t, t)‖²", sep="\n"),
           xlabel=viz.text("训练步数", "training step"), ylabel=viz.text("加权 MSE", "weighted MSE"),
           ylim=(0, min(max(losses), 1.2)))
    ax = axes[1]
    ax.plot(track["step"], track["fd"], "o-", color=viz.COLORS["learned"], label=viz.text("DDPM 样本（DDIM 10 步）",
                                                                                        "DDPM samples (DDIM, 10 steps)"))
    if np.isfinite(dcgan):
        ax.axhline(dcgan, color=viz.COLORS["search"], ls="--", label="DCGAN (ch10.gan)")
    ax.axhline(floor, color=viz.COLORS["reference"], ls=":", label=viz.text("下限（真实 vs 真实）", "floor (real vs real)"))
    ax.set(title=viz.text("样本的 FD 随训练的变化", "FD of samples over training", sep="\n"), yscale="log",
           xlabel=viz.text("训练步数", "training step"), ylabel=viz.text("FD（对数）", "FD (log scale)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
    fig.suptitle(viz.text("DDPM 的训练", "Training the DDPM"))
    return fig


def samples(generated, real, fd_value):
    fig = viz.figure(figsize=(10, 5.4))
    axes = fig.subplots(1, 2)
    show(axes[0], tile(generated, 8), viz.text(f"DDPM 样本（FD {fd_value:.1f}）", f"DDPM samples (FD {fd_value:.1f})"))
    show(axes[1], tile(real[:64], 8), viz.text("真实测试图像", "real test images"))
    fig.suptitle(viz.text("从噪声生成的数字（无标签）", "Digits made from noise (no label)"))
    return fig


def ddim(results, fd_ddpm, T, dcgan, floor):
    fig = viz.figure(figsize=(13, 5))
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.1])
    ax = left.subplots()
    steps = sorted(results)
    ax.plot(steps, [results[s]["fd"] for s in steps], "o-", color=viz.COLORS["learned"],
            label=viz.text("DDIM（η = 0，确定性）", "DDIM (η = 0, deterministic)"))
    ax.plot([T], [fd_ddpm], "s", ms=9, color=viz.COLORS["data"], label=viz.text(f"DDPM（{T} 步）", f"DDPM ({T} steps)"))
    if np.isfinite(dcgan):
        ax.axhline(dcgan, color=viz.COLORS["search"], ls="--", label="DCGAN (ch10.gan)")
    ax.axhline(floor, color=viz.COLORS["reference"], ls=":", label=viz.text("下限", "floor"))
    ax.set(xscale="log", yscale="log", xlabel=viz.text("采样步数（模型调用次数）", "sampling steps (model calls)"),
           ylabel=viz.text("FD（对数）", "FD (log scale)"),
           title=viz.text("FD 与采样步数", "FD against the number of steps"))
    ax.set_xticks(steps + [T], [str(s) for s in steps + [T]])
    ax.xaxis.set_minor_formatter(NullFormatter())   # only the step counts we ran
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    axes = right.subplots(len(steps), 1)
    for ax, s in zip(np.atleast_1d(axes), steps):
        show(ax, tile(results[s]["images"], 8))
        ax.text(-0.02, 0.5, viz.text(f"{s} 步", f"{s} steps", sep="\n"), transform=ax.transAxes, ha="right",
                va="center", fontsize=9)
    right.suptitle(viz.text("同一初始噪声 x_T，不同步数", "the same x_T, different step counts"), fontsize=11)
    fig.suptitle(viz.text("DDIM：用更少的步数采样", "DDIM: sampling with fewer steps"))
    return fig


def guidance(guided, per_class, guide_w):
    weights = sorted(guided)
    fig = viz.figure(figsize=(14, 6))
    left, right = fig.subfigures(1, 2, width_ratios=[2, 1])
    cols = min(per_class, 8)
    for ax, w in zip(left.subplots(1, 2), (weights[0], guide_w)):
        images = guided[w]["images"].reshape(10, per_class, 1, 28, 28)[:, :cols].reshape(-1, 1, 28, 28)
        show(ax, tile(images, cols), viz.text(f"w = {w:g}：准确率 {guided[w]['accuracy']:.2f}",
                                              f"w = {w:g}: accuracy {guided[w]['accuracy']:.2f}"))
        for c in range(10):   # the asked class at the left of each row
            ax.text(-3, c * 29 + 14, str(c), ha="right", va="center", fontsize=10)
    left.suptitle(viz.text("每行要求一个类别（行首数字）", "each row asks for one class (the digit on its left)"),
                  fontsize=11)
    top, bottom = right.subplots(2, 1, sharex=True)
    top.plot(weights, [guided[w]["accuracy"] for w in weights], "o-", color=viz.COLORS["learned"])
    top.set(ylabel=viz.text("判为所要求类别", "classified as asked"), ylim=(0, 1.05), xlabel="w",
            title=viz.text("引导：更准……", "Guidance: more on target …"))
    bottom.plot(weights, [guided[w]["fd"] for w in weights], "s-", color=viz.COLORS["data"])
    bottom.set(xlabel=viz.text("引导强度 w", "guidance weight w"), ylabel="FD",
               title=viz.text("……但样本的 FD", "… and the samples' FD"))
    fig.suptitle(viz.text("无分类器引导：ε̃ = (1 + w) ε(x, y) − w ε(x, ∅)",
                          "Classifier-free guidance: ε̃ = (1 + w) ε(x, y) − w ε(x, ∅)"))
    return fig


def sampling_gif(ctx, frames, T):
    """frames: [(t, x_t (36, …), x̂_0 (36, …))] from t = T−1 down to 0."""
    fig = viz.figure(figsize=(8, 4.6))
    axes = fig.subplots(1, 2)
    left = axes[0].imshow(tile(frames[0][1], 6), cmap="gray_r", vmin=0, vmax=1)
    right = axes[1].imshow(tile(frames[0][2], 6), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_title("x_t")
    axes[1].set_title(viz.text("模型猜测的 x̂₀", "the model's guess x̂₀"))
    for ax in axes:
        ax.set_axis_off()
    title = fig.suptitle("")
    with ctx.gif("sampling.gif", fps=4, hold_last=2.5) as gif:
        for t, xt, x0 in frames:
            left.set_data(tile(xt, 6))
            right.set_data(tile(x0, 6))
            title.set_text(viz.text(f"DDPM 反向过程：第 {t + 1} / {T} 步", f"DDPM reverse process: step {t + 1} of {T}"))
            gif.add(fig)


def training_gif(ctx, track):
    fig = viz.figure(figsize=(5, 5.4))
    ax = fig.subplots()
    image = ax.imshow(tile(track["frames"][0], 6), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    title = fig.suptitle("")
    with ctx.gif("samples_over_training.gif", fps=1, hold_last=2.5) as gif:
        for step, frame, value in zip(track["step"], track["frames"], track["fd"]):
            image.set_data(tile(frame, 6))
            title.set_text(viz.text(f"第 {step} 步，FD {value:.1f}", f"step {step}, FD {value:.1f}", sep="\n"))
            gif.add(fig)
