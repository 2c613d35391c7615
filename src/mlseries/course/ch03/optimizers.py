"""ch03.optimizers — 优化器 / Optimizers: SGD, momentum, RMSProp and Adam on small losses.

An optimizer turns a gradient into a step. Four of them, each with one idea more:

- SGD: step against the gradient, w ← w − lr·g. Simple, but it stops in the first valley it
  finds, and in a long narrow valley it zigzags across while crawling along.
- momentum: keep a velocity, v ← 0.9·v − lr·g, w ← w + v. Like a heavy ball it keeps rolling
  through small bumps and builds up speed along a valley's floor while the zigzags cancel.
- RMSProp: divide each coordinate's step by the root-mean-square of its recent gradients, so a
  steep direction and a flat one advance at about the same pace.
- Adam: momentum and RMSProp together (with a correction for the first steps).

They run here on losses small enough to draw: a 1-D curve with two valleys, an elongated 2-D
bowl and a curved banana valley (Rosenbrock's function). The optimizers are the Keras-style
ones (`keras.optimizers.SGD(momentum=0.9)`, ...), each driving the engine's `ms.optim`
update; the gradients come from autograd. Nothing here is random.

    mlseries run ch03.optimizers [--quick]
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
from matplotlib.colors import LogNorm

import mlseries as ms
from mlseries import viz
from mlseries.keras import optimizers

from ..registry import lesson

FULL = dict(frames=60)
QUICK = dict(frames=16)
TOLERANCE = 1e-3   # "reached the minimum": loss within this of the lowest value


@dataclass(frozen=True)
class Problem:
    name: str
    zh: str
    loss: Callable          # f(x) or f(x, y), on NumPy arrays and engine tensors alike
    start: tuple
    best: tuple             # where the (global) minimum is
    steps: int
    rates: dict             # optimizer name -> learning rate that suits this problem
    view: tuple             # plotted range: (x_lo, x_hi) or (x_lo, x_hi, y_lo, y_hi)


def two_valleys(x):
    """x⁴ − 4x² + x: a shallow valley at x ≈ 1.35 and a deeper one at x ≈ −1.47."""
    return x ** 4 - 4 * x ** 2 + x


def bowl(x, y):
    """An elongated bowl: its curvature across (y) is 100 times that along (x)."""
    return 0.05 * x ** 2 + 5 * y ** 2


def banana(x, y):
    """Rosenbrock's curved valley (scaled to 10 instead of 100); minimum 0 at (1, 1)."""
    return (1 - x) ** 2 + 10 * (y - x ** 2) ** 2


def _lowest_two_valleys():
    roots = np.roots([4, 0, -8, 1])  # f'(x) = 4x³ − 8x + 1
    real = roots[np.abs(roots.imag) < 1e-12].real
    return float(real[np.argmin(two_valleys(real))])


PROBLEMS = (
    # SGD and momentum share a learning rate, so the difference is the momentum alone
    Problem("two valleys", "双谷曲线", two_valleys, (2.4,), (_lowest_two_valleys(),), 150,
            dict(SGD=0.01, momentum=0.01, RMSProp=0.05, Adam=0.1), (-2.5, 2.5)),
    Problem("bowl", "狭长碗形", bowl, (-9.0, 0.6), (0.0, 0.0), 120,
            dict(SGD=0.17, momentum=0.17, RMSProp=0.1, Adam=0.3), (-10, 3.5, -1.2, 1.2)),
    Problem("banana", "香蕉形山谷", banana, (-1.2, 1.5), (1.0, 1.0), 300,
            dict(SGD=0.02, momentum=0.005, RMSProp=0.01, Adam=0.05), (-1.6, 1.6, -0.6, 2.0)),
)

COLORS = {"SGD": "#dd8452", "momentum": "#c44e52", "RMSProp": "#55a868", "Adam": "#4c72b0"}


def make_optimizer(kind, rate):
    """The Keras-style optimizers, Keras's defaults apart from the learning rate."""
    if kind == "SGD":
        return optimizers.SGD(learning_rate=rate)
    if kind == "momentum":
        return optimizers.SGD(learning_rate=rate, momentum=0.9)
    if kind == "RMSProp":
        return optimizers.RMSprop(learning_rate=rate)
    return optimizers.Adam(learning_rate=rate)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "optimizers_1d.png": ("从 x = 2.4 出发，只有动量越过小山丘到达更深的左边山谷。",
                          "Starting at x = 2.4, only momentum rolls over the hump into the deeper left valley."),
    "optimizers_2d.png": ("在狭长碗形上 SGD 来回振荡；在香蕉形山谷里，各方法沿谷底前进的速度不同。",
                          "On the narrow bowl SGD zigzags across; in the banana valley the methods differ in how fast they move along the floor."),
    "loss_curves.png": ("纵轴是与最小值的差（对数）：低于虚线就算到达最小值。",
                        "The gap to the minimum on a log scale: below the dotted line counts as reaching it."),
    "sgd_momentum.gif": ("左：SGD 停在第一个山谷，动量滚过去；右：四种优化器在碗形上的路径。",
                         "Left: SGD stops in the first valley, momentum rolls on; right: four optimizers' paths on the bowl."),
}


# ---------------------------------------------------------------- descending

def descend(problem, optimizer):
    """Run `optimizer` from the problem's start; returns the path, (steps + 1, dims + 1):
    each row the point and its loss."""
    point = ms.tensor(problem.start, dtype=ms.float64, requires_grad=True)  # (dims,)
    path = []
    for _ in range(problem.steps):
        loss = problem.loss(*point)                     # () from the coordinates
        (grad,) = ms.autograd.grad(loss, [point])       # (dims,)
        path.append((*point.tolist(), loss.item()))
        optimizer.apply_gradients([(grad, point)])      # one update of the point
    path.append((*point.tolist(), problem.loss(*point.detach()).item()))
    return np.array(path)


def steps_to_reach(path, lowest):
    """The first step whose loss is within TOLERANCE of the minimum (None if never)."""
    hits = np.flatnonzero(path[:, -1] - lowest <= TOLERANCE)
    return int(hits[0]) if len(hits) else None


# ---------------------------------------------------------------- figures

def _surface(problem, n=300):
    x0, x1, y0, y1 = problem.view
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))  # (n, n) each
    return gx, gy, problem.loss(gx, gy)


def draw_contours(ax, problem):
    gx, gy, z = _surface(problem)
    lowest = problem.loss(*problem.best)
    levels = np.geomspace(max(z.min() - lowest, 1e-3), z.max() - lowest, 14)
    ax.contourf(gx, gy, z - lowest + 1e-9, levels=levels, norm=LogNorm(), cmap="Greys", alpha=0.3)
    ax.contour(gx, gy, z - lowest + 1e-9, levels=levels, colors="0.55", linewidths=0.4)
    ax.plot(*problem.best, "*", color="k", ms=12, zorder=4)
    ax.set(xlim=problem.view[:2], ylim=problem.view[2:], xlabel="x", ylabel="y")
    ax.grid(False)


def plot_1d(problem, paths):
    fig = viz.figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    xs = np.linspace(*problem.view, 400)
    left.plot(xs, problem.loss(xs), color="0.3", lw=1.5)
    for kind, path in paths.items():
        left.plot(path[:, 0], path[:, 1], "o-", color=COLORS[kind], ms=3, lw=0.6, alpha=0.8,
                  label=f"{kind} (lr {problem.rates[kind]})")
        right.plot(path[:, 0], color=COLORS[kind], label=kind)
    right.axhline(problem.best[0], color="k", ls="--", lw=0.8,
                  label=viz.text("最低点", "global minimum"))
    left.set(title=viz.text("x⁴ − 4x² + x 上的路径", "Paths on x⁴ − 4x² + x"), xlabel="x", ylabel="f(x)")
    right.set(title=viz.text("x 随步数的变化", "x at each step"), xlabel=viz.text("步数", "step"),
              ylabel="x")
    left.legend(loc="upper center")
    right.legend(loc="center right")
    return fig


def plot_2d(problems, runs):
    fig = viz.figure(figsize=(12, 4.6))
    axes = fig.subplots(1, len(problems))
    for ax, problem in zip(axes, problems):
        draw_contours(ax, problem)
        for kind, path in runs[problem.name].items():
            ax.plot(path[:, 0], path[:, 1], ".-", color=COLORS[kind], ms=2.5, lw=1,
                    label=f"{kind} (lr {problem.rates[kind]})")
        ax.plot(*problem.start, "o", color="k", ms=5)
        ax.set_title(viz.text(f"{problem.zh}：{problem.steps} 步", f"{problem.name}: {problem.steps} steps"))
        ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_losses(problems, runs):
    fig = viz.figure(figsize=(13, 4))
    axes = fig.subplots(1, len(problems))
    for ax, problem in zip(axes, problems):
        lowest = problem.loss(*problem.best)
        for kind, path in runs[problem.name].items():
            ax.semilogy(np.maximum(path[:, -1] - lowest, 1e-12), color=COLORS[kind], label=kind)
        ax.axhline(TOLERANCE, color="k", ls=":", lw=0.8,
                   label=viz.text(f"容差 {TOLERANCE:g}", f"tolerance {TOLERANCE:g}"))
        ax.set(title=viz.text(problem.zh, problem.name), xlabel=viz.text("步数", "step"),
               ylabel=viz.text("损失 − 最小值", "loss − minimum"))
    # one legend for the three panels, below them: inside, the curves fill every corner
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=5)
    return fig


def animate(ctx, valley, bowl_problem, runs, frames):
    """The seed's sgd_momentum animation: balls rolling on the two-valley curve (left) and
    the four optimizers' paths growing on the bowl (right)."""
    fig = viz.figure(figsize=(10, 4.2), dpi=96)
    left, right = fig.subplots(1, 2)
    xs = np.linspace(*valley.view, 400)
    left.plot(xs, valley.loss(xs), color="0.3", lw=1.5)
    left.set_title(viz.text("SGD 停在第一个山谷，动量滚过去", "SGD stops in the first valley; momentum rolls on",
                            sep="\n"), fontsize=10)
    left.set(xlabel="x", ylabel="f(x)")
    balls = {kind: left.plot([], [], "o", color=COLORS[kind], ms=11, label=kind)[0]
             for kind in ("SGD", "momentum")}
    left.legend(loc="upper center")
    draw_contours(right, bowl_problem)
    right.set_title(viz.text("狭长碗形上的四种优化器", "Four optimizers on an elongated bowl", sep="\n"),
                    fontsize=10)
    trails = {kind: right.plot([], [], ".-", color=COLORS[kind], ms=3, lw=1.2, label=kind)[0]
              for kind in COLORS}
    right.legend(loc="lower right", fontsize=8)
    caption = left.text(0.03, 0.04, "", transform=left.transAxes, family="monospace")
    longest = max(valley.steps, bowl_problem.steps)
    shown = np.unique(np.linspace(0, longest, frames).astype(int))
    with ctx.gif("sgd_momentum.gif", fps=8, hold_last=2.0) as gif:
        for step in shown:
            for kind, ball in balls.items():
                x, fx = runs[valley.name][kind][min(step, valley.steps)]
                ball.set_data([x], [fx])
            for kind, trail in trails.items():
                path = runs[bowl_problem.name][kind][:min(step, bowl_problem.steps) + 1]
                trail.set_data(path[:, 0], path[:, 1])
            caption.set_text(f"step {step}")
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch03.optimizers", zh="优化器：SGD、动量、RMSProp 与 Adam",
        en="Optimizers: SGD, momentum, RMSProp and Adam")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    runs, rows = {}, []
    for problem in PROBLEMS:
        lowest = problem.loss(*problem.best)
        runs[problem.name] = {}
        for kind, rate in problem.rates.items():
            path = descend(problem, make_optimizer(kind, rate))
            runs[problem.name][kind] = path
            reached = steps_to_reach(path, lowest)
            rows.append((problem.name, kind, rate, path[-1, :-1], path[-1, -1] - lowest, reached))
            key = f"{problem.name.replace(' ', '_')}_{kind}"
            ctx.record(**{f"{key}_final_gap": path[-1, -1] - lowest, f"{key}_steps_to_1e-3": reached})
    ctx.log(f"{'problem':<12}{'optimizer':<10}{'lr':>7}  {'final point':<22}{'loss - min':>12}  steps to 1e-3")
    for name, kind, rate, point, gap, reached in rows:
        where = "(" + ", ".join(f"{v:+.3f}" for v in point) + ")"
        reached = "-" if reached is None else reached
        ctx.log(f"{name:<12}{kind:<10}{rate:>7}  {where:<22}{gap:>12.2e}  {reached}")

    # what the pictures show, as checks
    valley, bowl_problem = PROBLEMS[0], PROBLEMS[1]
    sgd_x, momentum_x = runs[valley.name]["SGD"][-1, 0], runs[valley.name]["momentum"][-1, 0]
    ctx.record(two_valleys_SGD_x=sgd_x, two_valleys_momentum_x=momentum_x)
    ctx.check("SGD stops in the shallow valley, momentum reaches the deeper one",
              sgd_x > 1 and abs(momentum_x - valley.best[0]) < 0.05)
    bowl_steps = {kind: steps_to_reach(path, 0.0) for kind, path in runs[bowl_problem.name].items()}
    ctx.check("on the elongated bowl, momentum needs fewer steps than SGD at the same rate",
              bowl_steps["momentum"] is not None
              and (bowl_steps["SGD"] is None or bowl_steps["momentum"] < bowl_steps["SGD"]))

    ctx.save_figure(plot_1d(valley, runs[valley.name]), "optimizers_1d.png")
    ctx.save_figure(plot_2d(PROBLEMS[1:], runs), "optimizers_2d.png")
    ctx.save_figure(plot_losses(PROBLEMS, runs), "loss_curves.png")
    animate(ctx, valley, bowl_problem, runs, settings["frames"])
