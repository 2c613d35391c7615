"""Reverse-mode automatic differentiation: walk the graph from the outputs back to the leaves.

The order is a topological sort built with an explicit stack (a recursive sort fails past about
a thousand levels). Gradients that reach the same node from several paths are added (`b = a + a`
gives `a.grad == 2`), which the seed's micrograd versions got wrong.
"""
import functools
import warnings

import numpy as np

from .._grad_mode import _anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .._custom_function import Function, FunctionCtx  # noqa: F401  (PyTorch's, for users' own operations)
from .._tensor import Function as Primitive  # noqa: F401  (the engine's own node: forward on arrays)
from .._tensor import Tensor
from .. import _hooks  # noqa: E402  (Tensor.register_hook; the backward pass runs the hooks)


# ---- anomaly detection ----------------------------------------------------------------------------
def is_anomaly_enabled():
    return _anomaly[0]


def is_anomaly_check_nan_enabled():
    return _anomaly[1]


class set_detect_anomaly:
    """Turn anomaly detection on or off (PyTorch's torch.autograd.set_detect_anomaly): as a call,
    or as a context manager that restores the previous mode. While on, every node remembers the
    stack that created it, and the backward pass checks each node's gradients: the first one
    that returns NaN raises RuntimeError naming the operation and showing where it was made."""

    def __init__(self, mode, check_nan=True):
        self.prev = tuple(_anomaly)
        _anomaly[:] = [bool(mode), bool(check_nan)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _anomaly[:] = list(self.prev)
        return False


class detect_anomaly:
    """`with autograd.detect_anomaly():` (or as a decorator) — anomaly detection inside the block,
    as PyTorch's torch.autograd.detect_anomaly. It makes every operation slower: for debugging."""

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def __enter__(self):
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                      "enabled for debugging.", UserWarning, stacklevel=2)
        self.prev = tuple(_anomaly)
        _anomaly[:] = [True, self.check_nan]
        return self

    def __exit__(self, *exc):
        _anomaly[:] = list(self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


def _check_anomaly(fn, grads):
    """Raise at the first gradient of node `fn` that holds NaN (anomaly detection)."""
    for i, gi in enumerate(grads):
        if gi is None:
            continue
        data = gi._data
        if data.dtype.kind in "fc" and np.isnan(data).any():
            stack = getattr(fn, "_anomaly_stack", None)
            where = ("\nThe operation was made here (most recent call last):\n" + "".join(stack[-8:])) \
                if stack else ("\n(It was made before anomaly detection was turned on, so where is not known; "
                               "turn it on before the forward pass.)")
            raise RuntimeError(f"Function '{fn.name}Backward' returned nan values in its {i}th output: the "
                               f"gradient of {fn.name} is the first to turn NaN in this backward pass." + where)


def _topological_order(roots, stop=()):
    """Function nodes reachable from `roots`, each before the nodes that produced its inputs;
    the walk does not go past nodes in `stop`."""
    order, visited = [], set()
    stack = [(fn, False) for fn in roots if fn is not None]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if fn in visited:
            continue
        visited.add(fn)
        stack.append((fn, True))
        inputs = fn.inputs
        if inputs is None:
            raise RuntimeError("trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have been freed); pass retain_graph=True to the first backward")
        if fn in stop:
            continue
        for p in fn.parents:
            if p is not None and p not in visited:
                stack.append((p, False))
    order.reverse()
    return order


def _seed(output, gradient):
    if gradient is None:
        if output._data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; this output has shape "
                               f"{tuple(output.shape)}: pass gradient= (a tensor of that shape) to backward()")
        return Tensor._make(np.ones(output._data.shape, dtype=output._data.dtype))
    g = gradient if isinstance(gradient, Tensor) else Tensor._make(np.asarray(gradient, dtype=output._data.dtype))
    if g._data.shape != output._data.shape:
        raise RuntimeError(f"gradient has shape {tuple(g.shape)} but the output has shape {tuple(output.shape)}")
    return g


def _check_versions(fn):
    """Refuse a node whose saved inputs (or saved output) were changed in place after it was made."""
    for t, v in zip(fn.inputs, fn.versions if fn.uses_input_values else ()):
        if t._vc[0] != v:
            raise RuntimeError(f"one of the tensors needed for the gradient of {fn.name} was modified by an "
                               f"in-place operation after it was used (its version is {t._vc[0]}, expected {v}); "
                               "use an out-of-place operation instead (y = y * 2, not y.mul_(2)), or clone() "
                               "the tensor before changing it")
    if fn.save_output:
        out = fn._out()
        if out is not None and out._vc[0] != fn._out_version:
            raise RuntimeError(f"the output of {fn.name}, which its gradient needs, was modified by an in-place "
                               f"operation (its version is {out._vc[0]}, expected {fn._out_version}); "
                               "clone() it before changing it")


def _run(outputs, grad_outputs, targets, retain_graph, create_graph, accumulate, stop=()):
    """The backward pass. `targets` maps id(tensor) -> slot for autograd.grad; with `accumulate`
    leaf gradients are added into `.grad` instead. Nodes in `stop` are not walked through."""
    captured = {}
    node_grads = {}
    hooks_on = _hooks.active[0]  # tensor hooks (see _hooks.py): looked for only once any exist
    leaf_hooks = _hooks._leaf if hooks_on else None
    # Arrays handed to a leaf's .grad in this pass, by id: never hand one out twice. A gradient
    # array can also still be waiting at other nodes (Add passes the same one to both inputs), so
    # a leaf that adopted one must not later add into it in place: `borrowed` marks those.
    owned, borrowed = set(), set()

    pending = {}  # leaves with hooks: their gradient is summed here, hooked once at the end

    def deliver(t, fn, g):
        key = id(t)
        if fn is None and leaf_hooks and key in leaf_hooks:
            prev = pending.get(key)
            pending[key] = (t, g if prev is None else prev[1] + g)
            return
        if targets is not None and key in targets:
            prev = captured.get(key)
            captured[key] = g if prev is None else prev + g
        if fn is not None:
            prev = node_grads.get(fn)
            node_grads[fn] = g if prev is None else prev + g
        elif accumulate and t.requires_grad:
            _accumulate_leaf(t, g, create_graph, owned, borrowed)

    roots = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn: "
                               "did you forget requires_grad=True on an input, or compute it under no_grad()?")
        owned.add(id(g._data))
        deliver(out, out.grad_fn, g)
        roots.append(out.grad_fn)

    order = _topological_order(roots, stop)
    with set_grad_enabled(create_graph):
        for fn in order:
            g = node_grads.pop(fn, None)
            if g is None or fn in stop:
                continue
            if hooks_on:
                hooks = fn.__dict__.get("_hooks")
                if hooks:
                    g = _hooks.run(hooks, g)
                    if targets is not None and fn._hook_key in targets:
                        captured[fn._hook_key] = g
            retained = getattr(fn, "_retained", None)
            if retained is not None and retained() is not None:
                keeper = retained()
                mine = g if create_graph else Tensor._make(g._data.copy())  # its own array: g flows on
                keeper.grad = mine if keeper.grad is None else keeper.grad + g
            _check_versions(fn)
            grads = fn.backward(g)
            if _anomaly[0] and _anomaly[1]:
                _check_anomaly(fn, grads)
            for t, parent, need, gi in zip(fn.inputs, fn.parents, fn.needs_input_grad, grads):
                if need and gi is not None:
                    deliver(t, parent, gi)
        for key, (t, g) in pending.items():
            g = _hooks.run(_hooks.leaf_pre(key) or {}, g)
            if targets is not None and key in targets:
                captured[key] = g
            if accumulate and t.requires_grad:
                if not create_graph:
                    g = Tensor._make(g._data.copy())  # a hook may have kept the array it saw
                _accumulate_leaf(t, g, create_graph, owned, borrowed)
                _hooks.run_post(key, t)
    if not retain_graph:
        for fn in order:
            fn.inputs = None
            fn.__dict__.clear()
    return captured


def partial_grads(composite, inputs, needs, g, params):
    """Gradients of `composite(*inputs, **params)` (weighted by `g`) with respect to each input
    taken on its own, as a differentiable graph: how a fused node answers `create_graph=True`.

    Each input enters through an `Alias` node and the walk stops there, so nothing upstream of
    the inputs is visited; the gradients still lead back to the inputs through the aliases.
    """
    from .._ops import Alias
    with set_grad_enabled(True):
        aliases = [Alias.apply(t) if need else t.detach() for t, need in zip(inputs, needs)]
        out = composite(*aliases, **params)
    wanted = [a for a, need in zip(aliases, needs) if need]
    targets = {id(a): i for i, a in enumerate(wanted)}
    stop = {a.grad_fn for a in wanted if a.grad_fn is not None}
    captured = _run([out], [g], targets, True, True, accumulate=False, stop=stop)
    got = iter(wanted)
    return tuple(captured.get(id(next(got))) if need else None for need in needs)


def _accumulate_leaf(t, g, create_graph, owned, borrowed=None):
    if g._data.dtype != t._data.dtype:
        g = g.type(t._data.dtype)
    if t.grad is None:
        if create_graph:
            t.grad = g
            return
        arr = g._data
        # Take the array without copying only if nothing else can write to it.
        if arr.base is not None or not arr.flags.writeable or id(arr) in owned:
            arr = arr.copy()
        elif borrowed is not None:
            borrowed.add(id(arr))
        owned.add(id(arr))
        t.grad = Tensor._make(arr)
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    elif borrowed is not None and id(t.grad._data) in borrowed:
        # The adopted array may still be on its way to other nodes: add out of place.
        borrowed.discard(id(t.grad._data))
        arr = t.grad._data + g._data
        owned.add(id(arr))
        t.grad = Tensor._make(arr)
    else:
        t.grad._data += g._data


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute gradients of `tensors` and add them into the `.grad` of the leaves (PyTorch's
    `Tensor.backward` / `autograd.backward`)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
        grad_tensors = [grad_tensors]
    elif grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = [_seed(o, g) for o, g in zip(tensors, grad_tensors)]
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        got = grad(tensors, inputs, grads, retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
        for t, g in zip(inputs, got):
            if g is not None:
                _accumulate_leaf(t, g, create_graph, set(), set())
                if _hooks.active[0]:
                    _hooks.run_post(id(t), t)
        return
    _run(tensors, grads, None, retain_graph, create_graph, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple (nothing is written
    into `.grad`). With `create_graph=True` the result is itself differentiable."""
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs_t = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs_t):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} of autograd.grad does not require grad")
    grads = [_seed(o, g) for o, g in zip(outputs, grad_outputs)]
    targets = {id(t): i for i, t in enumerate(inputs_t)}
    captured = _run(outputs, grads, targets, retain_graph, create_graph, accumulate=False)
    result = []
    for i, t in enumerate(inputs_t):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"one of the differentiated tensors (input {i}) appears to not have been used in "
                               "the graph; pass allow_unused=True if this is intended")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


from . import function  # noqa: E402,F401  (torch.autograd.function: once_differentiable)
from . import grad_mode, variable  # noqa: E402,F401  (old module paths)
from .variable import Variable  # noqa: E402,F401  (pre-0.4 programs: `Variable(x)` is a tensor)
from . import functional  # noqa: E402,F401  (torch.autograd.functional: jacobian, hessian, jvp, ...)
