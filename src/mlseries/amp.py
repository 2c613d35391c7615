"""`autocast` and `GradScaler` with PyTorch's names (`torch.amp`, `torch.autocast`).

mlseries has no reduced-precision arithmetic to switch to, so `autocast` is a context (and
decorator) that changes nothing: the computation stays in the tensors' own dtype. `GradScaler`
behaves as PyTorch's does on a machine without CUDA: for device 'cuda' it warns and disables
itself (it then scales by 1 and `step` simply calls `optimizer.step()`); for device 'cpu' it is
a real scaler — the loss is multiplied by the scale, gradients are divided by it before the step,
steps with inf/NaN gradients are skipped and the scale backs off, exactly as in PyTorch.
"""
import collections
import functools
import warnings

import numpy as np

from . import _device
from ._tensor import Tensor

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "hpu", "xla", "mtia", "maia", "ipu", "privateuseone")
_CUDA_OFF = "CUDA is not available (mlseries runs on the CPU only)"
_active = {}  # device type -> whether an autocast region for it is open


def is_autocast_available(device_type):
    return device_type == "cpu"


def is_autocast_enabled(device_type=None):
    return _active.get("cuda" if device_type is None else device_type, False)


class autocast:
    """`with autocast("cuda"):` / `@autocast("cpu", dtype=torch.bfloat16)`: accepted, and
    changes nothing (operations keep their inputs' dtype). For 'cuda' it warns, as PyTorch does
    without CUDA, and disables itself."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if isinstance(device_type, _device.device):
            device_type = device_type.type
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        if device_type != "cpu" and enabled:
            warnings.warn(f"{_CUDA_OFF if device_type == 'cuda' else device_type + ' is not available'}. "
                          "Disabling autocast.", UserWarning, stacklevel=2)
            enabled = False
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)

    def __enter__(self):
        self._prev = _active.get(self.device, False)
        _active[self.device] = self._enabled
        return self

    def __exit__(self, *exc):
        _active[self.device] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapper


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorator for a custom Function's forward under autocast: nothing to do here."""
    if fwd is None:
        return lambda f: f
    return fwd


def custom_bwd(bwd=None, *, device_type="cuda"):
    if bwd is None:
        return lambda f: f
    return bwd


_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _fresh_optimizer_state():
    return {"stage": _READY, "found_inf": None}


class GradScaler:
    """Loss scaling for mixed precision, with PyTorch's interface and update rule."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = str(device)
        if self._device.split(":")[0] != "cpu" and enabled:
            warnings.warn(f"GradScaler is enabled for {self._device!r}, but {_CUDA_OFF}. Disabling.",
                          UserWarning, stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ValueError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._scale = None           # float32, as PyTorch keeps it
        self._growth_tracker = None
        self._per_optimizer_states = collections.defaultdict(_fresh_optimizer_state)

    def is_enabled(self):
        return self._enabled

    def _lazy_init(self):
        self._scale = np.float32(self._init_scale)
        self._growth_tracker = int(self._init_growth_tracker)

    def _check_scale(self, name):
        if self._scale is None:
            raise RuntimeError(f"Attempted {name} but _scale is None. This may indicate your script did not use "
                               "scaler.scale(loss or outputs) earlier in the iteration.")

    def scale(self, outputs):
        """`outputs` (a tensor, or lists/tuples of them) multiplied by the current scale."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._lazy_init()
        factor = Tensor._make(np.asarray(self._scale, dtype=np.float32))

        def apply(value):
            if isinstance(value, Tensor):
                return value * factor
            if isinstance(value, (list, tuple)):
                scaled = [apply(v) for v in value]
                return type(value)(scaled) if isinstance(value, list) or type(value) is tuple else type(value)(*scaled)
            if hasattr(value, "__iter__"):
                return map(apply, value)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply(outputs)

    def unscale_(self, optimizer):
        """Divide this optimizer's gradients by the scale (in place) and note whether any is inf/NaN.
        Call it before clipping gradients; `step` calls it when you have not."""
        if not self._enabled:
            return
        self._check_scale("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = np.float32(1.0 / np.float64(self._scale))
        found_inf = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                if not found_inf and not np.isfinite(g).all():
                    found_inf = True
                np.multiply(g, inv_scale, out=g, casting="unsafe")
                p.grad._version += 1
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """`optimizer.step()` unless the (unscaled) gradients hold inf/NaN; returns its result (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None
        if not state["found_inf"]:
            result = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """After the steps of an iteration: back off on inf/NaN, grow after `growth_interval` clean steps."""
        if not self._enabled:
            return
        self._check_scale("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale._data.dtype != np.float32:
                    raise ValueError("new_scale should be a float or a 1-element float32 tensor")
                new_scale = new_scale.item()
            self._scale = np.float32(new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None]
            if not found:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(found):
                self._scale = np.float32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = np.float32(np.float64(self._scale) * self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = collections.defaultdict(_fresh_optimizer_state)

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return float(self._init_scale if self._scale is None else self._scale)

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return self._growth_tracker

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker


__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]
