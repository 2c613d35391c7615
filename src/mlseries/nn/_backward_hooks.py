"""Module backward hooks: `register_full_backward_hook` and `register_full_backward_pre_hook`.

PyTorch wraps a hooked module's tensor inputs and outputs in identity nodes and watches the
gradients that reach them. The same is done here with tensor hooks (`_hooks.py`) on `Alias`
nodes: the hook on an output sees grad_output; the hooks on the inputs see grad_input, and the
module's hook runs once the last of them has arrived (or, when no input needs a gradient, as
soon as grad_output is complete, with grad_input all None, as PyTorch does, with its warning).

Differs from PyTorch: with several tensor inputs, a grad_input returned by the hook replaces
only the gradient of the input that arrived last (the others have already flowed on); with one
input (almost every layer) it replaces it as in PyTorch. An output that takes no part in the
loss never receives a gradient, so the hook then waits for nothing and is not called.
"""
import warnings

from .._grad_mode import is_grad_enabled
from .._ops import Alias
from .._tensor import Tensor
from .module import Module, RemovableHandle


def _table(module, name):
    table = module.__dict__.get(name)
    if table is None:
        table = {}
        object.__setattr__(module, name, table)
    return table


def register_full_backward_hook(self, hook):
    """`hook(module, grad_input, grad_output)` runs when the gradients with respect to the
    module's inputs are computed; returning a tuple replaces grad_input."""
    handle = RemovableHandle(_table(self, "_backward_hooks"))
    self._backward_hooks[handle.id] = hook
    return handle


def register_full_backward_pre_hook(self, hook):
    """`hook(module, grad_output)` runs when the gradients with respect to the module's outputs
    are computed, before those for its inputs; returning a tuple replaces grad_output."""
    handle = RemovableHandle(_table(self, "_backward_pre_hooks"))
    self._backward_pre_hooks[handle.id] = hook
    return handle


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def call_with_backward_hooks(module, args, kwargs):
    """`module(*args, **kwargs)` with its inputs and outputs watched for backward hooks."""
    if not is_grad_enabled():
        return module._call_with_forward_hooks(args, kwargs)
    state = {"grad_output": None, "grad_input": None, "waiting_in": 0, "waiting_out": 0}
    wrapped = list(args)
    in_slots = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            in_slots.append(i)
            if a.requires_grad:
                wrapped[i] = Alias.apply(a)
    n_in = len(in_slots)
    state["grad_input"] = [None] * n_in
    watched_in = [k for k, i in enumerate(in_slots) if wrapped[i] is not args[i]]
    state["waiting_in"] = len(watched_in)

    def full_hooks(grad_input):
        for hook in list(module.__dict__.get("_backward_hooks", {}).values()):
            out = hook(module, grad_input, state["grad_output"])
            if out is not None:
                grad_input = _as_tuple(out)
        return grad_input

    for k in watched_in:
        def on_input(g, k=k):
            state["grad_input"][k] = g
            state["waiting_in"] -= 1
            if state["waiting_in"] == 0 and state["grad_output"] is not None:
                new = full_hooks(tuple(state["grad_input"]))
                return new[k] if k < len(new) else None
            return None
        wrapped[in_slots[k]].register_hook(on_input)

    output = module._call_with_forward_hooks(tuple(wrapped), kwargs)
    outs = _as_tuple(output)
    out_slots = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not out_slots:
        return output
    outs = list(outs)
    grad_output = [None] * len(outs)
    state["waiting_out"] = len(out_slots)
    for i in out_slots:
        outs[i] = Alias.apply(outs[i])

        def on_output(g, i=i):
            grad_output[i] = g
            state["waiting_out"] -= 1
            if state["waiting_out"]:
                return None
            go = tuple(grad_output)
            for hook in list(module.__dict__.get("_backward_pre_hooks", {}).values()):
                out = hook(module, go)
                if out is not None:
                    go = _as_tuple(out)
            state["grad_output"] = go
            if not watched_in and module.__dict__.get("_backward_hooks"):
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients.", UserWarning, stacklevel=2)
                full_hooks((None,) * n_in)
            return go[i]
        outs[i].register_hook(on_output)
    return tuple(outs) if isinstance(output, tuple) else outs[0]


Module.register_full_backward_hook = register_full_backward_hook
Module.register_full_backward_pre_hook = register_full_backward_pre_hook


def register_backward_hook(self, hook):
    """PyTorch's deprecated form; here it is the full backward hook (PyTorch's old hook saw the
    gradients of the module's last operation only, which the full hook gives for one-operation
    layers such as Conv2d and Linear, the common use)."""
    warnings.warn("Using a non-full backward hook when the forward contains multiple autograd Nodes is "
                  "deprecated; use register_full_backward_hook.", FutureWarning, stacklevel=2)
    return register_full_backward_hook(self, hook)


Module.register_backward_hook = register_backward_hook
