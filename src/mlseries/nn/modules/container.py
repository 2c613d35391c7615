"""`torch.nn.modules.container`: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, re-exported from where the engine keeps them."""
from ..containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
