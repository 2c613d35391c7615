"""`torch.autograd.functional`: Jacobians, Hessians and their products with vectors, for a
function of tensors, with PyTorch's signatures and return structures (a tuple where the inputs,
or the outputs, are a tuple).

All are built on `autograd.grad`: a Jacobian takes one reverse pass per output element
(`vectorize=True` is accepted and computes the same thing the same way); `jvp` uses the
double-vjp trick (the vjp is linear in its vector u, so differentiating it with respect to u in
direction v gives J v), as PyTorch's does; `hvp`/`vhp` differentiate the gradient once more.
"""
import numpy as np

from .._grad_mode import enable_grad
from .._ops import Alias
from .._tensor import Tensor
from . import grad as _grad

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _as_tuple(x, arg, fn_name):
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"{arg} at index {i}" if is_tuple else arg
            raise TypeError(f"The {where} of {fn_name} must be either a Tensor or a tuple of Tensors but the value "
                            f"is of type {type(t).__name__}.")
    return is_tuple, items


def _prepare(inputs, create_graph):
    """Inputs that require grad and are the start of a fresh graph (or, with create_graph, still
    connected to the caller's graph, so higher derivatives see them)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(Alias.apply(t))
        else:
            d = t.detach()
            if d._data.dtype.kind == "f":
                d.requires_grad_(True)
            out.append(d)
    return tuple(out)


def _finish(tensors, create_graph):
    return tuple(t if t is None or create_graph else t.detach() for t in tensors)


def _zeros_like(t):
    return Tensor._make(np.zeros(t._data.shape, t._data.dtype))


def _grads(outputs, inputs, grad_outputs, create_graph, strict, what):
    """autograd.grad that tolerates outputs not depending on inputs (zeros, unless strict)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        if strict:
            raise RuntimeError(f"The output of the user-provided function is independent of the inputs. This is not "
                               f"allowed in strict mode ({what}).")
        return tuple(None for _ in inputs)
    got = _grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], retain_graph=True,
                create_graph=create_graph, allow_unused=True)
    if strict:
        for i, g in enumerate(got):
            if g is None:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                                   f"not allowed in strict mode ({what}).")
    return got


def _fill(grads, inputs):
    return tuple(_zeros_like(x) if g is None else g for g, x in zip(grads, inputs))


def _check_v(v, outputs, name):
    if len(v) != len(outputs):
        raise RuntimeError(f"{name}: v has {len(v)} tensors but there are {len(outputs)} to match")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Mismatch in shape: entry {i} in v has shape {tuple(a.shape)}, but it should have "
                               f"shape {tuple(b.shape)}")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """∂func(inputs)/∂inputs: for one input and one output a tensor of shape
    output.shape + input.shape; a tuple per input and/or per output where those are tuples."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = func(*xs)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jacobian")
        result = []  # result[i][j]: output i, input j
        for i, o in enumerate(outs):
            flat = o.reshape(-1)
            rows = [[] for _ in xs]
            for k in range(flat.shape[0]):
                if o.requires_grad:
                    seed = np.zeros(o._data.size, o._data.dtype)
                    seed[k] = 1
                    got = _grads([o], xs, [Tensor._make(seed.reshape(o._data.shape))], create_graph, strict,
                                 "jacobian")
                else:
                    got = _grads([o], xs, [None], create_graph, strict, "jacobian")
                for j, g in enumerate(got):
                    rows[j].append(_zeros_like(xs[j]) if g is None else g)
            per_input = []
            for j, x in enumerate(xs):
                if rows[j]:
                    from .._functions import stack
                    jac = stack(rows[j], 0).reshape(tuple(o.shape) + tuple(x.shape))
                else:
                    jac = Tensor._make(np.zeros(tuple(o.shape) + tuple(x.shape), x._data.dtype))
                per_input.append(jac if create_graph else jac.detach())
            result.append(tuple(per_input))
    if out_tuple and in_tuple:
        return tuple(result)
    if out_tuple:
        return tuple(r[0] for r in result)
    if in_tuple:
        return result[0]
    return result[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The matrix of second derivatives of a scalar function: input.shape + input.shape for one
    input, a tuple of tuples (the (i, j) block) for a tuple of inputs."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def jac_func(*xs):
        with enable_grad():
            out = func(*xs)
            if not isinstance(out, Tensor) or out._data.size != 1:
                raise RuntimeError("The function given to hessian should return a single Tensor with one element")
            got = _grads([out.reshape(())], xs, [None], True, strict, "hessian")
            return _fill(got, xs)

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict)
    if in_tuple:
        return res
    return res[0][0] if isinstance(res[0], tuple) else res[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀ J): the vector-Jacobian product; v may be omitted for a scalar output."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = func(*xs)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "vjp")
        if v is None:
            if len(outs) != 1 or outs[0]._data.size != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            vs = (None,)
        else:
            _, vs = _as_tuple(v, "v", "vjp")
            _check_v(vs, outs, "vjp")
        got = _fill(_grads(outs, xs, vs, create_graph, strict, "vjp"), xs)
    outs = _finish(outs, create_graph)
    got = _finish(got, create_graph)
    return (outs if out_tuple else outs[0]), (got if in_tuple else got[0])


def _vectors(v, inputs, name):
    """The vectors of a jvp / hvp / vhp as a tuple shaped like `inputs`; v may be omitted only
    for a single one-element input (it is then 1)."""
    if v is None:
        if len(inputs) != 1 or inputs[0]._data.size != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                               "Tensor with a single element.")
        return (Tensor._make(np.ones(inputs[0]._data.shape, inputs[0]._data.dtype)),)
    _, vs = _as_tuple(v, "v", name)
    _check_v(vs, inputs, name)
    return vs


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp with respect to
    its vector (the double-vjp trick); v may be omitted for a single one-element input."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, inputs, "jvp")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = func(*xs)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "jvp")
        us = tuple(Tensor._make(np.zeros(o._data.shape, o._data.dtype)).requires_grad_(True) for o in outs)
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        if not live:
            if strict:
                raise RuntimeError("The output of the user-provided function is independent of the inputs. This is "
                                   "not allowed in strict mode (jvp).")
            res = tuple(_zeros_like(o) for o in outs)
        else:
            g = _grad([o for o, _ in live], list(xs), [u for _, u in live], retain_graph=True, create_graph=True,
                      allow_unused=True)
            pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi is not None and gi.requires_grad]
            if not pairs:
                res = tuple(_zeros_like(o) for o in outs)
            else:
                got = _grad([p for p, _ in pairs], list(us), [q for _, q in pairs], retain_graph=True,
                            create_graph=create_graph, allow_unused=True)
                res = _fill(got, outs)
    outs = _finish(outs, create_graph)
    res = _finish(res, create_graph)
    return (outs if out_tuple else outs[0]), (res if out_tuple else res[0])


def _second_order(name, func, inputs, v, create_graph, strict):
    in_tuple, inputs = _as_tuple(inputs, "inputs", name)
    vs = _vectors(v, inputs, name)
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = func(*xs)
        if not isinstance(out, Tensor) or out._data.size != 1:
            raise RuntimeError(f"The function given to {name} should return a single Tensor with a single element")
        g = _grads([out], xs, [None], True, strict, name)
        pairs = [(gi, vi) for gi, vi in zip(g, vs) if gi is not None and gi.requires_grad]
        if pairs:
            got = _fill(_grad([p for p, _ in pairs], list(xs), [q for _, q in pairs], retain_graph=True,
                              create_graph=create_graph, allow_unused=True), xs)
        else:
            got = tuple(_zeros_like(x) for x in xs)
    out = out if create_graph else out.detach()
    got = _finish(got, create_graph)
    return out, (got if in_tuple else got[0])


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀ H) for a scalar function."""
    return _second_order("vhp", func, inputs, v, create_graph, strict)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function (H is symmetric, so this equals vhp's result)."""
    return _second_order("hvp", func, inputs, v, create_graph, strict)
