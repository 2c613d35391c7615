"""`device`: PyTorch's device descriptor, and the one check every `device=` argument goes through.

mlseries computes on the CPU only. A device object for another type ('cuda', 'mps', ...) can still
be made and compared — PyTorch allows that on machines without the hardware, and programs build
`torch.device("cuda" if torch.cuda.is_available() else "cpu")` — but placing a tensor or module on
it is refused with a message that says what to write instead.
"""
import builtins

# The device types PyTorch's parser accepts, in its order (so an unknown name gets the same list).
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla",
          "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")

CPU_ONLY = "mlseries runs on the CPU only; use device='cpu' or torch.cuda.is_available() to choose"


class DeviceError(RuntimeError):
    """A request for a device mlseries does not have (a GPU, MPS, meta tensors, ...)."""


def _parse_index(text, spec):
    if not text.isdigit():
        raise RuntimeError(f"Invalid device string: {spec!r}")
    return builtins.int(text)


class device:
    """Where a tensor lives: `device('cpu')`, `device('cuda', 0)`, `device('cuda:1')`.

    Compares equal to another device with the same type and index (not to strings, as in
    PyTorch: compare `d.type == 'cpu'`), hashes, and prints as PyTorch's does.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given together with a device object")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, builtins.int) and not isinstance(type, builtins.bool):
            # A bare number means "accelerator number N" in PyTorch.
            raise DeviceError(f"device({type}) names accelerator {type}, and there is none: {CPU_ONLY}")
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu', got {builtins.type(type).__name__}")
        name, sep, rest = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
        if sep:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was passed explicitly: "
                                   f"{type}")
            index = _parse_index(rest, type)
        if index is not None:
            if isinstance(index, builtins.bool) or not isinstance(index, builtins.int):
                raise TypeError(f"device(): the index must be an int, got {builtins.type(index).__name__}")
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self._type, self._index = name, index

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __reduce__(self):
        return (device, (self._type, self._index))

    # `with torch.device("cpu"):` sets the default device in PyTorch; the CPU is the only one here.
    def __enter__(self):
        check(self)
        return self

    def __exit__(self, *exc):
        return False


CPU = device("cpu")


def is_device_like(value):
    if isinstance(value, (device, str)):
        return True
    return isinstance(value, builtins.int) and not isinstance(value, builtins.bool)


def check(value, where=""):
    """Accept None, 'cpu', 'cpu:N' or a CPU device; refuse every other device clearly."""
    if value is None:
        return CPU
    if isinstance(value, device):
        d = value
    elif isinstance(value, str):
        d = device(value)
    elif isinstance(value, builtins.int) and not isinstance(value, builtins.bool):
        raise DeviceError(f"{where}device {value} names accelerator {value}, and there is none: {CPU_ONLY}")
    else:
        raise TypeError(f"{where}expected a device ('cpu' or mlseries.device('cpu')), got {type(value).__name__}")
    if d.type != "cpu":
        raise DeviceError(f"{where}cannot place tensors on {str(d)!r}: {CPU_ONLY}")
    return d


def refuse(what):
    """The error for a GPU-only request such as `tensor.cuda()`."""
    return DeviceError(f"{what}: {CPU_ONLY}")
