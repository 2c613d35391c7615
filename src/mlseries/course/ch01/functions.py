"""ch01.functions — 函数 / Functions: the shapes a model is built from.

Machine learning is finding a function. Before finding one, it helps to know the families a
learned function is assembled from, and the few moves that change one into another:

- the families: linear, power, polynomial, rational, exponential, logarithmic, trigonometric;
- composition f(g(x)) — a neural network is one long composition;
- transformations: shift f(x − h) + k, stretch a·f(b·x), reflection −f(x) and f(−x);
- the inverse f⁻¹, which undoes f: its graph is f's mirrored in the line y = x.

Each family gets a figure, the transformations get an animation of a parabola being shifted
(the seed's `shift_anim.gif`), and the identities the figures rely on (laws of exponents and
logarithms, sin² + cos² = 1, f⁻¹(f(x)) = x, ...) are checked numerically.

    mlseries run ch01.functions [--quick]
"""
import numpy as np

from mlseries import viz

from ..registry import lesson

FULL = dict(frames=48)
QUICK = dict(frames=24)
LOOP_SECONDS = 4  # one trip of the vertex round its loop, quick or full: the same pace to watch


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "linear.png": ("斜率 m 决定倾斜，截距 b 决定在 y 轴上的位置；m = 0 是一条水平线。",
                   "The slope m tilts the line and the intercept b lifts it; m = 0 is a flat line."),
    "power.png": ("所有幂函数都经过 (1, 1)；指数越大，x > 1 后长得越快，负指数在 0 附近冲向无穷。",
                  "Every power passes through (1, 1); bigger powers grow faster past x = 1, a negative power shoots up near 0."),
    "polynomial.png": ("每条曲线上的圆点是它的根：n 次多项式最多穿过 x 轴 n 次。",
                       "The dots are each curve's roots: a polynomial of degree n crosses the x axis at most n times."),
    "rational.png": ("分母为零处曲线断开（竖直渐近线）；|x| 变大时曲线贴近一条水平线。",
                     "The curve breaks where the denominator is 0 (a vertical asymptote) and flattens towards a horizontal line as |x| grows."),
    "exponential.png": ("所有曲线都经过 (0, 1)；底数大于 1 时增长，小于 1 时衰减，两者互为镜像。",
                        "All pass through (0, 1); a base above 1 grows, below 1 decays, and the two are mirror images."),
    "logarithm.png": ("对数只在 x > 0 有定义，都经过 (1, 0)，增长越来越慢。",
                      "Logarithms exist only for x > 0, all pass through (1, 0), and grow ever more slowly."),
    "trigonometric.png": ("sin 与 cos 是错开 π/2 的同一条波，周期 2π；tan 每隔 π 重复并在 cos = 0 处断开。",
                          "sin and cos are the same wave shifted by π/2, period 2π; tan repeats every π and breaks where cos = 0."),
    "composition.png": ("同样两个函数，先后顺序不同，结果完全不同：(sin x)² 平缓，sin(x²) 越来越快地振荡。",
                        "The same two functions in the other order give a different function: (sin x)² is gentle, sin(x²) oscillates ever faster."),
    "transforms.png": ("虚线是原函数：平移改变位置，伸缩改变宽窄，负号把曲线翻到另一侧。",
                       "The dashed curve is the original: a shift moves it, a stretch widens or narrows it, a minus sign flips it over."),
    "inverse.png": ("每个函数与它的反函数关于 y = x 对称，例如点 (1, e) 与 (e, 1)。",
                    "Each function and its inverse mirror each other in y = x, e.g. the points (1, e) and (e, 1)."),
    "shift_anim.gif": ("看顶点 (h, k) 沿虚线绕一圈：整条抛物线随它平移，形状不变。",
                       "Watch the vertex (h, k) travel round the dotted loop: the whole parabola moves with it, its shape unchanged."),
}


# ---------------------------------------------------------------- 1. the families

def _panel(ax, title, xlabel="x", ylabel="y", ylim=None, legend="best"):
    """Axes through the origin drawn faintly, then the title, labels and legend."""
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(ylim)
    if legend == "outside":  # where every spot inside the axes has a curve through it
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    else:
        ax.legend(loc=legend, ncol=2 if legend == "upper center" else 1)


def plot_linear():
    """y = m·x + b: m tilts the line, b lifts it."""
    x = np.linspace(-3, 3, 2)
    fig = viz.figure()
    ax = fig.subplots()
    for m, b, label in [(1, 0, "y = x"), (2, 0, "y = 2x"), (0.5, 1, "y = 0.5x + 1"),
                        (-1, 2, "y = −x + 2"), (0, -1, "y = −1")]:
        ax.plot(x, m * x + b, label=label)
    _panel(ax, viz.text("线性函数：斜率 m 与截距 b", "Linear: slope m and intercept b"),
           legend="lower right")
    return fig


def plot_power():
    """y = x^p for whole, fractional and negative powers (on x > 0, where all are defined)."""
    x = np.linspace(0.05, 2.5, 300)
    fig = viz.figure(figsize=(8, 4.4))
    ax = fig.subplots()
    for p, label in [(3, "y = x³"), (2, "y = x²"), (1, "y = x"), (0.5, "y = √x = x^0.5"),
                     (-1, "y = x⁻¹ = 1/x")]:
        ax.plot(x, x ** p, label=label)
    ax.plot([1], [1], "ko", ms=5)
    ax.annotate(viz.text("都经过 (1, 1)", "all pass through (1, 1)"), (1, 1), xytext=(1.15, 0.2),
                arrowprops=dict(arrowstyle="->"))
    _panel(ax, viz.text("幂函数 y = xᵖ", "Power functions y = xᵖ"), ylim=(0, 5), legend="outside")
    return fig


def plot_polynomial():
    """Polynomials of degree 1 to 4 written from their roots: degree n has at most n roots."""
    x = np.linspace(-2.6, 2.6, 400)
    fig = viz.figure()
    ax = fig.subplots()
    for roots in ([1.0], [-1.0, 2.0], [-2.0, 0.0, 1.5], [-2.2, -1.0, 0.5, 2.0]):
        coeffs = np.poly(roots)                      # (x − r1)(x − r2)… multiplied out
        (line,) = ax.plot(x, np.polyval(coeffs, x), label=factored(roots))
        ax.plot(roots, np.zeros(len(roots)), "o", color=line.get_color(), ms=5)
    _panel(ax, viz.text("多项式：n 次至多 n 个根", "Polynomials: degree n, at most n roots"),
           ylim=(-7, 9), legend="upper center")
    return fig


def factored(roots):
    """"(x + 1)(x − 2)" for roots [-1, 2]; a root at 0 gives the factor "x"."""
    factors = ["x" if r == 0 else f"(x {'−' if r > 0 else '+'} {abs(r):g})" for r in roots]
    return f"y = {''.join(factors)}"


def with_gaps(x, y, limit):
    """y with NaN where |y| is huge, so a plot does not join the two sides of an asymptote."""
    y = np.array(y, dtype=np.float64)
    y[np.abs(y) > limit] = np.nan
    return x, y


def plot_rational():
    """p(x)/q(x): vertical asymptotes where q = 0, a horizontal or slant one as |x| grows."""
    x = np.linspace(-4, 4, 2001)
    fig = viz.figure(figsize=(8, 4.4))
    ax = fig.subplots()
    with np.errstate(divide="ignore", invalid="ignore"):
        ax.plot(*with_gaps(x, 1 / x, 8), label="y = 1/x")
        ax.plot(*with_gaps(x, (2 * x + 1) / (x - 2), 8), label="y = (2x + 1)/(x − 2)")
        ax.plot(*with_gaps(x, 1 / (x ** 2 + 1), 8), label="y = 1/(x² + 1)")
    ax.axvline(2, color="C1", ls=":", lw=1)
    ax.axhline(2, color="C1", ls=":", lw=1,
               label=viz.text("渐近线 x = 2, y = 2", "asymptotes x = 2, y = 2"))
    _panel(ax, viz.text("有理函数：分母为零处有渐近线", "Rational: asymptotes where the denominator is 0",
                        sep="\n"),
           ylim=(-8, 8), legend="outside")
    return fig


def plot_exponential():
    x = np.linspace(-3, 3, 300)
    fig = viz.figure(figsize=(8, 4.4))
    ax = fig.subplots()
    for base, name in [(2.0, "2ˣ"), (np.e, "eˣ"), (3.0, "3ˣ"), (0.5, "(1/2)ˣ")]:
        ax.plot(x, base ** x, label=f"y = {name}")
    ax.plot([0], [1], "ko", ms=5)
    ax.annotate(viz.text("都经过 (0, 1)", "all pass through (0, 1)", sep="\n"), (0, 1),
                xytext=(-1.5, 5.5),
                arrowprops=dict(arrowstyle="->"))
    _panel(ax, viz.text("指数函数 y = aˣ：增长（a > 1）或衰减（a < 1）",
                        "Exponential y = aˣ: growth (a > 1), decay (a < 1)", sep="\n"),
           ylim=(-0.5, 10), legend="outside")
    return fig


def plot_logarithm():
    x = np.linspace(0.02, 8, 400)
    fig = viz.figure()
    ax = fig.subplots()
    ax.plot(x, np.log2(x), label="y = log₂ x")
    ax.plot(x, np.log(x), label="y = ln x")
    ax.plot(x, np.log10(x), label="y = log₁₀ x")
    ax.plot([1], [0], "ko", ms=5)
    ax.annotate(viz.text("都经过 (1, 0)", "all pass through (1, 0)"), (1, 0), xytext=(2.2, -2.5),
                arrowprops=dict(arrowstyle="->"))
    _panel(ax, viz.text("对数函数：只对 x > 0 有定义", "Logarithms: defined only for x > 0"),
           ylim=(-4, 3.5), legend="lower right")
    return fig


def plot_trig():
    x = np.linspace(-2 * np.pi, 2 * np.pi, 1001)
    fig = viz.figure(figsize=(8, 4.4))
    ax = fig.subplots()
    ax.plot(x, np.sin(x), label="y = sin x")
    ax.plot(x, np.cos(x), label="y = cos x")
    with np.errstate(divide="ignore", invalid="ignore"):
        ax.plot(*with_gaps(x, np.tan(x), 4), label="y = tan x", lw=1)
    ticks = np.arange(-2, 2.5, 0.5) * np.pi
    names = {0: "0", 1: "π", -1: "−π"}
    ax.set_xticks(ticks, [names.get(t / np.pi, f"{t / np.pi:g}π".replace("-", "−")) for t in ticks])
    _panel(ax, viz.text("三角函数：周期 2π（tan 为 π）", "Trigonometric: period 2π (tan: π)"),
           ylim=(-3, 3), legend="lower left")
    return fig


# ---------------------------------------------------------------- 2. combining and changing functions

def compose(*functions):
    """compose(f, g, h)(x) = f(g(h(x))): the rightmost function is applied first."""
    def composed(x):
        for fn in reversed(functions):
            x = fn(x)
        return x
    return composed


def plot_composition():
    """f(g(x)) and g(f(x)) differ: the order of composition matters."""
    def f(t):
        return t ** 2

    x = np.linspace(-2 * np.pi, 2 * np.pi, 1001)
    fig = viz.figure(figsize=(8, 4.4))
    ax = fig.subplots()
    ax.plot(x, compose(f, np.sin)(x), label="f(g(x)) = (sin x)²")
    ax.plot(x, compose(np.sin, f)(x), label="g(f(x)) = sin(x²)")
    _panel(ax, viz.text("复合函数：f(x) = x², g(x) = sin x，顺序不同结果不同",
                        "Composition: f(x) = x², g(x) = sin x; order matters", sep="\n"),
           ylim=(-1.3, 2.0), legend="upper center")
    return fig


def transform(f, h=0.0, k=0.0, a=1.0, b=1.0):
    """y = a·f(b·(x − h)) + k: shift right by h and up by k, stretch by a (vertically) and by
    1/b (horizontally); a = −1 reflects in the x axis, b = −1 in the y axis."""
    return lambda x: a * f(b * (x - h)) + k


def plot_transforms():
    def square(t):
        return t ** 2

    x = np.linspace(-4, 4, 400)
    fig = viz.figure(figsize=(11, 8))
    (shift, stretch), (squeeze, reflect) = fig.subplots(2, 2)
    base = dict(color="0.3", ls="--", lw=1.2, label="f(x) = x²")
    for ax in (shift, stretch, squeeze):
        ax.plot(x, square(x), **base)
    shift.plot(x, transform(square, h=2)(x), label="f(x − 2)")
    shift.plot(x, transform(square, k=-3)(x), label="f(x) − 3")
    shift.plot(x, transform(square, h=-1.5, k=1)(x), label="f(x + 1.5) + 1")
    _panel(shift, viz.text("平移", "Shift"), ylim=(-4, 9), legend="lower right")
    stretch.plot(x, transform(square, a=3)(x), label="3·f(x)")
    stretch.plot(x, transform(square, a=0.3)(x), label="0.3·f(x)")
    stretch.plot(x, transform(square, a=-1)(x), label="−f(x)")
    _panel(stretch, viz.text("纵向伸缩与关于 x 轴反射", "Vertical stretch, reflection in x axis"),
           ylim=(-9, 9), legend="lower center")
    squeeze.plot(x, transform(square, b=2)(x), label="f(2x)")
    squeeze.plot(x, transform(square, b=0.5)(x), label="f(x/2)")
    _panel(squeeze, viz.text("横向伸缩", "Horizontal stretch"), ylim=(-1, 9), legend="lower right")
    reflect.plot(x, np.exp(x), color="0.3", ls="--", lw=1.2, label="g(x) = eˣ")
    reflect.plot(x, transform(np.exp, b=-1)(x), label="g(−x)")
    reflect.plot(x, transform(np.exp, a=-1)(x), label="−g(x)")
    _panel(reflect, viz.text("反射（x² 关于 y 轴对称，用 eˣ 展示）", "Reflection (shown on eˣ: x² is symmetric)",
                             sep="\n"), ylim=(-9, 9), legend="lower right")
    return fig


def plot_inverse():
    """A function and its inverse are mirror images in y = x."""
    fig = viz.figure(figsize=(6, 6))
    ax = fig.subplots()
    x = np.linspace(-3, 2.2, 300)
    ax.plot(x, np.exp(x), label="f(x) = eˣ")
    ax.plot(np.exp(x), x, label="f⁻¹(x) = ln x")
    xs = np.linspace(0, 2.8, 300)
    ax.plot(xs, xs ** 2, label="g(x) = x² (x ≥ 0)")
    ax.plot(xs ** 2, xs, label="g⁻¹(x) = √x")
    ax.plot([-3, 8], [-3, 8], color="0.5", ls=":", label="y = x")
    # one point and its mirror image
    ax.plot([1, np.e], [np.e, 1], "ko--", ms=4, lw=0.8)
    ax.annotate("(1, e)", (1, np.e), xytext=(-42, 4), textcoords="offset points")
    ax.annotate("(e, 1)", (np.e, 1), xytext=(6, -14), textcoords="offset points")
    ax.set(aspect="equal", xlim=(-3, 8), ylim=(-3, 8))
    _panel(ax, viz.text("反函数：关于 y = x 对称", "Inverse functions mirror in y = x"), legend="lower right")
    return fig


# ---------------------------------------------------------------- 3. checks the figures rely on

def identity_errors(rng, n=1000):
    """Largest error of each identity at n random points: {name: max |left − right|}."""
    a, b = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    p, q = rng.uniform(0.1, 10, n), rng.uniform(0.1, 10, n)
    t = rng.uniform(-10, 10, n)
    x = np.linspace(-3, 3, 7)

    def square(v):
        return v ** 2

    checks = {
        "exp(a + b) = exp(a)·exp(b)": (np.exp(a + b), np.exp(a) * np.exp(b), True),
        "ln(p·q) = ln p + ln q": (np.log(p * q), np.log(p) + np.log(q), False),
        "log2(p) = ln p / ln 2": (np.log2(p), np.log(p) / np.log(2), False),
        "sin² + cos² = 1": (np.sin(t) ** 2 + np.cos(t) ** 2, np.ones(n), False),
        "sin(t + 2π) = sin t": (np.sin(t + 2 * np.pi), np.sin(t), False),
        "ln(exp(a)) = a": (np.log(np.exp(a)), a, False),
        "exp(ln p) = p": (np.exp(np.log(p)), p, True),
        "√(p²) = p": (np.sqrt(p ** 2), p, False),
        "(f∘g)(x) = f(g(x))": (compose(square, np.sin)(x), np.sin(x) ** 2, False),
        "shift: f(x − 2) at x = 2 is f(0)": (transform(square, h=2)(np.array([2.0])),
                                             np.array([0.0]), False),
        "−f(−x) of x³ is x³ (odd)": (transform(lambda v: v ** 3, a=-1, b=-1)(a), a ** 3, False),
    }
    # exp grows fast, so compare it relative to its size
    return {name: float(np.max(np.abs(left - right) / (np.abs(right) if relative else 1.0)))
            for name, (left, right, relative) in checks.items()}


# ---------------------------------------------------------------- 4. the animation

def animate_shift(ctx, frames):
    """The parabola y = (x − h)² + k with its vertex (h, k) travelling round a loop."""
    x = np.linspace(-5, 5, 300)
    fig = viz.figure(figsize=(6.4, 5.2), dpi=100)
    ax = fig.subplots()
    ax.plot(x, x ** 2, color="0.5", ls="--", lw=1.2, label="y = x²")
    (curve,) = ax.plot([], [], color=viz.COLORS["learned"], lw=2.5,
                       label=viz.text("平移后", "shifted"))
    (vertex,) = ax.plot([], [], "o", color=viz.COLORS["learned"], ms=7)
    (arrow,) = ax.plot([], [], color=viz.COLORS["learned"], lw=1, ls=":")
    caption = ax.text(0.03, 0.95, "", transform=ax.transAxes, va="top", family="monospace",
                      bbox=dict(boxstyle="round", fc="white", ec="0.8"))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set(title=viz.text("二次曲线平移：y = (x − h)² + k", "Shifting a parabola: y = (x − h)² + k",
                          sep="\n"),
           xlabel="x", ylabel="y", xlim=(-5, 5), ylim=(-3, 11))
    angles = np.linspace(0, 2 * np.pi, frames, endpoint=False)
    # a loop that starts at the origin, drawn faintly so the vertex is seen to follow it
    loop = np.linspace(0, 2 * np.pi, 200)
    ax.plot(2.5 * np.sin(loop), 2 * (1 - np.cos(loop)) - 1.5 * np.sin(loop), color="0.6", lw=1,
            ls=":", label=viz.text("顶点 (h, k) 的路径", "path of the vertex (h, k)"))
    # below the axes: the moving parabola sweeps every corner inside them
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8.5)
    with ctx.gif("shift_anim.gif", fps=frames / LOOP_SECONDS, hold_last=0.1) as gif:
        for angle in angles:
            h = 2.5 * np.sin(angle)
            k = 2 * (1 - np.cos(angle)) - 1.5 * np.sin(angle)
            curve.set_data(x, transform(lambda t: t ** 2, h=h, k=k)(x))
            vertex.set_data([h], [k])
            arrow.set_data([0, h], [0, k])
            caption.set_text(f"h = {h:+.2f}\nk = {k:+.2f}\ny = (x {'−' if h >= 0 else '+'} "
                             f"{abs(h):.2f})² {'+' if k >= 0 else '−'} {abs(k):.2f}")
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch01.functions", zh="函数：常见函数族、复合、变换与反函数",
        en="Functions: the families, composition, transformations and inverses")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1-2. a figure per family, then the ways of combining and changing functions
    figures = [("linear", plot_linear), ("power", plot_power), ("polynomial", plot_polynomial),
               ("rational", plot_rational), ("exponential", plot_exponential),
               ("logarithm", plot_logarithm), ("trigonometric", plot_trig),
               ("composition", plot_composition), ("transforms", plot_transforms),
               ("inverse", plot_inverse)]
    for name, plot in ctx.progress(figures, "figures"):
        ctx.save_figure(plot(), f"{name}.png")

    # 3. the identities behind the pictures, at random points
    errors = identity_errors(ctx.rng())
    width = max(len(name) for name in errors)
    for name, err in errors.items():
        ctx.log(f"{name:<{width}}  max error {err:.1e}")
    worst = max(errors.values())
    ctx.record(family_figures=7, figures=len(figures), identities_checked=len(errors),
               identity_max_error=worst)
    ctx.check("identities hold to 1e-12", worst <= 1e-12)

    # 4. the animated shift
    animate_shift(ctx, settings["frames"])
    ctx.record(animation_frames=settings["frames"])
