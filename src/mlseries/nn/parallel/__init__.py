"""`DataParallel` and `DistributedDataParallel` on one CPU process.

Both wrap a module and run it: with one device and one process there is nothing to split or to
average, so the results, gradients and optimizer steps are those of the bare module. What stays
as in PyTorch is what programs rely on: the wrapped module is `.module`, state-dict keys carry
the `module.` prefix, and DistributedDataParallel needs `torch.distributed.init_process_group`
first.
"""
import contextlib

from ... import distributed as _dist
from ..module import Module


def _check_module(module, who):
    if not isinstance(module, Module):
        raise TypeError(f"{who} expects an nn.Module to wrap, got {type(module).__name__}")


class DataParallel(Module):
    """Runs `module` on the one device there is. PyTorch, too, ignores `device_ids` when no GPU is
    present (`device_ids` is then []), so the wrapper only forwards the call."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        _check_module(module, "DataParallel")
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(Module):
    """Runs `module` in the single process of the default group (world size 1). Gradient
    averaging over one process leaves gradients as they are, so none is done."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params=False):
        super().__init__()
        _check_module(module, "DistributedDataParallel")
        if process_group is None and not _dist.is_initialized():
            raise ValueError(_dist._NOT_INITIALIZED)
        if device_ids or output_device is not None:
            # As PyTorch: device ids are GPU numbers, and this module's parameters are on the CPU.
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module parameters "
                             "{device(type='cpu')}. mlseries runs on the CPU only: pass device_ids=None.")
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.device_ids = None
        self.output_device = None
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.require_backward_grad_sync = True

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Skip gradient synchronisation inside the block (there is none to skip with one process)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size=True, enable=True, throw_on_early_termination=False):
        yield

    def register_comm_hook(self, state, hook):
        """Communication hooks transform gradients sent between processes; with one process none
        are sent, so the hook is never called."""

    def _set_static_graph(self):
        self.static_graph = True


__all__ = ["DataParallel", "DistributedDataParallel"]
