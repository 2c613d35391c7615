"""`nn.utils.prune`: zero out weights with a mask, PyTorch's way.

Pruning `module.name` moves the parameter to `name_orig`, stores the mask as the buffer
`name_mask`, and registers a forward pre-hook that sets `module.name = name_orig * name_mask`
before every call, so the optimiser keeps training `name_orig` while the pruned entries stay
zero in the forward pass (and get zero gradient through the product). Pruning the same tensor
again combines the masks in a `PruningContainer`: the new method only looks at the entries (or,
for structured methods, the channels) that are still alive, so `amount` as a fraction is a
fraction of what is left. `remove` makes the pruning permanent: `name` becomes a plain
parameter holding the masked values.

Masks are computed with NumPy (they carry no gradient). Ties between equal magnitudes are broken
by position (a stable sort), which can pick different entries from PyTorch's topk.
"""
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...random import _gen
from .convert_parameters import parameters_to_vector


class BasePruningMethod(ABC):
    """A pruning method: `compute_mask(t, default_mask)` returns the new mask; the object
    itself is the forward pre-hook. PRUNING_TYPE ('unstructured', 'structured' or 'global')
    says how it combines with earlier masks."""

    _tensor_name = None
    PRUNING_TYPE = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        ...

    def apply_mask(self, module):
        if self._tensor_name is None:
            raise RuntimeError(f"Module {module} has to be pruned before its mask can be applied")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return orig * mask

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune `module.name` with a new `cls(*args, **kwargs)` (combined with any earlier
        pruning of the same tensor); returns the method, which is the hook."""
        old_key, old = None, None
        for key, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                if old is not None:
                    raise RuntimeError(f"more than one pruning hook on the tensor {name!r} of {module}")
                old_key, old = key, hook
        orig = getattr(module, name, None)
        if not isinstance(orig, Tensor):
            raise AttributeError(f"Parameter '{name}' of module {type(module).__name__} doesn't exist: "
                                 "nothing to prune")
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            if isinstance(old, PruningContainer):
                old.add_pruning_method(method)
                container = old
            else:
                container = PruningContainer(old)
                container.add_pruning_method(method)
            hook = container
        else:
            hook = method

        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise ValueError(f"importance_scores should have the same shape as parameter {name} of {module}")
        else:
            importance_scores = orig
        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = np.ones_like(orig._data)
        else:
            default_mask = getattr(module, name + "_mask")._data.copy()
        try:
            with no_grad():
                mask = hook.compute_mask(importance_scores, default_mask=Tensor._make(default_mask))
        except Exception:
            if old is None:  # leave the module as it was
                orig = module._parameters.pop(name + "_orig")
                module.register_parameter(name, orig)
            else:
                old._pruning_methods = old._pruning_methods[:-1] if old is hook else old._pruning_methods
            raise
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, hook.apply_mask(module))
        if old_key is not None:
            module._forward_pre_hooks[old_key] = hook
        else:
            module.register_forward_pre_hook(hook)
        return hook

    def prune(self, t, default_mask=None, importance_scores=None):
        """The pruned copy of `t` (no module involved)."""
        scores = importance_scores if importance_scores is not None else t
        if default_mask is None:
            default_mask = Tensor._make(np.ones_like(t._data))
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruning permanent: `name` becomes a parameter holding orig·mask."""
        if self._tensor_name is None:
            raise RuntimeError(f"Module {module} has to be pruned before pruning can be removed")
        name = self._tensor_name
        weight = self.apply_mask(module)
        if name in module.__dict__:
            object.__delattr__(module, name)
        orig = module._parameters[name + "_orig"]
        orig._data = np.array(weight._data)
        orig._version += 1
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        module.register_parameter(name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied, in order, to one tensor."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], Iterable):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        elif len(args) == 1:
            for method in args[0]:
                self.add_pruning_method(method)
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' "
                             f"to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """Apply the newest method to what the current mask leaves alive."""
        method = self._pruning_methods[-1]
        mask = _np(default_mask)
        new = mask.copy()
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            alive = mask == 1
            part = method.compute_mask(Tensor._make(_np(t)[alive]), default_mask=Tensor._make(mask[alive]))
            new[alive] = _np(part)
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to have the attribute `dim` "
                                     "defined.")
            dim = method.dim if method.dim >= 0 else method.dim + mask.ndim
            others = tuple(i for i in range(mask.ndim) if i != dim)
            keep = mask.sum(axis=others) != 0               # channels not yet pruned away
            index = [slice(None)] * mask.ndim
            index[dim] = keep
            index = tuple(index)
            part = method.compute_mask(Tensor._make(_np(t)[index]), default_mask=Tensor._make(mask[index]))
            new[index] = _np(part)
        elif kind == "global":
            new = _np(method.compute_mask(t, default_mask=Tensor._make(mask)))
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        return Tensor._make(new.astype(mask.dtype, copy=False))


def _np(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (handy to get the _orig/_mask layout)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _UnstructuredByOrder(BasePruningMethod):
    """Zero the `amount` entries that come first in `_order(t)`: the pattern random and L1
    unstructured pruning share."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        size = _np(t).size
        _validate_amount(self.amount, size)
        k = _count(self.amount, size)
        mask = _np(default_mask).copy()
        if k:
            mask.reshape(-1)[self._order(t, size)[:k]] = 0
        return Tensor._make(mask)


class RandomUnstructured(_UnstructuredByOrder):
    """Zero `amount` entries chosen at random."""

    def _order(self, t, size):
        return np.argsort(-_gen().random(size), kind="stable")

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_UnstructuredByOrder):
    """Zero the `amount` entries of smallest absolute value (of the importance scores)."""

    def _order(self, t, size):
        return np.argsort(np.abs(_np(t)).reshape(-1), kind="stable")

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Zero `amount` whole channels along `dim`, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        t = _np(t)
        _validate_structured(t)
        n = t.shape[self.dim]
        _validate_amount(self.amount, n)
        k = _count(self.amount, n)
        keep = np.ones(n, bool)
        if k:
            keep[np.argsort(_gen().random(n), kind="stable")[:k]] = False
        return Tensor._make(_channel_mask(keep, t.ndim, self.dim, _np(default_mask)))

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Zero the `amount` channels along `dim` with the smallest Ln norm (n: a number, inf,
    -inf or 'fro')."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        t = _np(t)
        _validate_structured(t)
        size = t.shape[self.dim]
        _validate_amount(self.amount, size)
        k = _count(self.amount, size)
        norms = _channel_norms(t, self.n, self.dim)
        keep = np.ones(size, bool)
        if k:
            keep[np.argsort(-norms, kind="stable")[size - k:]] = False   # keep the size−k largest
        return Tensor._make(_channel_mask(keep, t.ndim, self.dim, _np(default_mask)))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        d = _np(default_mask)
        if tuple(d.shape) != tuple(self.mask.shape):
            raise ValueError(f"the mask has shape {tuple(self.mask.shape)} but the tensor has shape {tuple(d.shape)}")
        return Tensor._make(d * _np(self.mask).astype(d.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def _channel_norms(t, n, dim):
    axes = tuple(i for i in range(t.ndim) if i != dim % t.ndim)
    a = np.abs(t)
    if n == "fro" or n == 2:
        return np.sqrt((a * a).sum(axis=axes))
    if n == np.inf:
        return a.max(axis=axes)
    if n == -np.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(t.dtype)
    if isinstance(n, numbers.Number):
        return (a ** n).sum(axis=axes) ** (1.0 / n)
    raise ValueError(f"ln_structured: unsupported norm n={n!r} (use a number, inf, -inf or 'fro')")


def _channel_mask(keep, ndim, dim, default_mask):
    shape = [1] * ndim
    shape[dim] = keep.size
    return (keep.reshape(shape) * default_mask).astype(default_mask.dtype)


def _validate_amount_init(amount):
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_amount(amount, size):
    if isinstance(amount, numbers.Integral) and amount > size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")


def _count(amount, size):
    # Python's round (halves to even), as PyTorch does
    return int(amount) if isinstance(amount, numbers.Integral) else round(amount * size)


def _validate_structured(t):
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {tuple(t.shape)} with {t.ndim} dims")


# ---- the functional interface ---------------------------------------------------------------
def identity(module, name):
    """Apply the _orig/_mask layout with an all-ones mask. Returns the module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune `amount` (a fraction, or a count) random entries of `module.name`."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the `amount` (fraction or count) entries of smallest |value| (or |importance_scores|)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune `amount` random channels along `dim`."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the `amount` channels along `dim` of smallest Ln norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune with a given mask (1 keeps, 0 prunes)."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune across several tensors at once: the scores of all (module, name) pairs are pooled,
    so `amount` entries are removed in total (e.g. the smallest 20% of the whole network)."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    with no_grad():
        scores = parameters_to_vector([importance_scores.get((m, n), getattr(m, n)) for m, n in parameters])
        default = np.concatenate([
            _np(getattr(m, n + "_mask")).reshape(-1) if hasattr(m, n + "_mask")
            else np.ones(getattr(m, n)._data.size, getattr(m, n)._data.dtype) for m, n in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    final = _np(container.compute_mask(scores, Tensor._make(default.astype(scores._data.dtype))))
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param._data.size
        custom_from_mask(module, name, mask=Tensor._make(final[start:start + n].reshape(param._data.shape)))
        start += n


def remove(module, name):
    """Make the pruning of `module.name` permanent (see `BasePruningMethod.remove`)."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module):
    """Whether any submodule of `module` has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules() for hook in sub._forward_pre_hooks.values())
