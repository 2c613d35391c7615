"""ch05.autodiff — 张量和自动微分 / Tensors and automatic differentiation, four frameworks side by side.

The seed shows one small computation in TensorFlow, PyTorch and JAX:

    w = 0.1 everywhere in a 3×2 matrix, b = 0 (2,), x = [[1, 2, 3]]
    loss = mean(tanh(x @ w + b)²)

and asks each framework for ∂loss/∂w and ∂loss/∂b. The three spell it differently: PyTorch
records operations on tensors that `requires_grad` and fills `.grad` on `loss.backward()`;
TensorFlow records inside a `GradientTape` context and is asked `tape.gradient(loss, [w, b])`;
JAX records nothing: `jax.grad(f)` turns the *function* f into a function that returns its
gradient. This engine speaks PyTorch. All of them must give the same numbers, and so must the
chain rule done by hand:

    z = x @ w + b,  y = tanh z,  loss = Σ y² / n
    ∂loss/∂y = 2y / n,  ∂loss/∂z = ∂loss/∂y · (1 − y²),  ∂loss/∂w = xᵀ · ∂loss/∂z,  ∂loss/∂b = Σ_rows ∂loss/∂z

The lesson runs the computation in every framework that is installed (a missing one shows
"not installed"), prints one table and checks that they agree to 1e-6; then does the same on a
random batch, where every entry of the gradient differs, so agreement means more.

    mlseries run ch05.autodiff [--quick]
"""
import numpy as np

import mlseries as ms
from mlseries import viz

from ..registry import lesson
from ..table import format_table

TOLERANCE = 1e-6


def seed_inputs():
    """The seed's numbers, float32 as in every framework's default."""
    w = np.full((3, 2), 0.1, np.float32)
    b = np.zeros(2, np.float32)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    return x, w, b


def random_inputs(rng, n=4, d_in=3, d_out=2):
    """A batch where every gradient entry is different (the seed's w makes both columns equal)."""
    return (rng.normal(size=(n, d_in)).astype(np.float32),
            rng.normal(0, 0.5, size=(d_in, d_out)).astype(np.float32),
            rng.normal(0, 0.1, size=d_out).astype(np.float32))


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "gradients.png": ("四种方法算出的每个梯度的柱子一样高；右图中所有差距都在 1e-6 的容差线以下。",
                      "Every gradient's bars are the same height in all frameworks; on the right every gap is below the 1e-6 tolerance."),
}


# ---------------------------------------------------------------- each framework, in its own idiom
# Each function returns (loss, dloss/dw, dloss/db) as NumPy arrays; one whose framework is not
# installed raises ImportError and the table says so.

def by_hand(x, w, b):
    """The chain rule written out, in float64: the reference the frameworks are compared with."""
    x, w, b = (a.astype(np.float64) for a in (x, w, b))
    y = np.tanh(x @ w + b)                   # (n, 2)
    dy = 2 * y / y.size                      # ∂(Σ y² / size)/∂y
    dz = dy * (1 - y * y)                    # tanh' = 1 − tanh²
    return np.mean(y * y), x.T @ dz, dz.sum(axis=0)


def with_engine(x, w, b):
    w = ms.tensor(w, requires_grad=True)
    b = ms.tensor(b, requires_grad=True)
    y = ms.tanh(ms.matmul(ms.tensor(x), w) + b)
    loss = ms.mean(y * y)
    loss.backward()
    return loss.item(), w.grad.numpy(), b.grad.numpy()


def with_torch(x, w, b):
    import torch
    w = torch.nn.Parameter(torch.tensor(w))
    b = torch.nn.Parameter(torch.tensor(b))
    y = torch.tanh(torch.matmul(torch.tensor(x), w) + b)
    loss = torch.mean(y * y)
    loss.backward()
    return loss.item(), w.grad.numpy(), b.grad.numpy()


def with_jax(x, w, b):
    import jax
    import jax.numpy as jnp

    def forward(x, w, b):
        y = jnp.tanh(jnp.dot(x, w) + b)
        return jnp.mean(y * y)

    loss, (dw, db) = jax.value_and_grad(forward, argnums=(1, 2))(x, w, b)
    return float(loss), np.asarray(dw), np.asarray(db)


def with_tensorflow(x, w, b):
    import tensorflow as tf
    w = tf.Variable(w, name="w")
    b = tf.Variable(b, name="b")
    with tf.GradientTape() as tape:
        y = tf.math.tanh(tf.matmul(x, w) + b)
        loss = tf.reduce_mean(y * y)
    dw, db = tape.gradient(loss, [w, b])
    return float(loss), dw.numpy(), db.numpy()


def _version(module):
    import importlib
    return importlib.import_module(module).__version__


# (name, the module whose version is shown, the function)
FRAMEWORKS = (
    ("mlseries (this engine)", "mlseries", with_engine),
    ("PyTorch", "torch", with_torch),
    ("JAX", "jax", with_jax),
    ("TensorFlow", "tensorflow", with_tensorflow),
)


def compare(x, w, b):
    """Run every framework on one input. Returns the reference and one row per framework:
    dict(name, version, loss, dw, db, gap) with gap = the largest difference from the
    hand-derived float64 gradient, or dict(name, missing=reason) when it is not installed."""
    reference = by_hand(x, w, b)
    rows = []
    for name, module, fn in FRAMEWORKS:
        try:
            loss, dw, db = fn(x, w, b)
            version = _version(module)
        except ImportError as err:
            rows.append(dict(name=name, missing=f"not installed ({err.name or module})"))
            continue
        gap = max(abs(loss - reference[0]), np.abs(dw - reference[1]).max(),
                  np.abs(db - reference[2]).max())
        rows.append(dict(name=name, version=version, loss=float(loss), dw=np.asarray(dw, np.float64),
                         db=np.asarray(db, np.float64), gap=float(gap)))
    return reference, rows


def _numbers(a):
    return "[" + ", ".join(f"{v:.7f}" for v in np.ravel(a)) + "]"


def table(reference, rows):
    """One line per framework: loss, ∂loss/∂w (row by row), ∂loss/∂b, gap to the reference."""
    lines = [("by hand (chain rule, float64)", "-", f"{reference[0]:.7f}", _numbers(reference[1]),
              _numbers(reference[2]), "reference")]
    for r in rows:
        if "missing" in r:
            lines.append((r["name"], "-", r["missing"], "", "", ""))
        else:
            agree = "agrees" if r["gap"] <= TOLERANCE else "DIFFERS"
            lines.append((r["name"], r["version"], f"{r['loss']:.7f}", _numbers(r["dw"]),
                          _numbers(r["db"]), f"{r['gap']:.1e} {agree}"))
    return format_table(["framework", "version", "loss", "dloss/dw", "dloss/db",
                         "max |diff| (≤ 1e-6)"], lines)


# ---------------------------------------------------------------- figure

def plot_gradients(seed_case, random_case):
    """Left: the random batch's ∂loss/∂w and ∂loss/∂b from every framework beside the hand
    result. Right: each framework's largest difference from the hand result, both inputs."""
    reference, rows = random_case
    present = [r for r in rows if "missing" not in r]
    fig = viz.figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    entries = np.concatenate([reference[1].ravel(), reference[2]])
    labels = [f"w[{i},{j}]" for i in range(3) for j in range(2)] + ["b[0]", "b[1]"]
    width = 0.8 / (len(present) + 1)
    pos = np.arange(len(entries))
    left.bar(pos, entries, width, color=viz.COLORS["reference"], label=viz.text("手推", "by hand"))
    for k, r in enumerate(present, start=1):
        left.bar(pos + k * width, np.concatenate([r["dw"].ravel(), r["db"]]), width, label=r["name"])
    left.set_xticks(pos + width * len(present) / 2, labels)
    left.axhline(0, color="0.4", lw=0.8)
    left.set(title=viz.text("随机批次上各框架算出的梯度", "Gradients on the random batch, every framework"),
             xlabel=viz.text("参数", "parameter"), ylabel="∂loss/∂θ")
    left.legend(fontsize=8)
    names = [r["name"].split(" (")[0] for r in present]
    pos = np.arange(len(present))
    for k, ((_, case_rows), label) in enumerate([(seed_case, viz.text("种子输入", "seed input")),
                                                 (random_case, viz.text("随机批次", "random batch"))]):
        gaps = [r["gap"] for r in case_rows if "missing" not in r]
        right.barh(pos + 0.4 * k - 0.2, np.maximum(gaps, 1e-12), 0.4, label=label)
    right.set_yticks(pos, names)
    right.axvline(TOLERANCE, color=viz.COLORS["learned"], ls="--", label=viz.text("容差 1e-6", "tolerance 1e-6"))
    right.set(xscale="log", xlim=(1e-10, 1e-5), ylim=(-0.6, len(present) + 0.7),  # room for the legend
              title=viz.text("与手推结果的最大差", "Largest gap to the hand result", sep="\n"),
              xlabel="max |diff|", ylabel=viz.text("框架", "framework"))
    right.legend(loc="upper left", fontsize=8)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch05.autodiff", zh="张量和自动微分：同一个梯度在四个框架中",
        en="Tensors and automatic differentiation: one gradient in four frameworks")
def run(ctx):
    # 1. the seed's computation
    x, w, b = seed_inputs()
    ctx.log("loss = mean(tanh(x @ w + b)²),  w = 0.1 (3×2),  b = 0,  x = [[1, 2, 3]]\n")
    reference, rows = compare(x, w, b)
    ctx.log(table(reference, rows))

    # 2. a random batch: every gradient entry different
    rx, rw, rb = random_inputs(ctx.rng())
    random_reference, random_rows = compare(rx, rw, rb)
    ctx.log("\nthe same on a random batch x (4×3), w (3×2), b (2):\n")
    ctx.log(table(random_reference, random_rows))

    # results
    ran = [r for r in rows if "missing" not in r]
    ctx.record(loss=reference[0], dloss_dw=reference[1], dloss_db=reference[2],
               frameworks_run=[r["name"] for r in ran],
               frameworks_missing=[r["name"] for r in rows if "missing" in r])
    for r, rr in zip(rows, random_rows):
        if "missing" not in r:
            key = r["name"].split()[0].lower()
            ctx.record(**{f"gap_{key}": r["gap"], f"gap_random_{key}": rr["gap"]})
    worst = max(max(r["gap"], rr["gap"]) for r, rr in zip(rows, random_rows) if "missing" not in r)
    ctx.record(max_gap=worst)
    ctx.check(f"all {len(ran)} installed frameworks agree with the chain rule to 1e-6",
              worst <= TOLERANCE)

    # figure
    ctx.save_figure(plot_gradients((reference, rows), (random_reference, random_rows)),
                    "gradients.png")
