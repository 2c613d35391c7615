"""Whether operations record a graph: `no_grad()`, `enable_grad()`, `set_grad_enabled(mode)`,
`inference_mode()`.

A module-level flag, like DeZero's Config.enable_backprop. Each context manager restores the
previous value on exit, so they nest. Each also works as a decorator, with or without
parentheses (`@no_grad` and `@no_grad()`), as in PyTorch.
"""
import functools
import inspect

_enabled = [True]
_inference = [False]
# Anomaly detection (autograd.detect_anomaly): [enabled, check_nan]. Read where nodes are made
# (to keep the forward stack) and in the backward pass (to check each node's gradients).
_anomaly = [False, True]


def is_grad_enabled():
    return _enabled[0]


def is_inference_mode_enabled():
    return _inference[0]


def _decorate(make_context, fn):
    """`fn` run under a fresh context from `make_context()`; a generator function gets the mode
    around each of its resumptions, not just around its creation."""
    if not callable(fn):
        raise TypeError(f"expected a function to decorate, got {type(fn).__name__}")
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            value = None
            while True:
                with make_context():
                    try:
                        item = gen.send(value)
                    except StopIteration as stop:
                        return stop.value
                try:
                    value = yield item
                except GeneratorExit:
                    gen.close()
                    raise
        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_context():
            return fn(*args, **kwargs)
    return wrapper


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

    def __call__(self, fn):
        # Used as `@set_grad_enabled(False)`: the constructor already switched the mode, which
        # must not outlive the decoration itself.
        _enabled[0] = self.prev
        mode = self.mode
        return _decorate(lambda: set_grad_enabled(mode), fn)


class _GradModeContext:
    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        return _decorate(cls, func)  # `@no_grad` without parentheses

    def __enter__(self):
        self.prev = _enabled[0]
        _enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False

    def __call__(self, fn):
        return _decorate(type(self), fn)


class no_grad(_GradModeContext):
    """Operations inside record no graph: for evaluation and for updating weights."""
    mode = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a `no_grad` block (used by `autograd.grad(create_graph=True)`)."""
    mode = True


class inference_mode:
    """`no_grad` for code that only evaluates; `inference_mode(False)` turns recording on.

    PyTorch also marks tensors made inside as "inference tensors" that autograd later refuses;
    mlseries does not, so such tensors can be used in a graph afterwards (a superset of what
    PyTorch allows).
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return _decorate(cls, mode)  # `@inference_mode` without parentheses
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = (_enabled[0], _inference[0])
        _enabled[0] = not self.mode
        _inference[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0], _inference[0] = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), fn)

    def clone(self):
        return inference_mode(self.mode)
