"""ch04.derivatives — 导数与链式法则 / Derivatives, the chain rule and partial derivatives.

Training a network is walking downhill on its loss, and the derivative says which way is
down. This lesson builds up what backpropagation needs, all in plain NumPy:

- the derivative as the slope of a tangent, f'(x) = lim (f(x+h) − f(x−h)) / 2h, and why a
  computer can only approximate that limit (too large an h: the curve bends; too small: the
  digits of f(x+h) − f(x−h) cancel);
- the chain rule for composite functions h(g(f(x))), and partial derivatives and the
  gradient for functions of several variables;
- the activations (sigmoid, tanh, ReLU, softmax) and losses (MSE, binary and categorical
  cross-entropy) with their derivatives written by hand.

Every hand-written derivative is then checked against central finite differences at many
points, in float64: the table at the end shows analytic against numeric, and the largest
disagreement must stay below 1e-6.

    mlseries run ch04.derivatives [--quick]
"""
import numpy as np

from mlseries import viz

from ..registry import lesson
from ..table import format_table

H = 1e-6         # central-difference step: error ~ h²·f''' + 1e-16·|f|/h, both far below 1e-6
FULL = dict(points=2000, rows=64, frames=36)
QUICK = dict(points=200, rows=16, frames=10)
CLASSES = 5


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "finite_differences.png": ("步长 h 太大是截断误差，太小是舍入误差；中心差分在 h ≈ 1e-5 附近最准。",
                               "Too large an h gives truncation error, too small gives round-off; the central difference is best near h ≈ 1e-5."),
    "activations.png": ("虚线（手写导数）穿过每一个圆点（数值导数）；右下是 softmax 的雅可比矩阵。",
                        "The dashed derivative passes through every circle (the numeric one); bottom right: softmax's Jacobian."),
    "losses.png": ("右图：对 logit 求导时，错得越离谱 BCE 推得越用力，而 MSE 的梯度却消失了。",
                   "Right: in the logit, the more wrong the prediction, the harder BCE pushes, while MSE's gradient vanishes."),
    "gradient.png": ("箭头（梯度）总是垂直于等高线，指向函数增长最快的方向。",
                     "The arrows (the gradient) cross the contour lines at right angles, pointing where f grows fastest."),
    "checks.png": ("所有 12 个导数的误差都在 1e-9 左右，远低于 1e-6 的目标线。",
                   "All 12 derivatives agree to about 1e-9, far below the 1e-6 target line."),
    "tangent.gif": ("切线的斜率（下图红线）描出的正是导数 3x² − 3。",
                    "The tangent's slope (red, below) traces out the derivative 3x² − 3."),
}


# ---------------------------------------------------------------- 1. the derivative as a limit

def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def central_difference(f, x, h=H):
    """Slope of the chord from x − h to x + h. Its error shrinks like h² (the forward
    difference's only like h), because the curvature terms of the two sides cancel."""
    return (f(x + h) - f(x - h)) / (2 * h)


def numeric_gradient(f, x, h=H):
    """∂f/∂x for a scalar function of an array: nudge one entry at a time."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        keep = x[idx]
        x[idx] = keep + h
        up = f(x)
        x[idx] = keep - h
        down = f(x)
        x[idx] = keep
        grad[idx] = (up - down) / (2 * h)
    return grad


def numeric_jacobian(f, x, h=H):
    """J[i, j] = ∂f_i/∂x_j for a vector function f: (n,) -> (m,), one column per nudged input."""
    columns = []
    for j in range(len(x)):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.stack(columns, axis=1)  # (m, n)


# ---------------------------------------------------------------- 2. activations, derivatives

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def d_sigmoid(z):
    s = sigmoid(z)
    return s * (1.0 - s)                       # σ' = σ(1 − σ)


def d_tanh(z):
    return 1.0 - np.tanh(z) ** 2               # tanh' = 1 − tanh²


def relu(z):
    return np.maximum(z, 0.0)


def d_relu(z):
    # 1 where z > 0, 0 where z < 0; at z = 0 there is a kink and no derivative (frameworks use 0)
    return (z > 0).astype(np.float64)


def softmax(z):
    """exp(z) / Σ exp(z) along the last axis; subtracting the max first changes nothing
    mathematically but keeps exp from overflowing."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(z):
    """∂s_i/∂z_j = s_i(δ_ij − s_j), i.e. diag(s) − s·sᵀ, for one vector z (n,)."""
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)         # (n, n)


# ---------------------------------------------------------------- 3. losses and their derivatives
# All losses average over the batch (PyTorch's reduction='mean'), so every gradient carries a 1/N.

def mse(p, y):
    return np.mean((p - y) ** 2)


def d_mse(p, y):
    return 2.0 * (p - y) / p.size


def bce(p, y):
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def d_bce(p, y):
    """With respect to the probability p: (−y/p + (1−y)/(1−p))/N = (p − y)/(p(1 − p)N)."""
    return (p - y) / (p * (1.0 - p) * p.size)


def d_bce_logits(z, y):
    """With respect to the logit z, where p = σ(z): the σ' = p(1 − p) of the chain rule
    cancels the denominator above, leaving (p − y)/N. This is the seed's
    `deriv_binary_cross_entry` (y_pred − y_true): a derivative with respect to z, not p."""
    return (sigmoid(z) - y) / z.size


def cross_entropy(p, y):
    """Categorical cross-entropy: rows of probabilities p (N, C), one-hot rows y (N, C)."""
    return -np.sum(y * np.log(p)) / len(p)


def d_cross_entropy(p, y):
    return -y / (p * len(p))


def d_cross_entropy_logits(z, y):
    """Softmax then cross-entropy, with respect to the logits: (softmax(z) − y)/N. As with
    the sigmoid, the softmax Jacobian and the 1/p of the log cancel to a difference."""
    return (softmax(z) - y) / len(z)


# ---------------------------------------------------------------- 4. the checks

def check_elementwise(f, df, x):
    """Analytic df against the central difference of f at every point of x at once."""
    return df(x), central_difference(f, x)


def build_checks(rng, points, rows):
    """[(metric key, name, formula, analytic array, numeric array)] for every derivative."""
    z = rng.uniform(-4.0, 4.0, size=points)
    # ReLU has a kink at 0: keep the test points at least 1e-3 away, where it is smooth
    z_relu = np.where(np.abs(z) < 1e-3, 1e-3 * np.sign(z + 1e-12) + z, z)
    p = rng.uniform(0.05, 0.95, size=rows)                          # (N,) probabilities
    y01 = (rng.uniform(size=rows) < 0.5).astype(np.float64)         # (N,) labels 0/1
    logits = rng.normal(0.0, 2.0, size=(rows, CLASSES))             # (N, C)
    onehot = np.eye(CLASSES)[rng.integers(0, CLASSES, size=rows)]   # (N, C)
    # probabilities for ∂CE/∂p kept away from 0: the third derivative of log p grows like
    # 1/p³, and with it the central difference's own error (rows need not sum to 1 here)
    probs = rng.uniform(0.5, 1.5, size=(rows, CLASSES))             # (N, C)
    probs /= probs.sum(axis=1, keepdims=True)
    target = rng.normal(size=rows)                                  # (N,) regression targets

    # softmax: the whole Jacobian of each row, stacked
    jac = np.stack([softmax_jacobian(row) for row in logits])       # (N, C, C)
    jac_num = np.stack([numeric_jacobian(softmax, row) for row in logits])

    return [
        ("sigmoid", "sigmoid", "σ(1 − σ)", *check_elementwise(sigmoid, d_sigmoid, z)),
        ("tanh", "tanh", "1 − tanh²", *check_elementwise(np.tanh, d_tanh, z)),
        ("relu", "relu", "1[z > 0]", *check_elementwise(relu, d_relu, z_relu)),
        ("softmax", "softmax", "diag(s) − s·sᵀ", jac, jac_num),
        ("mse", "mse", "2(p − y)/N", d_mse(p, target), numeric_gradient(lambda q: mse(q, target), p)),
        ("bce_p", "bce (p)", "(p − y)/(p(1 − p)N)", d_bce(p, y01),
         numeric_gradient(lambda q: bce(q, y01), p)),
        ("bce_logit", "bce (logit z)", "(σ(z) − y)/N", d_bce_logits(logits[:, 0], y01),
         numeric_gradient(lambda q: bce(sigmoid(q), y01), logits[:, 0])),
        ("cross_entropy_p", "cross-entropy (p)", "−y/(pN)", d_cross_entropy(probs, onehot),
         numeric_gradient(lambda q: cross_entropy(q, onehot), probs)),
        ("cross_entropy_logits", "cross-entropy (logits)", "(softmax(z) − y)/N",
         d_cross_entropy_logits(logits, onehot),
         numeric_gradient(lambda q: cross_entropy(softmax(q), onehot), logits)),
    ]


def chain_rule_checks(rng, points):
    """The chain rule on two composites, and a partial derivative, each against numbers."""
    x = rng.uniform(-2.0, 2.0, size=points)
    # h(x) = sin(x²): outer derivative cos(·) at the inner value, times the inner one 2x
    composite = (np.cos(x ** 2) * 2 * x, central_difference(lambda t: np.sin(t ** 2), x))
    # the seed's h(g(f(w, b))): f = w·x + b, g = σ, h = (g − y)²; dh/dw = 2(g − y)·σ'(f)·x
    xs, ys = 1.5, 0.2
    w = rng.uniform(-2.0, 2.0, size=points)
    b = rng.uniform(-2.0, 2.0, size=points)
    f = w * xs + b
    dh_dw = 2 * (sigmoid(f) - ys) * d_sigmoid(f) * xs
    layered = (dh_dw, central_difference(lambda v: (sigmoid(v * xs + b) - ys) ** 2, w))
    # f(x, y) = x²·y + sin(y): ∂f/∂x = 2xy (y held fixed), ∂f/∂y = x² + cos(y) (x held fixed)
    px, py = rng.uniform(-2, 2, size=points), rng.uniform(-2, 2, size=points)
    grad = np.stack([2 * px * py, px ** 2 + np.cos(py)])
    grad_num = np.stack([central_difference(lambda t: bowl(t, py), px),
                         central_difference(lambda t: bowl(px, t), py)])
    return [("chain_sin_x2", "chain: sin(x²)", "cos(x²)·2x", *composite),
            ("chain_layer", "chain: (σ(w·x + b) − y)²", "2(σ − y)·σ(1 − σ)·x", *layered),
            ("partial_x2y_siny", "partial: x²y + sin y", "(2xy, x² + cos y)", grad, grad_num)]


def bowl(x, y):
    """The two-variable function of the partial-derivative example."""
    return x ** 2 * y + np.sin(y)


# ---------------------------------------------------------------- 5. figures

def plot_step_sizes(x0=1.0):
    """Error of forward and central differences of sin at x0, for h from 1e-15 to 1e-1."""
    hs = np.logspace(-15, -1, 57)
    exact = np.cos(x0)
    fwd = np.abs(forward_difference(np.sin, x0, hs) - exact)
    ctr = np.abs(central_difference(np.sin, x0, hs) - exact)
    fig = viz.figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.loglog(hs, np.maximum(fwd, 1e-17), "o-", ms=3, label=viz.text("前向差分", "forward difference"))
    ax.loglog(hs, np.maximum(ctr, 1e-17), "s-", ms=3, label=viz.text("中心差分", "central difference"))
    ax.axvline(H, color=viz.COLORS["reference"], ls="--", lw=1,
               label=viz.text(f"本课使用的 h = {H:g}", f"h used here = {H:g}"))
    ax.axhline(1e-6, color=viz.COLORS["learned"], ls=":", lw=1,
               label=viz.text("目标 1e-6", "target 1e-6"))
    ax.set(title=viz.text("sin 在 x = 1 处的数值导数误差", "Error of numeric derivatives of sin at x = 1"),
           xlabel=viz.text("步长 h", "step h"), ylabel=viz.text("|数值 − 解析|", "|numeric − exact|"))
    # the bottom band stays empty (no curve gets below 1e-13), room for the two labels
    box = dict(boxstyle="round", fc="white", ec="none", alpha=0.85)
    ax.text(0.03, 0.04, viz.text("← 舍入误差主导", "← round-off dominates"), transform=ax.transAxes,
            bbox=box)
    ax.text(0.97, 0.04, viz.text("截断误差主导 →", "truncation dominates →"), transform=ax.transAxes,
            ha="right", bbox=box)
    ax.set_ylim(1e-16, 1)
    ax.legend(loc="upper center")
    return fig


def plot_activations():
    """Each activation (solid) and its hand-written derivative (dashed), with numeric dots."""
    z = np.linspace(-5, 5, 401)
    dots = np.linspace(-4.5, 4.5, 13) + 0.05   # off the ReLU kink at 0
    fig = viz.figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2).ravel()
    for ax, (name, f, df) in zip(axes, [("sigmoid", sigmoid, d_sigmoid), ("tanh", np.tanh, d_tanh),
                                        ("ReLU", relu, d_relu)]):
        ax.plot(z, f(z), color=viz.COLORS["data"], label=f"{name}(z)")
        ax.plot(z, df(z), "--", color=viz.COLORS["learned"],
                label=viz.text("解析导数", "analytic derivative"))
        ax.plot(dots, central_difference(f, dots), "o", ms=5, mfc="none",
                color=viz.COLORS["reference"],
                label=viz.text("数值导数", "numeric derivative"))
        ax.set(title=name, xlabel="z", ylabel=viz.text("值", "value"))
        # tanh's derivative peaks top-left of centre: its legend goes to the empty lower right
        ax.legend(loc="lower right" if name == "tanh" else "upper left")
    vec = np.array([2.0, 1.0, 0.1, -1.0, 0.5])
    jac = softmax_jacobian(vec)
    image = axes[3].imshow(jac, cmap="RdBu_r", vmin=-0.25, vmax=0.25)
    for (i, j), v in np.ndenumerate(jac):
        axes[3].text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=axes[3])
    axes[3].grid(False)
    axes[3].set(title=viz.text("softmax 的雅可比矩阵，z = (2, 1, 0.1, −1, 0.5)",
                               "softmax Jacobian at z = (2, 1, 0.1, −1, 0.5)", sep="\n"),
                xlabel=viz.text("输入 z_j", "input z_j"), ylabel=viz.text("输出 s_i", "output s_i"))
    return fig


def plot_losses():
    """For a positive example (y = 1): the losses, their slopes in p, and their slopes in z."""
    p = np.linspace(0.02, 0.98, 300)
    z = np.linspace(-6, 6, 300)
    fig = viz.figure(figsize=(14, 4.2))
    left, middle, right = fig.subplots(1, 3)
    left.plot(p, (p - 1) ** 2, label="MSE  (p − 1)²")
    left.plot(p, -np.log(p), label="BCE  −log p")
    left.set(title=viz.text("损失（y = 1）", "Loss for y = 1"), xlabel=viz.text("预测概率 p", "predicted p"),
             ylabel=viz.text("损失", "loss"))
    middle.plot(p, 2 * (p - 1), label="∂MSE/∂p = 2(p − 1)")
    middle.plot(p, -1 / p, label="∂BCE/∂p = −1/p")
    middle.set(title=viz.text("对 p 的导数", "Derivative in p"), xlabel=viz.text("预测概率 p", "predicted p"),
               ylabel=viz.text("导数", "derivative"), ylim=(-10, 1))
    s = sigmoid(z)
    right.plot(z, 2 * (s - 1) * s * (1 - s), label="∂MSE(σ(z))/∂z")
    right.plot(z, s - 1, label="∂BCE(σ(z))/∂z = σ(z) − 1")
    right.set(title=viz.text("对 logit z 的导数", "Derivative in the logit z"), xlabel="z",
              ylabel=viz.text("导数", "derivative"))
    right.annotate(viz.text("错得越离谱，BCE 推得越用力，\nMSE 的梯度却消失了",
                            "very wrong: BCE pushes hard,\nMSE's gradient vanishes", sep="\n"),
                   xy=(-5, -0.99), xytext=(0.8, -0.6), va="center", fontsize=8.5,
                   arrowprops=dict(arrowstyle="->"))
    for ax in (left, middle, right):
        ax.legend(loc="lower right" if ax is not left else "upper right")
    return fig


def plot_gradient_field():
    """Contours of f(x, y) = x²y + sin y and its gradient, which crosses them at right angles."""
    gx, gy = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-2, 2, 200))
    ax_x, ax_y = np.meshgrid(np.linspace(-1.8, 1.8, 13), np.linspace(-1.8, 1.8, 13))
    fig = viz.figure(figsize=(6.5, 5.5))
    ax = fig.subplots()
    filled = ax.contourf(gx, gy, bowl(gx, gy), levels=20, cmap="viridis")
    ax.contour(gx, gy, bowl(gx, gy), levels=20, colors="white", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="f(x, y)")
    ax.quiver(ax_x, ax_y, 2 * ax_x * ax_y, ax_x ** 2 + np.cos(ax_y), color="white", width=0.004)
    ax.grid(False)
    ax.set(title=viz.text("f(x, y) = x²y + sin y 与梯度 (∂f/∂x, ∂f/∂y)",
                          "f(x, y) = x²y + sin y and its gradient (∂f/∂x, ∂f/∂y)", sep="\n"),
           xlabel="x", ylabel="y", aspect="equal")
    return fig


def plot_checks(rows):
    """The largest analytic-vs-numeric gap of every derivative, on a log scale beside the target."""
    names = [r[0] for r in rows][::-1]
    errors = np.array([r[2] for r in rows])[::-1]
    fig = viz.figure(figsize=(8, 5))
    ax = fig.subplots()
    ax.barh(names, np.maximum(errors, 1e-18), color=viz.COLORS["data"])
    ax.axvline(1e-6, color=viz.COLORS["learned"], ls="--", label=viz.text("目标 1e-6", "target 1e-6"))
    ax.set(xscale="log", title=viz.text("解析导数与数值导数的最大差", "Analytic vs numeric: largest gap"),
           xlabel=viz.text("最大绝对误差", "max absolute error"), ylabel=viz.text("导数", "derivative"))
    ax.legend(loc="lower right")
    return fig


def animate_tangent(ctx, frames):
    """A tangent line sliding along f(x) = x³ − 3x, while below it the slope traces f'(x)."""
    def f(x):
        return x ** 3 - 3 * x

    xs = np.linspace(-2.2, 2.2, 300)
    fig = viz.figure(figsize=(6, 5.6), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(xs, f(xs), color=viz.COLORS["data"], label="f(x) = x³ − 3x")
    (tangent,) = top.plot([], [], color=viz.COLORS["learned"], lw=2, label=viz.text("切线", "tangent"))
    (point,) = top.plot([], [], "o", color=viz.COLORS["learned"])
    top.set(title=viz.text("导数是切线的斜率", "The derivative is the tangent's slope"), ylabel="f(x)",
            ylim=(-4, 4))
    top.legend(loc="upper center")
    bottom.plot(xs, 3 * xs ** 2 - 3, color=viz.COLORS["reference"], lw=0.8, ls=":",
                label="f'(x) = 3x² − 3")
    (trace,) = bottom.plot([], [], color=viz.COLORS["learned"], lw=2,
                           label=viz.text("中心差分得到的斜率", "slope by central difference"))
    (dot,) = bottom.plot([], [], "o", color=viz.COLORS["learned"])
    bottom.axhline(0, color="0.5", lw=0.8)
    bottom.set(xlabel="x", ylabel=viz.text("斜率", "slope"))
    bottom.legend(loc="upper center")
    stops = np.linspace(-2.0, 2.0, frames)
    with ctx.gif("tangent.gif", fps=6, hold_last=1.5) as gif:
        for k, x0 in enumerate(stops):
            slope = central_difference(f, x0)
            near = np.array([x0 - 0.8, x0 + 0.8])
            tangent.set_data(near, f(x0) + slope * (near - x0))
            point.set_data([x0], [f(x0)])
            trace.set_data(stops[:k + 1], central_difference(f, stops[:k + 1]))
            dot.set_data([x0], [slope])
            gif.add(fig)


# ---------------------------------------------------------------- the lesson


@lesson("ch04.derivatives", zh="导数、链式法则与偏导数：激活函数和损失函数的导数",
        en="Derivatives, the chain rule and partial derivatives of activations and losses")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. a first derivative: sin'(1) = cos(1), approximated both ways
    exact = np.cos(1.0)
    ctx.log(f"sin'(1) = cos(1) = {exact:.12f}")
    for h in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10):
        ctx.log(f"  h = {h:.0e}: forward {forward_difference(np.sin, 1.0, h):.12f} "
                f"(error {abs(forward_difference(np.sin, 1.0, h) - exact):.1e}), central "
                f"{central_difference(np.sin, 1.0, h):.12f} "
                f"(error {abs(central_difference(np.sin, 1.0, h) - exact):.1e})")

    # 2-4. every hand-written derivative against central differences
    checks = chain_rule_checks(rng, settings["points"]) + build_checks(
        rng, settings["points"], settings["rows"])
    rows, errors = [], {}
    for key, name, formula, analytic, numeric in checks:
        gap = np.abs(analytic - numeric)
        rows.append((name, formula, float(gap.max()), analytic.size))
        errors[f"error_{key}"] = float(gap.max())
        # a few values side by side, so the table is more than one number per row
        flat_a, flat_n = analytic.ravel(), numeric.ravel()
        ctx.log(f"\n{name}: {formula}")
        for i in range(3):
            ctx.log(f"  analytic {flat_a[i]: .12f}   numeric {flat_n[i]: .12f}   "
                    f"|diff| {abs(flat_a[i] - flat_n[i]):.1e}")
    headers = ["derivative", "analytic formula", "values", "max |analytic − numeric|"]
    ctx.log("\n" + format_table(headers,
                                [(n, f, c, f"{e:.2e}") for n, f, e, c in rows], "<<>>"))
    table = ctx.path("derivative_checks.csv")
    table.write_text("derivative,formula,values,max_abs_error\n" + "".join(
        f'"{n}","{f}",{c},{e:.3e}\n' for n, f, e, c in rows), encoding="utf-8")

    # results
    max_error = max(e for _, _, e, _ in rows)
    ctx.record(h=H, derivatives_checked=len(rows), values_checked=sum(c for *_, c in rows),
               max_abs_error=max_error, **errors)
    ctx.check("max error <= 1e-6 (float64, central differences)", max_error <= 1e-6)

    # 5. figures
    ctx.save_figure(plot_step_sizes(), "finite_differences.png")
    ctx.save_figure(plot_activations(), "activations.png")
    ctx.save_figure(plot_losses(), "losses.png")
    ctx.save_figure(plot_gradient_field(), "gradient.png")
    ctx.save_figure(plot_checks([(n, f, e) for n, f, e, _ in rows]), "checks.png")
    animate_tangent(ctx, settings["frames"])
