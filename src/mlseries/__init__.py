"""mlseries: a deep-learning engine written from scratch on NumPy, with PyTorch's names and meanings.

    import mlseries as ms
    x = ms.randn(3, requires_grad=True)
    (x.tanh() ** 2).sum().backward()
    x.grad
"""
import builtins as _builtins  # this namespace shadows int, max, ... with PyTorch's names

from . import _malloc  # noqa: F401  (first: tunes the allocator for big temporary arrays)
from ._dtype import (bool, dtype, float16, float32, float64, int8, int16, int32, int64,  # noqa: A004
                     uint8)
from ._dtype import bfloat16  # noqa: F401  (a name only: no bfloat16 arithmetic, see _dtype)
from ._grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                         set_grad_enabled)
from ._tensor import Size, Tensor, as_tensor, from_numpy, tensor
from ._functions import *  # noqa: F401,F403
from ._functions_more import *  # noqa: F401,F403
from ._functions_basic import *  # noqa: F401,F403  (kthvalue, finfo, bitwise_*, windows, ...)
from ._functions_aliases import *  # noqa: F401,F403  (divide, greater, ravel, nansum, cov, ...)
from ._inplace_more import *  # noqa: F401,F403  (the in-place `_` methods: relu_, clamp_min_, ...)
from ._functions import abs, all, any, max, min, pow, round, sum  # noqa: A004
from ._factories import *  # noqa: F401,F403
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import CheckpointError, load, save
from . import autograd  # noqa: E402
from . import nn, optim, utils  # noqa: E402  (built on the core above)
from .nn.functional import (bilinear, celu, conv1d, conv2d, conv3d, hardshrink, prelu, rrelu,  # noqa: E402,F401
                            selu, threshold)  # torch.conv2d is F.conv2d, ...
# What PyTorch programs ask of the machine (devices, GPUs, distributed runs, compilation); see
# "Running PyTorch programs" in docs/engine.md for what is accepted, ignored or refused.
from ._device import device  # noqa: E402
from ._tensor_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,  # noqa: E402
                            IntTensor, LongTensor, ShortTensor)
from ._compat import (are_deterministic_algorithms_enabled, channels_last, channels_last_3d,  # noqa: E402,A004
                      compile, contiguous_format, get_default_device, get_float32_matmul_precision,
                      is_deterministic_algorithms_warn_only_enabled, memory_format, preserve_format,
                      set_default_device, set_default_tensor_type, set_float32_matmul_precision,
                      use_deterministic_algorithms)
from . import accelerator, amp, backends, cpu, cuda, distributed, hub, jit, multiprocessing, onnx  # noqa: E402
from . import distributions  # noqa: E402  (torch.distributions: built on nn.functional and random)
from . import linalg, special  # noqa: E402  (torch.linalg, torch.special)
special._top_level(globals())  # torch.lgamma, torch.digamma, torch.xlogy, ... where not defined above
from ._linalg_top import *  # noqa: E402,F401,F403  (torch.det, torch.inverse, the old torch.svd, ...)
from .amp import autocast, is_autocast_available, is_autocast_enabled  # noqa: E402
from . import func, profiler, testing, types  # noqa: E402,F401  (torch.func, torch.profiler, ...)
from .func import vmap  # noqa: E402,F401  (torch.vmap: a loop over the batch, see func.py)

float = float32  # noqa: A001  (torch.float)
double = float64
half = float16
long = int64
int = int32  # noqa: A001

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def set_num_threads(n):
    """The most threads the engine works on at once, as torch.set_num_threads. Without it the
    engine uses the cores the rest of the machine leaves idle, with the same results either way
    (see `_threads.py`)."""
    from . import _threads
    _threads.set_cap(_builtins.int(n))


def get_num_threads():
    """The most threads the engine works on at once (what set_num_threads set, else one per core)."""
    from . import _threads
    if _threads._enabled():
        return _threads._state["cap"]
    from threadpoolctl import threadpool_info
    counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return _builtins.max(counts) if counts else 1


def set_default_dtype(d):
    """The dtype of new floating-point tensors and layers (float32 unless changed), as
    torch.set_default_dtype; `set_default_dtype(mlseries.float64)` runs a program in double precision."""
    from . import _dtype, _tensor
    npd = _dtype.to_np(d)
    if npd.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types can be the default, got {d!r}")
    _dtype.default_float = _dtype.from_np(npd)
    _tensor._default_float = npd


def get_default_dtype():
    from . import _dtype
    return _dtype.default_float


def __getattr__(name):
    # Called only for names the package lacks: say it is PyTorch's name that is missing, and
    # stay an AttributeError so that hasattr() and getattr(..., default) keep working.
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(f"module 'mlseries' has no attribute {name!r}")
    raise AttributeError(f"mlseries has no attribute {name!r} (PyTorch's torch.{name} is not implemented here; "
                         "see docs/engine.md)")
