"""hw13.compress — 网络压缩：知识蒸馏、深度可分离卷积、剪枝 / HW13 network compression.

**The original lab.** A teacher network (a ResNet-18 trained on Food-11) is given; the student
must have at most 100 000 parameters and should lose as little accuracy as possible. The TA's
sample student is a small plain CNN trained on the labels alone; the lab then asks for
knowledge distillation (知识蒸馏), a student built of depthwise-separable convolutions (深度可分离
卷积), and network pruning (剪枝).

**The substitute.** Fashion-MNIST shrunk to 14×14 (as in chapter 7's residual lesson, so that a
teacher and four students train on a CPU in minutes). The teacher is chapter 7's residual network
(`course/ch07/resnet.py`), 8 layers wide enough for about 168 000 parameters, trained here first.
It keeps the lab's question — how close can a network of a fraction of the teacher's parameters
get, and which technique buys what — and loses the 11 food classes' colour photographs, the
pretrained ResNet-18 and its 11 M parameters (the compression factor here is ~6×, not ~100×).
The leaderboard's accuracies are on Food-11, printed for context only.

**The rungs** (every student ≤ 100 000 parameters, the same epochs and optimiser as the teacher:
SGD with momentum and a cosine schedule):

1. *Student alone (the TA's sample)* — a plain CNN (conv-BN-ReLU ×3, 16/32/64 channels, global
   average pooling), about 24 000 parameters, trained on the labels (cross-entropy).
2. *+ knowledge distillation* — the same student trained on the teacher's softened outputs
   (T = 4, α = 0.5, `techniques.py`): the soft targets carry which wrong classes are *nearly* right.
3. *depthwise-separable student + KD* — about the same parameter count spent on depthwise-separable
   convolutions, so the student is 3× wider (48/96/192 channels).
4. *+ magnitude pruning* — half the weights of every convolution and linear layer of the better
   distilled student (the smallest |w|) set to zero and held there while it is fine-tuned with KD:
   the parameter count that matters (non-zero weights) about halves.

Each rung's technique name carries its parameter count (non-zero ones for the pruned student).

**Target:** the best student within 2 points of the teacher's test accuracy (issue 16's target,
on the substitute).

    mlseries run hw13 [--quick]
"""
import numpy as np
from matplotlib.ticker import NullFormatter

import mlseries as ms
from mlseries import viz

from ...course.ch07.resnet import TRAIN, halve
from ...course.registry import lesson
from ...course.training import accuracy, count_parameters, fashion_mnist, fashion_names, outputs, train_epoch
from ..ladder import Ladder
from .students import cnn_student, separable_student, teacher
from .techniques import (MaskedOptimizer, apply_masks, kd_loss, magnitude_masks, nonzero_parameters,
                         pack_targets, prunable)

# train/test: images (14×14); epochs for the teacher and each student; prune_epochs: fine-tuning after pruning
FULL = dict(train=10000, test=5000, epochs=8, prune_epochs=3, batch=128, teacher=(24, 48, 96))
QUICK = dict(train=2000, test=1000, epochs=5, prune_epochs=2, batch=64, teacher=(24, 48, 96))
KD = dict(temperature=4.0, alpha=0.5)
PRUNE = 0.5                      # fraction of each layer's weights set to zero
LIMIT = 100_000                  # the lab's parameter budget for a student
SAMPLE = (16, 32, 64)            # the plain student's channels
SEPARABLE = (48, 96, 192)        # the depthwise-separable student's: about the same parameters

CAPTIONS = {
    "ladder.png": ("每个台阶的学生测试准确率；括号里是参数量（剪枝后为非零参数）。",
                   "Each rung's student test accuracy; the parameter count (non-zero after pruning) is in its name."),
    "params_accuracy.png": ("准确率对参数量（对数轴）：学生在 10 万参数的限制内，越往左越小；虚线是教师减 2 个百分点的目标。",
                            "Accuracy against parameters (log axis): the students stay under the 100 000 limit, smaller to "
                            "the left; the dashed line is the target, the teacher minus 2 points."),
    "soft_targets.png": ("教师对几张测试图的输出：T = 1 时几乎只有一个类别，T = 4 时显出哪些错误类别也“有点像”——蒸馏传给学生的正是这些。",
                         "The teacher's outputs for a few test images: at T = 1 nearly one class; at T = 4 the wrong "
                         "classes that look a bit alike show up, and that is what distillation passes on."),
    "pruning.png": ("剪枝前一层的权重分布：虚线之间的一半（绝对值最小的）被置零，微调后其余权重补上了损失。",
                    "One layer's weights before pruning: the half between the dashed lines (smallest |w|) is set "
                    "to zero; fine-tuning lets the rest make up for it."),
}


# ---------------------------------------------------------------- training

def train(ctx, model, data, cfg, epochs, name, loss_fn=None, optimizer_wrap=None):
    """Chapter 7's recipe for every network here: SGD with momentum, weight decay and a cosine
    schedule over all steps, through the course's `train_epoch`. `loss_fn` replaces cross-entropy
    (then data's y holds the packed targets of techniques.pack_targets); `optimizer_wrap(optimizer)`
    wraps the optimiser (pruning's masks). Returns the test accuracies after each epoch."""
    (x, y), test = data
    optimizer = ms.optim.SGD(model.parameters(), lr=TRAIN["lr"], momentum=TRAIN["momentum"],
                             weight_decay=TRAIN["weight_decay"])
    steps = epochs * -(-len(x) // cfg["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if optimizer_wrap is not None:
        optimizer = optimizer_wrap(optimizer)
    rng = ctx.rng(sum(map(ord, name)))
    accuracies = []
    for epoch in range(1, epochs + 1):
        loss, _ = train_epoch(model, optimizer, x, y, cfg["batch"], rng, loss_fn=loss_fn, scheduler=scheduler,
                              progress=lambda it, e=epoch: ctx.progress(it, f"{name} {e}/{epochs}"), desc=name)
        accuracies.append(accuracy(model, *test)[0])
        ctx.log(f"{name} epoch {epoch:>2}: train loss {loss:.4f}, test acc {accuracies[-1]:.4f}")
    return accuracies


# ---------------------------------------------------------------- figures

def plot_params_accuracy(points, teacher_point):
    """Test accuracy against parameter count: the teacher, each rung (named beside its point), the
    target line and the 100 000 limit."""
    fig = viz.figure(figsize=(8.0, 4.8))
    ax = fig.add_subplot()
    t_params, t_acc = teacher_point
    # where each name goes (points): the plain and distilled students share a parameter count and
    # nearly an accuracy, so their names go on opposite sides
    offsets = ((7, 0, "left"), (7, -9, "left"), (-7, 0, "right"), (7, 9, "left"), (7, 0, "left"))
    for (label, params, acc), marker, (dx, dy, ha) in zip([(viz.text("教师", "teacher"), t_params, t_acc)] + points,
                                                         "*osD^", offsets):
        ax.scatter([params], [acc], s=80 if marker == "*" else 45, marker=marker, zorder=3,
                   color=viz.COLORS["reference"] if marker == "*" else None)
        ax.annotate(label, (params, acc), xytext=(dx, dy), textcoords="offset points", va="center", ha=ha,
                    fontsize=8.5)
    ax.axhline(t_acc - 0.02, ls="--", lw=1, color=viz.COLORS["learned"],
               label=viz.text("目标：教师 − 2 个百分点", "target: teacher − 2 points"))
    ax.axvline(LIMIT, ls=":", lw=1.2, color=viz.COLORS["search"], label=viz.text("10 万参数上限", "100 000 limit"))
    ax.set_xscale("log")
    ticks = [1e4, 2e4, 5e4, 1e5, 2e5, 5e5]
    ax.set_xticks(ticks, [f"{t / 1000:g} k" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(min(p for _, p, _ in points) * 0.5, t_params * 6)      # room for the names on both sides
    accs = [a for _, _, a in points] + [t_acc, t_acc - 0.02]
    ax.set_ylim(min(accs) - 0.01, max(accs) + 0.01)
    ax.set(title=viz.text("准确率与参数量", "Accuracy against parameters"),
           xlabel=viz.text("非零参数量（对数轴）", "non-zero parameters (log)"),
           ylabel=viz.text("测试准确率", "test accuracy"))
    ax.legend(loc="lower right")
    return fig


def plot_soft_targets(logits, labels, temperature):
    """Bars of the teacher's softmax(t / T) at T = 1 and T = temperature for a few test images."""
    names = fashion_names(sep="\n")
    fig = viz.figure(figsize=(12.0, 2.9 * len(logits)))
    axes = fig.subplots(len(logits), 1, squeeze=False)[:, 0]
    width = 0.4
    for ax, t, label in zip(axes, logits, labels):
        for shift, temp, color in ((-width / 2, 1.0, viz.COLORS["data"]), (width / 2, temperature, viz.COLORS["learned"])):
            p = np.exp((t - t.max()) / temp)
            ax.bar(np.arange(10) + shift, p / p.sum(), width, color=color, label=f"T = {temp:g}")
        ax.set_xticks(np.arange(10), names, fontsize=8)
        ax.set(title=viz.text(f"真实类别：{names[label].split(chr(10))[0]}",
                              f"true class: {names[label].split(chr(10))[-1]}"),
               xlabel=viz.text("类别", "class"), ylabel=viz.text("概率", "probability"), ylim=(0, 1.05))
        ax.legend(loc="upper right")
    return fig


def plot_pruning(weights, cut):
    """Histogram of one layer's weights with the pruning threshold ±cut."""
    fig = viz.figure(figsize=(7.0, 4.0))
    ax = fig.add_subplot()
    ax.hist(weights, bins=80, color=viz.COLORS["data"])
    for c in (-cut, cut):
        ax.axvline(c, ls="--", color=viz.COLORS["learned"], lw=1.2)
    ax.set(title=viz.text(f"最大一层剪枝前的权重（最小的 {PRUNE:.0%} 被置零）",
                         f"The largest layer's weights before pruning (smallest {PRUNE:.0%} zeroed)", sep="\n"),
           xlabel=viz.text("权重 w", "weight w"), ylabel=viz.text("个数", "count"))
    return fig


# ---------------------------------------------------------------- the lab

def rung_text(zh, en, params):
    k = f"{params / 1000:.1f} k"
    return f"{zh}（{k}）", f"{en} ({k})"


@lesson("hw13.compress", "HW13 网络压缩：蒸馏、深度可分离卷积、剪枝", "HW13 network compression: distillation, separable convolutions, pruning")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    (x, y), (xt, yt) = fashion_mnist(cfg["train"], cfg["test"])
    x, xt = halve(x), halve(xt)                                          # (N, 1, 14, 14)
    data = ((x, y), (xt, yt))
    ctx.log(f"Fashion-MNIST at 14×14: {len(x)} training, {len(xt)} test images")

    # the teacher
    ms.manual_seed(ctx.seed)
    big = teacher(cfg["teacher"])
    teacher_acc = train(ctx, big, data, cfg, cfg["epochs"], "teacher")[-1]
    teacher_params = count_parameters(big)
    ctx.log(f"teacher: residual network, {teacher_params} parameters, test accuracy {teacher_acc:.4f}")
    ctx.record(teacher_acc=teacher_acc, teacher_params=teacher_params)
    soft = pack_targets(y, outputs(big, x))                              # (N, 20): labels + teacher logits
    kd = kd_loss(KD["temperature"], KD["alpha"])
    kd_data = ((x, soft), (xt, yt))

    ladder = Ladder(ctx, "hw13")
    params, points, students = {}, [], {}

    def student_rung(name, zh, en, build, loss_fn, train_data, short_zh, short_en):
        ms.manual_seed(ctx.seed + 1)                                     # every student starts alike
        model = build()
        n = count_parameters(model)
        zh, en = rung_text(zh, en, n)
        with ladder.rung(name, zh, en) as rung:
            rung.score = train(ctx, model, train_data, cfg, cfg["epochs"], name, loss_fn)[-1]
        params[name], students[name] = n, model
        points.append((viz.text(short_zh, short_en), n, rung.score))

    student_rung("sample", "学生单独训练（样例）", "student alone (sample)", lambda: cnn_student(SAMPLE), None, data,
                 "样例", "sample")
    student_rung("kd", "+ 知识蒸馏", "+ knowledge distillation", lambda: cnn_student(SAMPLE), kd, kd_data,
                 "蒸馏", "KD")
    student_rung("separable", "深度可分离学生 + 蒸馏", "separable student + KD",
                 lambda: separable_student(SEPARABLE), kd, kd_data, "可分离", "separable")

    # pruning: the better distilled student, half of each layer's weights zeroed, fine-tuned with KD
    scores = {r.name: r.score for r in ladder.rungs}
    base = max(("kd", "separable"), key=scores.get)
    model = students[base]
    layer = max(range(len(prunable(model))), key=lambda i: prunable(model)[i].numel())   # the largest layer
    before = prunable(model)[layer].detach().numpy().ravel().copy()
    masks = magnitude_masks(model, PRUNE)
    apply_masks(model, masks)
    pruned_acc = accuracy(model, xt, yt)[0]
    n = nonzero_parameters(model)
    zh, en = rung_text(f"剪枝 {PRUNE:.0%} + 微调", f"prune {PRUNE:.0%} + fine-tune", n)
    with ladder.rung("pruned", zh, en) as rung:
        rung.score = train(ctx, model, kd_data, cfg, cfg["prune_epochs"], "pruned", kd,
                           optimizer_wrap=lambda opt: MaskedOptimizer(opt, model, masks))[-1]
    params["pruned"] = n
    points.append((viz.text("剪枝", "pruned"), n, rung.score))
    ctx.log(f"pruned the {base} student: {pruned_acc:.4f} right after pruning, {rung.score:.4f} after fine-tuning")
    ctx.record(pruned_from=base, pruned_before_finetune=pruned_acc,
               **{f"params_{name}": p for name, p in params.items()})

    best = ladder.finish()
    ctx.log(f"teacher {teacher_acc:.4f} ({teacher_params} parameters); best student {best.score:.4f} ({best.technique_en})")

    ctx.save_figure(plot_params_accuracy(points, (teacher_params, teacher_acc)), "params_accuracy.png")
    show = [int(np.flatnonzero(yt == c)[0]) for c in (6, 2, 9)]           # a shirt, a pullover, an ankle boot
    ctx.save_figure(plot_soft_targets(outputs(big, xt[show]), yt[show], KD["temperature"]), "soft_targets.png")
    cut = np.sort(np.abs(before))[int(PRUNE * len(before))]          # the same cut as magnitude_masks'
    ctx.save_figure(plot_pruning(before, cut), "pruning.png")

    ctx.check("every student ≤ 100 000 parameters", max(params.values()) <= LIMIT)
    ctx.check("best student ≥ teacher − 2 points", best.score >= teacher_acc - 0.02)
