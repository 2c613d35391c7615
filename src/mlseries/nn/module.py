"""`Module`: the base class of every layer and model, with PyTorch's bookkeeping.

A Module owns three ordered tables — `_parameters`, `_buffers`, `_modules` — filled by plain
attribute assignment (`self.fc = Linear(...)`), and everything else (parameters(), state_dict(),
train()/eval(), to(), repr) is a walk over those tables.
"""
import collections
import itertools

import numpy as np

from .. import _device, _dtype
from .._grad_mode import no_grad
from .._tensor import Tensor, _as_array, _legacy_dtype
from .parameter import Buffer, Parameter

_IncompatibleKeysBase = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _IncompatibleKeys(_IncompatibleKeysBase):
    """What `load_state_dict(strict=False)` returns: the keys it could not match."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by `register_forward_hook` and friends; `.remove()` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _indent(text, spaces):
    """Indent every line but the first (how a child's repr nests inside its parent's)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _check_name(kind, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')


class Module:
    """Base class for all neural network modules: subclass it, assign layers in `__init__`,
    and compute the output in `forward`.

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 128)
                self.fc2 = nn.Linear(128, 10)

            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
    """

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; "
                            "Module.__init__ takes none (call super().__init__() with no arguments)")
        # object.__setattr__ because our own __setattr__ needs these tables to exist first.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if self.__dict__.get("_backward_hooks") or self.__dict__.get("_backward_pre_hooks"):
            from ._backward_hooks import call_with_backward_hooks  # register_full_backward_hook
            return call_with_backward_hooks(self, args, kwargs)
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_forward_hooks(args, kwargs)

    def _call_with_forward_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook):
        """`hook(module, args)` runs before forward; returning a value replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """`hook(module, args, output)` runs after forward; returning a value replaces the output
        (handy for looking at activations)."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ---- registration ---------------------------------------------------------------------
    def register_parameter(self, name, param):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(mlseries.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign non-leaf Tensor to parameter '{name}'; wrap a leaf "
                             "(e.g. nn.Parameter(x.detach())) instead")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state but is not trained (running means, masks).
        Non-persistent buffers are left out of `state_dict()`."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(mlseries Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError(f"cannot assign parameters before Module.__init__() call: "
                                     f"call super().__init__() first in {type(self).__name__}.__init__")
            self._forget(name)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(mlseries.nn.Parameter or None expected)")
            params[name] = None
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError(f"cannot assign module before Module.__init__() call: "
                                     f"call super().__init__() first in {type(self).__name__}.__init__")
            self._forget(name)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(mlseries.nn.Module or None expected)")
            modules[name] = None
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer):            # self.x = nn.Buffer(t): registered as a buffer
            self._forget(name)
            self.register_buffer(name, value, persistent=value.persistent)
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(mlseries Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _forget(self, name):
        """Drop `name` from every table before it is registered in one of them."""
        self.__dict__.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            self.__dict__[table].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # Called only when normal lookup fails: look in the three tables.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(table, ()):
                del self.__dict__[table][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(super().__dir__())
        keys.update(self._parameters, self._buffers, self._modules)
        return sorted(k for k in keys if not k[0].isdigit())

    # ---- walking the tree -----------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every module below it, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, table).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(name, Parameter) pairs, e.g. ('fc1.weight', ...); a shared parameter appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The module at a dotted path such as 'encoder.layers.0'."""
        if target == "":
            return self
        mod = self
        for part in target.split("."):
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{mod._get_name()} has no submodule `{part}` (looking for '{target}')")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeError(f"{mod._get_name()} has no parameter `{name}`")
        return mod._parameters[name]

    def get_buffer(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError(f"{mod._get_name()} has no buffer `{name}`")
        return mod._buffers[name]

    # ---- modes and gradients --------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active, batch norm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: the same as `train(False)`."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of every parameter (None by default, as in PyTorch 2)."""
        for p in self.parameters():
            _zero_grad(p, set_to_none)

    def apply(self, fn):
        """Call `fn(module)` on every submodule (children first) and on self; e.g. custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- dtype ----------------------------------------------------------------------------
    def _apply(self, fn):
        """Replace every parameter's and buffer's array by `fn(array)`, keeping the Parameter
        objects (an optimizer built earlier still holds them)."""
        for child in self.children():
            child._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                p._data = fn(p._data)
                if p.grad is not None:
                    p.grad._data = fn(p.grad._data)
            for name, b in self._buffers.items():
                if getattr(b, "_is_uninitialized", False):
                    b._data = fn(b._data)  # a lazy layer's buffer stays the object that will get its shape
                elif b is not None:
                    self._buffers[name] = Tensor._make(fn(b._data))
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False, memory_format=None):
        """`model.to(mlseries.float64)`, `model.to(device)` (a CPU device), `model.to(device, dtype)`
        or `model.to(tensor)`: cast floating parameters and buffers (integer buffers keep their
        type); returns the module itself."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (_dtype.dtype, np.dtype, type)):
                dtype = a
            elif _device.is_device_like(a):
                _device.check(a, "Module.to(): ")
            else:
                raise TypeError(f"to() received an invalid argument {a!r}: expected a dtype, a device or a tensor")
        _device.check(device, "Module.to(): ")
        if dtype is None:
            return self
        npd = _legacy_dtype(dtype)
        if npd.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        return self._apply(lambda a: a.astype(npd, copy=False) if a.dtype.kind == "f" else a)

    def type(self, dst_type):
        """Cast to a dtype, a legacy type (`torch.DoubleTensor`) or its name ('torch.DoubleTensor')."""
        return self._apply(lambda a: a.astype(_legacy_dtype(dst_type), copy=False))

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def half(self):
        return self.to(_dtype.float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        raise _device.refuse("model.cuda()")

    def share_memory(self):
        return self

    # ---- state dict -----------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Put this module's own parameters and persistent buffers (not its children's) into
        `destination`. Subclasses with extra state override this."""
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names ('0.weight') to tensors that share memory with the
        module (detached unless keep_vars): what `mlseries.save` writes."""
        if destination is None:
            destination = collections.OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from `state_dict` into this module's parameters and buffers.

        Every problem is reported at once — missing keys, unexpected keys, shape mismatches —
        and nothing is copied unless all is well, so a failed load leaves the model as it was.
        Returns `(missing_keys, unexpected_keys)`.
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(f"expected a dict (such as model.state_dict() or mlseries.load(path)), "
                            f"got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        arrays, mismatched = {}, []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value._data if isinstance(value, Tensor) else _as_array(value)
            if getattr(target, "_is_uninitialized", False):
                arrays[key] = arr  # a lazy layer's parameter takes the checkpoint's shape
            elif arr.shape != target._data.shape:
                mismatched.append((key, arr.shape, target._data.shape))
            else:
                arrays[key] = arr
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        for key, got, want in mismatched:
            errors.append(f"size mismatch for {key}: copying a param with shape {tuple(got)} from checkpoint, "
                          f"the shape in current model is {tuple(want)}.")
        if errors:
            hint = _prefix_hint(missing, unexpected) if strict else ""
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors) + hint)
        lazy = []
        with no_grad():
            for key, arr in arrays.items():
                target = own[key]
                if getattr(target, "_is_uninitialized", False):
                    target.materialize(arr.shape)
                    lazy.append(key.rpartition(".")[0])
                if assign:
                    target._data = arr  # adopt the checkpoint's array (and dtype), as PyTorch's assign=True
                else:
                    np.copyto(target._data, arr, casting="unsafe")
                target._version += 1
        for path in dict.fromkeys(lazy):
            become = getattr(self.get_submodule(path), "_lazy_become", None)
            if become is not None:
                become()  # every shape known: the lazy layer is now the ordinary one
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside this module's parentheses in its repr (layers put their sizes here)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(child), 2)}" for name, child in self._modules.items()]
        if not extra_lines and not child_lines:
            return self._get_name() + "()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        body = "\n  ".join(extra_lines + child_lines)
        return f"{self._get_name()}(\n  {body}\n)"


def _zero_grad(p, set_to_none):
    if p.grad is None:
        return
    if set_to_none:
        p.grad = None
    else:
        p.grad.detach_()
        p.grad._data[...] = 0


def _prefix_hint(missing, unexpected):
    """A hint when every key differs by the same leading prefix (e.g. 'module.' or 'model.')."""
    if not missing or len(missing) != len(unexpected):
        return ""
    for longer, shorter, owner in ((unexpected, missing, "checkpoint's"), (missing, unexpected, "model's")):
        first = longer[0]
        for cut in (i + 1 for i, ch in enumerate(first) if ch == "."):
            prefix = first[:cut]
            if all(k.startswith(prefix) for k in longer) and \
                    sorted(k[cut:] for k in longer) == sorted(shorter):
                return f"\n\t(hint: the {owner} keys all carry an extra prefix '{prefix}'; strip it before loading)"
    return ""
