"""Whether operations record a graph: `no_grad()`, `enable_grad()`, `set_grad_enabled(mode)`.

A module-level flag, like DeZero's Config.enable_backprop. Each context manager restores the
previous value on exit, so they nest.
"""
import functools

_enabled = [True]


def is_grad_enabled():
    return _enabled[0]


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, a context manager or a decorator."""

    def __init__(self, mode):
        self.prev = _enabled[0]
        self.mode = bool(mode)
        _enabled[0] = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False


class _GradModeContext:
    mode = True

    def __enter__(self):
        self.prev = _enabled[0]
        _enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Operations inside record no graph: for evaluation and for updating weights."""
    mode = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a `no_grad` block (used by `autograd.grad(create_graph=True)`)."""
    mode = True
