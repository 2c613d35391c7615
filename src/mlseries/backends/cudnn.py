"""`torch.backends.cudnn`: no cuDNN here; the flags can be set and change nothing."""
enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None


def is_acceptable(tensor):
    return False


class flags:
    """`with torch.backends.cudnn.flags(enabled=False):` sets the flags for the block."""

    def __init__(self, enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
        self._new = dict(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
                         deterministic=deterministic, allow_tf32=allow_tf32)

    def __enter__(self):
        module = globals()
        self._old = {k: module[k] for k in self._new}
        module.update(self._new)
        return self

    def __exit__(self, *exc):
        globals().update(self._old)
        return False
