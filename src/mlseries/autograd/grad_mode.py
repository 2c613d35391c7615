"""`torch.autograd.grad_mode`: the module path some programs import the gradient switches from
(the switches themselves live in `mlseries._grad_mode`)."""
from .._grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: F401

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode"]
