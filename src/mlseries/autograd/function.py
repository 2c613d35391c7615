"""`torch.autograd.function`'s names: `Function`, `FunctionCtx` and `once_differentiable`."""
import functools

from .._custom_function import Function, FunctionCtx  # noqa: F401
from .._grad_mode import no_grad


def once_differentiable(backward):
    """Decorates a custom Function's backward that is not itself differentiable: it runs with
    gradients off, so `create_graph=True` records nothing through it (PyTorch's decorator)."""
    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with no_grad():
            return backward(ctx, *grad_outputs)
    return wrapper
