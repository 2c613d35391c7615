"""`Optimizer`: parameter groups, per-parameter state, zero_grad, and a saveable state dict.

Subclasses implement `step()` with NumPy in-place operations on the raw arrays (`p._data`,
`p.grad._data`): an update is a handful of vectorised passes over each parameter, with one
reusable scratch buffer instead of fresh temporaries.
"""
import collections
import functools

import numpy as np

from .._grad_mode import enable_grad
from .._tensor import Tensor
from ..nn.module import _zero_grad


def check_args(lr=None, eps=None, betas=None, **nonnegative):
    """PyTorch's checks (and messages) for an optimiser's hyper-parameters: a learning rate,
    epsilon and each named value must not be negative; betas must lie in [0, 1)."""
    if lr is not None and lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    for name, value in nonnegative.items():
        if value < 0.0:
            raise ValueError(f"Invalid {name} value: {value}")


def average_square(avg, x, decay, tmp):
    """A running average of squares, in place: avg = decay·avg + (1 − decay)·x² (`tmp` is scratch)."""
    avg *= decay
    np.multiply(x, x, out=tmp)
    tmp *= 1 - decay
    avg += tmp


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_SET_ERROR = ("optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
              "in sets will change between runs. Please use a list instead.")


def _state_array(value):
    return value._data if isinstance(value, Tensor) else value


class Optimizer:
    """Base class: holds `param_groups` (list of dicts: 'params' plus options such as 'lr')
    and `state` (dict from parameter to its buffers, e.g. Adam's moment estimates)."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = collections.defaultdict(dict)
        self.param_groups = []
        self._scratch = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__} (use model.parameters() or [tensor])")
        if isinstance(params, set):
            raise TypeError(_SET_ERROR)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        # Mark every step() call, so a learning-rate scheduler can warn when it is stepped first.
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            step = cls.__dict__["step"]

            @functools.wraps(step)
            def marked_step(self, *args, **kw):
                self._opt_called = True
                return step(self, *args, **kw)

            cls.step = marked_step

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a smaller lr for a pretrained body)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_SET_ERROR)
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (call before each backward: gradients accumulate)."""
        for group in self.param_groups:
            for p in group["params"]:
                _zero_grad(p, set_to_none)

    def step(self, closure=None):
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _temp(self, like, slot=0):
        """A scratch array shaped like `like`, reused across steps (slot picks one of several)."""
        key = (like.dtype, slot)
        buf = self._scratch.get(key)
        if buf is None or buf.size < like.size:
            buf = np.empty(like.size, dtype=like.dtype)
            self._scratch[key] = buf
        return buf[:like.size].reshape(like.shape)

    def _stepped(self, group, *buffers, decoupled=False, count=True):
        """The parameters of `group` that have a gradient, one at a time, as (array, state,
        gradient, step): the state starts as a step counter and a zero array per name in
        `buffers`; the step is counted; weight decay is folded into the gradient (L2) or, when
        `decoupled` (AdamW), applied to the weights first; `maximize` negates the gradient. After
        the caller has updated the array in place, the parameter's version is bumped, so a graph
        that saved the old values refuses to backpropagate through them."""
        wd, lr = group.get("weight_decay", 0), float(group["lr"])
        for p in group["params"]:
            if p.grad is None:
                continue
            w = p._data
            state = self.state[p]
            t = None
            if count:
                if not state:
                    state["step"] = Tensor._make(np.zeros((), np.float32))
                    for name in buffers:
                        state[name] = Tensor._make(np.zeros_like(w))
                state["step"]._data += 1
                t = float(state["step"]._data)
            if wd and decoupled:
                w *= 1 - lr * wd
            g = self._effective_grad(w, p.grad._data, group.get("maximize", False), 0 if decoupled else wd)
            yield w, state, g, t
            p._version += 1

    def _effective_grad(self, param, grad, maximize, weight_decay):
        """The gradient an update uses: −grad when maximizing, plus weight_decay·param (L2
        penalty) when asked. `p.grad` itself is never modified; a new value lives in slot 1."""
        if not maximize and not weight_decay:
            return grad
        out = self._temp(grad, 1)
        if maximize:
            np.negative(grad, out=out)
        else:
            np.copyto(out, grad)
        if weight_decay:
            decay = self._temp(grad, 0)
            np.multiply(param, weight_decay, out=decay)
            out += decay
        return out

    # ---- saving ---------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: tensor or number}}, 'param_groups': [options + param indices]}:
        arrays and numbers only, so `mlseries.save` can write it."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and buffers saved by `state_dict()` (parameters matched by position)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"but the optimizer has {len(self.param_groups)}")
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group ({i}) of {len(saved['params'])} "
                                 f"parameters that doesn't match the size of optimizer's group "
                                 f"({len(mine['params'])} parameters)")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                by_index[int(idx)] = p
        self.state = collections.defaultdict(dict)
        for idx, entry in state_dict["state"].items():
            p = by_index.get(int(idx))
            if p is None:
                continue
            self.state[p] = {name: _restore(name, value, p) for name, value in entry.items()}
        self.param_groups = [dict(saved, params=mine["params"]) for mine, saved in zip(self.param_groups, saved_groups)]

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _restore(name, value, param):
    """A private copy of one saved state entry; floating buffers take the parameter's dtype
    (except the step counter, which stays float32 like PyTorch's)."""
    if isinstance(value, (Tensor, np.ndarray)):
        arr = np.array(_state_array(value))
        if name == "step":
            # a counter is 0-d; mlseries.save currently stores 0-d arrays as shape (1,)
            arr = arr.reshape(())
        elif arr.dtype.kind == "f":
            arr = arr.astype(param._data.dtype, copy=False)
        return Tensor._make(arr)
    return value
