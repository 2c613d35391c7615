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
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._tensor import Size, Tensor, as_tensor, from_numpy, tensor
from ._functions import *  # noqa: F401,F403
from ._functions import abs, all, any, max, min, pow, round, sum  # noqa: A004
from ._factories import *  # noqa: F401,F403
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import CheckpointError, load, save
from . import autograd  # noqa: E402
from . import nn, optim, utils  # noqa: E402  (built on the core above)

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
    """The most threads matrix products (NumPy's BLAS) may use, as torch.set_num_threads. Without
    it the engine uses the cores the rest of the machine leaves idle (see `_threads.py`)."""
    from . import _threads
    _threads.set_cap(_builtins.int(n))


def get_num_threads():
    """The most threads matrix products may use (what set_num_threads set, else one per core)."""
    from . import _threads
    if _threads._enabled() or _threads._state["cap"] is not None:
        return _threads._state["cap"]
    from threadpoolctl import threadpool_info
    counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return _builtins.max(counts) if counts else 1


def get_default_dtype():
    from . import _dtype
    return _dtype.default_float
