"""PyTorch's `torch.autograd.Function`: a user's own operation with a hand-written derivative.

    class Quantise(mlseries.autograd.Function):     # rounding, with a straight-through gradient
        @staticmethod
        def forward(ctx, x, step):
            return (x / step).round() * step

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None                # none for `step`, which is not a Tensor

    y = Quantise.apply(x, 0.1)

As in PyTorch: `forward(ctx, *args)` runs with gradients off on Tensors and returns a Tensor or a
tuple of them; `backward(ctx, *grad_outputs)` returns one gradient (or None) per argument of
forward; `ctx.save_for_backward(*tensors)` / `ctx.saved_tensors` (refused if a saved tensor was
changed in place since), `ctx.needs_input_grad`, `ctx.mark_non_differentiable(*outputs)`,
`ctx.set_materialize_grads(False)`, and the newer form with `setup_context(ctx, inputs, output)`
beside a `forward(*args)` without ctx. Under `create_graph=True` backward's Tensor operations are
recorded, so a custom operation has second derivatives when its backward is differentiable.

Inside the engine the call becomes one graph node (`_CustomNode`) whose inputs are the Tensor
arguments. Several differentiable outputs travel through that node as one flat array, and each
output is a slice of it: a backward pass that uses only some outputs gives the others zero
gradient, as PyTorch's materialised gradients do.

What differs from PyTorch: `mark_dirty` is accepted but the input keeps its own history (forward
must not edit a tensor that requires grad, which PyTorch also refuses for leaves); with several
outputs, an output is a copy, so editing it in place is not seen by `saved_tensors`.
"""
import numpy as np

from ._grad_mode import _enabled, no_grad
from ._tensor import Function as _Node
from ._tensor import Tensor, _share_version


class FunctionCtx:
    """What forward leaves for backward (PyTorch's `ctx`). Any other attribute may be set on it
    (`ctx.alpha = alpha`) to keep non-tensor values."""

    def __init__(self, needs_input_grad=()):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved, self._versions = (), ()
        self._non_differentiable = set()
        self.dirty_tensors = ()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, but argument {i} is a "
                                f"{type(t).__name__}: keep other values as attributes (ctx.value = value)")
        self._saved = tensors
        self._versions = tuple(None if t is None else t._vc[0] for t in tensors)

    @property
    def saved_tensors(self):
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if t is not None and t._vc[0] != v:
                raise RuntimeError(f"one of the variables needed for gradient computation has been modified by "
                                   f"an inplace operation: saved tensor {i} of shape {list(t.shape)} is at version "
                                   f"{t._vc[0]}; expected version {v} instead. Clone it before changing it.")
        return tuple(self._saved)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self.dirty_tensors = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Function:
    """Base class of an operation with a hand-written derivative (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a custom Function must define forward(ctx, *args) as a @staticmethod")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError  # only the newer form (forward without ctx) defines it

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a custom Function must define backward(ctx, *grad_outputs) as a "
                                  "@staticmethod to be differentiated")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("forward-mode differentiation (jvp) is not supported: mlseries has "
                                  "reverse mode only")

    @classmethod
    def apply(cls, *args, **kwargs):
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        new_style = cls.setup_context is not Function.setup_context
        with no_grad():
            result = cls.forward(*args, **kwargs) if new_style else cls.forward(ctx, *args, **kwargs)
            if new_style:
                cls.setup_context(ctx, args, result)
        if not (_enabled[0] and True in needs):
            return result
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        # the outputs that get a gradient: floating-point Tensors not marked non-differentiable
        live = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o._data.dtype.kind in "fc"
                and id(o) not in ctx._non_differentiable]
        if not live:
            return result
        tensors = [a for a in args if isinstance(a, Tensor)]
        layout = [(i, outputs[i]._data.shape, outputs[i]._data.dtype) for i in live]
        if len(live) == 1:
            flat = outputs[live[0]]._data
        else:
            kind = np.result_type(*[outputs[i]._data.dtype for i in live])
            flat = np.concatenate([outputs[i]._data.astype(kind, copy=False).reshape(-1) for i in live])
        node_out = _CustomNode.apply(*tensors, result=flat, ctx=ctx, function=cls, args=args, outputs=outputs,
                                     layout=layout)
        new = list(outputs)
        if len(live) == 1:
            i = live[0]
            # the same memory as what forward returned (an input itself, or a view of one): share its
            # version counter, so an in-place edit of either is seen by every saved tensor
            _share_version(node_out, outputs[i])
            new[i] = node_out
        else:
            start = 0
            for i, shape, dtype in layout:
                size = int(np.prod(shape, dtype=np.int64))
                piece = node_out[start:start + size].reshape(shape)
                new[i] = piece if piece.dtype == dtype else piece.to(dtype)
                start += size
        return new[0] if single else tuple(new)


class _CustomNode(_Node):
    """The graph node of one call of a custom Function: its inputs are the call's Tensor arguments."""

    __slots__ = ("cls",)  # outlives the backward pass, which clears the rest: grad_fn's name stays
    uses_input_values = False  # ctx.saved_tensors checks the versions of what backward really reads

    def forward(self, *arrays, result, ctx, function, args, outputs, layout):
        self.ctx, self.cls, self.args, self.outputs, self.layout = ctx, function, args, outputs, layout
        return result

    @property
    def name(self):
        return self.cls.__name__

    def __repr__(self):
        return f"<{self.cls.__name__}Backward>"

    def _output_grads(self, grad):
        """One gradient per output of forward: the slice of the flat gradient, zeros (or None with
        set_materialize_grads(False)) for an output without one, None for a non-tensor."""
        grads = [None] * len(self.outputs)
        for j, o in enumerate(self.outputs):
            if isinstance(o, Tensor) and self.ctx.materialize_grads:
                grads[j] = Tensor._make(np.zeros(o._data.shape, o._data.dtype))
        if len(self.layout) == 1:
            grads[self.layout[0][0]] = grad
            return grads
        start = 0
        for i, shape, dtype in self.layout:
            size = int(np.prod(shape, dtype=np.int64))
            piece = grad[start:start + size].reshape(shape)
            grads[i] = piece if piece.dtype == dtype else piece.to(dtype)
            start += size
        return grads

    def backward(self, grad):
        name = self.cls.__name__
        got = self.cls.backward(self.ctx, *self._output_grads(grad))
        got = got if isinstance(got, tuple) else (got,)
        n = len(self.args)
        if len(got) < n or any(g is not None for g in got[n:]):
            raise RuntimeError(f"function {name}Backward returned an incorrect number of gradients "
                               f"(expected {n}, got {len(got)}): one per argument of forward, None for "
                               "those that need none")
        out = []
        for i, (a, g) in enumerate(zip(self.args, got)):
            if not isinstance(a, Tensor):
                continue
            if g is not None:
                if not isinstance(g, Tensor):
                    raise TypeError(f"function {name}Backward returned a {type(g).__name__} as the gradient "
                                    f"at index {i}; gradients must be Tensors or None")
                if tuple(g.shape) != tuple(a.shape):
                    try:
                        np.broadcast_shapes(tuple(g.shape), tuple(a.shape))
                        fits = np.broadcast_shapes(tuple(g.shape), tuple(a.shape)) == tuple(g.shape)
                    except ValueError:
                        fits = False
                    if not fits:
                        raise RuntimeError(f"Function {name}Backward returned an invalid gradient at index {i} "
                                           f"- got {list(g.shape)} but expected shape compatible with "
                                           f"{list(a.shape)}")
                    from ._ops import sum_to
                    g = sum_to(g, tuple(a.shape))
                if g.dtype != a.dtype:
                    g = g.to(a.dtype)
            out.append(g)
        return tuple(out)
