"""Process-wide switches PyTorch programs set for speed or reproducibility on GPUs.

On mlseries they are accepted and recorded: matrix products are NumPy's (always full float32 or
float64 precision), results are already deterministic, and there is no compiler to invoke.
"""
import warnings

from . import _device

_state = {"matmul_precision": "highest", "deterministic": False, "deterministic_warn_only": False}


def set_float32_matmul_precision(precision):
    """Recorded only: NumPy's float32 products are always full precision ('highest')."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded only: every mlseries operation already gives the same result on every run."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _state["deterministic"] = mode
    _state["deterministic_warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["deterministic_warn_only"]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """Returns `model` itself: mlseries has no compiler, and the module computes the same thing
    uncompiled. Works as `compile(model)`, `@compile` and `@compile(mode=...)`."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile() expects a module or function, got {type(model).__name__}")
    return model


class memory_format:
    """`torch.channels_last` and friends: layouts a GPU kernel may prefer. NumPy arrays here keep
    their layout, so these are accepted wherever PyTorch takes them and change nothing."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"mlseries.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


def set_default_tensor_type(t):
    """The old spelling of set_default_dtype: 'torch.FloatTensor' or 'torch.DoubleTensor'."""
    from . import _dtype
    from ._tensor import _legacy_dtype
    npd = _legacy_dtype(t)  # refuses 'torch.cuda.FloatTensor' with the CPU-only message
    if npd.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {t!r}")
    from . import set_default_dtype
    set_default_dtype(_dtype.from_np(npd))


def set_default_device(device):
    """Only the CPU can be the default device."""
    _device.check(device, "set_default_device(): ")


def get_default_device():
    return _device.CPU
