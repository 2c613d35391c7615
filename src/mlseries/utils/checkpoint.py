"""`torch.utils.checkpoint`: activation checkpointing, with PyTorch's signatures.

PyTorch's checkpoint throws away a segment's activations after the forward pass and recomputes
them during backward, trading compute for memory on large GPU models. On this CPU engine the
trade is not worth making for the models it trains, so `checkpoint(fn, *args)` simply runs
`fn(*args)` and keeps its graph: the outputs and the gradients are exactly those of the
recomputing version (which computes the same function twice), only the memory use differs.
Code written for PyTorch (`checkpoint(block, x, use_reentrant=False)`) runs unchanged.
"""
import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default", debug=False,
               preserve_rng_state=True, **kwargs):
    """function(*args, **kwargs), with the gradients of an ordinary call (no recomputation here:
    see the module's note). use_reentrant unset warns as PyTorch does."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Refer to "
                      "docs for more details on the differences between the two variants.", UserWarning,
                      stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or a list of modules) on `input` in `segments` parts, as PyTorch's
    checkpoint_sequential; each part is a checkpoint (here: an ordinary call)."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
                      "explicitly.", UserWarning, stacklevel=2)
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    for f in functions:
        input = f(input)
    return input
