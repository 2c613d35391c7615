"""Lazy evaluation in miniature, for ch05.tinygrad: the idea behind tinygrad's `LazyBuffer`.

An eager library (NumPy, this engine, PyTorch by default) computes every operation the moment
it is written, and each one makes a full-size temporary array and is one pass over memory
(a "kernel"). A lazy library only *records* the operations; nothing runs until a result is
asked for with `realize()`. Having the whole expression in hand first pays off three ways:

- work that nobody asks for is never done;
- a chain of elementwise operations becomes one kernel (fusion): each element goes through
  the whole chain while it is in cache, with no full-size temporaries in between;
- an elementwise chain that ends in a reduction (a sum) fuses into the reduction too.

Here fusion is shown on the CPU with NumPy by evaluating a fused chain block by block: a block
of 16 384 elements runs through every operation, then the next block. A real lazy framework
generates one loop (C, CUDA, Metal) per fused kernel instead.

    a, b = Lazy.load(x), Lazy.load(y)
    loss = ((a * 2.0 + b).relu() - 1.0).square().sum()   # nothing computed yet
    loss.realize()                                       # one fused kernel runs
"""
import numpy as np

BLOCK = 16_384    # elements per block of a fused kernel: 128 kB of float64, fits in L2 cache

_UNARY = {"neg": np.negative, "exp": np.exp, "relu": lambda a: np.maximum(a, 0.0),
          "square": np.square}
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
_SYMBOL = {"add": "+", "sub": "−", "mul": "×", "div": "÷"}


class Lazy:
    """A recipe for an array: an operation and its sources. `realize()` computes it."""

    def __init__(self, op, srcs=(), arg=None):
        self.op, self.srcs, self.arg = op, tuple(srcs), arg
        self._value = None     # the array, once realized

    @staticmethod
    def load(array):
        return Lazy("load", arg=np.asarray(array, dtype=np.float64))

    @staticmethod
    def _lift(x):
        return x if isinstance(x, Lazy) else Lazy("const", arg=float(x))

    @property
    def kind(self):
        if self.op in ("load", "const"):
            return "buffer"
        return "reduce" if self.op == "sum" else "elementwise"

    def __repr__(self):
        return f"Lazy({self.op}, {'realized' if self._value is not None else 'not realized'})"

    # -- recording: every operation only builds a node ------------------------------------
    def _binary(self, op, other, swap=False):
        a, b = self, Lazy._lift(other)
        return Lazy(op, (b, a) if swap else (a, b))

    def __add__(self, other):
        return self._binary("add", other)

    def __radd__(self, other):
        return self._binary("add", other, swap=True)

    def __sub__(self, other):
        return self._binary("sub", other)

    def __rsub__(self, other):
        return self._binary("sub", other, swap=True)

    def __mul__(self, other):
        return self._binary("mul", other)

    def __rmul__(self, other):
        return self._binary("mul", other, swap=True)

    def __truediv__(self, other):
        return self._binary("div", other)

    def __neg__(self):
        return Lazy("neg", (self,))

    def exp(self):
        return Lazy("exp", (self,))

    def relu(self):
        return Lazy("relu", (self,))

    def square(self):
        return Lazy("square", (self,))

    def sum(self):
        return Lazy("sum", (self,))

    # -- scheduling and running -------------------------------------------------------------
    def schedule(self):
        """The kernels needed for this value, in the order they must run.

        A kernel is a node that must be written to memory (the result itself, or a value used
        by more than one later node) together with the elementwise nodes that feed only it."""
        uses = {}
        for node in _nodes(self):
            for s in node.srcs:
                uses[id(s)] = uses.get(id(s), 0) + 1
        kernels, planned = [], set()

        def plan(node):
            if id(node) in planned or node.kind == "buffer" or node._value is not None:
                return
            planned.add(id(node))
            members, inputs = _fuse(node, uses)
            for s in inputs:
                plan(s)
            kernels.append((node, members, inputs))

        plan(self)
        return kernels

    def realize(self, stats=None):
        """Run the kernels of the schedule; `stats` (a dict) collects kernels and temporaries."""
        for node, members, inputs in self.schedule():
            node._value = _run_kernel(node, inputs, stats)
        return self._value if self.kind != "buffer" else self.arg


def _nodes(root):
    """Every node reachable from root (iteratively)."""
    seen, stack, out = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        stack.extend(node.srcs)
    return out


def _fuse(root, uses):
    """The elementwise nodes that fuse into `root`'s kernel and the kernel's inputs (buffers and
    realized or shared values, which must exist in memory before the kernel runs)."""
    members, inputs, stack = [root], [], list(root.srcs)
    while stack:
        node = stack.pop()
        inline = (node.kind == "elementwise" and uses.get(id(node), 0) == 1
                  and node._value is None)
        if inline:
            members.append(node)
            stack.extend(node.srcs)
        elif node.kind != "buffer" or node.op == "load":
            if all(node is not i for i in inputs):
                inputs.append(node)
    return members, inputs


def _value_of(node):
    return node.arg if node.op == "load" else node._value


def _evaluate(node, inputs, block):
    """The fused expression for one block: inputs are read through the slice `block`."""
    if node.op == "const":
        return node.arg
    if any(node is i for i in inputs):
        value = _value_of(node)
        return value if value.ndim == 0 else value[block]    # a realized sum is one number
    if node.op in _UNARY:
        return _UNARY[node.op](_evaluate(node.srcs[0], inputs, block))
    return _BINARY[node.op](_evaluate(node.srcs[0], inputs, block),
                            _evaluate(node.srcs[1], inputs, block))


def _run_kernel(node, inputs, stats):
    size = max(_value_of(i).size for i in inputs) if inputs else 1
    body = node.srcs[0] if node.op == "sum" else node
    total, out = 0.0, None if node.op == "sum" else np.empty(size)
    for start in range(0, size, BLOCK):
        block = slice(start, min(start + BLOCK, size))
        values = _evaluate(body, inputs, block)
        if node.op == "sum":
            total += float(np.sum(values))
        else:
            out[block] = values
    if stats is not None:
        stats["kernels"] = stats.get("kernels", 0) + 1
        # the largest temporary a fused kernel holds is one block per operation in it
        stats["temp_bytes"] = stats.get("temp_bytes", 0) + min(size, BLOCK) * 8
    return np.float64(total) if node.op == "sum" else out


def eager(x, y, stats=None):
    """The demo expression computed the usual way: one pass and one temporary per operation."""
    steps = [lambda: x * 2.0, lambda t: t + y, lambda t: np.maximum(t, 0.0), lambda t: t - 1.0,
             np.square, np.sum]
    value = steps[0]()
    for step in steps[1:]:
        value = step(value)
    if stats is not None:
        stats["kernels"] = len(steps)
        stats["temp_bytes"] = (len(steps) - 1) * x.nbytes   # each elementwise step: a full array
    return value


def demo_expression(x, y):
    """The same expression as `eager`, recorded lazily: sum((relu(2x + y) − 1)²)."""
    a, b = Lazy.load(x), Lazy.load(y)
    return ((a * 2.0 + b).relu() - 1.0).square().sum()


def graph_of(root, prefix=""):
    """(nodes, edges) for graph_draw.draw_graph, each operation labelled with the kernel it runs
    in (`prefix` tells the kernels of several expressions apart in one picture)."""
    kernel_of = {}
    for k, (_, members, _) in enumerate(root.schedule()):
        for m in members:
            kernel_of[id(m)] = k
    nodes, edges = {}, []
    for node in reversed(_nodes(root)):
        if node.op == "load":
            text, kind = f"load\n{node.arg.shape}", "leaf"
        elif node.op == "const":
            text, kind = f"{node.arg:g}", "const"
        else:
            name = _SYMBOL.get(node.op, node.op)
            text = f"{name}\nkernel {prefix}{kernel_of.get(id(node), '-')}"
            kind = "output" if node is root else "op"
        nodes[id(node)] = (text, kind)
        edges += [(id(s), id(node)) for s in node.srcs]
    return nodes, edges
