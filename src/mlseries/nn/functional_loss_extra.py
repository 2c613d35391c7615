"""More losses as functions (re-exported by `F`): margin and embedding losses (metric learning),
multi-label losses, Poisson and Gaussian negative log-likelihoods, and CTC (speech).

Each is composed from primitives, with PyTorch's formula and its choices at the kinks (a hinge
passes gradient only where it is strictly positive, as PyTorch's kernels do). CTC is one fused
node (`_ops_ctc.py`). Reductions and the deprecated size_average/reduce flags are functional's.
"""
import math

import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._distance import pairwise_distance
from .._ops_ctc import CTCLoss
from .._tensor import Tensor
from .functional import _as_tensor, _reduce, _reduction, _target

__all__ = ["cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
           "hinge_embedding_loss", "multi_margin_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss",
           "soft_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss"]


def _const(array):
    return Tensor._make(array)


def _labels(target):
    """The values of a label tensor (±1 or class numbers) as an array: constants, not differentiated."""
    return target._data if isinstance(target, Tensor) else np.asarray(target)


def _softplus(z):
    """log(1 + eᶻ) in the stable form max(z, 0) + log(1 + e^(−|z|)); max and |·| are z times
    constant masks counting 0 as positive, so the derivative is exactly sigmoid(z) (½ at 0)."""
    x = z._data
    nonneg = x >= 0
    sign = np.where(nonneg, 1.0, -1.0).astype(x.dtype)
    return z * _const(nonneg.astype(x.dtype)) + _fn.log1p(_fn.exp(z * _const(-sign)))


def _hinge(z):
    """max(z, 0) with no gradient at 0 (PyTorch's margin losses count only z > 0)."""
    return _fn.relu(z)


# ---- embedding and ranking losses ---------------------------------------------------------------
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 − cos(x1, x2) for pairs labelled 1, max(0, cos(x1, x2) − margin) for pairs labelled −1.
    Inputs (N, D) with targets (N,), or (D,) with a 0-d target."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _labels(target)
    if t.ndim not in (0, 1):
        raise ValueError(f"cosine_embedding_loss: 0D or 1D target tensor expected, multi-target not supported "
                         f"(got shape {tuple(t.shape)})")
    want = 2 if t.ndim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise ValueError(f"cosine_embedding_loss: a {t.ndim}D target tensor expects {want}D input tensors, but found "
                         f"inputs with sizes {tuple(input1.shape)} and {tuple(input2.shape)}")
    d = t.ndim
    eps = 1e-12  # keeps a zero vector's cosine finite, as in PyTorch
    prod = _fn.sum(input1 * input2, d)
    mag1 = _fn.sum(input1 * input1, d) + eps
    mag2 = _fn.sum(input2 * input2, d) + eps
    cos = prod / _fn.sqrt(mag1 * mag2)
    zero = _const(np.zeros((), cos._data.dtype))
    pos = _ops.Where.apply(1.0 - cos, zero, cond=t == 1)
    neg = _ops.Where.apply(_fn.clamp(cos - margin, min=0.0), zero, cond=t == -1)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, −y·(x1 − x2) + margin): x1 should rank above x2 where y = 1, below where y = −1."""
    reduction = _reduction(size_average, reduce, reduction)
    if not (input1.ndim == input2.ndim == (target.ndim if isinstance(target, Tensor) else np.ndim(target))):
        raise ValueError(f"margin_ranking_loss: all input tensors should have the same dimension but got sizes: "
                         f"input1: {tuple(input1.shape)}, input2: {tuple(input2.shape)}, target: "
                         f"{tuple(np.shape(_labels(target)))}")
    y = _target(target, input1)
    return _reduce(_fn.clamp(-y * (input1 - input2) + margin, min=0.0), reduction)


def _check_triplet_dims(name, anchor, positive, negative):
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise ValueError(f"{name}: the anchor, positive, and negative tensors are expected to have the same number of "
                         f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                         f"{negative.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) − d(a, n) + margin) with d the pairwise p-norm distance; with swap, d(a, n) is
    replaced by d(p, n) where that is smaller (Balntas et al., 2016)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_triplet_dims("triplet_margin_loss", anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _fn.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_fn.clamp((d_pos + margin) - d_neg, min=0.0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """The triplet loss with any distance function (pairwise_distance by default)."""
    reduction = _reduction(None, None, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater than 0, got {margin} "
                         "instead")
    _check_triplet_dims("triplet_margin_with_distance_loss", anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _fn.minimum(d_neg, dist(positive, negative))
    return _reduce(_fn.clamp((d_pos + margin) - d_neg, min=0.0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where the label is 1, max(0, margin − x) where it is −1 (x usually a distance)."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _labels(target)
    zero = _const(np.zeros((), input._data.dtype))
    margin_part = _ops.Where.apply(_fn.clamp(margin - input, min=0.0), zero, cond=t != 1)
    self_part = _ops.Where.apply(input, zero, cond=t != -1)
    return _reduce(margin_part + self_part, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(−y·x)) for labels y = ±1 (a two-class logistic loss)."""
    reduction = _reduction(size_average, reduce, reduction)
    return _reduce(_softplus(-_target(target, input) * input), reduction)


# ---- multi-class and multi-label margins -------------------------------------------------------
def _class_index(name, input, target):
    """(N, C) input and (N,) class targets; a single (C,) sample with a 0-d or (1,) target is
    made a batch of one. Returns the input, the targets and whether it was a single sample."""
    t = _labels(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: the target must hold class indices (an integer tensor), got {t.dtype}")
    single = input.ndim == 1
    x = _fn.unsqueeze(input, 0) if single else input
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 1-D (C,) or 2-D (N, C) input, got shape {tuple(input.shape)}")
    t = t.reshape(-1)
    if t.shape != (x.shape[0],):
        raise ValueError(f"{name}: the target of shape {tuple(_labels(target).shape)} does not match the input of "
                         f"shape {tuple(input.shape)} (expected {x.shape[0]} class indices)")
    c = x.shape[1]
    if t.size and (t.min() < 0 or t.max() >= c):
        raise IndexError(f"{name}: target contains class {int(t[(t < 0) | (t >= c)][0])} but the input has {c} "
                         f"classes (0..{c - 1})")
    return x, t.astype(np.int64), single


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Σ over wrong classes i of max(0, margin − x[y] + x[i])^p, divided by C (multi-class hinge)."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got p={p}")
    x, t, single = _class_index("multi_margin_loss", input, target)
    n, c = x.shape
    if weight is not None:
        weight = _as_tensor(weight)
        if weight.ndim != 1 or weight.shape[0] != c:
            raise ValueError(f"multi_margin_loss: weight must be one-dimensional with {c} elements (one per class), "
                             f"got shape {tuple(weight.shape)}")
    rows = np.arange(n)
    x_target = _ops.Gather.apply(x, dim=1, index=t[:, None])  # (N, 1)
    z = _hinge((margin - x_target) + x)  # (N, C); PyTorch's order, so z is exactly 0 where it is
    if p == 2:
        z = z * z
    coef = np.ones((n, c), x._data.dtype)
    coef[rows, t] = 0.0  # the target class itself does not count
    if weight is not None:
        coef *= weight._data.astype(coef.dtype)[t][:, None]
    loss = _fn.sum(z * _const(coef / c), 1)  # (N,)
    if single:
        loss = _fn.squeeze(loss, 0)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The mean over classes of the binary logistic loss of each class (targets 0 or 1)."""
    reduction = _reduction(size_average, reduce, reduction)
    y = _target(target, input)
    loss = y * _softplus(-input) + (1.0 - y) * _softplus(input)
    if weight is not None:
        loss = loss * _as_tensor(weight)
    class_dim = input.ndim - 1
    loss = _fn.sum(loss, class_dim) * (1.0 / input.shape[class_dim])
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Σ over target classes j and non-target classes i of max(0, 1 − (x[j] − x[i])), divided by C.
    Each row of `target` lists class indices and ends at the first −1 (the rest is ignored)."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _labels(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"multilabel_margin_loss: the target must be an integer tensor of class indices, got {t.dtype}")
    if t.shape != tuple(input.shape) or input.ndim not in (1, 2):
        raise ValueError(f"multilabel_margin_loss: expected a (C,) or (N, C) input and a target of the same shape, got "
                         f"input {tuple(input.shape)} and target {tuple(t.shape)}")
    single = input.ndim == 1
    x = _fn.unsqueeze(input, 0) if single else input
    t = t.reshape(x.shape).astype(np.int64)
    n, c = x.shape
    if t.size and (t.max() >= c or t.min() < -1):
        raise IndexError(f"multilabel_margin_loss: target values must be class indices in [0, {c - 1}] or -1 (the end "
                         "marker)")
    ended = np.cumsum(t < 0, axis=1) > 0
    listed = ~ended  # (N, C): the entries before each row's first −1
    is_target = np.zeros((n, c), bool)
    is_target[np.nonzero(listed)[0], t[listed]] = True
    safe = np.where(listed, t, 0)
    x_target = _ops.Gather.apply(x, dim=1, index=safe)  # (N, K=C): x at each listed target
    z = _hinge((1.0 - _fn.unsqueeze(x_target, 2)) + _fn.unsqueeze(x, 1))  # (N, K, C)
    coef = (listed[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype) * (1.0 / c)
    loss = _fn.sum(z * _const(coef), (1, 2))  # (N,)
    if single:
        loss = _fn.squeeze(loss, 0)
    return _reduce(loss, reduction)


# ---- likelihoods ----------------------------------------------------------------------------------
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of counts `target` under Poisson(λ): exp(x) − y·x for log-rates
    x (log_input), λ − y·log(λ + eps) for rates. `full` adds Stirling's log(y!) where y > 1."""
    reduction = _reduction(size_average, reduce, reduction)
    y = _target(target, input)
    if log_input:
        loss = _fn.exp(input) - y * input
    else:
        loss = input - y * _fn.log(input + eps)
    if full:
        v = y._data
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = np.where(v > 1, v * np.log(v) - v + 0.5 * np.log(2 * math.pi * v), 0.0).astype(v.dtype)
        if y.requires_grad:
            safe = _ops.Where.apply(y, _const(np.full((), 2.0, v.dtype)), cond=v > 1)
            term = safe * _fn.log(safe) - safe + _fn.log(safe * (2 * math.pi)) * 0.5
            loss = loss + _ops.Where.apply(term, _const(np.zeros((), v.dtype)), cond=v > 1)
        else:
            loss = loss + _const(stirling)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """½(log σ² + (x − y)²/σ²) (+ ½log 2π with `full`) for predicted means x and variances σ² =
    var: the same shape as the input, or one value per sample (the input's shape without its last
    dimension, or with a 1 in one place), or a float. As in PyTorch, var is floored at eps for the
    value only: the gradient flows as if it had not been."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not valid (use 'mean', 'sum' or 'none')")
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = _const(np.full(tuple(input.shape), float(var), input._data.dtype))
    var = _as_tensor(var)
    if (var._data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    in_shape, v_shape = tuple(input.shape), tuple(var.shape)
    if v_shape != in_shape:
        if in_shape[:-1] == v_shape:
            var = _fn.unsqueeze(var, -1)  # one variance per sample, shared by its last dimension
        elif not (len(in_shape) == len(v_shape)
                  and sum(v for i, v in zip(in_shape, v_shape) if i != v) == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size {v_shape} for an input of shape {in_shape} "
                             "(expected the input's shape, the input's shape without its last dimension, or with "
                             "one dimension of size 1)")
    floor = np.maximum(var._data, eps) - var._data
    if floor.any():
        var = var + _const(floor.astype(var._data.dtype))
    diff = input - _target(target, input)
    loss = (_fn.log(var) + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---- CTC ------------------------------------------------------------------------------------------
def _lengths(name, value, n):
    v = value._data if isinstance(value, Tensor) else np.asarray(value)
    if v.dtype.kind not in "iu" or v.ndim > 1:
        raise TypeError(f"ctc_loss: {name} must be integers, one per sample (a tensor or a list), got "
                        f"{v.dtype} of shape {tuple(v.shape)}")
    v = v.reshape(-1).astype(np.int64)
    if v.size != n:
        raise ValueError(f"ctc_loss: {name} must have one entry per sample ({n}), got {v.size}")
    if v.size and v.min() < 0:
        raise ValueError(f"ctc_loss: {name} must not be negative, got {v.tolist()}")
    return v


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification loss (see `_ops_ctc.py`).

    log_probs (T, N, C): log-softmax outputs over C classes (blank included) for N sequences of
    up to T frames, or (T, C) for one. targets: (N, S) padded label sequences, or all of them
    concatenated in one 1-D tensor. input_lengths, target_lengths: (N,) tensors or lists.
    reduction 'mean' divides each loss by its target length, then averages over the batch; 'sum'
    adds; 'none' gives (N,). zero_infinity replaces impossible alignments' loss (inf) and gradient
    by zeros."""
    reduction = _reduction(None, None, reduction)
    if not isinstance(log_probs, Tensor) or log_probs._data.dtype.kind != "f":
        raise TypeError("ctc_loss: log_probs must be a floating-point tensor (the output of log_softmax)")
    single = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}")
    lp = _fn.unsqueeze(log_probs, 1) if single else log_probs
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: blank must be a class index in [0, {C - 1}], got {blank}")
    il = _lengths("input_lengths", input_lengths, N)
    tl = _lengths("target_lengths", target_lengths, N)
    if il.size and il.max() > T:
        raise ValueError(f"ctc_loss: input_lengths must be at most the number of frames T={T}, got {il.tolist()}")
    tg = _labels(targets)
    if tg.dtype.kind == "f" and np.array_equal(tg, np.round(tg)):
        tg = tg.astype(np.int64)  # PyTorch accepts whole numbers stored as floats
    if tg.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: targets must hold class indices (integers), got {tg.dtype}")
    if single:
        tg = tg.reshape(1, -1)
    if tg.ndim == 2:
        if tg.shape[0] != N:
            raise ValueError(f"ctc_loss: padded targets must have one row per sample ({N}), got shape "
                             f"{tuple(tg.shape)}")
        if tl.size and tl.max() > tg.shape[1]:
            raise ValueError(f"ctc_loss: target_lengths {tl.tolist()} exceed the padded targets' length "
                             f"{tg.shape[1]}")
        padded = tg.astype(np.int64)
    elif tg.ndim == 1:
        if tl.sum() != tg.size:
            raise ValueError(f"ctc_loss: concatenated targets hold {tg.size} labels but target_lengths add up to "
                             f"{int(tl.sum())}")
        padded = np.full((N, int(tl.max()) if N else 0), blank, np.int64)
        ends = np.cumsum(tl)
        for n in range(N):
            padded[n, :tl[n]] = tg[ends[n] - tl[n]:ends[n]]
    else:
        raise ValueError(f"ctc_loss: targets must be (N, S) or 1-D, got shape {tuple(tg.shape)}")
    used = np.arange(padded.shape[1])[None, :] < tl[:, None]
    if used.any():
        labels = padded[used]
        if labels.min() < 0 or labels.max() >= C:
            raise IndexError(f"ctc_loss: targets contain class {int(labels[(labels < 0) | (labels >= C)][0])} but "
                             f"log_probs has {C} classes (0..{C - 1})")
    padded = np.where(used, padded, blank)
    nll = CTCLoss.apply(lp, targets=padded, input_lengths=il, target_lengths=tl, blank=int(blank),
                        zero_infinity=bool(zero_infinity))  # (N,)
    if reduction == "mean":
        return _fn.mean(nll * _const((1.0 / np.maximum(tl, 1)).astype(nll._data.dtype)))
    if reduction == "sum":
        return _fn.sum(nll)
    return _fn.squeeze(nll, 0) if single else nll
