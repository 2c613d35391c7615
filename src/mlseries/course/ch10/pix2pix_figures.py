"""The figures and the GIF of ch10.pix2pix (grids of digits, pixel values, training curves)."""
import numpy as np

from mlseries import viz


def tile(images, gap=1):
    """Images (N, 1, 28, 28) side by side in one row, with `gap` white (0 under gray_r) columns."""
    n = len(images)
    row = np.zeros((28, n * (28 + gap) - gap))
    for k, image in enumerate(images):
        row[:, k * (28 + gap):k * (28 + gap) + 28] = image.reshape(28, 28)
    return row


def show_rows(axes, rows, labels):
    for ax, images, label in zip(axes, rows, labels):
        ax.imshow(tile(images), cmap="gray_r", vmin=0, vmax=1)
        ax.set_axis_off()    # a row of pictures: no axes, its label above it
        ax.set_title(label, loc="left", fontsize=9)


def plot_results(inputs, l1, pix, targets, numbers):
    fig = viz.figure(figsize=(10, 5.4))
    axes = fig.subplots(4, 1)
    show_rows(axes, [inputs, l1, pix, targets],
              [viz.text("输入（马赛克）", "input (mosaic)"),
               viz.text(f"只用 L1 训练的 U-Net：FD {numbers['fd_l1']:.1f}", f"U-Net trained with L1 only: FD {numbers['fd_l1']:.1f}"),
               viz.text(f"Pix2Pix（L1 + 对抗损失）：FD {numbers['fd_pix2pix']:.1f}",
                        f"Pix2Pix (L1 + adversarial): FD {numbers['fd_pix2pix']:.1f}"),
               viz.text("目标（真实数字）", "target (real digit)")])
    fig.suptitle(viz.text("Pix2Pix：由 4×4 马赛克画出数字（测试集）", "Pix2Pix: drawing digits from a 4×4 mosaic (test set)",
                          sep="\n"))
    return fig


def plot_pixel_values(real, outputs, numbers):
    fig = viz.figure(figsize=(8, 4.6))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 21)
    for (zh, en, images, key), color in zip(
            (("真实数字", "real digits", real, "grey_real"), ("只用 L1", "L1 only", outputs["l1"], "grey_l1"),
             ("Pix2Pix", "Pix2Pix", outputs["pix2pix"], "grey_pix2pix")), ("C2", "C0", "C1")):
        ax.hist(images.ravel(), bins=bins, histtype="step", lw=2, color=color,
                label=viz.text(f"{zh}：灰色像素 {numbers[key]:.1%}", f"{en}: grey pixels {numbers[key]:.1%}"))
    ax.axvspan(0.1, 0.9, color="0.9", zorder=0)
    ax.set(yscale="log", xlabel=viz.text("像素值（0 白纸，1 墨水）", "pixel value (0 paper, 1 ink)"),
           ylabel=viz.text("像素数（对数）", "pixels (log scale)"),
           title=viz.text("输出像素值：灰色区域 (0.1, 0.9) 里的像素越多越模糊",
                          "Output pixel values: more pixels in the grey band (0.1, 0.9) = blurrier", sep="\n"))
    ax.legend(loc="upper center", fontsize=8)
    return fig


def plot_cycle(a, g_a, f_g_a, b, f_b, g_f_b, numbers):
    fig = viz.figure(figsize=(10, 7))
    axes = fig.subplots(6, 1)
    show_rows(axes, [a, g_a, f_g_a, b, f_b, g_f_b],
              [viz.text("A：原数字（测试集）", "A: digit (test set)"), viz.text("G(A)：变粗", "G(A): thickened"),
               viz.text("F(G(A))：往返", "F(G(A)): round trip"),
               viz.text("B：粗数字（测试集）", "B: thick digit (test set)"), viz.text("F(B)：变细", "F(B): thinned"),
               viz.text("G(F(B))：往返", "G(F(B)): round trip")])
    fig.suptitle(viz.text(f"CycleGAN（非配对训练）：往返误差 A→B→A {numbers['cycle_mae_a']:.3f}，B→A→B {numbers['cycle_mae_b']:.3f}",
                          f"CycleGAN (trained unpaired): cycle error A→B→A {numbers['cycle_mae_a']:.3f}, "
                          f"B→A→B {numbers['cycle_mae_b']:.3f}", sep="\n"))
    return fig


def smooth(values, k=5):
    """A running mean over k logged points: GAN losses jump from batch to batch."""
    values = np.asarray(values, dtype=float)
    if len(values) < k:
        return values
    return np.convolve(values, np.ones(k) / k, mode="valid")


def plot_training(histories, fd_curves, floor, cyc):
    fig = viz.figure(figsize=(13, 8.5))
    axes = fig.subplots(2, 2)
    step_label = viz.text("训练步数", "training step")

    ax = axes[0, 0]
    for key, label, color in (("l1", viz.text("只用 L1", "L1 only"), "C0"), ("pix2pix", "Pix2Pix", "C1")):
        steps, values = zip(*fd_curves[key])
        ax.plot(steps, values, "o-", ms=3, color=color, label=label)
    ax.axhline(floor, color=viz.COLORS["reference"], ls="--", lw=1, label=viz.text("下限（真实 vs 真实）", "floor (real vs real)"))
    ax.set(yscale="log", title=viz.text("测试输出的 FD", "FD of the test outputs"), xlabel=step_label,
           ylabel=viz.text("FD（对数）", "FD (log scale)"))
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    for key, zh, en, color in (("l1", "只用 L1", "L1 only", "C0"), ("pix2pix", "Pix2Pix", "Pix2Pix", "C1")):
        h = histories[key]
        ax.plot(h["step"][len(h["step"]) - len(smooth(h["l1"])):], smooth(h["l1"]), color=color,
                label=viz.text(f"{zh}：L1 项", f"{en}: L1 term"))
    h = histories["pix2pix"]
    ax.plot(h["step"][len(h["step"]) - len(smooth(h["d"])):], smooth(h["d"]), color="C3", ls="--",
            label=viz.text("Pix2Pix 判别器 BCE", "discriminator BCE"))
    ax.plot(h["step"][len(h["step"]) - len(smooth(h["adv"])):], smooth(h["adv"]), color="C1", ls=":",
            label=viz.text("Pix2Pix 生成器对抗项", "generator adversarial BCE"))
    ax.set(yscale="log", title=viz.text("Pix2Pix 的损失（训练批次，滑动平均）", "Pix2Pix losses (training batches, running mean)",
                                        sep="\n"),
           xlabel=step_label, ylabel=viz.text("损失（对数）", "loss (log scale)"))
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    h = histories["cycle"]
    for key, label, color in (("cycle", viz.text("循环 L1", "cycle L1"), "C2"),
                              ("identity", viz.text("恒等 L1", "identity L1"), "C4")):
        ax.plot(h["step"][len(h["step"]) - len(smooth(h[key])):], smooth(h[key]), color=color, label=label)
    ax.axhline(2 * cyc["mae_mean_image"], color=viz.COLORS["reference"], ls="--", lw=1,
               label=viz.text("均值图像的误差（两个方向）", "mean image's error (both ways)"))
    ax.set(yscale="log", title=viz.text("CycleGAN：循环与恒等损失", "CycleGAN: cycle and identity losses", sep="\n"),
           xlabel=step_label, ylabel=viz.text("平均绝对误差之和（对数）", "sum of MAEs (log scale)"))
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    for key, label, color in (("adv", viz.text("生成器 LSGAN", "generators' LSGAN"), "C1"),
                              ("d", viz.text("判别器 LSGAN", "discriminators' LSGAN"), "C3")):
        ax.plot(h["step"][len(h["step"]) - len(smooth(h[key])):], smooth(h[key]), color=color, label=label)
    ax.set(title=viz.text("CycleGAN：对抗损失的拉锯", "CycleGAN: the adversarial tug of war", sep="\n"),
           xlabel=step_label, ylabel=viz.text("损失", "loss"))
    ax.legend(fontsize=8)
    fig.suptitle(viz.text("训练过程", "Training"))
    return fig


def write_gif(ctx, mosaic, digits, thick, frames, settings):
    """One frame per snapshot: the same test inputs translated by each model as it trains."""
    fig = viz.figure(figsize=(8, 7.4))
    axes = fig.subplots(7, 1)
    labels = [viz.text("马赛克", "mosaic"), viz.text("只用 L1", "L1 only"), "Pix2Pix",
              viz.text("A：原数字", "A: digit"), viz.text("G(A)：变粗", "G(A): thickened"),
              viz.text("B：粗数字", "B: thick digit"), viz.text("F(B)：变细", "F(B): thinned")]
    rows = [mosaic, frames["l1"][0], frames["pix2pix"][0], digits, frames["a2b"][0], thick, frames["b2a"][0]]
    show_rows(axes, rows, labels)
    images = [ax.get_images()[0] for ax in axes]
    title = fig.suptitle("")
    count = len(frames["l1"])
    with ctx.gif("translations_over_training.gif", fps=2, hold_last=2.5) as gif:
        for i in range(count):
            for row, key in ((1, "l1"), (2, "pix2pix"), (4, "a2b"), (6, "b2a")):
                images[row].set_data(tile(frames[key][min(i, len(frames[key]) - 1)]))
            title.set_text(viz.text(f"固定测试输入的翻译：训练进度 {i}/{count - 1}",
                                    f"Translations of fixed test inputs: training {i}/{count - 1}"))
            gif.add(fig)
