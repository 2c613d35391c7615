"""ch01.numpy — NumPy 介绍 / NumPy: creating, indexing and computing with arrays.

Every later lesson, and the engine itself, is NumPy underneath. This lesson walks through the
chapter's list of topics in its order — creation, copies and views, every kind of indexing,
arithmetic, broadcasting, statistics, reshaping, random numbers — as a session you can read
like an interactive Python prompt: each line of code is executed, printed with its result, and
each rule is pinned down by an `assert` that the lesson checks (the seed's own four asserts on
`arr[1, 2:4]`, `arr[:, 1]`, `arr[2:, 2:]` and `arr[1::2, ::2]` among them).

The whole session is also written to numpy_session.txt; the figures draw what the asserts
say: which cells an index picks, how a view walks the same memory, how broadcasting stretches.

    mlseries run ch01.numpy [--quick]
"""
import io

import numpy as np

from mlseries import viz

from .numpy_examples import SECTIONS
from ..registry import lesson


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "array_index.png": ("深色格子是各个切片选中的元素：arr[1::2, ::2] 取奇数行、偶数列。",
                        "The dark cells are what each slice selects: arr[1::2, ::2] takes every other row from 1 and every other column from 0."),
    "advanced_index.png": ("整数数组按位置配对取元素，布尔数组按条件取，二者可以与切片混用。",
                           "Integer arrays pick elements pairwise, a boolean array picks by a condition, and either mixes with slices."),
    "broadcasting.png": ("浅色格子并不真的复制：长度为 1 的轴被“拉伸”，于是 (3, 1) + (1, 4) 得到 (3, 4)。",
                         "Pale cells are never copied in memory: length-1 axes stretch, so (3, 1) + (1, 4) gives (3, 4)."),
    "ndarray_internal.png": ("视图 arr[1::2, ::2] 与原数组共用一块内存，只是步长和起点不同。",
                             "The view arr[1::2, ::2] shares the original buffer; only its strides and starting offset differ."),
    "random.png": ("同一个带种子的生成器：均匀分布是平的，正态直方图贴合钟形曲线，骰子每面约 1000 次。",
                   "One seeded generator: uniform is flat, the normal histogram follows the bell curve, each die face comes up about 1 000 times."),
}


# ---------------------------------------------------------------- 1. an executed session

class Session:
    """Runs example code like an interactive prompt: each line is printed, executed, and (for
    expressions) followed by the repr of its result. `check` counts asserts instead of stopping
    at the first false one, so a run reports every rule that does not hold."""

    def __init__(self, ctx, namespace):
        self.ctx = ctx
        self.ns = namespace
        self.lines = []
        self.asserts = 0
        self.failed = []
        self.examples = 0

    def _print(self, text=""):
        self.lines.append(text)
        self.ctx.log(text)

    def section(self, zh, en):
        self._print(f"\n── {zh} / {en} " + "─" * max(4, 60 - len(zh) * 2 - len(en)))

    def note(self, text):
        self._print(f"# {text}")

    def run(self, code):
        """Statements: printed with the prompt, executed, nothing shown."""
        self._print(">>> " + code.replace("\n", "\n... "))
        exec(code, self.ns)
        self.examples += 1

    def show(self, expr):
        """An expression: printed, evaluated, its repr shown below it."""
        self._print(">>> " + expr)
        self._print(repr(eval(expr, self.ns)))
        self.examples += 1

    def check(self, expr):
        """An assert: printed as `assert expr`; a false one is recorded and marked, not raised."""
        self._print(">>> assert " + expr)
        ok = bool(eval(expr, self.ns))
        self.asserts += 1
        if not ok:
            self.failed.append(expr)
            self._print("AssertionError  <-- this rule did not hold")

    def raises(self, code, error):
        """Code that must fail with `error`; shows the error line a prompt would show."""
        self._print(">>> " + code)
        self.asserts += 1
        try:
            exec(code, self.ns)
        except error as err:
            self._print(f"{type(err).__name__}: {err}")
        else:
            self.failed.append(f"{code} should raise {error.__name__}")
            self._print(f"(no {error.__name__})  <-- this rule did not hold")


# ---------------------------------------------------------------- 2. figures

SEED_ARR = np.arange(1, 17).reshape(4, 4)  # the seed's 4×4 array of 1..16


def _draw_grid(ax, values, picked, title):
    """A 2-D array as a grid of numbered cells; `picked` (a boolean mask) cells highlighted."""
    rows, cols = values.shape
    colors = np.where(picked, 1.0, 0.0)
    ax.imshow(colors, cmap="Blues", vmin=-0.3, vmax=1.6)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=12,
                color="white" if picked[i, j] else "black",
                fontweight="bold" if picked[i, j] else None)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(False)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set(title=title, xlabel=viz.text("列（轴 1）", "column (axis 1)"),
           ylabel=viz.text("行（轴 0）", "row (axis 0)"))


def _mask(index):
    picked = np.zeros(SEED_ARR.shape, dtype=bool)
    picked[index] = True
    return picked


def plot_seed_indexing():
    """The seed's four asserts as pictures: which cells each index selects."""
    fig = viz.figure(figsize=(9, 9))
    axes = fig.subplots(2, 2).ravel()
    cases = [("arr[1, 2:4]", (1, slice(2, 4))), ("arr[:, 1]", (slice(None), 1)),
             ("arr[2:, 2:]", (slice(2, None), slice(2, None))),
             ("arr[1::2, ::2]", (slice(1, None, 2), slice(None, None, 2)))]
    for ax, (name, index) in zip(axes, cases):
        _draw_grid(ax, SEED_ARR, _mask(index), f"{name} → {SEED_ARR[index].tolist()}")
    fig.suptitle(viz.text("数组索引：选中的元素", "Array indexing: the selected cells"))
    return fig


def plot_advanced_indexing():
    """Integer-array, boolean and mixed indexing on the same array."""
    fig = viz.figure(figsize=(13, 4.6))
    axes = fig.subplots(1, 3)
    rows, cols = np.array([0, 1, 2]), np.array([1, 2, 3])
    cases = [("arr[[0, 1, 2], [1, 2, 3]]", _mask((rows, cols)), SEED_ARR[rows, cols]),
             ("arr[arr % 3 == 0]", SEED_ARR % 3 == 0, SEED_ARR[SEED_ARR % 3 == 0]),
             ("arr[1:3, [0, 3]]", _mask(np.ix_([1, 2], [0, 3])), SEED_ARR[1:3, [0, 3]])]
    for ax, (name, picked, result) in zip(axes, cases):
        _draw_grid(ax, SEED_ARR, picked, f"{name}\n→ {result.tolist()}")
    fig.suptitle(viz.text("高级索引：整数数组、布尔数组、基础与高级结合",
                          "Advanced indexing: integer arrays, booleans, mixed"))
    return fig


def plot_memory_view():
    """A view is the same buffer walked with other strides: arr[1::2, ::2] of int64 data."""
    arr = SEED_ARR.astype(np.int64)
    view = arr[1::2, ::2]
    item = arr.itemsize
    offset = (view.__array_interface__["data"][0] - arr.__array_interface__["data"][0]) // item
    picked = np.zeros(arr.size, dtype=bool)
    picked[[offset + i * view.strides[0] // item + j * view.strides[1] // item
            for i in range(view.shape[0]) for j in range(view.shape[1])]] = True
    fig = viz.figure(figsize=(12, 2.5))
    ax = fig.subplots()
    _draw_grid(ax, arr.reshape(1, -1), picked.reshape(1, -1),
               viz.text(f"同一块内存：arr 步长 {arr.strides}，视图 arr[1::2, ::2] 步长 {view.strides}"
                        f"（字节），起点偏移 {offset * item} 字节",
                        f"One buffer: arr strides {arr.strides}, view arr[1::2, ::2] strides "
                        f"{view.strides} bytes, starting {offset * item} bytes in", sep="\n"))
    ax.set_aspect("auto")  # let the strip of cells fill the figure instead of square cells
    ax.set_yticks([0], [""])
    ax.set_xticks(range(arr.size), [f"{k * item}" for k in range(arr.size)], fontsize=8)
    ax.set(xlabel=viz.text("内存中的字节偏移（int64，每个 8 字节）",
                           "byte offset in memory (int64: 8 bytes each)"),
           ylabel=viz.text("缓冲区", "buffer"))
    return fig


def plot_broadcasting():
    """(3, 1) + (1, 4) -> (3, 4): each operand is stretched along its length-1 axis."""
    col = np.array([[0], [10], [20]])      # (3, 1)
    row = np.array([[1, 2, 3, 4]])         # (1, 4)
    fig = viz.figure(figsize=(13, 3.8))
    axes = fig.subplots(1, 3)
    stretched = [(np.broadcast_to(col, (3, 4)), np.repeat([[True], [True], [True]], 4, axis=1)
                  & (np.arange(4) == 0), "a: (3, 1)"),
                 (np.broadcast_to(row, (3, 4)), (np.arange(3) == 0)[:, None] & np.ones(4, bool),
                  "b: (1, 4)"),
                 (col + row, np.ones((3, 4), bool), "a + b: (3, 4)")]
    for ax, (values, real, name) in zip(axes, stretched):
        _draw_grid(ax, values, real, name)
    fig.suptitle(viz.text("广播：长度为 1 的轴被拉伸（浅色为虚拟的复制）",
                          "Broadcasting: length-1 axes stretch (pale cells are virtual copies)"))
    return fig


def plot_random(seed):
    """Three generators from one seeded Generator: uniform, normal, integers."""
    rng = np.random.default_rng(seed)
    fig = viz.figure(figsize=(13, 3.8))
    left, middle, right = fig.subplots(1, 3)
    left.hist(rng.random(10_000), bins=40, color=viz.COLORS["data"])
    left.set(title="rng.random(10000)", xlabel=viz.text("值", "value"), ylabel=viz.text("个数", "count"))
    normal = rng.normal(0.0, 1.0, size=10_000)
    middle.hist(normal, bins=60, density=True, color=viz.COLORS["data"], alpha=0.8)
    x = np.linspace(-4, 4, 200)
    middle.plot(x, np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi), color=viz.COLORS["learned"],
                label=viz.text("标准正态密度", "standard normal density"))
    middle.legend(loc="upper left", fontsize=8)
    middle.set(title="rng.normal(0, 1, 10000)", xlabel=viz.text("值", "value"),
               ylabel=viz.text("密度", "density"), ylim=(0, 0.5))  # headroom: the legend sits above the peak
    faces = rng.integers(1, 7, size=6000)
    right.bar(*np.unique(faces, return_counts=True), color=viz.COLORS["search"])
    right.axhline(1000, color=viz.COLORS["reference"], ls="--", lw=1,
                  label=viz.text("期望 1000", "expected 1000"))
    right.legend(loc="upper center")
    right.set(title="rng.integers(1, 7, 6000)", xlabel=viz.text("点数", "face"),
              ylabel=viz.text("个数", "count"), ylim=(0, 1300))  # the legend above the bars, not on one
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch01.numpy", zh="NumPy 介绍：创建、索引、计算", en="NumPy: creating, indexing and computing")
def run(ctx):
    # 1. the session: every section of the chapter, executed in order in one namespace
    session = Session(ctx, {"np": np, "io": io, "seed": ctx.seed})
    for section in SECTIONS:
        section(session)
    transcript = ctx.path("numpy_session.txt")
    transcript.write_text("\n".join(session.lines).lstrip() + "\n", encoding="utf-8")

    # results
    held = session.asserts - len(session.failed)
    ctx.log(f"\n{session.examples} examples executed, {held} of {session.asserts} asserts hold")
    for expr in session.failed:
        ctx.log(f"  did not hold: {expr}")
    ctx.record(sections=len(SECTIONS), examples=session.examples, asserts_checked=session.asserts,
               asserts_held=held, asserts_failed=len(session.failed))
    ctx.check("all asserts hold", not session.failed and session.asserts > 0)

    # 2. figures
    ctx.save_figure(plot_seed_indexing(), "array_index.png")
    ctx.save_figure(plot_advanced_indexing(), "advanced_index.png")
    ctx.save_figure(plot_memory_view(), "ndarray_internal.png")
    ctx.save_figure(plot_broadcasting(), "broadcasting.png")
    ctx.save_figure(plot_random(ctx.seed), "random.png")
