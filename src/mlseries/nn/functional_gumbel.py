"""`gumbel_softmax`: differentiable samples from a categorical distribution (discrete VAEs,
architecture search): softmax((logits + Gumbel noise) / τ), or with hard=True a one-hot sample
whose gradient is the soft sample's (the straight-through estimator).

The noise is drawn from mlseries' generator (`manual_seed`), so samples differ from PyTorch's
for the same seed; the arithmetic given the noise is the same.
"""
import numpy as np

from .. import _functions as _fn
from .._tensor import Tensor
from ..random import _gen

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """logits (…, K) -> a sample on the simplex along `dim`; hard=True gives a one-hot vector
    whose backward is that of the soft sample."""
    if not isinstance(logits, Tensor) or logits._data.dtype.kind != "f":
        raise TypeError("gumbel_softmax: logits must be a floating-point tensor")
    d = _fn._dim1(dim, logits.ndim)
    # −log(E) with E ~ Exponential(1) is Gumbel(0, 1)
    e = _gen().exponential(size=logits._data.shape).astype(logits._data.dtype)
    gumbels = Tensor._make(-np.log(e))
    y_soft = _fn.softmax((logits + gumbels) / tau, d)
    if not hard:
        return y_soft
    index = np.argmax(y_soft._data, axis=d)
    y_hard = np.zeros_like(y_soft._data)
    np.put_along_axis(y_hard, np.expand_dims(index, d), 1.0, axis=d)
    return Tensor._make(y_hard) - y_soft.detach() + y_soft
