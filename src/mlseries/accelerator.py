"""`torch.accelerator`: there is none; mlseries computes on the CPU."""
from . import _device


def is_available():
    return False


def current_accelerator(check_available=False):
    return None


def device_count():
    return 0


def synchronize(device=None):
    """Nothing runs asynchronously on the CPU."""


def set_device_index(device):
    raise _device.refuse("torch.accelerator.set_device_index()")


set_device_idx = set_device_index


def current_device_index():
    raise _device.refuse("torch.accelerator.current_device_index()")


current_device_idx = current_device_index
