"""`nn.utils.parametrize`: make a parameter or buffer the output of a module.

`register_parametrization(module, "weight", P)` moves the tensor to
`module.parametrizations.weight.original` (or `original0`, `original1`, ... when P's
`right_inverse` returns several tensors) and gives `module` a property `weight` that returns
P(original) on every access: differentiable, so the optimiser trains `original` while the layer
only ever sees a valid weight (orthogonal, normalised...). Assigning `module.weight = X` stores
P.right_inverse(X). Several parametrizations on one tensor are applied in registration order.

As in PyTorch, the property is put on a subclass made on the fly (`ParametrizedLinear`, ...) and
assigned to `module.__class__`, so other instances of the layer are untouched; the state-dict keys
(`parametrizations.weight.original`) are PyTorch's, so checkpoints load either way.
"""
import contextlib
import copy
from collections.abc import Sequence

import numpy as np

from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ..containers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

_cache_enabled = 0
_cache = {}


@contextlib.contextmanager
def cached():
    """Inside this block each parametrized tensor is computed once and reused (e.g. a weight
    used at every step of an RNN); the cache is dropped on leaving the outermost block."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _replace_data(original, new):
    """original.set_(new): keep the same tensor object (an optimiser may hold it), new values."""
    original._data = np.array(new._data, dtype=new._data.dtype)
    original._version += 1


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, and the unconstrained tensor(s) they act on
    (`original`, or `original0`, `original1`, ...)."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, Tensor) and not isinstance(new, Sequence):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            if new is not original:
                _replace_data(original, new)
            _register(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors "
                                     f"(list, tuple...). Got element {i} of the sequence with type {type(part).__name__}.")
                if isinstance(original, Parameter):
                    part = Parameter(part.detach().clone(), original.requires_grad)
                else:
                    part = part.detach().clone()
                _register(self, f"original{i}", part)
        if not unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
            if z.dtype != original_dtype:
                raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized dtype: {original_dtype}\n"
                                 f"parametrized dtype: {z.dtype}")
            if tuple(z.shape) != original_shape:
                raise ValueError("Registering a parametrization may not change the shape of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized shape: {original_shape}\n"
                                 f"parametrized shape: {tuple(z.shape)}")

    def right_inverse(self, value):
        """Store `value` as the new parametrized tensor: originals = right_inverse(value)."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement right_inverse.")
                value = m.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype or tuple(value.shape) != tuple(self.original.shape):
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} and shape "
                                     f"{tuple(value.shape)}, but the original has dtype {self.original.dtype} and "
                                     f"shape {tuple(self.original.shape)}")
                _replace_data(self.original, value)
            else:
                if not isinstance(value, Sequence) or len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} tensors, "
                                     f"got {type(value).__name__}")
                for i, part in enumerate(value):
                    _replace_data(getattr(self, f"original{i}"), part)

    def forward(self):
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _inject_new_class(module):
    cls = module.__class__

    def __getstate__(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(): "
                           "save module.state_dict() instead of the module")

    def __deepcopy__(self, memo):
        # copy.deepcopy would go through __getstate__; copy the instance dict directly instead
        obj = memo[id(self)] = object.__new__(type(self))
        for key, value in self.__dict__.items():
            object.__setattr__(obj, key, copy.deepcopy(value, memo))
        return obj

    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,),
                            {"__getstate__": __getstate__, "__deepcopy__": __deepcopy__})


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        plist = self.parametrizations[tensor_name]
        if _cache_enabled:
            key = (id(self), tensor_name)
            value = _cache.get(key)
            if value is None:
                value = _cache[key] = plist()
            return value
        return plist()

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make `module.tensor_name` = parametrization(original); see the module docstring.
    unsafe=True skips the checks that the parametrization keeps the shape and dtype."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"parametrization must be an nn.Module, got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
            if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
                raise ValueError("Registering a parametrization may not change the dtype or shape of the tensor, "
                                 "unless the `unsafe` flag is enabled.")
            if hasattr(parametrization, "right_inverse"):
                z = parametrization.right_inverse(x)
                if not isinstance(z, Tensor) or z.dtype != y.dtype or tuple(z.shape) != tuple(y.shape):
                    raise ValueError("parametrization.right_inverse must return a tensor of the same dtype and "
                                     "shape as its input")
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether `module` has any parametrization (or one on `tensor_name`)."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if plists is None or not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Take the parametrizations off `module.tensor_name`: it becomes a plain parameter (or
    buffer) holding the current parametrized value, or, with leave_parametrized=False, the
    unconstrained original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if value.dtype == original.dtype:
                _replace_data(original, value)
            else:
                original = Parameter(value.detach().clone(), original.requires_grad) \
                    if isinstance(original, Parameter) else value.detach().clone()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name)
        original = Parameter(value.detach().clone(), value.requires_grad) if \
            isinstance(plist.original0, Parameter) else value.detach().clone()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """The class `module` had before parametrizations were registered on it."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)
