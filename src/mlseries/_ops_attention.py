"""Scaled dot-product attention as one fused graph node.

softmax(q·kᵀ·scale + mask)·v is two batched matrix products around a softmax. Written with
Tensor operations it is six to eight graph nodes (matmul, scale, mask, softmax, dropout,
matmul), each keeping its own (…, L, S) array for the backward pass; as one node the forward
keeps only the attention weights P, and the backward is four batched matrix products and the
softmax's closed form:

    dV = Pᵀ·dO      dP = dO·Vᵀ      dS = P ⊙ (dP − rowsum(dP ⊙ P))      dQ = dS·K·scale      dK = dSᵀ·Q·scale

Masks. A boolean mask (`masked_out`, True where a score is dropped) is applied by writing −∞
into the scores; a float mask is an input of the node (so it can have a gradient) and is added.
A row whose every score is masked gives zeros, forward and backward, as PyTorch's
scaled_dot_product_attention does (a plain softmax would give NaN).
"""
import numpy as np

from . import _functions as _fn
from ._ops import Where
from ._tensor import FusedFunction, Tensor


def _sum_to(a, shape):
    """Sum an array back to `shape` after broadcasting (batch dimensions of q, k, v, mask)."""
    if a.shape == tuple(shape):
        return a
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and a.shape[i + lead] != 1)
    return a.sum(axis=axes, keepdims=True).reshape(shape)


def _swap(a):
    return np.swapaxes(a, -1, -2)


class ScaledDotProductAttention(FusedFunction):
    """Inputs q (…, L, E), k (…, S, E), v (…, S, Ev) and optionally an additive float mask
    broadcastable to (…, L, S). Parameters: `scale`, `masked_out` (a boolean array broadcastable
    to (…, L, S), True where a score is dropped, or None) and `keep` (the dropout multiplier,
    0 or 1/(1−p) per weight, or None)."""

    def compute(self, q, k, v, *mask, scale, masked_out=None, keep=None, empty_rows=None):
        s = np.matmul(q, _swap(k))  # (…, L, S)
        s *= scale
        if mask:
            s += mask[0]
        if masked_out is not None:
            np.copyto(s, -np.inf, where=masked_out)
        m = s.max(axis=-1, keepdims=True)  # (…, L, 1)
        if mask or masked_out is not None:
            # A fully masked row has max −∞: shift it by 0 instead, so that it becomes zeros.
            empty = np.isneginf(m)
            if empty.any():
                m[empty] = 0
                self.params["empty_rows"] = empty
        s -= m
        p = np.exp(s, out=s)
        total = p.sum(axis=-1, keepdims=True)
        if self.params.get("empty_rows") is not None:
            total[self.params["empty_rows"]] = 1
        p /= total  # (…, L, S) attention weights
        self.p = p
        return np.matmul(p * keep if keep is not None else p, v)  # (…, L, Ev)

    def backward_arrays(self, g):
        q, k, v = (t._data for t in self.inputs[:3])
        needs = self.needs_input_grad
        p, keep, scale = self.p, self.params.get("keep"), self.params["scale"]
        pd = p * keep if keep is not None else p
        gv = _sum_to(np.matmul(_swap(pd), g), v.shape) if needs[2] else None  # (…, S, Ev)
        if not (needs[0] or needs[1] or (len(needs) > 3 and needs[3])):
            return None, None, gv
        gs = np.matmul(g, _swap(v))  # (…, L, S): gradient of the dropped-out weights
        if keep is not None:
            gs *= keep
        row = np.einsum("...ij,...ij->...i", gs, p)[..., None]  # (…, L, 1)
        gs -= row
        gs *= p  # gradient of the scores
        gmask = _sum_to(gs, self.inputs[3]._data.shape) if len(needs) > 3 and needs[3] else None
        if gmask is not None and gmask is gs:
            gmask = gs.copy()
        gs *= scale
        gq = _sum_to(np.matmul(gs, k), q.shape) if needs[0] else None  # (…, L, E)
        gk = _sum_to(np.matmul(_swap(gs), q), k.shape) if needs[1] else None  # (…, S, E)
        return (gq, gk, gv) if len(needs) == 3 else (gq, gk, gv, gmask)

    @staticmethod
    def composite(q, k, v, *mask, scale, masked_out=None, keep=None, empty_rows=None):
        s = _fn.matmul(q, k.mT) * scale
        if mask:
            s = s + mask[0]
        # Conditions are broadcast to the scores' full shape first: `Where` then never has to
        # widen its output beyond its condition.
        if masked_out is not None:
            s = Where.apply(Tensor._make(np.array(-np.inf, s._data.dtype)), s,
                            cond=np.broadcast_to(masked_out, s._data.shape))
        if empty_rows is not None:
            empty_rows = np.broadcast_to(empty_rows, s._data.shape)
            s = Where.apply(Tensor._make(np.zeros((), s._data.dtype)), s, cond=empty_rows)
        p = _fn.softmax(s, -1)
        if empty_rows is not None:
            p = Where.apply(Tensor._make(np.zeros((), p._data.dtype)), p, cond=empty_rows)
        if keep is not None:
            p = p * Tensor._make(keep)
        return _fn.matmul(p, v)
