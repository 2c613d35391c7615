"""`CyclicLR` (Smith, 2017: the lr goes back and forth between two bounds) and `ChainedScheduler`
(step several schedulers together); re-exported by `optim.lr_scheduler`."""
import math

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _per_group, load_nested_state_dict, nested_state_dict
from .optimizer import Optimizer


class CyclicLR(LRScheduler):
    """Step once per batch. The lr rises linearly from base_lr to max_lr over `step_size_up`
    steps and falls back over `step_size_down`; the height of each cycle is scaled by
    'triangular' (1), 'triangular2' (halved every cycle), 'exp_range' (gamma^step) or a custom
    `scale_fn` applied to the cycle number or the step ('cycle' / 'iterations' scale_mode).
    With cycle_momentum, momentum (or Adam's β1) moves the opposite way, between
    max_momentum and base_momentum."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None: use 'triangular', 'triangular2', 'exp_range' "
                             "or pass scale_fn")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else \
            ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for hi, lo, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    self._set_momentum(group, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma ** x
        return 1.0

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle     # position in the cycle, in [0, 1)
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [lo + (hi - lo) * rise * scale for lo, hi in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, hi - (hi - lo) * rise * scale)
        return lrs

    def state_dict(self):
        # a custom scale_fn is code, not data: it is left out, and kept by load_state_dict
        state = super().state_dict()
        state["_scale_fn_custom"] = None
        return state

    def load_state_dict(self, state_dict):
        fn = self._scale_fn_custom
        self.__dict__.update({k: v for k, v in state_dict.items() if k != "_scale_fn_custom"})
        self._scale_fn_custom = fn


class ChainedScheduler(LRScheduler):
    """Step every scheduler in `schedulers`, in order, at each step() (their effects multiply,
    e.g. ConstantLR warm-up with ExponentialLR decay)."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if not hasattr(s, "optimizer"):
                raise TypeError(f"ChainedScheduler at index {i} should have `optimizer` as its attribute.")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError("ChainedScheduler does not support `ReduceLROnPlateau` scheduler as it requires "
                                 f"additional kwargs to be specified when calling `step`, but got one at index {i} "
                                 "in the given schedulers sequence.")
            if s.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler expects all schedulers to belong to the same optimizer, but got "
                                 f"scheduler {type(s).__name__} at index {i} with a different optimizer.")
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current_lrs()

    def state_dict(self):
        return nested_state_dict(self)

    def load_state_dict(self, state_dict):
        load_nested_state_dict(self, state_dict)
