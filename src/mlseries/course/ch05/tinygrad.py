"""ch05.tinygrad — 原语与组合算子、计算图与惰性求值 / Primitive and composite ops, graphs, laziness.

tinygrad's lesson (the seed points at its source) is that a deep-learning framework needs
surprisingly few operations with hand-written derivatives. Everything else (softmax, layer
norm, convolution, attention) is *composed* from them, and its gradient then comes for free
from the chain rule. This engine is built the same way, and this lesson looks inside it:

1. the primitives: every `Function` in `mlseries/_ops.py`, the one file that holds all the
   calculus, listed by introspection with what each backward needs;
2. composite ops built here from primitive tensor operations: softmax, layer norm, and a
   convolution by im2col; their values and gradients checked against the engine's fused op,
   PyTorch's, and finite differences;
3. the graph of one training step of a small network, traced by walking `grad_fn` and drawn:
   which primitives the forward pass uses, and which the backward pass is built from;
4. lazy evaluation (tinygrad's other big idea) in miniature: record first, run on `realize()`,
   and fuse a chain of elementwise operations into one pass over memory.

    mlseries run ch05.tinygrad [--quick]
"""
import inspect
import re
import time
from collections import Counter

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import viz

from . import lazy
from ...viz.graph import draw_graph
from ..registry import lesson
from ..table import format_table

FULL = dict(lazy_size=4_000_000, repeats=5)
QUICK = dict(lazy_size=400_000, repeats=2)
TOLERANCE = dict(engine=1e-10, torch=1e-10, numeric=1e-6)   # float64 throughout


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "forward_graph.png": ("一次前向计算只由少数几种原语组成：Linear、Relu、LogSoftmax、Mul、Sum。",
                          "A forward pass is a handful of primitives: Linear, Relu, LogSoftmax, Mul, Sum."),
    "backward_graph.png": ("反向计算也是一张由原语构成的图；红色节点就是各参数的梯度。",
                           "The backward pass is another graph of primitives; the red nodes are the parameters' gradients."),
    "step_primitives.png": ("一步训练中前向（蓝）与反向（橙）各用了哪些原语：反向只需要 MatMul、Sum、Permute 等少数几种。",
                            "The primitives one training step uses, forward (blue) and backward (orange): backward needs only a few kinds, MatMul, Sum, Permute and the like."),
    "lazy_graph.png": ("惰性求值先记下整个表达式，再把它编译成一个融合的内核。",
                       "Lazy evaluation records the whole expression first, then runs it as one fused kernel."),
    "lazy_costs.png": ("融合后的一个内核几乎不占临时内存（对数坐标）；在 NumPy 上耗时差不多，因为分块循环在 Python 里。",
                       "One fused kernel needs almost no temporary memory (log scale); on NumPy it takes about as long, since its block loop runs in Python."),
}


# ---------------------------------------------------------------- 1. the primitives

def primitives():
    """Every primitive of the engine: rows (name, group, what backward reads, docstring line),
    read from mlseries._ops itself, so the table cannot drift from the code."""
    from mlseries import _ops
    source = inspect.getsource(_ops).splitlines()
    # the file is divided by comment rules such as "# ---- reductions ----"
    sections = [(i + 1, m.group(1)) for i, line in enumerate(source)
                if (m := re.match(r"# -+ (.+?) -+$", line))]
    rows = []
    for name, cls in vars(_ops).items():
        if not (inspect.isclass(cls) and issubclass(cls, ms.autograd.Primitive)
                and cls.__module__ == _ops.__name__ and not name.startswith("_")):
            continue
        line = inspect.getsourcelines(cls)[1]
        group = next((title for start, title in reversed(sections) if start <= line), "elementwise")
        reads = "output" if cls.save_output else ("inputs" if cls.uses_input_values else "shapes only")
        doc = (cls.__doc__ or "").strip().splitlines()
        rows.append((name, group, reads, doc[0] if doc else ""))
    return rows


# ---------------------------------------------------------------- 2. composite ops

def softmax(x, dim=-1):
    """exp(x − max) / Σ exp(x − max). The shift is detached: softmax does not change when every
    input moves by the same amount, so the shift needs no gradient (it only prevents overflow)."""
    shifted = x - x.amax(dim=dim, keepdim=True).detach()
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def layer_norm(x, weight, bias, eps=1e-5):
    """Normalise the last dimension to mean 0 and variance 1, then scale and shift."""
    mean = x.mean(dim=-1, keepdim=True)                      # (..., 1)
    centred = x - mean                                       # (..., D)
    var = (centred * centred).mean(dim=-1, keepdim=True)     # (..., 1) biased, as layer norm uses
    return centred / (var + eps).sqrt() * weight + bias      # (..., D)


def conv2d_im2col(x, weight, bias, padding=1):
    """Convolution as one matrix product: cut every kh×kw window out of the padded input
    (im2col), lay the windows side by side as columns, multiply by the flattened kernels."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    x = F.pad(x, (padding,) * 4)                                  # (N, C, H+2p, W+2p)
    ho, wo = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    shifted = [x[:, :, i:i + ho, j:j + wo] for i in range(kh) for j in range(kw)]  # each (N, C, Ho, Wo)
    cols = ms.stack(shifted, dim=2)                               # (N, C, kh·kw, Ho, Wo)
    cols = cols.reshape(n, c * kh * kw, ho * wo)                  # (N, C·kh·kw, Ho·Wo)
    out = weight.reshape(o, c * kh * kw) @ cols                   # (N, O, Ho·Wo)
    return out.reshape(n, o, ho, wo) + bias.reshape(1, o, 1, 1)   # (N, O, Ho, Wo)


def composite_cases(rng):
    """(name, our composite, the engine's fused op or None, PyTorch's op (a function of the torch
    module), input arrays): float64 inputs, weights included so their gradients are checked too."""
    x = rng.normal(size=(4, 7))
    return [
        ("softmax", lambda x: softmax(x, dim=-1), lambda x: F.softmax(x, dim=-1),
         lambda torch, x: torch.softmax(x, dim=-1), [3 * x]),
        ("layer_norm", layer_norm, None,
         lambda torch, x, w, b: torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5),
         [rng.normal(size=(3, 5, 6)), rng.normal(1, 0.3, size=6), rng.normal(0, 0.3, size=6)]),
        ("conv2d (im2col)", conv2d_im2col, None,
         lambda torch, x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
         [rng.normal(size=(2, 3, 6, 5)), rng.normal(0, 0.3, size=(4, 3, 3, 3)), rng.normal(size=4)]),
    ]


def _engine_grads(fn, arrays, probe):
    """fn's output and the gradients of Σ output·probe with respect to every input, and the
    count of each primitive in fn's graph (taken before backward frees the graph)."""
    ts = [ms.tensor(a, dtype=ms.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    forward = graph_functions(out)
    # create_graph=True records the backward pass itself, so its primitives can be counted
    grads = ms.autograd.grad((out * ms.tensor(probe)).sum(), ts, create_graph=True)
    backward = {f for g in grads for f in graph_functions(g)} - set(forward)
    used = Counter(f.name for f in forward), Counter(f.name for f in backward)
    return [out.numpy()] + [g.numpy() for g in grads], used


def _torch_grads(fn, arrays, probe):
    import torch
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(torch, *ts)
    (out * torch.tensor(probe)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def _numeric_gap(fn, arrays, probe, grads, rng, samples=6, h=1e-6):
    """Largest gap between the gradients and central differences at a few random entries."""
    def objective(values):
        with ms.no_grad():
            out = fn(*[ms.tensor(v, dtype=ms.float64) for v in values])
        return float(np.sum(out.numpy() * probe))

    gap = 0.0
    for k, a in enumerate(arrays):
        for flat in rng.choice(a.size, size=min(samples, a.size), replace=False):
            idx = np.unravel_index(flat, a.shape)
            plus, minus = [v.copy() for v in arrays], [v.copy() for v in arrays]
            plus[k][idx] += h
            minus[k][idx] -= h
            numeric = (objective(plus) - objective(minus)) / (2 * h)
            gap = max(gap, abs(numeric - grads[k][idx]))
    return gap


def check_composites(rng):
    """One row per composite op: the primitives in its graph, and its largest gaps (value and
    gradients) to the engine's fused op, to PyTorch and to finite differences (None: not run)."""
    rows = []
    for name, ours, fused, torch_fn, arrays in composite_cases(rng):
        out_shape = ours(*[ms.tensor(a) for a in arrays]).shape
        probe = rng.normal(size=tuple(out_shape))
        mine, used = _engine_grads(ours, arrays, probe)

        def gap(theirs):
            return max(float(np.abs(a - b).max()) for a, b in zip(mine, theirs))

        to_fused = gap(_engine_grads(fused, arrays, probe)[0]) if fused else None
        try:
            to_torch = gap(_torch_grads(torch_fn, arrays, probe))
        except ImportError:
            to_torch = None
        to_numeric = _numeric_gap(ours, arrays, probe, mine[1:], rng)
        rows.append(dict(name=name, primitives=dict(used[0]), nodes=sum(used[0].values()),
                         backward_primitives=sorted(used[1]),
                         to_fused=to_fused, to_torch=to_torch, to_numeric=to_numeric))
    return rows


# ---------------------------------------------------------------- 3. tracing a graph

def graph_functions(output):
    """Every Function node behind `output`, found by walking grad_fn → inputs' grad_fn."""
    seen, stack, found = set(), [output.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        found.append(fn)
        stack.extend(t.grad_fn for t in fn.inputs)
    return found


def trace(outputs, names, skip=()):
    """(nodes, edges) for draw_graph: one node per Function (its name and output shape) and per
    leaf tensor (its name from `names`, id → name); `skip` holds Functions left out (drawn
    elsewhere), whose outputs then appear as inputs."""
    nodes, edges = {}, []
    stack = [(out.grad_fn, out) for out in outputs]
    while stack:
        fn, produced = stack.pop()
        if fn in nodes:
            continue
        is_output = any(produced is o for o in outputs)
        text = f"{fn.name}\n{tuple(produced.shape)}"
        if is_output and id(produced) in names:
            text += f"\n= {names[id(produced)]}"
        nodes[fn] = (text, "output" if is_output else "op")
        for t in fn.inputs:
            if t.grad_fn is None or t.grad_fn in skip:
                key = ("tensor", id(t))
                label = names.get(id(t), "const" if not t.requires_grad else "tensor")
                if t.grad_fn in skip:
                    key, label = ("forward", id(t)), f"{t.grad_fn.name} output\n(from forward)"
                nodes.setdefault(key, (f"{label}\n{tuple(t.shape)}", "leaf" if t.requires_grad else "const"))
                edges.append((key, fn))
            else:
                edges.append((t.grad_fn, fn))
                stack.append((t.grad_fn, t))
    return nodes, edges


def one_step(rng):
    """A small classifier's forward pass and the graph of its gradients (create_graph=True
    records the backward pass as a graph of the same primitives)."""
    model = ms.nn.Sequential(ms.nn.Linear(4, 8), ms.nn.ReLU(), ms.nn.Linear(8, 3))
    x = ms.tensor(rng.normal(size=(5, 4)).astype(np.float32))
    y = ms.tensor(rng.integers(0, 3, size=5))
    loss = F.cross_entropy(model(x), y)
    names = {id(p): name for name, p in model.named_parameters()}
    names[id(x)] = "x"
    forward = graph_functions(loss)
    params = list(model.parameters())
    grads = ms.autograd.grad(loss, params, create_graph=True)
    backward = {fn for g in grads for fn in graph_functions(g)} - set(forward)
    for g, (name, _) in zip(grads, model.named_parameters()):
        names[id(g)] = f"∂loss/∂{name}"
    return loss, grads, forward, backward, names


# ---------------------------------------------------------------- figures

def plot_op_counts(forward, backward):
    fwd, bwd = Counter(f.name for f in forward), Counter(f.name for f in backward)
    ops = sorted(set(fwd) | set(bwd), key=lambda n: (-(fwd[n] + bwd[n]), n))
    pos = np.arange(len(ops))
    fig = viz.figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.bar(pos - 0.2, [fwd[o] for o in ops], 0.4, label=viz.text("前向", "forward"))
    ax.bar(pos + 0.2, [bwd[o] for o in ops], 0.4, label=viz.text("反向（create_graph）", "backward (create_graph)"))
    ax.set_xticks(pos, ops, rotation=40, ha="right")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=viz.text("一步训练用到的原语", "Primitives in one training step"),
           xlabel=viz.text("原语", "primitive"), ylabel=viz.text("节点数", "nodes"))
    ax.legend()
    return fig


def plot_lazy_costs(eager_stats, lazy_stats, eager_s, lazy_s):
    """Temporary memory and time of the same expression, eager and lazy-fused."""
    fig = viz.figure(figsize=(9, 3.8))
    left, right = fig.subplots(1, 2)
    labels = [viz.text(f"逐个执行\n{eager_stats['kernels']} 个内核", f"eager\n{eager_stats['kernels']} kernels", sep="\n"),
              viz.text(f"惰性 + 融合\n{lazy_stats['kernels']} 个内核", f"lazy + fused\n{lazy_stats['kernels']} kernel", sep="\n")]
    colors = [viz.COLORS["search"], viz.COLORS["learned"]]
    left.bar([0, 1], [eager_stats["temp_bytes"] / 1e6, lazy_stats["temp_bytes"] / 1e6], color=colors)
    left.set_xticks([0, 1], labels)
    left.set(yscale="log", title=viz.text("临时数组占用的内存", "Memory in temporaries"),
             xlabel=viz.text("求值方式", "evaluation"), ylabel="MB")
    right.bar([0, 1], [eager_s * 1e3, lazy_s * 1e3], color=colors)
    right.set_xticks([0, 1], labels)
    right.set(title=viz.text("耗时（NumPy，分块循环在 Python 中）", "Time (NumPy; the block loop runs in Python)", sep="\n"),
              xlabel=viz.text("求值方式", "evaluation"), ylabel="ms")
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch05.tinygrad", zh="tinygrad 的思路：原语与组合算子、计算图、惰性求值",
        en="Inside a framework (tinygrad's ideas): primitive vs composite ops, graphs, laziness")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. the primitives, straight from the engine's source
    prims = primitives()
    ctx.log(format_table(["primitive", "group", "backward reads", "note"],
                         [(n, g, r, _short(d)) for n, g, r, d in prims]))
    groups = Counter(g for _, g, _, _ in prims)
    ctx.log(f"\n{len(prims)} primitives: " + ", ".join(f"{g} {k}" for g, k in groups.items()))
    table_file = ctx.path("primitives.csv")
    table_file.write_text("primitive,group,backward_reads,note\n" + "".join(
        f'{n},{g},{r},"{d}"\n' for n, g, r, d in prims), encoding="utf-8")

    # 2. composite ops from primitives, checked three ways
    comps = check_composites(rng)
    fmt = lambda v: "-" if v is None else f"{v:.1e}"  # noqa: E731
    ctx.log("\n" + format_table(
        ["composite op", "nodes", "forward: primitives it is made of", "backward made of",
         "vs fused", "vs PyTorch", "vs numeric"],
        [(c["name"], c["nodes"], ", ".join(f"{k}×{v}" for k, v in sorted(c["primitives"].items())),
          ", ".join(c["backward_primitives"]), fmt(c["to_fused"]), fmt(c["to_torch"]),
          fmt(c["to_numeric"])) for c in comps], "<><<>>>"))

    # 3. one training step of a 4-8-3 classifier, traced
    loss, grads, forward, backward, names = one_step(rng)
    fwd_ops, bwd_ops = Counter(f.name for f in forward), Counter(f.name for f in backward)
    ctx.log(f"\none step: forward {len(forward)} nodes of {len(fwd_ops)} primitives "
            f"({', '.join(sorted(fwd_ops))}); backward {len(backward)} nodes of {len(bwd_ops)} "
            f"primitives ({', '.join(sorted(bwd_ops))})")
    backward_basis = sorted(set(bwd_ops).union(*(c["backward_primitives"] for c in comps)))
    ctx.log(f"every backward pass in this lesson is made of {len(backward_basis)} primitives: "
            + ", ".join(backward_basis))

    # 4. lazy evaluation
    x, y = rng.normal(size=settings["lazy_size"]), rng.normal(size=settings["lazy_size"])
    expr = lazy.demo_expression(x, y)
    unused = (lazy.Lazy.load(x).exp() * 3.0).sum()   # recorded, never realized: never computed
    # a second expression, softmax-like: exp(x − 1) feeds both the sum and the division, so it
    # is written to memory once and read by two kernels
    e = (lazy.Lazy.load(x[:8]) - 1.0).exp()
    shared = e / e.sum()
    shared_kernels = len(shared.schedule())
    nodes, edges = lazy.graph_of(expr, prefix="A")
    more_nodes, more_edges = lazy.graph_of(shared, prefix="B")
    lazy_graph = ({**nodes, **more_nodes}, edges + more_edges)
    shared_gap = float(np.abs(shared.realize() - np.exp(x[:8] - 1) / np.exp(x[:8] - 1).sum()).max())
    eager_stats, lazy_stats = {}, {}
    eager_value = lazy.eager(x, y, eager_stats)
    lazy_value = expr.realize(lazy_stats)
    eager_s = min(_timed(lambda: lazy.eager(x, y)) for _ in range(settings["repeats"]))
    lazy_s = min(_timed(lambda: lazy.demo_expression(x, y).realize()) for _ in range(settings["repeats"]))
    ctx.log(f"\nlazy: sum((relu(2x + y) − 1)²) over {x.size:,} elements: eager "
            f"{eager_stats['kernels']} kernels, {eager_stats['temp_bytes'] / 1e6:.1f} MB of temporaries, "
            f"{eager_s * 1e3:.1f} ms; lazy {lazy_stats['kernels']} fused kernel, "
            f"{lazy_stats['temp_bytes'] / 1e3:.0f} kB, {lazy_s * 1e3:.1f} ms; same value to "
            f"{abs(lazy_value - eager_value) / abs(eager_value):.1e} (relative); the unused "
            f"expression was never run ({unused}); softmax-like exp(x − 1) / Σ exp(x − 1) needs "
            f"{shared_kernels} kernels, because exp(x − 1) is read twice")

    # results
    ctx.record(primitives=len(prims), primitive_groups=dict(groups),
               step_forward_nodes=len(forward), step_forward_primitives=sorted(fwd_ops),
               step_backward_nodes=len(backward), step_backward_primitives=sorted(bwd_ops),
               backward_basis=backward_basis, loss=loss)
    for c in comps:
        key = c["name"].split()[0]
        ctx.record(**{f"{key}_nodes": c["nodes"], f"{key}_gap_torch": c["to_torch"],
                      f"{key}_gap_numeric": c["to_numeric"], f"{key}_gap_fused": c["to_fused"]})
    ctx.record(lazy_elements=x.size, eager_kernels=eager_stats["kernels"],
               lazy_kernels=lazy_stats["kernels"], eager_temp_bytes=eager_stats["temp_bytes"],
               lazy_temp_bytes=lazy_stats["temp_bytes"], eager_ms=eager_s * 1e3, lazy_ms=lazy_s * 1e3,
               lazy_relative_gap=abs(lazy_value - eager_value) / abs(eager_value),
               shared_kernels=shared_kernels)
    ctx.check("every composite op's value and gradients match the fused op and PyTorch (1e-10) "
              "and finite differences (1e-6)",
              all((c["to_fused"] is None or c["to_fused"] <= TOLERANCE["engine"])
                  and (c["to_torch"] is None or c["to_torch"] <= TOLERANCE["torch"])
                  and c["to_numeric"] <= TOLERANCE["numeric"] for c in comps))
    ctx.check("every backward pass is built from the same primitives (nothing outside _ops)",
              set(backward_basis) <= {n for n, *_ in prims})
    ctx.check("the lazy expression runs as one fused kernel and equals eager NumPy",
              lazy_stats["kernels"] == 1 and abs(lazy_value - eager_value) <= 1e-9 * abs(eager_value)
              and unused._value is None)
    ctx.check("a value read twice is computed once, in its own kernel (3 kernels, right values)",
              shared_kernels == 3 and shared_gap <= 1e-15)

    # figures
    title = viz.text("一个 4-8-3 分类器的前向计算图（交叉熵损失）",
                     "Forward graph of a 4-8-3 classifier with cross-entropy loss", sep="\n")
    ctx.save_figure(draw_graph(*trace([loss], names), title), "forward_graph.png")
    bwd_nodes, bwd_edges = trace(list(grads), names, skip=set(forward))
    ctx.save_figure(draw_graph(bwd_nodes, bwd_edges, viz.text(
        "同一步的反向计算图（create_graph=True 记录下来的梯度计算）",
        "Backward graph of the same step (the gradient computation, recorded by create_graph=True)",
        sep="\n"), col_width=1.9, row_height=0.8, fontsize=7), "backward_graph.png")
    ctx.save_figure(plot_op_counts(forward, backward), "step_primitives.png")
    ctx.save_figure(draw_graph(*lazy_graph, viz.text(
        "惰性表达式 A：sum((relu(2x + y) − 1)²) 全部融合进一个内核；"
        "B：exp(x − 1) / Σ exp(x − 1) 中 exp 被读两次，单独成一个内核",
        "Lazy A: sum((relu(2x + y) − 1)²) fuses into one kernel; "
        "B: exp(x − 1) / Σ exp(x − 1) reads exp twice, so exp gets a kernel of its own", sep="\n"),
        col_width=1.6), "lazy_graph.png")
    ctx.save_figure(plot_lazy_costs(eager_stats, lazy_stats, eager_s, lazy_s), "lazy_costs.png")


def _short(text, width=50):
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
