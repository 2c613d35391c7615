"""`mlseries.nn.functional` (imported as `F`): layers and losses as plain functions.

Everything is composed from the differentiable primitives in `_ops.py`, so gradients (and
second derivatives) come from there. Where a mask or a one-hot matrix does not depend on the
weights, it is built once with NumPy and enters the graph as a constant: one multiply instead
of a gather and a scatter.
"""
import warnings

import numpy as np

from .. import _functions as _fn
from .. import _ops
from .._ops_norm import Gelu as _Gelu
from .._tensor import ShapeError, Tensor
from ..random import _gen

# Re-exported primitives: F.sigmoid is mlseries.sigmoid, and so on.
sigmoid = _fn.sigmoid
tanh = _fn.tanh
pad = _fn.pad


def _const(array):
    return Tensor._make(array)


def _as_tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x
    return Tensor._make(np.asarray(x, dtype=dtype))


def _target(target, input):
    """A loss target as a Tensor of the input's dtype (a float64 or integer target beside a
    float32 model is cast, not an error)."""
    dt = input._data.dtype
    if isinstance(target, Tensor):
        return target if target._data.dtype == dt else target.type(dt)
    return Tensor._make(np.asarray(target, dtype=dt))


# ---- layers -------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """y = x Wᵀ + b in one fused node; x is (*, in_features), W is (out_features, in_features)."""
    if input._data.dtype != weight._data.dtype:
        raise TypeError(f"linear: the input is {input.dtype} but the weight is {weight.dtype}; "
                        f"convert the input (x.to({weight.dtype})) or the model (model.to({input.dtype}))")
    if bias is None:
        return _ops.Linear.apply(input, weight)
    return _ops.Linear.apply(input, weight, bias)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so nothing changes at evaluation time. The mask comes from the default generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    dt = input._data.dtype
    keep = _gen(None).random(input._data.shape, dtype=dt if dt in (np.float32, np.float64) else np.float64) >= p
    scale = keep.astype(dt)
    scale *= 1.0 / (1.0 - p)
    return input * _const(scale)


# ---- activations --------------------------------------------------------------------------------
def relu(input, inplace=False):
    """max(x, 0). `inplace` is accepted for PyTorch code; the result is always a new tensor."""
    return _fn.relu(input)


def gelu(input, approximate="none"):
    """x·Φ(x); 'tanh' is the approximation GPT-2 used. One fused node (see _ops_norm.py)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _Gelu.apply(input if input._data.dtype.kind == "f" else input.float(), approximate=approximate)


def silu(input, inplace=False):
    """x·sigmoid(x) (also called swish)."""
    return input * _fn.sigmoid(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    # One multiply by a constant slope mask: piecewise linear, so that is the exact derivative.
    slope = np.where(input._data > 0, 1.0, negative_slope).astype(input._data.dtype)
    return input * _const(slope)


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha·(eˣ − 1) otherwise. The exponential only sees min(x, 0), so it never
    overflows and the unused branch contributes an exact zero to the gradient."""
    negative = (_fn.exp(_fn.clamp(input, max=0.0)) - 1.0) * alpha
    return _ops.Where.apply(input, negative, cond=input._data > 0)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(βx))/β, and x itself where βx > threshold (as PyTorch, for stability)."""
    bx = input * beta if beta != 1 else input
    smooth = _fn.log1p(_fn.exp(_fn.clamp(bx, max=threshold)))
    if beta != 1:
        smooth = smooth * (1.0 / beta)
    return _ops.Where.apply(input, smooth, cond=bx._data > threshold)


def logsigmoid(input):
    return -softplus(-input)


def _softmax_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax is deprecated (as in PyTorch); "
                  "pass dim= explicitly (usually dim=-1 or dim=1)", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return _fn.softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return _fn.softmax(-input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.ndim)
    return _fn.log_softmax(input, dim, dtype=dtype)


def one_hot(tensor, num_classes=-1):
    """(*,) integer classes -> (*, num_classes) int64 rows of zeros with a one at the class."""
    t = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors (int64), got {t.dtype}")
    if num_classes == -1:
        if not t.size:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor; pass num_classes")
        num_classes = int(t.max()) + 1
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes - 1}], "
                         f"got values from {int(t.min())} to {int(t.max())}")
    return _const((t[..., None] == np.arange(num_classes)).astype(np.int64))


# ---- losses: helpers ----------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce flags, folded into `reduction`."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        warnings.warn("size_average and reduce are deprecated; use reduction='mean' | 'sum' | 'none'",
                      UserWarning, stacklevel=3)
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction (use 'mean', 'sum' or 'none')")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return _fn.mean(loss)
    if reduction == "sum":
        return _fn.sum(loss)
    return loss


def _scale(denominator):
    # 0/0 is NaN in PyTorch's mean when every target is ignored; Python would raise instead.
    return -1.0 / denominator if denominator != 0 else float("nan")


def _check_same_shape(name, input, target):
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{name}: target has shape {tuple(target.shape)} but input has shape "
                         f"{tuple(input.shape)}; they must be the same (e.g. target.view_as(input))")


def _warn_broadcast(name, input, target):
    if tuple(target.shape) != tuple(input.shape):
        try:
            shape = np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise ShapeError(f"{name}: target shape {tuple(target.shape)} does not match input shape "
                             f"{tuple(input.shape)} (nor broadcast to it)") from None
        warnings.warn(f"{name}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; "
                      f"both are broadcast to {shape}, which is rarely intended "
                      "(an (N,) target against an (N, 1) input gives (N, N))", UserWarning, stacklevel=3)


# ---- losses: classification ---------------------------------------------------------------------
def _class_targets(name, input, target, ignore_index):
    """Validate class-index targets: (N,) for input (N, C), (N, d1, ...) for (N, C, d1, ...),
    () for (C,). Returns the integer array."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be an integer tensor of shape {expected}, "
                        f"got {t.dtype} of shape {tuple(t.shape)} (use target.long(); for class "
                        f"probabilities pass a float tensor of the input's shape {tuple(input.shape)})")
    if t.shape != expected:
        hint = " (squeeze it: target.view(-1))" if t.shape == expected + (1,) else ""
        raise ValueError(f"{name}: target has shape {tuple(t.shape)} but input {tuple(input.shape)} "
                         f"expects {expected}{hint}")
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"{name}: target contains class {int(t[bad].flat[0])} but the input has "
                         f"{n_classes} classes (0..{n_classes - 1})")
    return t


def _nll(logp, t, weight, ignore_index, reduction, label_smoothing):
    """Negative log-likelihood of class indices `t` under log-probabilities `logp` (N, C, *).

    A constant coefficient matrix M (weight of the target class, minus the smoothing share,
    spread over the classes) turns the loss into sum(logp · M): one multiply and one sum,
    so the whole loss stays differentiable twice.
    """
    if logp.ndim == 1:  # a single sample (C,) with a 0-d target
        out = _nll(_fn.unsqueeze(logp, 0), t.reshape(1), weight, ignore_index, reduction, label_smoothing)
        return _fn.squeeze(out, 0) if reduction == "none" else out
    dt = logp._data.dtype
    n_classes = logp.shape[1]
    class_shape = (1, n_classes) + (1,) * (logp.ndim - 2)  # broadcasts a per-class vector over (N, C, *)
    valid = t != ignore_index
    safe_t = np.where(valid, t, 0)
    w = np.ones(n_classes, dt) if weight is None else _as_tensor(weight)._data.astype(dt)
    target_w = w[safe_t] * valid  # (N, *) weight of each sample's class, 0 where ignored
    coef = np.zeros(logp._data.shape, dt)
    np.put_along_axis(coef, safe_t[:, None], (target_w * (1.0 - label_smoothing))[:, None], axis=1)
    if label_smoothing:
        coef += (label_smoothing / n_classes) * w.reshape(class_shape) * valid[:, None]
    if reduction == "none":
        coef *= -1.0
        return _fn.sum(logp * _const(coef), 1)
    coef *= _scale(target_w.sum()) if reduction == "mean" else -1.0
    return _fn.sum(logp * _const(coef))


def _soft_target_loss(logp, target, weight, reduction, label_smoothing):
    """Cross-entropy against class probabilities (same shape as the input)."""
    class_dim = 1 if logp.ndim >= 2 else 0
    n_classes = logp.shape[class_dim]
    q = target
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        w = _as_tensor(weight)._data.astype(logp._data.dtype)
        q = q * _const(w.reshape((n_classes,) + (1,) * (logp.ndim - class_dim - 1)))
    per_sample = -_fn.sum(logp * q, class_dim)
    return _reduce(per_sample, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dimension (1, or 0 for a single sample) followed by the NLL.

    `target` holds class indices — shape (N,) for input (N, C), or (N, d1, ...) for
    (N, C, d1, ...) — or class probabilities with the input's own shape.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input._data.dtype.kind != "f":
        raise TypeError(f"cross_entropy: the input (logits) must be a float tensor, got {input.dtype}")
    target = _as_tensor(target)
    class_dim = 1 if input.ndim >= 2 else 0
    if target._data.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        logp = _ops.LogSoftmax.apply(input, dim=class_dim)
        return _soft_target_loss(logp, target.type(input._data.dtype), weight, reduction, label_smoothing)
    t = _class_targets("cross_entropy", input, target, ignore_index)
    logp = _ops.LogSoftmax.apply(input, dim=class_dim)
    return _nll(logp, t, weight, ignore_index, reduction, label_smoothing)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood: `input` already holds log-probabilities (after log_softmax)."""
    reduction = _reduction(size_average, reduce, reduction)
    t = _class_targets("nll_loss", input, _as_tensor(target), ignore_index)
    return _nll(input, t, weight, ignore_index, reduction, 0.0)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """−[y·log p + (1−y)·log(1−p)] for probabilities p; each log is floored at −100 as in PyTorch,
    so p = 0 or 1 gives a large finite loss instead of infinity (and a zero, not NaN, gradient)."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    x = input._data
    # written as "not inside" so that NaN, which fails every comparison, is refused too
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(apply sigmoid first, or use binary_cross_entropy_with_logits on the raw scores)")
    y = target._data
    if y.size and not ((y >= 0) & (y <= 1)).all():
        raise ValueError("binary_cross_entropy: all elements of target should be between 0 and 1 "
                         "(targets are probabilities: 0 and 1 for the two classes)")
    # Clamp the argument to the smallest positive number (no log(0), so no NaN gradient) and
    # the log to -100 (PyTorch's value at p = 0 or 1).
    tiny = float(np.nextafter(x.dtype.type(0), x.dtype.type(1)))
    log_p = _fn.clamp(_fn.log(_fn.clamp(input, min=tiny)), min=-100.0)
    log_q = _fn.clamp(_fn.log(_fn.clamp(1.0 - input, min=tiny)), min=-100.0)
    if target.requires_grad:
        loss = -(target * log_p + (1.0 - target) * log_q)
    else:
        y = target._data.astype(x.dtype, copy=False)
        loss = log_p * _const(-y) + log_q * _const(y - 1.0)
    if weight is not None:
        loss = loss * _as_tensor(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """BCE on raw scores x, in the stable form max(x, 0) − x·y + log(1 + e^(−|x|)).

    max(x, 0) and |x| are written as x times constant masks that count x = 0 as positive,
    so the derivative at exactly 0 is sigmoid(0) − y, as it should be (a model initialised
    with zeros — logistic regression — starts there). With `pos_weight` p the loss is
    (1 − y)·x + (1 + (p − 1)·y)·softplus(−x).
    """
    reduction = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    x = input._data
    nonneg = x >= 0
    sign = np.where(nonneg, 1.0, -1.0).astype(x.dtype)
    log_term = _fn.log1p(_fn.exp(input * _const(-sign)))  # log(1 + e^(−|x|))
    if pos_weight is None and not target.requires_grad:
        loss = input * _const(nonneg.astype(x.dtype) - target._data) + log_term
    else:
        softplus_neg = input * _const(-(~nonneg).astype(x.dtype)) + log_term  # softplus(−x)
        y = target
        scale = 1.0 if pos_weight is None else 1.0 + (_as_tensor(pos_weight) - 1.0) * y
        loss = (1.0 - y) * input + scale * softplus_neg
    if weight is not None:
        loss = loss * _as_tensor(weight)
    return _reduce(loss, reduction)


# ---- losses: regression -------------------------------------------------------------------------
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    _warn_broadcast("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    _warn_broadcast("l1_loss", input, target)
    return _reduce(_fn.abs(input - target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """½d² where |d| < delta, delta·(|d| − ½delta) beyond: quadratic near 0, linear far out."""
    reduction = _reduction(None, None, reduction)
    target = _target(target, input)
    _warn_broadcast("huber_loss", input, target)
    diff = input - target
    small = np.abs(diff._data) < delta
    loss = _ops.Where.apply(diff * diff * 0.5, (_fn.abs(diff) - 0.5 * delta) * delta, cond=small)
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Huber loss divided by beta: ½d²/beta where |d| < beta, |d| − ½beta beyond."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    _warn_broadcast("smooth_l1_loss", input, target)
    diff = input - target
    if beta == 0:
        return _reduce(_fn.abs(diff), reduction)
    small = np.abs(diff._data) < beta
    loss = _ops.Where.apply(diff * diff * (0.5 / beta), _fn.abs(diff) - 0.5 * beta, cond=small)
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(target ‖ exp(input)) summed pointwise: `input` holds log-probabilities.
    Use reduction='batchmean' for the true KL divergence per sample."""
    if reduction == "batchmean":
        red = "sum"
    else:
        red = _reduction(size_average, reduce, reduction)
    target = _target(target, input)
    if log_target:
        loss = _fn.exp(target) * (target - input)
    elif target.requires_grad:
        positive = target._data > 0
        safe = _ops.Where.apply(target, _const(np.ones((), target._data.dtype)), cond=positive)
        loss = target * _fn.log(safe) - target * input
    else:
        y = target._data
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0).astype(y.dtype)
        loss = _const(ylogy) - input * _const(y)
    out = _reduce(loss, red)
    if reduction == "batchmean" and input.ndim:
        out = out * (1.0 / input.shape[0])
    return out


# Image layers (convolution, pooling, batch norm, dropout2d, interpolate) live in their own file.
from .functional_conv import *  # noqa: E402,F401,F403
# Normalisation and attention (layer_norm, rms_norm, scaled_dot_product_attention, multi-head attention).
from .functional_attention import *  # noqa: E402,F401,F403
# Embedding lookups (embedding).
from .functional_sparse import *  # noqa: E402,F401,F403
# Part 3 layers: 1-D convolution and pooling, adaptive max pooling; unfold/fold and pixel shuffles;
# group/instance/local-response norm and normalize; more activations; bilinear, embedding bags,
# dropout variants and distances; more losses (CTC among them).
from .functional_conv1d import *  # noqa: E402,F401,F403
from .functional_fold import *  # noqa: E402,F401,F403
from .functional_norm import *  # noqa: E402,F401,F403
from .functional_activation import *  # noqa: E402,F401,F403
from .functional_extra import *  # noqa: E402,F401,F403
from .functional_loss_extra import *  # noqa: E402,F401,F403
from .functional_grid import *  # noqa: E402,F401,F403  (affine_grid, grid_sample)
from .functional_gumbel import *  # noqa: E402,F401,F403  (gumbel_softmax)
from .functional_conv3d import *  # noqa: E402,F401,F403  (conv3d, 3-D pools, dropout3d)
from .functional_unpool import *  # noqa: E402,F401,F403  (max_unpool*d, lp_pool*d, pdist)
from .functional_inplace import *  # noqa: E402,F401,F403  (relu_, leaky_relu_, ..., max_pool2d_with_indices)
