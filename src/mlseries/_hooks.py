"""Gradient hooks on tensors: `x.register_hook(fn)` and `x.register_post_accumulate_grad_hook(fn)`.

A hook sees the whole gradient of its tensor once per backward pass (every path summed) and may
return a replacement, as in PyTorch; Grad-CAM reads a feature map's gradient this way.

Where the hooks live, and why there:
- a non-leaf tensor's gradient is what arrives at the node that made it, so its hooks sit on
  that node (`fn._hooks`), like `retain_grad`'s weak reference; the backward pass runs them
  before handing the gradient on (and before `retain_grad` stores it: PyTorch runs that last);
- a leaf has no node, and the engine adds each path's gradient into `.grad` as it arrives, so a
  leaf with hooks is recorded here, by id, and the backward pass holds its gradient back until
  the walk ends, then runs the hooks once on the sum and accumulates it.
The backward pass asks for hooks only once any were registered (`active`), and for leaves only
while the table is not empty, so programs without hooks pay nothing.
"""
import itertools
import weakref

from ._tensor import Tensor

active = [False]  # becomes True at the first registration, so the backward pass starts looking
_leaf = {}  # id(leaf tensor) -> _LeafHooks
_next_id = itertools.count()


class RemovableHandle:
    """What `register_hook` returns: `.remove()` unregisters the hook (also as a `with` block)."""

    def __init__(self, hooks, on_remove=None):
        self.hooks_dict_ref = weakref.ref(hooks)
        self.id = next(_next_id)
        self._on_remove = on_remove

    def remove(self):
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)
            if not hooks and self._on_remove is not None:
                self._on_remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(dict):
    """A plain dict that a weak reference can point at (handles must not keep hooks alive)."""
    __slots__ = ("__weakref__",)


class _LeafHooks:
    __slots__ = ("ref", "pre", "post")

    def __init__(self, t, key):
        # The entry goes when the tensor does, so a new tensor reusing the id starts clean.
        self.ref = weakref.ref(t, lambda _r, key=key: _leaf.pop(key, None))
        self.pre = _HookDict()
        self.post = _HookDict()


def _leaf_entry(t):
    key = id(t)
    entry = _leaf.get(key)
    if entry is None or entry.ref() is not t:
        entry = _leaf[key] = _LeafHooks(t, key)
    return entry


def _drop_if_empty(key):
    entry = _leaf.get(key)
    if entry is not None and not entry.pre and not entry.post:
        _leaf.pop(key, None)


def register_hook(self, hook):
    """Call `hook(grad)` with this tensor's gradient each time backward computes it; a returned
    tensor replaces the gradient (for this tensor's `.grad` and everything upstream). Works on
    leaves and on intermediate results, under `backward()` and `autograd.grad`. Returns a handle
    whose `.remove()` unregisters the hook."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"register_hook expects a callable, got {type(hook).__name__}")
    active[0] = True
    if self.grad_fn is None:
        entry = _leaf_entry(self)
        key = id(self)
        handle = RemovableHandle(entry.pre, lambda: _drop_if_empty(key))
        entry.pre[handle.id] = hook
        return handle
    fn = self.grad_fn
    hooks = fn.__dict__.get("_hooks")
    if hooks is None:
        hooks = fn._hooks = _HookDict()
    fn._hook_key = id(self)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_post_accumulate_grad_hook(self, hook):
    """Call `hook(tensor)` after backward has added into this leaf's `.grad` (PyTorch uses it to
    step an optimizer per parameter as soon as its gradient is ready)."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    active[0] = True
    entry = _leaf_entry(self)
    key = id(self)
    handle = RemovableHandle(entry.post, lambda: _drop_if_empty(key))
    entry.post[handle.id] = hook
    return handle


def run(hooks, g):
    """Each hook in the order registered, each seeing the previous one's replacement."""
    for hook in list(hooks.values()):
        out = hook(g)
        if out is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"a tensor hook must return a Tensor or None, got {type(out).__name__}")
            if out._data.shape != g._data.shape:
                raise RuntimeError(f"hook returned a gradient of shape {tuple(out.shape)}, but the tensor's "
                                   f"gradient has shape {tuple(g.shape)}")
            g = out
    return g


def leaf_pre(key):
    entry = _leaf.get(key)
    return None if entry is None else entry.pre


def run_post(key, t):
    entry = _leaf.get(key)
    if entry is not None:
        for hook in list(entry.post.values()):
            hook(t)


Tensor.register_hook = register_hook
Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
