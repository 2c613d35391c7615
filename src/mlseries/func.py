"""`torch.func`: function transforms over the engine's reverse-mode autograd.

- `functional_call(module, params_and_buffers, args)` runs a module with other tensors in place of
  its parameters and buffers (MAML's inner loop, ensembling, per-sample gradients), so the result
  is differentiable with respect to those tensors; the module's own tensors are put back
  afterwards, also when the call raises.
- `grad`, `grad_and_value`, `vjp`, `jacrev`, `jacfwd`, `hessian` are built on `autograd.grad`. They
  compose (`grad(grad(f))`, `jacrev(jacrev(f))`): when an argument they differentiate already
  requires grad — an outer transform or the caller's own graph — the result keeps its graph.
- `vmap(func, in_dims, out_dims)` calls `func` once per batch element and stacks the results.

What differs from PyTorch: these are not functorch's batched transforms. `vmap` is a Python loop
(correct, as slow as the loop; `chunk_size` and `randomness` are accepted, and random operations
inside draw separately per element, like randomness='different'); `jacfwd` computes the same
Jacobian in reverse mode; and a gradient's graph reaches tensors the function closes over only
when one of its differentiated arguments also requires grad.
"""
import contextlib

from . import autograd as _autograd
from ._grad_mode import enable_grad, is_grad_enabled
from ._ops import Alias
from ._tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "vjp", "jacrev", "jacfwd", "hessian", "vmap"]


# ---- pytrees: tensors inside nested tuples, lists and dicts -------------------------------------
def _flatten(tree):
    """(leaves, rebuild): the tensors of `tree` in order, and a function that puts new ones back."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(x) for x in tree]
        counts = [len(p[0]) for p in parts]
        kind = type(tree)

        def rebuild(leaves):
            out, i = [], 0
            for (_, sub), n in zip(parts, counts):
                out.append(sub(leaves[i:i + n]))
                i += n
            return kind(out) if kind in (tuple, list) else kind(*out)
        return [x for p in parts for x in p[0]], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        inner_leaves, inner = _flatten([tree[k] for k in keys])
        return inner_leaves, lambda leaves: type(tree)(zip(keys, inner(leaves)))
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    return [], lambda leaves: tree


# ---- functional_call -------------------------------------------------------------------------------
def _slots(module):
    """Every (owner module, table, name, full dotted name) for parameters and buffers, tied ones
    included under each of their names."""
    out = []
    for prefix, mod in module.named_modules(remove_duplicate=False):
        for table in ("_parameters", "_buffers"):
            for name, t in mod.__dict__[table].items():
                out.append((mod, table, name, f"{prefix}.{name}" if prefix else name, t))
    return out


_ABSENT = object()


@contextlib.contextmanager
def _swapped(module, tensors, strict, tie_weights):
    slots = _slots(module)
    names = {full for _, _, _, full, _ in slots}
    unexpected = sorted(k for k in tensors if k not in names)
    missing = sorted(full for _, _, _, full, _ in slots if full not in tensors)
    if strict and (unexpected or missing):
        problems = []
        if unexpected:
            problems.append(f"Unexpected key(s): {', '.join(repr(k) for k in unexpected)}.")
        if missing:
            problems.append(f"Missing key(s): {', '.join(repr(k) for k in missing)}.")
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(type(module).__name__,
                                                                             "\n\t".join(problems)))
    # A tied tensor given under one of its names replaces it under all of them (tie_weights).
    by_id = {}
    if tie_weights:
        for _, _, _, full, t in slots:
            if full in tensors and t is not None:
                by_id.setdefault(id(t), tensors[full])
    saved = []
    try:
        for mod, table, name, full, t in slots:
            if full in tensors:
                new = tensors[full]
            elif t is not None and id(t) in by_id:
                new = by_id[id(t)]
            else:
                continue
            if new is not None and not isinstance(new, Tensor):
                raise TypeError(f"functional_call: the value for {full!r} must be a Tensor, got {type(new).__name__}")
            saved.append((mod, table, name, t))
            # Written into the table directly: the module's __setattr__ would insist on a Parameter,
            # and the point is to use a plain (differentiable) tensor in its place.
            mod.__dict__[table][name] = new
        # Other names (a plain tensor attribute, or a new one) are set as attributes for the call,
        # as PyTorch does, and put back (or removed) afterwards.
        for full in unexpected:
            prefix, _, name = full.rpartition(".")
            mod = module.get_submodule(prefix) if prefix else module
            saved.append((mod, None, name, mod.__dict__.get(name, _ABSENT)))
            object.__setattr__(mod, name, tensors[full])
        yield
    finally:
        for mod, table, name, t in reversed(saved):
            if table is not None:
                mod.__dict__[table][name] = t
            elif t is _ABSENT:
                mod.__dict__.pop(name, None)
            else:
                object.__setattr__(mod, name, t)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """`module(*args, **kwargs)` with the tensors in `parameter_and_buffer_dicts` (a dict of dotted
    names, or a tuple of dicts) standing in for the module's own; unnamed ones keep their values
    (every one must be named when `strict=True`)."""
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        tensors = {}
        for d in parameter_and_buffer_dicts:
            repeated = [k for k in d if k in tensors]
            if repeated:
                raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                                 "ambiguous")
            tensors.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors, strict, tie_weights):
        return module(*args, **(kwargs or {}))


# ---- grad and friends ------------------------------------------------------------------------------
def _track(t):
    """`t` as a tensor to differentiate with respect to: still joined to the caller's graph when
    it is part of one (so the transforms compose), else a fresh leaf."""
    if not isinstance(t, Tensor):
        raise TypeError(f"expected the differentiated arguments to be Tensors, got {type(t).__name__}")
    if t._data.dtype.kind not in "fc":
        raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {t.dtype!r}")
    if t.requires_grad and is_grad_enabled():
        return Alias.apply(t), True
    return t.detach().requires_grad_(True), False


def _argnums(argnums, n, name):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{name}: argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"{name}: Got argnums={argnums!r}, but the function takes {n} positional "
                               f"argument(s); argnums must be ints in [{-n}, {n})")
    return nums


def _prepare(args, argnums, name):
    """args with the differentiated ones replaced by tracked copies; the flat tracked tensors and
    how to put gradients back in each argument's structure; whether to keep the graph."""
    nums = _argnums(argnums, len(args), name)
    args = list(args)
    flat, rebuilders, keep = [], [], False
    for a in nums:
        leaves, rebuild = _flatten(args[a])
        if not leaves:
            raise RuntimeError(f"{name}: argument {a} has no Tensors to differentiate with respect to")
        tracked = []
        for t in leaves:
            new, joined = _track(t)
            tracked.append(new)
            keep |= joined
        args[a] = rebuild(tracked)
        rebuilders.append((len(flat), len(tracked), rebuild))
        flat.extend(tracked)
    return args, nums, flat, rebuilders, keep


def _regroup(grads, rebuilders, argnums):
    per_arg = tuple(rebuild(list(grads[i:i + n])) for i, n, rebuild in rebuilders)
    return per_arg[0] if isinstance(argnums, int) else per_arg


def _grads_of(output, flat, keep, grad_output=None):
    outs = [output] if isinstance(output, Tensor) else list(output)
    gos = [grad_output] if isinstance(grad_output, Tensor) or grad_output is None else list(grad_output)
    pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
    if pairs:
        got = _autograd.grad([o for o, _ in pairs], flat, [g for _, g in pairs], retain_graph=True,
                             create_graph=keep, allow_unused=True)
    else:
        got = [None] * len(flat)
    # An argument the output does not depend on has a zero gradient, as in torch.func.
    return [g if g is not None else _zeros_like(t) for g, t in zip(got, flat)]


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of `func`'s scalar output w.r.t. the `argnums` arguments,
    the output) — with `has_aux`, func returns (output, aux) and the result is ((grad), (output, aux))."""
    def wrapper(*args, **kwargs):
        args, nums, flat, rebuilders, keep = _prepare(args, argnums, "grad_and_value")
        with enable_grad():
            result = func(*args, **kwargs)
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            output, aux = result
        else:
            output, aux = result, None
        if not isinstance(output, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                               f"{type(output).__name__}")
        if output.dim() != 0:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        grads = _regroup(_grads_of(output, flat, keep), rebuilders, argnums)
        value = output if keep else output.detach()
        return (grads, (value, aux)) if has_aux else (grads, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """`grad(f)(x)`: the gradient of the scalar `f(x)` with respect to x (or to the `argnums`
    arguments, as a tuple when argnums is a tuple; a dict or list argument gives its gradient in
    the same structure). With `has_aux`, f returns (output, aux) and grad returns (gradient, aux)."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads
    return wrapper


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]): `vjp_fn(cotangents)` returns, for each primal, the
    vector-Jacobian product (a tuple with one entry per primal)."""
    args, nums, flat, rebuilders, keep = _prepare(primals, tuple(range(len(primals))), "vjp")
    with enable_grad():
        result = func(*args)
    if has_aux:
        output, aux = result
    else:
        output, aux = result, None
    outs, _ = _flatten(output)

    def vjp_fn(cotangents):
        cots, _ = _flatten(cotangents)
        if len(cots) != len(outs):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function: {len(cots)} tensors given for {len(outs)} outputs")
        for o, c in zip(outs, cots):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {tuple(c.shape)} and output "
                                   f"has a shape of {tuple(o.shape)}")
        return _regroup(_grads_of(outs, flat, keep or any(c.requires_grad for c in cots), cots), rebuilders,
                        tuple(nums))

    shown = output if keep else _flatten(output)[1]([o.detach() for o in outs])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """`jacrev(f)(x)`: the Jacobian of f at x, of shape output.shape + x.shape (a tuple per
    argument when argnums is a tuple), one reverse pass per output element."""
    def wrapper(*args):
        args, nums, flat, rebuilders, keep = _prepare(args, argnums, "jacrev")
        with enable_grad():
            result = func(*args)
        output, aux = result if has_aux else (result, None)
        if not isinstance(output, Tensor):
            raise RuntimeError(f"jacrev: expected f(*args) to return a Tensor, got {type(output).__name__}")
        flat_out = output.reshape(-1)  # (M,)
        rows = []
        for m in range(flat_out.shape[0]):
            rows.append(_grads_of(flat_out[m], flat, keep))  # per input: grad of output element m
        jac = []
        for i, t in enumerate(flat):
            if rows:
                stacked = _stack([r[i] for r in rows])  # (M, *t.shape)
            else:
                stacked = t.detach().reshape(0, *t.shape)
            jac.append(stacked.reshape(*output.shape, *t.shape))
        jac = _regroup(jac, rebuilders, argnums)
        return (jac, aux) if has_aux else jac
    return wrapper


jacfwd = jacrev  # the same Jacobian; the engine has no forward mode, so it is computed in reverse


def hessian(func, argnums=0):
    """The Hessian of a scalar function: jacrev of jacrev, shape x.shape + x.shape."""
    return jacrev(jacrev(func, argnums), argnums)


def _zeros_like(t):
    from ._factories import zeros_like
    return zeros_like(t.detach())


def _stack(tensors, dim=0):
    from ._functions import stack
    return stack(tensors, dim)


# ---- vmap ------------------------------------------------------------------------------------------
def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """`vmap(f)(xs)`: f applied to each slice of xs along `in_dims` (an int, or one entry per
    argument, None for an argument passed whole), the results stacked along `out_dims`. A loop over
    the batch: the same values as PyTorch's vmap, at the speed of calling f that many times."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")

    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                             f"structure of `inputs`: {len(dims)} entries for {len(args)} arguments")
        sizes = set()
        for a, d in zip(args, dims):
            if d is None:
                continue
            if not isinstance(d, int):
                raise ValueError(f"vmap: in_dims must be ints or None, got {d!r}")
            leaves, _ = _flatten(a)
            if not leaves:
                raise ValueError(f"vmap: an argument of type {type(a).__name__} was given in_dim {d}; only "
                                 "Tensors (or structures of them) can be mapped over; use None for it")
            for t in leaves:
                if not -t.dim() <= d < t.dim():
                    raise ValueError(f"vmap: Tried to map over dim {d} of a Tensor with {t.dim()} dims; "
                                     f"use in_dims within [{-t.dim()}, {t.dim()}) or None")
                sizes.add(t.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one input must be mapped over (every in_dim is None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sorted(sizes)} for the mapped dimension")
        n = sizes.pop()
        results = []
        for b in range(n):
            call = []
            for a, d in zip(args, dims):
                if d is None:
                    call.append(a)
                else:
                    leaves, rebuild = _flatten(a)
                    call.append(rebuild([t.select(d, b) for t in leaves]))
            results.append(func(*call, **kwargs))
        first_leaves, rebuild = _flatten(results[0])
        per_leaf = list(zip(*[_flatten(r)[0] for r in results])) if first_leaves else []
        odims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first_leaves)
        if len(odims) != len(first_leaves):
            raise ValueError(f"vmap: out_dims={out_dims} has {len(odims)} entries but f returns "
                             f"{len(first_leaves)} Tensors")
        stacked = []
        for leaf, od in zip(per_leaf, odims):
            if od is None:
                stacked.append(leaf[0])
                continue
            nd = leaf[0].dim() + 1
            stacked.append(_stack(list(leaf), od if od >= 0 else od + nd))
        return rebuild(stacked)
    return wrapper
