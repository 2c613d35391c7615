"""hw15.meta — 元学习：MAML、一阶 MAML、ANIL 与预训练基线 / HW15 meta-learning.

**The original lab.** Few-shot classification on Omniglot (1 623 handwritten characters of 50
alphabets, 20 drawings each): from a *single* example of each of 5 new characters (5-way 1-shot,
小样本分类), classify further drawings of them. The characters of the test tasks are never seen in
training, so what is learned is not the classes but *how to learn* them quickly (学习如何学习). The
TA's sample code compares a pre-training baseline with MAML (model-agnostic meta-learning) and
asks for its first-order approximation and ANIL.

**The substitute.** Omniglot is a download; here the characters are *rendered*
(`characters.py`): the digits and the letters of the Latin, Greek, Cyrillic, Armenian and Georgian
scripts that matplotlib's bundled fonts draw, lookalikes merged (Latin A, Greek Α and Cyrillic А are
one class), about 190 classes. A class's 20 examples are the character in each of its fonts (DejaVu
Sans / Serif / Mono, STIX, with bold and italic faces) with a small random rotation, scale and shift,
as Omniglot's are twenty people's drawings; 28×28 grey, as in the MAML paper. 30 % of the
*characters* are held out as meta-test classes (元测试类别), disjoint from the meta-training ones.
It keeps the lab's question — does an initialisation trained to be adapted beat one trained to
classify? — and loses Omniglot's size (1 200 meta-training characters there, ~130 here) and the
variety of human handwriting (font faces vary less). There is no `--data`: Omniglot is not
available offline. The second part is MAML's own first example, sinusoid regression
(`mlseries.datasets.SinusoidTasks`: y = A·sin(x − φ), K = 10 support points).

**The methods** (every one on the same network: MAML's Omniglot CNN, 4 blocks of 3×3 conv, batch
norm, ReLU and max-pool, small width; and the 40-40 MLP for sinusoids):

1. *pre-training baseline (the sample)* — one network trained as an ordinary classifier on all
   meta-training characters (or, for sinusoids, a regressor on all tasks' points mixed); for a new
   task its body is frozen and a new 5-way head is fitted on the support set (微调新的分类头).
2. *MAML* — meta-learns the initialisation θ: for each task, a few inner gradient steps on the
   support set give θ' = θ − α∇L_support(θ); the outer loss is the query loss at θ', and its gradient
   flows *through* the inner steps (second derivatives, `ms.autograd.grad(..., create_graph=True)`).
3. *first-order MAML* — the same, with the inner gradients treated as constants (no Hessian): cheaper,
   usually a little worse.
4. *ANIL* (almost no inner loop) — only the head adapts in the inner loop; the body is meta-learned
   as a feature extractor shared by every task.

Meta-training takes one inner step (α = 0.4, MAML's Omniglot setting) on 4 tasks per outer
step (Adam). Every method is scored on the same 5-way 1-shot meta-test tasks (5 queries per class),
with a 95 % interval over tasks; at test time the meta-learned methods take 5 inner steps from
their initialisation (the baseline fits its new head to convergence, so both adapt fully).

**What to expect.** In the sinusoid part the pre-trained regressor learns one curve for all
tasks (a compromise between them: on average their phases cancel) and ten steps on 10 points leave
it far off; MAML's
initialisation is one from which a step or two fit the new curve. In the characters part the
pre-trained features are good (the baseline is no strawman), and MAML passes it only after
enough meta-training (full run: 0.935 against 0.910). First-order MAML lags well behind here
(0.842): with its head starting at random and a single inner step, the first-order meta-gradient
cannot teach the body to make that one step count (the term through the inner step is exactly what
it drops). ANIL keeps that term for the head and ends level with MAML (0.937): the meta-learned
body does the work, as the ANIL paper found.

**Targets** (issue 16): MAML > the pre-training baseline, and MAML ≥ first-order MAML, on the
meta-test accuracy.

    mlseries run hw15 [--quick]
"""
import time

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import viz
from mlseries.datasets import SinusoidTasks
from mlseries.datasets.sinusoid import sinusoid

from ...course.registry import lesson
from ...course.table import format_table
from ..ladder import Ladder
from .characters import character_bank
from .maml import (adapt, conv_forward, conv_net, detached, head_indices, interval, mlp, mlp_forward, per_task,
                   task_mse)

# characters: meta-training iterations (meta_batch tasks each), test tasks, network width;
# sinusoids: meta-training iterations (sin_batch tasks each), test tasks
FULL = dict(channels=32, iterations=1200, meta_batch=4, pre_epochs=10, test_tasks=600,
            sin_iterations=10000, sin_batch=25, sin_test=600)
QUICK = dict(channels=16, iterations=200, meta_batch=4, pre_epochs=4, test_tasks=150,
             sin_iterations=600, sin_batch=25, sin_test=200)
TASK = dict(n_way=5, k_shot=1, n_query=5)
# the characters' inner loop: MAML's Omniglot step size, one step in meta-training and more when
# adapting to a test task (the baseline's head is fitted to convergence there too)
INNER = dict(lr=0.4, steps=1, test_steps=5)
SIN_INNER = dict(lr=0.01, steps=1)             # the sinusoids' (MAML's)
SIN_K = 10                                     # support points per sinusoid task
SIN_STEPS = 10                                 # test-time steps shown for sinusoids
HEAD = dict(lr=0.05, steps=50)                 # the baseline's new head on the support set (Adam)
META_LR = 3e-3                                 # Adam, characters' meta-training
PRE_LR = 3e-3                                  # Adam, the baseline's pre-training
SIN_META_LR = 1e-3                             # Adam, sinusoids (MAML's)
TEST_FRACTION = 0.3
METHODS = ("pretrain", "maml", "fomaml", "anil")
NAMES = {"pretrain": ("预训练基线（样例）", "pre-training baseline (sample)"),
         "maml": ("MAML（二阶导数）", "MAML (second derivatives)"),
         "fomaml": ("一阶 MAML", "first-order MAML"),
         "anil": ("ANIL（只调分类头）", "ANIL (head-only inner loop)")}
SHORT = {"pretrain": ("预训练", "pre-trained"), "maml": ("MAML", "MAML"),
         "fomaml": ("一阶 MAML", "first-order MAML"), "anil": ("ANIL", "ANIL")}

COLORS = {"pretrain": viz.COLORS["data"], "maml": viz.COLORS["learned"], "fomaml": viz.COLORS["search"],
          "anil": "#55a868"}                   # one colour per method in every figure

CAPTIONS = {
    "ladder.png": ("每种方法在元测试 5-way 1-shot 任务上的准确率（从没训练过的字符）。",
                   "Each method's accuracy on meta-test 5-way 1-shot tasks (characters never trained on)."),
    "characters.png": ("替代 Omniglot 的渲染字符：每行一个类别（字符），每列是同一字符换一种字体并随机旋转、缩放、平移。上面是元训练类别，下面是元测试类别。",
                       "The rendered characters standing in for Omniglot: a class (character) per row, its examples "
                       "across: the character in another font with a random rotation, scale and shift. Meta-training "
                       "classes above, meta-test classes below."),
    "tasks.png": ("两个元测试任务：每类一个支持样本（上），查询样本与 MAML 适应后的预测（绿色对、红色错）。",
                  "Two meta-test tasks: one support example per class (top), the queries with MAML's predictions "
                  "after adapting (green right, red wrong)."),
    "meta_training.png": ("元训练曲线：训练任务上适应后的查询准确率（左，字符）与查询均方误差（右，正弦），滑动平均。",
                          "Meta-training curves: query accuracy after adapting on training tasks (left, characters) "
                          "and query MSE (right, sinusoids), moving averages."),
    "sinusoid_fits.png": ("两个新正弦任务：预训练模型（上）与 MAML（下）在 10 个支持点上走 0、1、10 步后的拟合，黑线是真实曲线。",
                          "Two new sinusoid tasks: the pre-trained model (top) and MAML (bottom) after 0, 1 and 10 steps "
                          "on the 10 support points; the black line is the true curve."),
    "sinusoid_mse.png": ("正弦回归：新任务上的均方误差随适应步数的变化（对数轴），每种方法一条线。",
                         "Sinusoid regression: MSE on new tasks against the number of adaptation steps (log axis), "
                         "a line per method."),
}


# ---------------------------------------------------------------- characters

def as_task(task):
    xs, ys, xq, yq, _ = task
    return ms.tensor(xs), ms.tensor(ys), ms.tensor(xq), ms.tensor(yq)


def meta_train(ctx, method, bank, cfg):
    """Meta-train MAML, first-order MAML or ANIL on tasks drawn from `bank`; returns the network
    and the query accuracy after adapting, per iteration (the curve)."""
    ms.manual_seed(ctx.seed)                       # every method starts from the same θ
    net = conv_net(cfg["channels"], TASK["n_way"])
    params = list(net.parameters())
    optimizer = ms.optim.Adam(params, lr=META_LR)
    only = head_indices(params) if method == "anil" else None
    second = method in ("maml", "anil")            # ANIL keeps its (head-only) second derivatives
    rng = ctx.rng(1)                               # the same task stream for every method
    curve = []
    for it in ctx.progress(range(cfg["iterations"]), desc=method):
        tasks = [as_task(bank.task(rng, **TASK)) for _ in range(cfg["meta_batch"])]
        optimizer.zero_grad()
        total, right = 0.0, 0.0
        for xs, ys, xq, yq in tasks:
            fast = adapt(conv_forward, params, xs, ys, F.cross_entropy, INNER["lr"], INNER["steps"], second, only)
            logits = conv_forward(xq, fast)
            loss = F.cross_entropy(logits, yq) / len(tasks)
            loss.backward()                        # one task's graph at a time: less memory
            total += loss.item()
            right += float((logits.detach().numpy().argmax(1) == yq.numpy()).mean()) / len(tasks)
        optimizer.step()
        curve.append(right)
        if (it + 1) % max(1, cfg["iterations"] // 5) == 0:
            ctx.log(f"{method} iteration {it + 1}: query loss {total:.3f}, "
                    f"accuracy {np.mean(curve[-50:]):.3f} (last 50)")
    return net, curve


def adapted_predictions(method, net, task):
    """Query predictions of a meta-trained network after the test-time inner loop (first order:
    nothing is differentiated through it at test time)."""
    xs, ys, xq, yq = as_task(task)
    params = detached(list(net.parameters()))
    only = head_indices(params) if method == "anil" else None
    fast = adapt(conv_forward, params, xs, ys, F.cross_entropy, INNER["lr"], INNER["test_steps"], False, only)
    with ms.no_grad():
        return conv_forward(xq, fast).numpy().argmax(1)


def pretrain(ctx, bank, cfg):
    """The baseline: the same CNN as an ordinary classifier over all meta-training characters."""
    ms.manual_seed(ctx.seed)
    n_classes, per_class = bank.images.shape[:2]
    net = conv_net(cfg["channels"], n_classes)
    x = bank.images.reshape(-1, 1, 28, 28)                           # (C·20, 1, 28, 28)
    y = np.repeat(np.arange(n_classes), per_class)
    optimizer = ms.optim.Adam(net.parameters(), lr=PRE_LR)
    rng, batch, curve = ctx.rng(2), 64, []
    for epoch in range(cfg["pre_epochs"]):
        net.train()
        order = rng.permutation(len(x))
        right = 0
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            logits = net(ms.tensor(x[idx]))
            loss = F.cross_entropy(logits, ms.tensor(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            right += int((logits.detach().numpy().argmax(1) == y[idx]).sum())
        curve.append(right / len(x))
        ctx.log(f"pre-training epoch {epoch + 1}: training accuracy {curve[-1]:.3f} over {n_classes} characters")
    net.eval()
    return net, curve


def head_predictions(net, task):
    """The baseline on one task: frozen body (batch norm with its running statistics), a new linear
    head fitted by Adam on the support set's features, predictions for the queries."""
    xs, ys, xq, yq = as_task(task)
    body = net[:-1]
    with ms.no_grad():
        fs, fq = body(xs), body(xq)                                  # (5, C), (25, C)
    head = ms.nn.Linear(fs.shape[1], TASK["n_way"])
    ms.nn.init.zeros_(head.weight)
    ms.nn.init.zeros_(head.bias)
    optimizer = ms.optim.Adam(head.parameters(), lr=HEAD["lr"])
    for _ in range(HEAD["steps"]):
        loss = F.cross_entropy(head(fs), ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with ms.no_grad():
        return head(fq).numpy().argmax(1)


# ---------------------------------------------------------------- sinusoids

def sin_meta_train(ctx, method, cfg):
    """The sinusoid MLP meta-trained with `method` (or pre-trained on all tasks' points mixed);
    returns the network and the query MSE per iteration."""
    ms.manual_seed(ctx.seed)
    net = mlp()
    params = list(net.parameters())
    optimizer = ms.optim.Adam(params, lr=SIN_META_LR)
    tasks = SinusoidTasks(seed=ctx.seed + 10)                 # the same task stream for every method
    curve = []
    for _ in range(cfg["sin_iterations"]):
        b = tasks.sample(cfg["sin_batch"], SIN_K, SIN_K)
        shared = per_task(params, cfg["sin_batch"])
        if method == "pretrain":                              # one regressor for all tasks' points
            loss = task_mse(mlp_forward(ms.cat([b.x_support, b.x_query], 1), shared),
                            ms.cat([b.y_support, b.y_query], 1)) / cfg["sin_batch"]
        else:
            only = head_indices(shared) if method == "anil" else None
            fast = adapt(mlp_forward, shared, b.x_support, b.y_support, task_mse, SIN_INNER["lr"],
                         SIN_INNER["steps"], method in ("maml", "anil"), only)
            loss = task_mse(mlp_forward(b.x_query, fast), b.y_query) / cfg["sin_batch"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curve.append(loss.item())
    return net, curve


def sin_evaluate(method, net, batch, steps):
    """Query MSE per task after 0 … `steps` adaptation steps (all parameters, or ANIL's head), and
    the fitted curves on a grid after each step: (steps + 1, T) errors, (steps + 1, T, G) curves."""
    n = batch.x_support.shape[0]
    params = per_task(detached(list(net.parameters())), n)
    params = [p.detach().clone().requires_grad_(True) for p in params]   # each task its own leaf
    only = head_indices(params) if method == "anil" else None
    grid = ms.tensor(np.linspace(-5, 5, 200, dtype=np.float32)[None, :, None].repeat(n, 0))   # (T, G, 1)
    errors, curves = [], []
    for step in range(steps + 1):
        with ms.no_grad():
            pred = mlp_forward(batch.x_query, params)
            errors.append(((pred - batch.y_query) ** 2).mean(dim=(1, 2)).numpy())
            curves.append(mlp_forward(grid, params).numpy()[..., 0])
        if step < steps:
            params = adapt(mlp_forward, params, batch.x_support, batch.y_support, task_mse, SIN_INNER["lr"], 1,
                           False, only)
            params = [p.detach().requires_grad_(True) for p in params]
    return np.array(errors), np.array(curves)


# ---------------------------------------------------------------- figures

def short(method):
    zh, en = SHORT[method]
    return en if zh == en else viz.text(zh, en)


def plain_log(ax):
    """A log y axis labelled 0.5, 1, 2 rather than 5×10⁻¹ …"""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def image_axes(ax):
    """An image panel: no axes drawn (nothing to label but the picture)."""
    ax.set_axis_off()


def row_label(ax, label, color):
    ax.text(-0.08, 0.5, label, transform=ax.transAxes, ha="right", va="center", fontsize=10, color=color)


def plot_characters(train, test, rows=4, cols=10):
    fig = viz.figure(figsize=(9.0, 8.0))
    axes = fig.subplots(2 * rows, cols)
    pick = lambda bank: np.linspace(0, len(bank) - 1, rows).astype(int)        # noqa: E731
    for r, (bank, c) in enumerate([(train, c) for c in pick(train)] + [(test, c) for c in pick(test)]):
        for j in range(cols):
            ax = axes[r, j]
            ax.imshow(bank.images[c, j], cmap="gray_r", vmin=0, vmax=1)
            image_axes(ax)
        kind = viz.text("训练", "train") if r < rows else viz.text("测试", "test")
        row_label(axes[r, 0], f"{kind} {bank.chars[c]}", viz.COLORS["data"] if r < rows else viz.COLORS["learned"])
    fig.suptitle(viz.text("渲染的字符：上 4 行元训练类别，下 4 行元测试类别（每行 10 个样本）",
                          "Rendered characters: 4 meta-training classes above, 4 meta-test classes below",
                          sep="\n"))
    return fig


def plot_tasks(tasks, predictions, chars):
    n_way, n_query = TASK["n_way"], TASK["n_query"]
    right, wrong = "#2a9d3a", viz.COLORS["learned"]
    fig = viz.figure(figsize=(10.0, 3.2 * len(tasks)))
    grids = fig.subfigures(len(tasks), 1, squeeze=False)[:, 0]
    for sub, task, pred in zip(grids, tasks, predictions):
        xs, ys, xq, yq, classes = task
        axes = sub.subplots(2, 10)                                  # support row, query row
        for j in range(10):
            ax = axes[0, j]
            image_axes(ax)
            if j < n_way:
                ax.imshow(xs[j, 0], cmap="gray_r", vmin=0, vmax=1)
                ax.set_title(f"{j}: {chars[classes[j]]}", fontsize=10)
        order = np.arange(0, len(yq), n_query)                      # the first query of each class …
        order = np.concatenate([order, order + 1])                  # … and the second
        for j, q in enumerate(order[:10]):
            ax = axes[1, j]
            ax.imshow(xq[q, 0], cmap="gray_r", vmin=0, vmax=1)
            image_axes(ax)
            color = right if pred[q] == yq[q] else wrong
            ax.set_title(f"→ {pred[q]}", fontsize=10, color=color)
            ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, lw=3, edgecolor=color,
                                   clip_on=False))
        row_label(axes[0, 0], viz.text("支持", "support"), viz.COLORS["reference"])
        row_label(axes[1, 0], viz.text("查询", "query"), viz.COLORS["reference"])
        acc = float((pred == yq).mean())
        sub.suptitle(viz.text(f"MAML 查询准确率 {acc:.0%}", f"MAML query accuracy {acc:.0%}"), fontsize=10.5)
    fig.suptitle(viz.text("元测试的 5-way 1-shot 任务（从没训练过的字符）", "Meta-test 5-way 1-shot tasks (characters never trained on)"))
    return fig


def smooth(values, width):
    values = np.asarray(values, np.float64)
    width = max(1, min(width, len(values)))
    kernel = np.ones(width) / width
    return np.convolve(values, kernel, mode="valid")


def plot_meta_training(curves, sin_curves):
    fig = viz.figure(figsize=(11.0, 4.2))
    left, right = fig.subplots(1, 2)
    for method, curve in curves.items():
        s = smooth(curve, max(5, len(curve) // 15))
        left.plot(np.arange(len(s)) + len(curve) - len(s) + 1, s, label=short(method), color=COLORS[method])
    left.axhline(1 / TASK["n_way"], ls=":", color=viz.COLORS["reference"], lw=1, label=viz.text("随机猜", "chance"))
    left.set(title=viz.text("字符：训练任务上的查询准确率", "Characters: query accuracy on training tasks", sep="\n"),
             xlabel=viz.text("元训练迭代", "meta-training iteration"), ylabel=viz.text("查询准确率", "query accuracy"),
             ylim=(0, 1.02))
    left.legend(loc="lower right")
    for method, curve in sin_curves.items():
        s = smooth(curve, max(10, len(curve) // 30))
        right.plot(np.arange(len(s)) + len(curve) - len(s) + 1, s, label=short(method), color=COLORS[method])
    plain_log(right)
    right.set(title=viz.text("正弦：查询均方误差（预训练为所有点混合的误差）",
                             "Sinusoids: query MSE (pre-training: all points mixed)", sep="\n"),
              xlabel=viz.text("元训练迭代", "meta-training iteration"), ylabel=viz.text("均方误差", "MSE"))
    right.legend(loc="upper right")
    return fig


def plot_sinusoid_fits(batch, fits, show=(0, 1), steps=(0, 1, SIN_STEPS)):
    grid = np.linspace(-5, 5, 200)
    fig = viz.figure(figsize=(11.0, 7.5), layout="constrained")
    axes = fig.subplots(2, len(show), squeeze=False)
    colors = ("#999999", viz.COLORS["search"], viz.COLORS["learned"])
    amp, phase = batch.amplitude.numpy(), batch.phase.numpy()
    for row, method in enumerate(("pretrain", "maml")):
        for col, t in enumerate(show):
            ax = axes[row, col]
            ax.plot(grid, sinusoid(grid, amp[t], phase[t]), color=viz.COLORS["reference"], lw=2,
                    label=viz.text("真实曲线", "true curve"))
            for step, color in zip(steps, colors):
                ax.plot(grid, fits[method][step, t], color=color, ls="--" if step == 0 else "-",
                        label=viz.text(f"{step} 步后", f"after {step} step{'s' if step != 1 else ''}"))
            ax.scatter(batch.x_support.numpy()[t, :, 0], batch.y_support.numpy()[t, :, 0], s=30, zorder=4,
                       color=viz.COLORS["data"], label=viz.text(f"{SIN_K} 个支持点", f"{SIN_K} support points"))
            ax.set(title=viz.text(f"{SHORT[method][0]}，任务 {col + 1}", f"{SHORT[method][1]}, task {col + 1}"),
                   xlabel="x", ylabel="y", ylim=(-6.0, 6.0))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=5)
    fig.suptitle(viz.text("正弦回归：从初始化出发的适应", "Sinusoid regression: adapting from the initialisation"))
    return fig


def plot_sinusoid_mse(errors):
    fig = viz.figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    for method, e in errors.items():
        ax.plot(np.arange(len(e)), e.mean(axis=1), marker="o", ms=4, label=short(method), color=COLORS[method])
    plain_log(ax)
    ax.set(title=viz.text("正弦回归：新任务上的误差与适应步数", "Sinusoid regression: error on new tasks by steps",
                          sep="\n"),
           xlabel=viz.text(f"在 {SIN_K} 个支持点上的梯度步数", f"gradient steps on {SIN_K} support points"),
           ylabel=viz.text("查询均方误差", "query MSE"))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=len(errors))
    return fig


# ---------------------------------------------------------------- the lab

@lesson("hw15.meta", "HW15 元学习：MAML、一阶 MAML、ANIL", "HW15 meta-learning: MAML, first-order MAML, ANIL")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL

    # part 1: sinusoids
    sin_nets, sin_curves, sin_errors, sin_fits = {}, {}, {}, {}
    test_batch = SinusoidTasks(seed=ctx.seed + 999).sample(cfg["sin_test"], SIN_K, 50)
    for method in METHODS:
        start = time.perf_counter()
        sin_nets[method], sin_curves[method] = sin_meta_train(ctx, method, cfg)
        sin_errors[method], sin_fits[method] = sin_evaluate(method, sin_nets[method], test_batch, SIN_STEPS)
        ctx.log(f"sinusoids, {SHORT[method][1]}: MSE {sin_errors[method][0].mean():.3f} before adapting, "
                f"{sin_errors[method][1].mean():.3f} after 1 step, {sin_errors[method][SIN_STEPS].mean():.3f} after "
                f"{SIN_STEPS} ({time.perf_counter() - start:.1f} s)")
    rows = [(NAMES[m][1], *(f"{sin_errors[m][s].mean():.3f}" for s in (0, 1, SIN_STEPS))) for m in METHODS]
    ctx.log(format_table(["sinusoids (K = 10)", "MSE, 0 steps", "1 step", f"{SIN_STEPS} steps"], rows, "<>>>"))
    ctx.record(**{f"sin_mse_{m}_{s}": float(sin_errors[m][s].mean()) for m in METHODS for s in (0, 1, SIN_STEPS)})

    # part 2: 5-way 1-shot characters
    bank = character_bank(seed=ctx.seed)
    train, test = bank.split(TEST_FRACTION, seed=ctx.seed)
    ctx.log(f"rendered characters: {len(bank)} classes × {bank.images.shape[1]} examples; "
            f"{len(train)} meta-training and {len(test)} meta-test classes (disjoint)")
    ctx.record(classes_train=len(train), classes_test=len(test))
    rng = ctx.rng(3)
    test_tasks = [test.task(rng, **TASK) for _ in range(cfg["test_tasks"])]   # the same tasks for every method

    ladder = Ladder(ctx, "hw15")
    curves, accuracies, predictions = {}, {}, {}
    for method in METHODS:
        with ladder.rung(method, *NAMES[method]) as rung:
            if method == "pretrain":
                net, _ = pretrain(ctx, train, cfg)
                preds = [head_predictions(net, t) for t in test_tasks]
            else:
                net, curves[method] = meta_train(ctx, method, train, cfg)
                preds = [adapted_predictions(method, net, t) for t in test_tasks]
            per_task_acc = [float((p == t[3]).mean()) for p, t in zip(preds, test_tasks)]
            mean, half = interval(per_task_acc)
            rung.score = mean
        accuracies[method], predictions[method] = per_task_acc, preds
        ctx.log(f"{NAMES[method][1]}: meta-test accuracy {mean:.4f} ± {half:.4f} (95 %, {len(test_tasks)} tasks)")
        ctx.record(**{f"ci_{method}": half})
    gap, gap_half = interval(np.array(accuracies["maml"]) - np.array(accuracies["fomaml"]))
    ctx.log(f"MAML − first-order MAML on the same tasks: {gap:+.4f} ± {gap_half:.4f} (95 %, paired)")
    ctx.record(maml_minus_fomaml=gap, maml_minus_fomaml_ci=gap_half)
    best = ladder.finish()
    ctx.log(f"best: {best.technique_en}, {best.score:.4f}")

    ctx.save_figure(plot_characters(train, test), "characters.png")
    ctx.save_figure(plot_tasks(test_tasks[:2], predictions["maml"][:2], test.chars), "tasks.png")
    ctx.save_figure(plot_meta_training(curves, {m: sin_curves[m] for m in ("maml", "fomaml", "anil")}),
                    "meta_training.png")
    ctx.save_figure(plot_sinusoid_fits(test_batch, sin_fits), "sinusoid_fits.png")
    ctx.save_figure(plot_sinusoid_mse(sin_errors), "sinusoid_mse.png")

    score = {r.name: r.score for r in ladder.rungs}
    ctx.check("MAML > pre-training baseline (meta-test 5-way 1-shot accuracy)", score["maml"] > score["pretrain"])
    ctx.check("MAML ≥ first-order MAML (meta-test 5-way 1-shot accuracy)", score["maml"] >= score["fomaml"])
