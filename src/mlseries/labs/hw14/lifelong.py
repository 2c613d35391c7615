"""hw14.lifelong — 终身学习：五个旋转 MNIST 任务依次训练 / HW14 life-long learning.

**The original lab.** One network learns five tasks one after another — rotated MNIST, each task
the ten digits turned by its own angle — and may not go back to an earlier task's data. Trained
naively, it forgets (灾难性遗忘, catastrophic forgetting): what the weights learned for task 1 is
overwritten by task 2's gradients. The lab compares regularisation methods that protect the
weights that mattered for earlier tasks, and reads the result off an accuracy matrix (准确率矩阵):
row i = after training task i, column j = accuracy on task j. (The course's HW14 was graded by a
quiz, so there is no leaderboard.)

**The substitute** is the lab's own task, built here from MNIST (`tasks.py`): 5 tasks rotated by
0°, 35°, 70°, 105°, 140°, each with its own digits (3 000 training and 1 000 test images per task
in the full run). The network is the TA's kind, a small MLP (784 → 256 → 256 → 10, ReLU) with one
output layer shared by all tasks; Adam, the same epochs per task for every method. Kept: the whole
setting. Lost: the TA's exact sizes and angles.

**The rungs** (`regularizers.py`); each after-task importance Ω turns into a penalty λ Σ Ω (θ − θ*)²
on moving the weights away from θ*, their values after an earlier task:

1. *Fine-tuning (the TA's sample)* — each task trained in turn, no protection: the lower bound.
2. *EWC* — Ω is the diagonal Fisher information (mean squared gradient of the log-likelihood of
   each image's label), one penalty per earlier task.
3. *MAS* — Ω is the mean |∂‖f(x)‖²/∂θ| over the task's images, no labels needed; summed over tasks.
4. *SI* — Ω is the path integral Σ −g·Δθ collected while training, divided by the squared total
   change of the weight plus a damping ξ; summed over tasks.

λ was tuned for each method on the quick configuration over a few powers of ten (values in
`STRENGTH`, a grid in the lab's docs section); a larger λ protects old tasks more and learns new
ones less, so the best λ balances the two. The ladder's metric is the **average accuracy over the
five tasks after the fifth**; for context, not a rung, a multi-task network trained on all five
tasks together (which a life-long learner cannot do) is recorded as `multitask`.

**Target:** EWC's average accuracy after the fifth task ≥ fine-tuning's + 10 points (issue 16).

**What to expect** (full run, docs/labs.md): fine-tuning learns each new task well (0.94 on the
fifth) and forgets the first down to 0.18, an average of 0.4846; EWC keeps every task between
0.56 and 0.82, an average of 0.6602 (+17.6 points); MAS is close (0.6296); SI, with the λ chosen
on the quick run, protects little in the longer full run (0.493). Training on all five tasks at
once reaches 0.8998: how much a life-long learner still leaves behind.

    mlseries run hw14 [--quick]
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from ...course.registry import lesson
from ...course.training import accuracy, check_loss, train_epoch
from ..ladder import Ladder
from .regularizers import Penalty, SynapticIntelligence, fisher_diagonal, mas_importance, snapshot
from .tasks import ANGLES, rotated_mnist

FULL = dict(train=3000, test=1000, epochs=5, importance=300)
QUICK = dict(train=1000, test=500, epochs=3, importance=200)
TRAIN = dict(lr=1e-3, batch=64, hidden=256)
STRENGTH = dict(finetune=0.0, ewc=300.0, mas=0.3, si=300.0)  # λ per method (SI's c), tuned as the docstring says
XI = 0.1                                                        # SI's damping ξ

METHODS = [("finetune", "微调（样例）", "fine-tuning (sample)"),
           ("ewc", "EWC", "EWC"),
           ("mas", "MAS", "MAS"),
           ("si", "SI", "SI")]

CAPTIONS = {
    "ladder.png": ("每个方法学完第五个任务后在五个任务上的平均准确率：不加保护的微调最低。",
                   "Each method's average accuracy over the five tasks after the fifth: unprotected "
                   "fine-tuning is lowest."),
    "accuracy_matrices.png": ("每个方法的准确率矩阵：第 i 行是学完任务 i 后，第 j 列是在任务 j 上的准确率。对角线以下变暗就是遗忘。",
                              "Each method's accuracy matrix: row i after training task i, column j the accuracy "
                              "on task j. Darkening below the diagonal is forgetting."),
    "task1.png": ("任务 1（不旋转）的准确率随后续任务的变化：微调很快遗忘，正则化方法保住了更多。",
                  "Accuracy on task 1 (no rotation) as later tasks are learned: fine-tuning forgets fast, "
                  "the regularised methods keep more."),
    "tasks.png": ("五个任务：同样的十个数字，每个任务旋转一个角度。",
                  "The five tasks: the same ten digits, each task rotated by its own angle."),
}


def mlp(hidden):
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def train_sequence(ctx, tasks, method, strength, cfg, seed, rng):
    """Train one MLP on the tasks in order with `method`'s penalty; returns the accuracy matrix
    (T, T): row i after task i, column j on task j's test set."""
    ms.manual_seed(seed)
    model = mlp(TRAIN["hidden"])
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    penalty = Penalty(strength)
    si = SynapticIntelligence(XI) if method == "si" else None
    omega_sum = None
    matrix = np.zeros((len(tasks), len(tasks)))
    for t, task in enumerate(tasks):
        x, y = task["train"]
        if si is not None:
            si.start(model)
        for epoch in range(cfg["epochs"]):
            model.train()
            order = rng.permutation(len(x))
            for start in ctx.progress(range(0, len(x), TRAIN["batch"]), f"{method}: task {t + 1}, epoch {epoch + 1}"):
                idx = order[start:start + TRAIN["batch"]]
                loss = F.cross_entropy(model(ms.tensor(x[idx])), ms.tensor(y[idx]))
                check_loss(loss.item(), f"{method}, task {t + 1}")
                optimizer.zero_grad()
                loss.backward()
                if si is not None:                      # SI wants the task loss's gradient alone
                    task_grads = [p.grad.numpy().copy() for p in model.parameters()]
                    before = snapshot(model)
                extra = penalty(model)
                if extra is not None:
                    extra.backward()                    # adds the penalty's gradient to .grad
                optimizer.step()
                if si is not None:
                    si.step(task_grads, before, snapshot(model))
        # this task's importance, for the tasks to come
        sample = rng.permutation(len(x))[:cfg["importance"]]
        if method == "ewc":
            penalty.add(fisher_diagonal(model, x[sample], y[sample]), snapshot(model))
        elif method in ("mas", "si"):
            omega = mas_importance(model, x[sample]) if method == "mas" else si.consolidate(model)
            omega_sum = omega if omega_sum is None else [a + b for a, b in zip(omega_sum, omega)]
            penalty.replace(omega_sum, snapshot(model))
        for j, other in enumerate(tasks):
            matrix[t, j] = accuracy(model, *other["test"])[0]
        ctx.log(f"{method}: after task {t + 1} ({task['angle']}°): "
                + " ".join(f"{a:.3f}" for a in matrix[t, :t + 1]))
    return matrix


def train_multitask(tasks, cfg, seed, rng):
    """For context: one MLP on all tasks' data at once, as many epochs as one task gets; average accuracy."""
    ms.manual_seed(seed)
    model = mlp(TRAIN["hidden"])
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    x = np.concatenate([t["train"][0] for t in tasks])
    y = np.concatenate([t["train"][1] for t in tasks])
    for _ in range(cfg["epochs"]):
        train_epoch(model, optimizer, x, y, TRAIN["batch"], rng, desc="multitask")
    return float(np.mean([accuracy(model, *t["test"])[0] for t in tasks]))


# ---------------------------------------------------------------- figures

def plot_matrices(matrices, labels):
    n = len(matrices)
    fig = viz.figure(figsize=(3.0 * n + 1.0, 3.9))
    axes = fig.subplots(1, n)
    for ax, m, label in zip(axes, matrices, labels):
        image = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] < 0.6 else "black")
        ticks = np.arange(m.shape[0])
        ax.set_xticks(ticks, [str(k + 1) for k in ticks])
        ax.set_yticks(ticks, [str(k + 1) for k in ticks])
        ax.grid(False)
        ax.set_title(f"{label}\n" + viz.text(f"平均 {m[-1].mean():.3f}", f"average {m[-1].mean():.3f}"), fontsize=9)
        ax.set(xlabel=viz.text("测试任务 j", "tested on task j"), ylabel=viz.text("学完任务 i", "after task i"))
    fig.colorbar(image, ax=list(axes), shrink=0.8, label=viz.text("准确率", "accuracy"))
    fig.suptitle(viz.text("准确率矩阵", "Accuracy matrices"))
    return fig


def plot_task1(matrices, labels):
    fig = viz.figure(figsize=(8.6, 4.6))
    ax = fig.add_subplot()
    steps = np.arange(1, len(matrices[0]) + 1)
    for m, label in zip(matrices, labels):
        ax.plot(steps, m[:, 0], marker="o", label=label)
    ax.set_xticks(steps)
    fig.suptitle(viz.text("任务 1 的准确率：学后面的任务时忘了多少", "Accuracy on task 1 as later tasks are learned"))
    ax.set(xlabel=viz.text("已学完的任务数", "tasks learned so far"), ylabel=viz.text("任务 1 准确率", "task 1 accuracy"))
    ax.legend(loc="lower left", fontsize=8)
    return fig


def plot_tasks(tasks, count=4):
    fig = viz.figure(figsize=(1.4 * len(tasks) + 0.6, 1.25 * count + 0.8))
    axes = fig.subplots(count, len(tasks))
    for j, task in enumerate(tasks):
        x = task["test"][0]
        for i in range(count):
            axes[i, j].imshow(x[i, 0], cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_axis_off()
        axes[0, j].set_title(viz.text(f"任务 {j + 1}：{task['angle']}°", f"task {j + 1}: {task['angle']}°", sep="\n"),
                             fontsize=9)
    fig.suptitle(viz.text("五个任务的例子", "Examples of the five tasks"))
    return fig


# ---------------------------------------------------------------- the lab

@lesson("hw14.lifelong", "HW14 终身学习：EWC、MAS、SI", "HW14 life-long learning: EWC, MAS, SI")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    tasks = rotated_mnist(cfg["train"], cfg["test"], ctx.rng(1))
    ctx.log(f"{len(tasks)} tasks, rotations {', '.join(f'{a}°' for a in ANGLES)}; {cfg['train']} training and "
            f"{cfg['test']} test digits per task, {cfg['epochs']} epochs per task")
    ladder = Ladder(ctx, "hw14")
    matrices = {}
    for name, zh, en in METHODS:
        zh_l, en_l = (zh, en) if name == "finetune" else (f"{zh}（λ = {STRENGTH[name]:g}）", f"{en} (λ = {STRENGTH[name]:g})")
        with ladder.rung(name, zh_l, en_l) as rung:
            matrices[name] = train_sequence(ctx, tasks, name, STRENGTH[name], cfg, ctx.seed, ctx.rng(2))
            rung.score = matrices[name][-1].mean()
        ctx.record(**{f"task1_{name}": matrices[name][-1, 0]})
    ctx.record(multitask=train_multitask(tasks, cfg, ctx.seed, ctx.rng(3)))
    ctx.log(f"for context, one network trained on all five tasks together: average {ctx.metrics['multitask']:.4f}")
    ladder.finish()
    labels = [en if zh == en else viz.text(zh, en) for _, zh, en in METHODS]
    ctx.save_figure(plot_matrices([matrices[n] for n, _, _ in METHODS], labels), "accuracy_matrices.png")
    ctx.save_figure(plot_task1([matrices[n] for n, _, _ in METHODS], labels), "task1.png")
    ctx.save_figure(plot_tasks(tasks), "tasks.png")
    for name, m in matrices.items():
        np.savetxt(ctx.path(f"accuracy_{name}.csv"), m, delimiter=",", fmt="%.4f")
    scores = {r.name: r.score for r in ladder.rungs}
    ctx.check("EWC's average accuracy after the fifth task ≥ fine-tuning's + 10 points",
              scores["ewc"] >= scores["finetune"] + 0.10)
