"""`InstanceNorm1d` and `InstanceNorm2d`: normalise each channel of each sample over its positions.

The state is batch norm's (optional `weight`/`bias`; with track_running_stats the buffers
`running_mean`, `running_var`, `num_batches_tracked`), so state dicts carry PyTorch's keys; the
defaults differ: affine=False, track_running_stats=False. As in PyTorch, num_batches_tracked is
kept for the keys but not counted, and momentum=None means 0 (the running statistics then never
move).
"""
import warnings

from . import functional as F
from .batchnorm import _BatchNorm


class _InstanceNorm(_BatchNorm):
    unbatched_dims = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        name = type(self).__name__
        if input.ndim not in (self.unbatched_dims, self.unbatched_dims + 1):
            raise ValueError(f"{name}: expected {self.unbatched_dims}D (unbatched) or {self.unbatched_dims + 1}D input "
                             f"(got {input.ndim}D input of shape {tuple(input.shape)})")
        channel_dim = input.ndim - self.unbatched_dims
        if input.shape[channel_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={channel_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[channel_dim]}.")
            warnings.warn(f"{name}: input's size at dim={channel_dim} does not match num_features. You can silence "
                          "this warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        unbatched = input.ndim == self.unbatched_dims
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or one (C, L)."""

    unbatched_dims = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or one (C, H, W) (style transfer, CycleGAN)."""

    unbatched_dims = 3
