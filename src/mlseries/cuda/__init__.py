"""`mlseries.cuda`: PyTorch's `torch.cuda` answers for a machine without a GPU.

Queries answer "no GPU" (`is_available()` is False, `device_count()` is 0, memory counters are 0),
calls that only matter on a GPU are accepted and do nothing (`manual_seed`, `empty_cache`,
`synchronize`), and requests for a GPU (`set_device`, `current_device`, `get_device_name`, ...)
are refused with a message that says mlseries computes on the CPU.
"""
from .. import _device
from .._tensor_types import CUDA_TYPES as _CUDA_TYPES
from . import amp  # noqa: F401  (`torch.cuda.amp.autocast`, `torch.cuda.amp.GradScaler`)

FloatTensor = _CUDA_TYPES["FloatTensor"]
DoubleTensor = _CUDA_TYPES["DoubleTensor"]
HalfTensor = _CUDA_TYPES["HalfTensor"]
LongTensor = _CUDA_TYPES["LongTensor"]
IntTensor = _CUDA_TYPES["IntTensor"]
ShortTensor = _CUDA_TYPES["ShortTensor"]
CharTensor = _CUDA_TYPES["CharTensor"]
ByteTensor = _CUDA_TYPES["ByteTensor"]
BoolTensor = _CUDA_TYPES["BoolTensor"]


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def init():
    raise _device.refuse("torch.cuda.init()")


def is_bf16_supported(including_emulation=True):
    return False


def manual_seed(seed):
    """Nothing to seed without a GPU (PyTorch also ignores it then)."""


def manual_seed_all(seed):
    """Nothing to seed without a GPU (PyTorch also ignores it then)."""


def seed():
    pass


def seed_all():
    pass


def empty_cache():
    pass


def synchronize(device=None):
    """Nothing runs asynchronously on the CPU, so there is nothing to wait for."""


def ipc_collect():
    pass


def memory_allocated(device=None):
    return 0


def max_memory_allocated(device=None):
    return 0


def memory_reserved(device=None):
    return 0


def max_memory_reserved(device=None):
    return 0


def reset_peak_memory_stats(device=None):
    pass


def reset_max_memory_allocated(device=None):
    pass


def memory_stats(device=None):
    return {}


def _refusing(name):
    def refused(*args, **kwargs):
        raise _device.refuse(f"torch.cuda.{name}()")
    refused.__name__ = name
    refused.__qualname__ = name
    refused.__doc__ = f"Refused: `torch.cuda.{name}` needs a GPU, and mlseries runs on the CPU only."
    return refused


set_device = _refusing("set_device")
current_device = _refusing("current_device")
get_device_name = _refusing("get_device_name")
get_device_properties = _refusing("get_device_properties")
get_device_capability = _refusing("get_device_capability")
get_arch_list = _refusing("get_arch_list")
device = _refusing("device")
stream = _refusing("stream")
current_stream = _refusing("current_stream")
Stream = _refusing("Stream")
Event = _refusing("Event")
get_rng_state = _refusing("get_rng_state")
set_rng_state = _refusing("set_rng_state")
get_rng_state_all = _refusing("get_rng_state_all")
set_rng_state_all = _refusing("set_rng_state_all")
mem_get_info = _refusing("mem_get_info")


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(f"module 'mlseries.cuda' has no attribute {name!r}")
    raise AttributeError(f"mlseries.cuda has no attribute {name!r}: mlseries runs on the CPU only, so PyTorch's "
                         f"torch.cuda.{name} is not available; use device='cpu' or torch.cuda.is_available() to "
                         "choose")
