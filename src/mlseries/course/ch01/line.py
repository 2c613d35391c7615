"""ch01.line — 绘制直线 / Drawing a line: the best-fit line through 100 random points.

Which line y = m·x + b passes closest to 100 scattered points? "Closest" here means the
smallest mean squared vertical distance (MSE). The chapter answers it two ways:

- the traditional way: a formula (least squares has a closed form), or, without the formula,
  a brute-force search that tries every slope and intercept on a grid;
- the machine-learning way: start from a flat line and walk downhill on the MSE by gradient
  descent, with the gradients computed by the engine's autograd.

Both land on the same line. Gradient descent needs no formula, only the loss and its gradient,
which is why the same four steps later train networks that no formula can solve.

    mlseries run ch01.line [--quick]
"""
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

import mlseries as ms
from mlseries import viz

from ..registry import lesson

FULL = dict(steps=200, frames=48)
QUICK = dict(steps=120, frames=16)
LR = 0.05       # on standardized x (below) the error shrinks by 1 - 2·LR = 10 % a step
RAW_LR = 0.02   # on raw x in [0, 10] anything above ~0.03 diverges


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "line_fit.png": ("三种方法（公式、暴力搜索、梯度下降）得到的直线几乎重合。",
                     "The three lines (formula, brute-force search, gradient descent) lie on top of each other."),
    "loss_curve.png": ("右图看差距：标准化 x 后的梯度下降直线下降到 1e-8，原始 x 很快停在一个缓慢的山谷里。",
                       "Right: with standardised x the gap to the minimum falls in a straight line to 1e-8; with raw x it soon crawls along a narrow valley."),
    "loss_surface.png": ("原始 x 的损失地形是一条细长山谷：橙色路径先冲到谷底，再沿谷慢慢爬向星号。",
                         "On raw x the loss is a long narrow valley: the orange path drops to its floor, then creeps along it towards the star."),
    "line_descent.gif": ("红线每一步都向数据靠近，MSE 随之下降，最后与最小二乘的虚线重合。",
                         "With every step the red line moves towards the data, the MSE falls, and it ends on the dashed least-squares line."),
}


# ---------------------------------------------------------------- 1. data

def noisy_line(n=100, slope=2.0, intercept=1.0, noise=1.0, low=0.0, high=10.0, seed=0):
    """n points near a known line: x uniform in [low, high), y = slope·x + intercept + N(0, noise²).

    Returns float64 arrays x, y of shape (n,). Same seed, same points.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    y = slope * x + intercept + rng.normal(0.0, noise, size=n)
    return x, y


def mse(m, b, x, y):
    """Mean squared vertical distance from the points to the line y = m·x + b."""
    return float(np.mean((m * x + b - y) ** 2))


# ---------------------------------------------------------------- 2. the traditional way

def least_squares(x, y):
    """The exact answer. Setting ∂MSE/∂m = ∂MSE/∂b = 0 gives m = cov(x, y) / var(x) and
    b = mean(y) − m·mean(x): the best line passes through the centre of the points."""
    dx, dy = x - x.mean(), y - y.mean()
    m = np.sum(dx * dy) / np.sum(dx * dx)
    return float(m), float(y.mean() - m * x.mean())


def grid_search(x, y, slopes, intercepts):
    """Try every (slope, intercept) pair on a grid; return the best pair."""
    errors = np.empty((len(slopes), len(intercepts)))  # (S, I)
    for i, m in enumerate(slopes):
        lines = m * x + intercepts[:, None]            # (I, N): each intercept's line at every x
        errors[i] = np.mean((lines - y) ** 2, axis=1)  # (I,)
    i, j = np.unravel_index(np.argmin(errors), errors.shape)
    return float(slopes[i]), float(intercepts[j])


def brute_force(x, y):
    """Search without calculus, coarse to fine: a grid with step 0.1 over [-10, 10]², then a
    step-0.01 grid around its best point, then a step-0.001 grid around that one.

    One fine grid over the whole square would need 20 001² lines; three zoomed grids of 201²
    find the same point. Each window spans ten steps of the grid before it, because the best
    lines lie along a narrow valley and a coarse grid can miss it by several steps. The result
    agrees with the formula to a few thousandths: along the valley floor, neighbouring grid
    points fit the data almost equally well.
    """
    m, b = grid_search(x, y, np.linspace(-10, 10, 201), np.linspace(-10, 10, 201))
    for half_width in (1.0, 0.1):
        m, b = grid_search(x, y, np.linspace(m - half_width, m + half_width, 201),
                           np.linspace(b - half_width, b + half_width, 201))
    # the answer sits on the 0.001 grid; rounding drops linspace's float noise (1.9869999...)
    return round(m, 6), round(b, 6)


# ---------------------------------------------------------------- 3. the machine-learning way

def gradient_descent(x, y, steps, lr, progress=iter):
    """Fit y ≈ w·x + c by gradient descent on the MSE, using the engine's autograd.

    Returns the history as an array of shape (steps + 1, 3): w, c and the loss at every step
    (row t holds the parameters before update t and their loss; the last row is the result).
    """
    x = ms.tensor(x, dtype=ms.float32)   # (N,)
    y = ms.tensor(y, dtype=ms.float32)   # (N,)
    w = ms.zeros(1, requires_grad=True)  # (1,) slope: start from a flat line
    c = ms.zeros(1, requires_grad=True)  # (1,) intercept
    history = []
    for _ in progress(range(steps)):
        # 1. how wrong is the current line?
        loss = ((w * x + c - y) ** 2).mean()  # ()
        # 2. which way makes it less wrong? backward() fills w.grad = ∂loss/∂w, c.grad = ∂loss/∂c
        loss.backward()
        history.append((w.item(), c.item(), loss.item()))
        # 3. move a little that way; no_grad because the update itself is not part of the model
        with ms.no_grad():
            w -= lr * w.grad
            c -= lr * c.grad
        # gradients add up across backward() calls, so clear them before the next step
        w.grad = None
        c.grad = None
        # 4. repeat (the loop) until the loss stops falling
    with ms.no_grad():
        history.append((w.item(), c.item(), ((w * x + c - y) ** 2).mean().item()))
    return np.array(history)


def standardize(x):
    """z-scores: x shifted to mean 0 and scaled to standard deviation 1.

    On raw x in [0, 10] the MSE is a long narrow valley: it curves ~140 times more steeply
    along m than along the valley floor, so a learning rate small enough not to diverge
    along m crawls along the floor. On z-scores it is a round bowl and one rate suits both.
    """
    mean, std = x.mean(), x.std()
    return (x - mean) / std, mean, std


def to_original_units(w, c, mean, std):
    """y = w·(x − mean)/std + c, rewritten as y = m·x + b."""
    m = w / std
    return m, c - m * mean


# ---------------------------------------------------------------- 4. figures

def plot_lines(x, y, lines):
    """The points and each method's line; `lines` is [(label, m, b, style), ...]."""
    fig = viz.figure()
    ax = fig.subplots()
    ax.scatter(x, y, s=16, color=viz.COLORS["data"], alpha=0.75,
               label=viz.text("数据点", "data"))
    xs = np.array([x.min(), x.max()])
    for label, m, b, style in lines:
        ax.plot(xs, m * xs + b, label=f"{label}: y = {m:.3f}x + {b:.3f}", **style)
    ax.set(title=viz.text("最佳拟合直线", "Best-fit line through 100 points"),
           xlabel="x", ylabel="y")
    ax.legend(loc="upper left")
    return fig


def plot_loss(paths, best_loss, x, y):
    """MSE per step for each run (left) and its distance to the least-squares minimum (right).

    `paths` is [(label, path, colour)], each path an array of (m, b, loss) rows, one per step.
    """
    fig = viz.figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    for label, path, color in paths:
        steps = np.arange(len(path))
        left.plot(steps, path[:, 2], color=color, label=label)
        # recomputed in float64 from m and b: float32 losses cannot resolve gaps below ~1e-7
        gap = np.array([mse(m, b, x, y) for m, b, _ in path]) - best_loss
        right.semilogy(steps, np.maximum(gap, 1e-12), color=color, label=label)
    left.axhline(best_loss, color=viz.COLORS["reference"], ls="--", lw=1,
                 label=viz.text("最小二乘的最小值", "least-squares minimum"))
    left.set(title=viz.text("训练损失", "Training loss"), xlabel=viz.text("步数", "step"),
             ylabel="MSE", yscale="log")
    right.set(title=viz.text("与最小值的差距", "Distance to the minimum"),
              xlabel=viz.text("步数", "step"), ylabel=viz.text("MSE − 最小值", "MSE − minimum"))
    left.legend()
    right.legend()
    return fig


def plot_search(x, y, points, paths):
    """The MSE over (m, b) as contours, the answers as markers and the descent paths as lines.

    `points` is [(label, m, b, marker style)], `paths` is [(label, path, colour)] as in plot_loss.
    """
    corners = np.vstack([path[:, :2] for _, path, _ in paths] + [[(m, b) for _, m, b, _ in points]])
    (m_lo, b_lo), (m_hi, b_hi) = corners.min(0), corners.max(0)
    pad_m, pad_b = 0.15 * (m_hi - m_lo) + 0.2, 0.15 * (b_hi - b_lo) + 0.5
    slopes = np.linspace(m_lo - pad_m, m_hi + pad_m, 200)      # (M,)
    intercepts = np.linspace(b_lo - pad_b, b_hi + pad_b, 200)  # (B,)
    lines = slopes[None, :, None] * x + intercepts[:, None, None]  # (B, M, N)
    surface = np.mean((lines - y) ** 2, axis=2)                    # (B, M)
    fig = viz.figure(figsize=(7, 5))
    ax = fig.subplots()
    # MSE spans orders of magnitude, so the colour steps are spaced evenly on a log scale.
    levels = np.geomspace(surface.min(), surface.max(), 16)
    filled = ax.contourf(slopes, intercepts, surface, levels=levels, norm=LogNorm(), cmap="Blues")
    ax.contour(slopes, intercepts, surface, levels=levels, colors="white", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="MSE", ticks=LogLocator(), format=LogFormatterSciNotation())
    ax.grid(False)  # the contour lines already are the grid here
    for label, path, color in paths:
        ax.plot(path[:, 0], path[:, 1], ".-", color=color, ms=3, lw=1, label=label)
    for label, m, b, style in points:
        ax.plot([m], [b], ls="none", label=label, **style)
    ax.set(title=viz.text("MSE 地形与下降路径", "MSE over (m, b) and the descent paths"),
           xlabel=viz.text("斜率 m", "slope m"), ylabel=viz.text("截距 b", "intercept b"))
    ax.legend(loc="lower right")
    return fig


def animate(ctx, x, y, path, best, frames):
    """GIF of the gradient-descent line moving onto the data; `path` holds (m, b, loss) per step."""
    fig = viz.figure(figsize=(6, 4.2), dpi=100)
    ax = fig.subplots()
    ax.scatter(x, y, s=14, color=viz.COLORS["data"], alpha=0.75,
               label=viz.text("数据点", "data"))
    xs = np.array([x.min(), x.max()])
    ax.plot(xs, best[0] * xs + best[1], color=viz.COLORS["reference"], ls="--", lw=1,
            label=viz.text("最小二乘", "least squares"))
    (line,) = ax.plot(xs, 0 * xs, color=viz.COLORS["learned"], lw=2.5,
                      label=viz.text("梯度下降", "gradient descent"))
    # upper left, under the legend: the one corner the data and the moving line never cross
    caption = ax.text(0.03, 0.76, "", transform=ax.transAxes, ha="left", va="top",
                      family="monospace", bbox=dict(boxstyle="round", fc="white", ec="0.8"))
    ax.set(title=viz.text("梯度下降找到直线", "Gradient descent finding the line"),
           xlabel="x", ylabel="y", ylim=(min(y.min(), 0) - 1, y.max() + 1))
    ax.legend(loc="upper left")
    # The line moves most in the first steps, so sample frames densely there.
    shown = np.unique(np.geomspace(1, len(path), frames).astype(int) - 1)
    with ctx.gif("line_descent.gif", fps=8, hold_last=2.0) as gif:
        for step in shown:
            m, b, loss = path[step]
            line.set_ydata(m * xs + b)
            caption.set_text(f"step {step:>3}\ny = {m:.3f}x + {b:.3f}\nMSE  {loss:.3f}")
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch01.line", zh="绘制直线：传统解法与梯度下降",
        en="Drawing a line: formula, search and gradient descent")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    steps = settings["steps"]

    # 1. data: 100 seeded points near y = 2x + 1
    x, y = noisy_line(n=100, seed=ctx.seed)

    # 2. traditional: the formula, and a search that needs no formula
    m_cf, b_cf = least_squares(x, y)
    m_bf, b_bf = brute_force(x, y)
    best_loss = mse(m_cf, b_cf, x, y)

    # 3. machine learning: gradient descent on standardized x, then back to the units of x;
    #    and on raw x with the same number of steps, to show why the scaling matters
    z, mean, std = standardize(x)
    scaled = gradient_descent(z, y, steps, LR, lambda it: ctx.progress(it, "gradient descent"))
    raw = gradient_descent(x, y, steps, RAW_LR)
    # both as (m, b, loss) per step in the units of x
    path = np.array([(*to_original_units(w, c, mean, std), loss) for w, c, loss in scaled])
    raw_path = raw  # on raw x, w and c already are m and b
    m_gd, b_gd = path[-1, :2]
    m_raw, b_raw = raw_path[-1, :2]

    # results
    err_m, err_b = abs(m_gd - m_cf), abs(b_gd - b_cf)
    ctx.record(closed_form_m=m_cf, closed_form_b=b_cf, closed_form_loss=best_loss,
               brute_force_m=m_bf, brute_force_b=b_bf, brute_force_loss=mse(m_bf, b_bf, x, y),
               gd_m=m_gd, gd_b=b_gd, gd_loss=mse(m_gd, b_gd, x, y), gd_steps=steps, gd_lr=LR,
               gd_abs_err_m=err_m, gd_abs_err_b=err_b, gd_max_abs_err=max(err_m, err_b),
               raw_gd_m=m_raw, raw_gd_b=b_raw, raw_gd_loss=mse(m_raw, b_raw, x, y),
               raw_gd_lr=RAW_LR)
    for name, m, b in [("closed form     ", m_cf, b_cf), ("brute force     ", m_bf, b_bf),
                       ("gradient descent", m_gd, b_gd), ("GD on raw x     ", m_raw, b_raw)]:
        ctx.log(f"{name}  y = {m:.5f}·x + {b:.5f}   MSE {mse(m, b, x, y):.6f}")
    ctx.check("GD within 1e-3 of closed form", max(err_m, err_b) <= 1e-3)

    # 4. figures
    colors = viz.COLORS
    closed_form, brute, descent = (viz.text("闭式解", "closed form"), viz.text("暴力搜索", "brute force"),
                                   viz.text("梯度下降", "gradient descent"))
    ctx.save_figure(plot_lines(x, y, [
        (closed_form, m_cf, b_cf, dict(color=colors["reference"], lw=5, alpha=0.3)),
        (brute, m_bf, b_bf, dict(color=colors["search"], lw=1.5, ls=":")),
        (descent, m_gd, b_gd, dict(color=colors["learned"], lw=1.5, ls="--")),
    ]), "line_fit.png")

    runs = [(viz.text("梯度下降，标准化 x", "GD, standardized x"), path, colors["learned"]),
            (viz.text("梯度下降，原始 x", "GD, raw x"), raw_path, colors["search"])]
    ctx.save_figure(plot_loss(runs, best_loss, x, y), "loss_curve.png")
    ctx.save_figure(plot_search(x, y, points=[
        (closed_form, m_cf, b_cf, dict(marker="*", ms=16, color=colors["reference"])),
        (brute, m_bf, b_bf, dict(marker="x", ms=10, mew=2, color=colors["search"])),
    ], paths=runs), "loss_surface.png")

    animate(ctx, x, y, path, (m_cf, b_cf), settings["frames"])
