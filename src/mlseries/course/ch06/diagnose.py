"""ch06.diagnose — 训练失败时怎么办 / When training fails (Hung-yi Lee, lecture 2).

A network that does not learn is either stuck (optimisation) or learns the wrong thing
(overfitting), and the remedies differ. Each part of the lecture is one small experiment here,
run on the engine, with its figure:

1. critical points: gradient descent can stop where the gradient is zero without being at a
   minimum. The Hessian's eigenvalues (computed with the engine's second derivatives) tell a
   saddle point (mixed signs; an eigenvector with λ < 0 points downhill) from a minimum;
2. batch size: small batches give noisy gradients and many updates per epoch, large batches
   smooth gradients and fewer, faster epochs; the sharpness of where each ends up;
3. momentum: the velocity of past steps carries descent over a small bump, past a local minimum;
4. adaptive learning rates on a ravine a hundred times steeper across than along: plain
   gradient descent must use a step small enough for the steep side; AdaGrad, RMSProp and Adam
   scale each parameter's step by its own gradient history;
5. learning-rate schedules: RMSProp with a constant rate keeps bursting out of the minimum,
   decay settles it; warm-up keeps Adam's first large steps from wrecking a deep network;
6. overfitting or optimisation failure? Compare training losses: a deeper network that fits
   the *training* data worse than a shallow one failed to optimise; a training loss near zero
   with a rising test loss is overfitting.

    mlseries run ch06.diagnose [--quick]
"""
import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
from mlseries import viz

from . import landscapes as land
from . import networks as nets
from ..registry import lesson
from ..table import format_table

FULL = dict(batches=(8, 32, 128, 512, 1438), batch_epochs=40, schedule_epochs=15,
            fit_epochs=30, overfit_epochs=150)
# quick: the batch-size runs still get 20 epochs (a second or two): after 6 the full batch had
# made 6 updates, sat at 0.32 accuracy and looked "flat" only because it had not moved
QUICK = dict(batches=(8, 128, 1438), batch_epochs=20, schedule_epochs=4,
             fit_epochs=8, overfit_epochs=60)
O = ms.optim


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "critical_points.png": ("左：从 x = 0 出发的梯度下降停在鞍点，偏一点点就到达极小值；特征值的正负区分两者。",
                            "Left: gradient descent from x = 0 stops at the saddle, a tiny nudge reaches the minimum; the eigenvalues' signs tell them apart."),
    "batch_size.png": ("小批次噪声大、每轮更慢，但训练后更平坦（尖锐度低），测试准确率不差。",
                       "Small batches are noisier and slower per epoch, but end in flatter places (low sharpness) and test at least as well."),
    "momentum.png": ("普通梯度下降停在 −2 的局部极小值，动量冲过山丘到达 2.4 处的全局极小值。",
                     "Plain gradient descent stops in the local minimum at −2; momentum carries over the hump to the global one at 2.4."),
    "adaptive_rates.png": ("在狭长峡谷上，自适应学习率（AdaGrad、Adam）比固定步长快得多；右：学习率衰减让 RMSProp 停稳。",
                           "On the ravine adaptive rates (AdaGrad, Adam) beat a fixed step by far; right: decaying the rate lets RMSProp settle."),
    "schedules.png": ("warm-up 加余弦衰减的组合训练损失最低、测试准确率最高。",
                      "Warm-up plus cosine decay ends with the lowest training loss and the best test accuracy."),
    "overfitting_vs_optimisation.png": ("训练损失高 → 优化失败；训练损失低而测试损失高 → 过拟合。",
                                        "High training loss: an optimisation failure; low training loss but high test loss: overfitting."),
}


# ---------------------------------------------------------------- 1, 3, 4: the small surfaces

def critical_points():
    """Gradient descent from two nearby starts on the saddle surface, and the points classified."""
    gd = lambda p: O.SGD(p, lr=0.1)  # noqa: E731
    to_saddle = land.descend(land.saddle_surface, (0.0, 1.5), gd, 200)   # x = 0 exactly: ∂f/∂x stays 0
    to_minimum = land.descend(land.saddle_surface, (0.01, 1.5), gd, 200)
    found = [land.critical_point(land.saddle_surface, path[-1, :2]) for path in (to_saddle, to_minimum)]
    lee = [land.critical_point(land.two_weights, p) for p in ((0.0, 0.0), (1.0, 1.0))]
    return (to_saddle, to_minimum), found, lee


def optimiser_race(steps):
    """Every optimiser from the same start on the ravine: {name: path}."""
    start = (-4.5, 0.45)
    makers = {
        "GD, lr 0.019": lambda p: O.SGD(p, lr=0.019),             # 2/100 would diverge across
        "GD + momentum 0.9": lambda p: O.SGD(p, lr=0.005, momentum=0.9),
        "AdaGrad": lambda p: O.Adagrad(p, lr=1.0),
        "RMSProp": lambda p: O.RMSprop(p, lr=0.1, alpha=0.9),
        "Adam": lambda p: O.Adam(p, lr=0.3),
    }
    return {name: land.descend(land.ravine, start, make, steps) for name, make in makers.items()}


def rmsprop_decay(steps):
    """RMSProp on the ravine with a constant rate and with cosine decay."""
    make = lambda p: O.RMSprop(p, lr=0.1, alpha=0.9)  # noqa: E731
    return {"RMSProp, constant lr": land.descend(land.ravine, (-4.5, 0.45), make, steps),
            "RMSProp, cosine decay": land.descend(
                land.ravine, (-4.5, 0.45), make, steps,
                lambda opt: O.lr_scheduler.CosineAnnealingLR(opt, T_max=steps))}


def momentum_race():
    start = (-3.5,)
    return {"GD": land.descend(land.bumpy, start, lambda p: O.SGD(p, lr=0.05), 300),
            "GD + momentum 0.9": land.descend(land.bumpy, start, lambda p: O.SGD(p, lr=0.05, momentum=0.9), 300)}


# ---------------------------------------------------------------- figures

def _grid(f, xs, ys):
    gx, gy = np.meshgrid(xs, ys)
    with ms.no_grad():
        z = f(ms.tensor(np.stack([gx, gy]))).numpy()
    return gx, gy, z


def plot_critical(paths, found, lee):
    fig = viz.figure(figsize=(11, 4.6))
    left, right = fig.subplots(1, 2)
    kinds_zh = {"saddle point": "鞍点", "local minimum": "局部极小值", "local maximum": "局部极大值",
                "flat direction": "平坦方向"}

    def kind(info):   # the kind in both languages, as the rest of the figure
        en = info["kind"].split(":")[0]
        return viz.text(kinds_zh[en], en) if en in kinds_zh else en

    gx, gy, z = _grid(land.saddle_surface, np.linspace(-1.6, 1.6, 200), np.linspace(-1, 1.7, 200))
    left.contourf(gx, gy, z, levels=30, cmap="Blues_r")
    left.contour(gx, gy, z, levels=30, colors="white", linewidths=0.3)
    for path, info, color, label in zip(paths, found, ("C3", "C1"), ("x₀ = 0", "x₀ = 0.01")):
        left.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, color=color, label=f"GD, {label}")
        lam = ", ".join(f"{v:+.2f}" for v in info["eigenvalues"])
        left.annotate(f"{kind(info)}\nλ = ({lam})", path[-1, :2], xytext=(10, -38),
                      textcoords="offset points", fontsize=8, color="k",
                      bbox=dict(boxstyle="round", fc="white", ec=color))
    saddle = found[0]
    u = saddle["eigenvectors"][:, 0] * 0.5
    left.annotate("", xy=saddle["point"] + u, xytext=saddle["point"],
                  arrowprops=dict(arrowstyle="->", color="C3", lw=2))
    left.set(title=viz.text("f = x⁴/4 − x²/2 + y²/2：鞍点与极小值", "f = x⁴/4 − x²/2 + y²/2: saddle and minimum",
                            sep="\n"), xlabel="x", ylabel="y")
    left.grid(False)
    left.legend(loc="upper left", fontsize=8)
    gx, gy, z = _grid(land.two_weights, np.linspace(-2, 2, 200), np.linspace(-2, 2, 200))
    filled = right.contourf(gx, gy, np.log10(z + 1e-3), levels=30, cmap="viridis")
    fig.colorbar(filled, ax=right, label=viz.text("log₁₀ 损失", "log₁₀ loss"))
    right.grid(False)
    for info, marker in zip(lee, ("X", "o")):
        lam = ", ".join(f"{v:+.1f}" for v in info["eigenvalues"])
        right.plot(*info["point"], marker, color="white", ms=9, mec="k",
                   label=f"{tuple(info['point'].tolist())}: {kind(info)}, λ = ({lam})")
    right.set(title=viz.text("李宏毅的例子：ŷ = w₁w₂x，损失 (1 − w₁w₂)²",
                             "Lee's example: ŷ = w₁w₂x, loss (1 − w₁w₂)²", sep="\n"),
              xlabel="w₁", ylabel="w₂")
    right.legend(loc="lower left", fontsize=8)
    return fig


def plot_momentum(paths):
    fig = viz.figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    w = np.linspace(-3.8, 3.3, 300)
    with ms.no_grad():
        left.plot(w, land.bumpy(ms.tensor(w[None])).numpy(), color="0.3", label=viz.text("损失", "loss"))
    for (name, path), color in zip(paths.items(), ("C0", "C3")):
        left.plot(path[::3, 0], path[::3, 1], "o", ms=3.5, color=color, alpha=0.6, label=name)
        right.plot(path[:, 0], color=color, label=name)
    left.set(title=viz.text("动量冲过局部极小值", "Momentum rolls past a local minimum"),
             xlabel="w", ylabel=viz.text("损失", "loss"))
    right.set(title=viz.text("参数随步数的变化", "Parameter over the steps"),
              xlabel=viz.text("步数", "step"), ylabel="w")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return fig


def plot_ravine(race, decay):
    fig = viz.figure(figsize=(13, 4.2))
    a, b, c = fig.subplots(1, 3, width_ratios=[1.5, 1, 1])
    gx, gy, z = _grid(land.ravine, np.linspace(-5, 1, 200), np.linspace(-0.7, 0.7, 200))
    a.contour(gx, gy, z, levels=np.geomspace(0.01, 40, 14), colors="0.6", linewidths=0.6)
    a.grid(False)
    for name, path in race.items():
        a.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, label=name)
        b.semilogy(path[:, 2], label=name)
    a.set(title=viz.text("峡谷 (w₁² + 100·w₂²)/2 上的轨迹", "Paths on the ravine (w₁² + 100·w₂²)/2", sep="\n"),
          xlabel="w₁", ylabel="w₂", ylim=(-0.7, 0.7))
    a.legend(fontsize=7.5, loc="lower right")
    b.set(title=viz.text("损失", "Loss", sep="\n"), xlabel=viz.text("步数", "step"), ylabel=viz.text("损失", "loss"))
    for name, path in decay.items():
        c.semilogy(np.maximum(path[:, 2], 1e-32), label=name)
    c.set(title=viz.text("RMSProp：学习率衰减让它停下", "RMSProp: decay lets it settle", sep="\n"),
          xlabel=viz.text("步数", "step"), ylabel=viz.text("损失", "loss"))
    c.legend(fontsize=8)
    return fig


def plot_batches(rows):
    fig = viz.figure(figsize=(13, 3.8))
    axes = fig.subplots(1, 4)
    labels = [str(r["batch"]) for r in rows]
    specs = [("noise", viz.text("梯度噪声 ‖g_B − g‖/‖g‖", "gradient noise ‖g_B − g‖/‖g‖", sep="\n"),
              viz.text("噪声", "noise")),
             ("seconds_per_epoch", viz.text("每轮秒数", "seconds per epoch"), viz.text("秒", "seconds")),
             ("sharpness", viz.text("训练后 Hessian 最大特征值", "largest Hessian eigenvalue after training", sep="\n"),
              viz.text("尖锐度", "sharpness"))]
    for ax, (key, title, ylabel) in zip(axes, specs):
        ax.bar(labels, [r[key] for r in rows], color=viz.COLORS["data"])
        ax.set(title=title, xlabel=viz.text("批次大小", "batch size"), ylabel=ylabel)
    ax = axes[3]
    for r in rows:
        ax.plot(np.arange(1, len(r["history"]) + 1), r["history"][:, 3], label=f"B = {r['batch']}")
    ax.set(title=viz.text("测试准确率", "Test accuracy"), xlabel=viz.text("轮次", "epoch"),
           ylabel=viz.text("准确率", "accuracy"))
    ax.legend(loc="lower right", fontsize=8.5)
    return fig


SCHEDULE_ZH = {"constant": "恒定", "warm-up": "预热", "cosine decay": "余弦衰减",
               "warm-up + cosine decay": "预热 + 余弦衰减"}


def plot_schedules(runs):
    fig = viz.figure(figsize=(12, 4))
    left, middle, right = fig.subplots(1, 3)
    for name, r in runs.items():
        steps = r["steps"]
        window = 20
        smooth = np.convolve(steps, np.ones(window) / window, mode="valid")
        left.plot(np.arange(window - 1, len(steps)), smooth, label=viz.text(SCHEDULE_ZH.get(name, name), name))
        middle.plot(r["lrs"], label=name)
        right.plot(np.arange(1, len(r["history"]) + 1), r["history"][:, 3], "o-", ms=3, label=name)
    left.set(title=viz.text("训练损失（20 步平均）", "Training loss (20-step mean)"),
             xlabel=viz.text("步数", "step"), ylabel=viz.text("损失", "loss"), yscale="log")
    middle.set(title=viz.text("学习率", "Learning rate"), xlabel=viz.text("步数", "step"),
               ylabel=viz.text("学习率", "learning rate"))
    right.set(title=viz.text("测试准确率", "Test accuracy"), xlabel=viz.text("轮次", "epoch"),
              ylabel=viz.text("准确率", "accuracy"))
    # one legend for the three panels, below them: in the loss panel it would cover a curve
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8.5)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


VERDICT_ZH = {"fine": "正常", "optimisation failure": "优化失败", "overfitting": "过拟合"}


def _case_zh(name):
    """A case name of networks.fitting in Chinese, for the figure (the log keeps English)."""
    words = [("shallow sigmoid", "浅层 sigmoid"), ("deep sigmoid", "深层 sigmoid"), ("deep ReLU", "深层 ReLU"),
             ("wide ReLU", "宽 ReLU"), ("10 hidden", "10 个隐藏层"), ("training examples", "个训练样本"),
             (", ", "，"), (" (", "（"), ("(", "（"), (")", "）")]
    for en, zh in words:
        name = name.replace(en, zh)
    return name


def plot_fitting(cases, verdicts):
    fig = viz.figure(figsize=(13.5, 4.2))
    axes = fig.subplots(1, len(cases))
    for ax, (name, case) in zip(axes, cases.items()):
        h = case["history"]
        epochs = np.arange(1, len(h) + 1)
        ax.plot(epochs, h[:, 0], label=viz.text("训练", "train"))
        ax.plot(epochs, h[:, 1], label=viz.text("测试", "test"))
        title = viz.text(f"{_case_zh(name)}\n→ {VERDICT_ZH.get(verdicts[name], verdicts[name])}",
                         f"{name}\n→ {verdicts[name]}", sep="\n")
        ax.set(title=title, xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("损失", "loss"),
               ylim=(0, max(2.5, h[:, 1].max() * 1.05)))
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch06.diagnose", zh="训练失败时怎么办：鞍点、批次大小、动量、自适应学习率、学习率调度、过拟合",
        en="When training fails: saddle points, batch size, momentum, adaptive rates, schedules, overfitting")
def run(ctx):
    with nets.one_blas_thread():
        _run(ctx)


def _run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. critical points
    paths, found, lee = critical_points()
    for name, info in zip(("GD from (0, 1.5)", "GD from (0.01, 1.5)"), found):
        ctx.log(f"{name} stops at {info['point'].round(4)}: |∇f| = {info['gradient_norm']:.1e}, "
                f"Hessian eigenvalues {info['eigenvalues'].round(4)} → {info['kind']}")
    drop = land.escape_along(land.saddle_surface, found[0])
    ctx.log(f"a step of 0.1 from the saddle along the eigenvector of λ < 0 changes f by {drop:+.5f}")
    for info in lee:
        ctx.log(f"Lee's (1 − w₁w₂)² at {tuple(info['point'].tolist())}: eigenvalues {info['eigenvalues'].round(4)} "
                f"→ {info['kind']}")
    ctx.record(saddle_point=found[0]["point"], saddle_eigenvalues=found[0]["eigenvalues"],
               minimum_point=found[1]["point"], minimum_eigenvalues=found[1]["eigenvalues"],
               saddle_escape_change=drop, lee_origin_eigenvalues=lee[0]["eigenvalues"],
               lee_minimum_eigenvalues=lee[1]["eigenvalues"])
    ctx.check("GD from x = 0 stalls at a saddle: gradient 0, one Hessian eigenvalue < 0",
              found[0]["kind"] == "saddle point" and found[0]["gradient_norm"] < 1e-6)
    ctx.check("the nearby start reaches a minimum: every eigenvalue > 0", found[1]["kind"] == "local minimum")

    # 2. batch size
    rows = nets.batch_sizes(nets.digits(), settings["batches"], settings["batch_epochs"], ctx.seed)
    ctx.log("\n" + format_table(
        ["batch", "updates", "gradient noise", "s/epoch", "train loss", "test loss", "test acc", "sharpness"],
        [(r["batch"], r["updates"], f"{r['noise']:.3f}", f"{r['seconds_per_epoch']:.3f}",
          f"{r['train_loss']:.4f}", f"{r['test_loss']:.4f}", f"{r['test_acc']:.4f}", f"{r['sharpness']:.2f}")
         for r in rows], ">>>>>>>>"))
    for r in rows:
        ctx.record(**{f"batch{r['batch']}_{k}": r[k] for k in
                      ("noise", "seconds_per_epoch", "train_loss", "test_loss", "test_acc", "sharpness")})
    noise = [r["noise"] for r in rows]
    ctx.check("gradient noise falls as the batch grows", all(a > b for a, b in zip(noise, noise[1:])))

    # 3. momentum
    bump = momentum_race()
    ends = {name: path[-1, 0] for name, path in bump.items()}
    ctx.log("\n" + "; ".join(f"{n} ends at w = {w:.3f}" for n, w in ends.items())
            + " (local minimum −2.035, global 2.394)")
    ctx.record(momentum_end=ends["GD + momentum 0.9"], gd_end=ends["GD"])
    ctx.check("momentum passes the local minimum that stops plain GD",
              ends["GD"] < 0 < ends["GD + momentum 0.9"])

    # 4-5. adaptive rates and decay on the ravine
    race, decay = optimiser_race(100), rmsprop_decay(200)
    final = {name: path[-1, 2] for name, path in race.items()}
    ctx.log("\nloss after 100 steps on the ravine: " + ", ".join(f"{n} {v:.1e}" for n, v in final.items()))
    settled = {name: path[-1, 2] for name, path in decay.items()}
    ctx.log("after 200 steps: " + ", ".join(f"{n} {v:.1e}" for n, v in settled.items()))
    keys = dict(zip(race, ("gd", "momentum", "adagrad", "rmsprop", "adam")))
    ctx.record(**{f"ravine_{keys[n]}": v for n, v in final.items()},
               rmsprop_constant=settled["RMSProp, constant lr"], rmsprop_decay=settled["RMSProp, cosine decay"])
    ctx.check("AdaGrad and Adam beat plain GD on the ravine in 100 steps",
              max(final["AdaGrad"], final["Adam"]) < final["GD, lr 0.019"])
    ctx.check("cosine decay lets RMSProp settle (1000× lower loss than a constant rate)",
              settled["RMSProp, cosine decay"] * 1000 < settled["RMSProp, constant lr"])

    # 5. warm-up and decay on a deep network
    runs = nets.schedules(nets.digits(), settings["schedule_epochs"], ctx.seed)
    ctx.log("\n" + format_table(["Adam lr 1e-2, 8 hidden layers", "train loss", "test loss", "test acc"],
                                [(n, f"{r['history'][-1, 0]:.4f}", f"{r['history'][-1, 1]:.4f}",
                                  f"{r['history'][-1, 3]:.4f}") for n, r in runs.items()], "<>>>"))
    for name, r in runs.items():
        key = name.replace(" + ", "_").replace(" ", "_").replace("-", "")
        ctx.record(**{f"schedule_{key}_train_loss": r["history"][-1, 0],
                      f"schedule_{key}_test_acc": r["history"][-1, 3]})
    ctx.check("warm-up + decay ends with a lower training loss than a constant rate",
              runs["warm-up + cosine decay"]["history"][-1, 0] < runs["constant"]["history"][-1, 0])

    # 6. overfitting or optimisation failure?
    cases = nets.fitting(nets.digits(), settings["fit_epochs"], settings["overfit_epochs"], ctx.seed)
    reference = cases["shallow sigmoid, SGD"]["history"][-1, 0]
    verdicts = {name: nets.diagnose(case, reference) for name, case in cases.items()}
    ctx.log("\n" + format_table(
        ["model", "train examples", "train loss", "test loss", "best test loss (epoch)", "diagnosis"],
        [(n, c["train_size"], f"{c['history'][-1, 0]:.4f}", f"{c['history'][-1, 1]:.4f}",
          f"{c['history'][:, 1].min():.4f} ({int(c['history'][:, 1].argmin()) + 1})", verdicts[n])
         for n, c in cases.items()], "<>>>><"))
    for name, case in cases.items():
        key = name.split(",")[0].replace(" ", "_").replace("(", "").replace(")", "")
        ctx.record(**{f"fit_{key}_train_loss": case["history"][-1, 0],
                      f"fit_{key}_test_loss": case["history"][-1, 1], f"fit_{key}_diagnosis": verdicts[name]})
    names = list(cases)
    ctx.check("the deep sigmoid network is diagnosed as an optimisation failure, the 60-example "
              "one as overfitting", verdicts[names[1]] == "optimisation failure"
              and verdicts[names[3]] == "overfitting")

    # figures
    ctx.save_figure(plot_critical(paths, found, lee), "critical_points.png")
    ctx.save_figure(plot_batches(rows), "batch_size.png")
    ctx.save_figure(plot_momentum(bump), "momentum.png")
    ctx.save_figure(plot_ravine(race, decay), "adaptive_rates.png")
    ctx.save_figure(plot_schedules(runs), "schedules.png")
    ctx.save_figure(plot_fitting(cases, verdicts), "overfitting_vs_optimisation.png")
