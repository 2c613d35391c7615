"""ch05.micrograd — 标量自动微分引擎 / A scalar autograd engine, written here in full.

Every framework of this chapter rests on one idea: record each arithmetic step as it happens,
then walk the record backwards, multiplying local derivatives (the chain rule). This lesson
builds that idea on single numbers, in the spirit of Karpathy's micrograd, small enough to read
in one sitting:

- `Value`: a number that remembers which values it came from and the local derivative with
  respect to each (∂out/∂input, computed in the forward pass, when the inputs are at hand);
- `backward()`: visit the graph from the output back to the inputs in topological order and
  add up `local derivative × gradient of the output` into every input.

Three details decide whether such an engine is right, and the seed's versions got them wrong:

1. a value used twice (`b = a + a`) must receive both contributions: gradients are *added*;
2. a long chain (thousands of steps) must not overflow Python's recursion limit: the
   topological order is built with an explicit stack;
3. calling `backward()` again after zeroing the parameters' gradients must give the same
   gradients: every intermediate value starts each backward pass from zero.

Then the engine trains a small multilayer perceptron on 100 points of the two moons to 100 %
accuracy (micrograd's own demo result), and draws the computation graph of one neuron with
each node's value and gradient.

    mlseries run ch05.micrograd [--quick]
"""
import gc
import math
from contextlib import contextmanager

import numpy as np

import mlseries as ms
from mlseries import datasets, viz

from ...viz.graph import draw_graph
from ..registry import lesson
from ..table import format_table

FULL = dict(steps=100, sizes=(2, 16, 16, 1))
QUICK = dict(steps=50, sizes=(2, 16, 16, 1))   # half the steps; still 100 % with seed 0
MOONS = dict(n=100, noise=0.1)
L2 = 1e-4        # a little weight decay keeps the margin loss from growing weights forever


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "neuron_graph.png": ("从右往左读梯度：每个节点的 grad 是输出对它的导数，由链式法则一步步传回来。",
                         "Read the gradients right to left: each node's grad is the output's derivative in it, passed back by the chain rule."),
    "moons_boundary.png": ("只用标量 Value 搭的 MLP 也能画出弯曲的分界线，把两个月牙完全分开。",
                           "An MLP built from scalar Values bends its boundary enough to separate the two moons completely."),
    "training.png": ("损失（对数）下降，训练准确率在第 25 步左右到达 100 %。",
                     "The loss (log scale) falls and training accuracy reaches 100 % around step 25."),
}


# ---------------------------------------------------------------- 1. the engine

class Value:
    """A scalar in a computation graph.

    `parents` are the values it was computed from and `local_grads` the derivative of this
    value with respect to each of them, e.g. for c = a * b: parents (a, b), local_grads (b, a).
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op", "label")

    def __init__(self, data, parents=(), local_grads=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local_grads = local_grads
        self.op = op
        self.label = label

    def __repr__(self):
        return f"Value({self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def lift(x):
        return x if isinstance(x, Value) else Value(x)

    # -- arithmetic: each returns a new Value with its local derivatives ------------------
    def __add__(self, other):
        other = Value.lift(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = Value.lift(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):
        if isinstance(other, Value):       # x ** y: ∂/∂x = y·x^(y−1), ∂/∂y = x^y·ln x
            if self.data <= 0:
                raise ValueError(f"Value ** Value needs a positive base (ln of the base is "
                                 f"its derivative in the exponent); the base is {self.data}")
            out = self.data ** other.data
            return Value(out, (self, other),
                         (other.data * self.data ** (other.data - 1), out * math.log(self.data)),
                         "**")
        return Value(self.data ** other, (self,), (other * self.data ** (other - 1),), f"**{other:g}")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Value.lift(other))

    def __truediv__(self, other):
        return self * Value.lift(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return Value.lift(other) - self

    def __rtruediv__(self, other):
        return Value.lift(other) / self

    def __rpow__(self, other):
        return Value.lift(other) ** self

    # -- functions --------------------------------------------------------------------------
    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def log(self):
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    # -- backward ---------------------------------------------------------------------------
    def backward(self):
        """Fill `.grad` of every value this one depends on with ∂self/∂value.

        Inputs (values without parents) accumulate across calls, as in PyTorch, so zero them
        between steps; intermediate values are reset here, so each call starts clean.
        """
        order = topological_order(self)
        for v in order:
            if v.parents:
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):                  # outputs before the values they came from
            for parent, local in zip(v.parents, v.local_grads):
                parent.grad += local * v.grad      # += : a value used twice gets both parts


def topological_order(root):
    """Every value `root` depends on, each after all the values it was computed from.

    An explicit stack instead of recursion: a chain of 10 000 additions is fine."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)                        # all its parents are already in `order`
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((p, False) for p in v.parents if id(p) not in seen)
    return order


# ---------------------------------------------------------------- 2. checking the engine

# Every operation of Value, each as one function written so that it also runs on engine tensors.
OPS = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
    "a ** 3": lambda a, b: a ** 3,
    "a ** b": lambda a, b: a ** b,
    "2 - a, 1 / a": lambda a, b: (2 - a) * (1 / a),
    "2 ** a": lambda a, b: 2 ** a,
    "-a": lambda a, b: -a,
    "exp(a)": lambda a, b: a.exp(),
    "log(a)": lambda a, b: a.log(),
    "tanh(a)": lambda a, b: a.tanh(),
    "relu(a)": lambda a, b: a.relu(),
    "relu(-a)": lambda a, b: (-a).relu(),
    "a·a + a (reused)": lambda a, b: a * a + a,
    "composite": lambda a, b: ((a * b + b ** 2).tanh() * a.exp() - b / a).relu() + (a + b).log(),
}


def grads_by_value(f, a, b):
    va, vb = Value(a), Value(b)
    out = f(va, vb)
    out.backward()
    return out.data, va.grad, vb.grad


def grads_by_engine(f, a, b):
    ta = ms.tensor(a, dtype=ms.float64, requires_grad=True)
    tb = ms.tensor(b, dtype=ms.float64, requires_grad=True)
    out = f(ta, tb)
    out.backward()
    grad = lambda t: 0.0 if t.grad is None else t.grad.item()  # noqa: E731 (unused input)
    return out.item(), grad(ta), grad(tb)


def grads_by_differences(f, a, b, h=1e-6):
    """Central differences (f(x + h) − f(x − h)) / 2h, on plain floats through Value."""
    at = lambda x, y: f(Value(x), Value(y)).data  # noqa: E731
    return (at(a, b), (at(a + h, b) - at(a - h, b)) / (2 * h),
            (at(a, b + h) - at(a, b - h)) / (2 * h))


def check_ops(points):
    """For every op and point (a, b): the largest gap of Value's gradients from the engine's
    and from finite differences. Returns rows (op, max gap to engine, max gap to differences)."""
    rows = []
    for name, f in OPS.items():
        to_engine = to_numeric = 0.0
        for a, b in points:
            ours = np.array(grads_by_value(f, a, b))
            to_engine = max(to_engine, np.abs(ours - grads_by_engine(f, a, b)).max())
            to_numeric = max(to_numeric, np.abs(ours - grads_by_differences(f, a, b)).max())
        rows.append((name, float(to_engine), float(to_numeric)))
    return rows


def correctness_demos():
    """The three places where a naive engine goes wrong, each with the right answer."""
    a = Value(3.0)
    twice = a + a
    twice.backward()
    reused = a.grad                                   # d(a + a)/da = 2

    x = Value(0.5)
    y = x
    depth = 10_000
    for _ in range(depth):
        y = y * 1.0001 + 0.0                          # y = 1.0001^depth · x, two ops a step
    y.backward()
    chain = (x.grad, 1.0001 ** depth)

    w = Value(-0.7)
    loss = (w * 2.0 - 1.0).tanh() ** 2 + w * w
    loss.backward()
    first = w.grad
    w.grad = 0.0                                      # zero the parameter, as before every step
    loss.backward()
    return dict(reused_grad=reused, chain_depth=depth, chain_grad=chain[0], chain_exact=chain[1],
                first_backward=first, second_backward=w.grad)


# ---------------------------------------------------------------- 3. a network of Values

class Neuron:
    def __init__(self, n_in, rng, activation=True):
        # uniform in [−1, 1] as in micrograd's demo: with at most 16 inputs a neuron's sum stays
        # of order a few, and the large start lets full-batch descent finish in a hundred steps
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n_in)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x):
        z = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return z.relu() if self.activation else z

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, n_in, n_out, rng, activation=True):
        self.neurons = [Neuron(n_in, rng, activation) for _ in range(n_out)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """ReLU layers and a linear output: sizes (2, 16, 16, 1) is micrograd's demo network."""

    def __init__(self, sizes, rng):
        self.layers = [Layer(a, b, rng, activation=i < len(sizes) - 2)
                       for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def as_arrays(self):
        """[(W (n_out, n_in), b (n_out,)), ...]: the same network for fast NumPy evaluation."""
        return [(np.array([[w.data for w in n.w] for n in layer.neurons]),
                 np.array([n.b.data for n in layer.neurons])) for layer in self.layers]


def numpy_scores(weights, x):
    """The MLP's outputs for many points at once (for the decision-boundary picture)."""
    for i, (W, b) in enumerate(weights):
        x = x @ W.T + b
        if i < len(weights) - 1:
            x = np.maximum(x, 0.0)
    return x[:, 0]


def margin_loss(model, x, y):
    """Mean hinge loss max(0, 1 − y·score) with labels y = ±1, plus L2, and the accuracy.

    The hinge stops pushing a point once it is on the right side with margin 1, so the last
    steps are spent on the points still near the boundary."""
    x, y = x.tolist(), y.tolist()        # Python floats: a NumPy scalar times a Value is slow
    scores = [model(list(map(Value, xi))) for xi in x]
    hinge = sum((1 - yi * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
    penalty = L2 * sum(p * p for p in model.parameters())
    accuracy = np.mean([(s.data > 0) == (yi > 0) for yi, s in zip(y, scores)])
    return hinge + penalty, float(accuracy)


@contextmanager
def cycle_collector_paused():
    """Python's cycle collector walks every live object each time enough new ones pile up; a
    step here creates ~90 000 Values (none in a cycle), and those walks tripled the run time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def train(model, x, y, steps, progress=iter):
    """Full-batch gradient descent with a learning rate falling from 1.0 to 0.1."""
    with cycle_collector_paused():
        return _descend(model, x, y, steps, progress)


def _descend(model, x, y, steps, progress):
    history = []
    params = model.parameters()
    for step in progress(range(steps)):
        loss, accuracy = margin_loss(model, x, y)
        for p in params:
            p.grad = 0.0
        loss.backward()
        lr = 1.0 - 0.9 * step / steps
        for p in params:
            p.data -= lr * p.grad
        history.append((loss.data, accuracy))
    loss, accuracy = margin_loss(model, x, y)
    history.append((loss.data, accuracy))
    return np.array(history)


# ---------------------------------------------------------------- 4. figures

def neuron_example():
    """One tanh neuron, o = tanh(x1·w1 + x2·w2 + b), with labels, after backward()."""
    x1, x2 = Value(1.5, label="x1"), Value(-0.5, label="x2")
    w1, w2, b = Value(0.8, label="w1"), Value(-1.2, label="w2"), Value(-0.4, label="b")
    z1, z2 = x1 * w1, x2 * w2
    z1.label, z2.label = "x1·w1", "x2·w2"
    s = z1 + z2
    s.label = "x1w1 + x2w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def plot_graph(root, title):
    """Every value as a box: its name or operation, its value and its gradient."""
    nodes, edges = {}, []
    for v in topological_order(root):
        head = v.label or (v.op if v.parents else f"{v.data:g}")
        if v.parents and v.label:
            head = f"{v.label}  [{v.op}]"
        kind = "output" if v is root else ("op" if v.parents else "leaf")
        nodes[id(v)] = (f"{head}\ndata {v.data:.4f}\ngrad {v.grad:.4f}", kind)
        edges += [(id(p), id(v)) for p in v.parents]
    return draw_graph(nodes, edges, title, col_width=2.1, row_height=0.95)


def plot_boundary(model, x, y):
    xs = np.linspace(x[:, 0].min() - 0.6, x[:, 0].max() + 0.6, 220)
    ys = np.linspace(x[:, 1].min() - 0.6, x[:, 1].max() + 0.6, 220)
    gx, gy = np.meshgrid(xs, ys)
    scores = numpy_scores(model.as_arrays(), np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    fig = viz.figure(figsize=(6.6, 5.6))
    ax = fig.subplots()
    ax.contourf(gx, gy, scores > 0, levels=[-0.5, 0.5, 1.5], colors=["#f3c9c9", "#c9d9f0"], alpha=0.8)
    ax.contour(gx, gy, scores, levels=[0], colors="k", linewidths=1)
    for label, color, marker in ((-1, viz.COLORS["learned"], "o"), (1, viz.COLORS["data"], "s")):
        pts = x[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], c=color, marker=marker, s=22, edgecolors="white",
                   linewidths=0.5, label=viz.text(f"类别 {label:+d}", f"class {label:+d}"))
    ax.plot([], [], color="k", lw=1, label=viz.text("决策边界（得分 = 0）", "decision boundary (score 0)"))
    ax.set(title=viz.text("Value 构成的 MLP 的决策边界", "Decision boundary of the MLP of Values", sep="\n"),
           xlabel="x₁", ylabel="x₂")
    # below the plot: inside it, the boundary and the points leave no corner free
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    return fig


def plot_training(history):
    fig = viz.figure(figsize=(9, 3.6))
    left, right = fig.subplots(1, 2)
    left.plot(history[:, 0], color=viz.COLORS["learned"])
    left.set(title=viz.text("训练损失（hinge + L2）", "Training loss (hinge + L2)"),
             xlabel=viz.text("步数", "step"), ylabel="loss", yscale="log")
    right.plot(history[:, 1], color=viz.COLORS["data"])
    right.set(title=viz.text("训练准确率", "Training accuracy"), xlabel=viz.text("步数", "step"),
              ylabel=viz.text("准确率", "accuracy"), ylim=(0.4, 1.02))
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch05.micrograd", zh="标量自动微分引擎 micrograd：从零写出并训练 MLP",
        en="A scalar autograd engine (micrograd) written from scratch, training an MLP")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. the engine on the three classic pitfalls
    demos = correctness_demos()
    ctx.log(f"b = a + a:              a.grad = {demos['reused_grad']}  (should be 2)")
    ctx.log(f"chain of {demos['chain_depth']} steps:  x.grad = {demos['chain_grad']:.6f}  "
            f"(exact 1.0001^{demos['chain_depth']} = {demos['chain_exact']:.6f})")
    ctx.log(f"backward twice:         {demos['first_backward']:.6f} then "
            f"{demos['second_backward']:.6f}  (should be equal)")
    ctx.record(**demos)

    # 2. every operation against the engine (float64) and finite differences
    points = [tuple(p) for p in rng.uniform(0.3, 2.0, size=(4, 2))]
    rows = check_ops(points)
    ctx.log("\n" + format_table(["op", "max |Value − engine|", "max |Value − numeric|"],
                                [(n, f"{e:.1e}", f"{d:.1e}") for n, e, d in rows], "<>>"))
    max_engine = max(r[1] for r in rows)
    max_numeric = max(r[2] for r in rows)
    ctx.record(ops_checked=len(rows), max_gap_to_engine=max_engine, max_gap_to_numeric=max_numeric)
    ctx.check("b = a + a gives a.grad = 2", demos["reused_grad"] == 2.0)
    ctx.check("a 10 000-step chain backpropagates exactly (no recursion limit)",
              abs(demos["chain_grad"] - demos["chain_exact"]) <= 1e-9 * demos["chain_exact"])
    ctx.check("backward() again after zeroing gives the same gradient",
              demos["first_backward"] == demos["second_backward"])
    ctx.check("every op's gradient equals the engine's (1e-12) and finite differences (1e-6)",
              max_engine <= 1e-12 and max_numeric <= 1e-6)

    # 3. an MLP of Values on the 100-point moons, labels −1 / +1
    x, y = datasets.moons(n=MOONS["n"], noise=MOONS["noise"], seed=ctx.seed)
    x, y = x.numpy().astype(np.float64), y.numpy() * 2 - 1
    model = MLP(settings["sizes"], rng)
    ctx.log(f"\nMLP {settings['sizes']}: {len(model.parameters())} parameters, each a Value")
    history = train(model, x, y, settings["steps"], lambda it: ctx.progress(it, "training"))
    for step in range(0, len(history), max(1, len(history) // 6)):
        ctx.log(f"step {step:3d}  loss {history[step, 0]:.4f}  accuracy {history[step, 1]:.2f}")
    accuracy = history[-1, 1]
    first_perfect = int(np.argmax(history[:, 1] == 1.0)) if accuracy == 1.0 else None
    ctx.record(sizes=list(settings["sizes"]), parameters=len(model.parameters()),
               steps=settings["steps"], final_loss=history[-1, 0], accuracy=accuracy,
               first_step_at_100=first_perfect)
    ctx.check("100 % training accuracy on the 100-point moons", accuracy == 1.0)

    # 4. figures
    ctx.save_figure(plot_graph(neuron_example(), viz.text(
        "一个神经元的计算图：o = tanh(x1·w1 + x2·w2 + b)，每个节点的值与梯度",
        "Graph of one neuron, o = tanh(x1·w1 + x2·w2 + b): value and gradient of every node",
        sep="\n")), "neuron_graph.png")
    ctx.save_figure(plot_boundary(model, x, y), "moons_boundary.png")
    ctx.save_figure(plot_training(history), "training.png")
