"""Connectionist temporal classification (Graves et al., 2006): the loss of a whole label
sequence summed over every frame alignment, as one graph node.

The label sequence l (length S) is extended with blanks, l' = (b, l1, b, l2, ..., lS, b), of
length 2S + 1. α_t(s) is the log-probability of having emitted l'[:s+1] after frames 0..t; a
state can come from itself, from the state before, or skip a blank from two before (when the
labels on both sides of it differ). β is the same from the end; α_t(s) + β_t(s) − log y_t(l'_s)
is the log-probability of every alignment that passes state s at frame t. All of it is in log
space, in float64, one Python step per frame with the batch and the states vectorised.

β is computed as the α of the problem reversed in time and in states (each sample within its
own lengths): the skip rule is symmetric, so one forward recursion serves both directions.

The gradient is PyTorch's: with respect to log_probs it is exp(log_probs) − (the posterior of
each class at each frame), the gradient of the loss with respect to the *logits* when log_probs
= log_softmax(logits) (the exp term then vanishes through log_softmax's backward). Frames past
a sample's input length get zero; zero_infinity zeroes impossible samples' loss and gradient.
Like PyTorch, the loss is differentiable once (no second derivatives).
"""
import numpy as np

from ._tensor import Function, Tensor


def _forward_log_alpha(lpe, skip):
    """α (T, N, L) from lpe (T, N, L): the log-probability of each extended label at each frame
    (−inf for states past a sample's label sequence), and skip (N, L): where s−2 → s is allowed."""
    T, N, L = lpe.shape
    alpha = np.full((T, N, L), -np.inf)
    alpha[0, :, :2] = lpe[0, :, :2]
    from_prev = np.full((N, L), -np.inf)
    from_skip = np.full((N, L), -np.inf)
    skip_from = skip[:, 2:]
    for t in range(1, T):
        a = alpha[t - 1]
        from_prev[:, 1:] = a[:, :-1]
        if L > 2:
            np.copyto(from_skip[:, 2:], np.where(skip_from, a[:, :-2], -np.inf))
        out = alpha[t]
        np.logaddexp(a, from_prev, out=out)
        np.logaddexp(out, from_skip, out=out)
        out += lpe[t]
    return alpha


def _skip_mask(ext, valid):
    """Where state s may be entered from s − 2, skipping the blank between: where l'_s differs
    from l'_(s−2). Never for a blank state (both blanks), never between two equal labels; a
    target label equal to the blank is treated like any other label, as PyTorch does."""
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return skip & valid


def _log_likelihood(alpha, input_lengths, target_lengths):
    """log p(l | x) per sample: α at the last frame, in the final blank or the last label."""
    N = alpha.shape[1]
    ll = np.full(N, -np.inf)
    for n in range(N):
        t, s = int(input_lengths[n]), 2 * int(target_lengths[n])
        if t == 0:
            ll[n] = 0.0 if s == 0 else -np.inf
            continue
        ll[n] = alpha[t - 1, n, s] if s == 0 else np.logaddexp(alpha[t - 1, n, s], alpha[t - 1, n, s - 1])
    return ll


class CTCLoss(Function):
    """Per-sample negative log-likelihoods (N,) of log_probs (T, N, C) and padded targets (N, S)."""

    def forward(self, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        T, N, C = log_probs.shape
        S = targets.shape[1]
        L = 2 * S + 1
        lp = log_probs.astype(np.float64, copy=False)
        ext = np.full((N, L), blank, np.int64)  # the extended label sequences (N, L)
        ext[:, 1::2] = targets
        valid = np.arange(L)[None, :] < (2 * target_lengths + 1)[:, None]  # (N, L)
        ext = np.where(valid, ext, blank)
        rows = np.arange(N)
        lpe = lp[:, rows[:, None], ext]  # (T, N, L)
        lpe[:, ~valid] = -np.inf
        alpha = _forward_log_alpha(lpe, _skip_mask(ext, valid))
        nll = -_log_likelihood(alpha, input_lengths, target_lengths)
        impossible = np.isinf(nll)
        if zero_infinity:
            nll[impossible] = 0.0
        self.saved = (lp, lpe, ext, valid, alpha, nll, impossible, input_lengths, target_lengths, blank, zero_infinity)
        return nll.astype(log_probs.dtype)

    def _gradient(self):
        """d nll[n] / d log_probs[:, n] for every sample: (T, N, C), float64."""
        lp, lpe, ext, valid, alpha, nll, impossible, il, tl, blank, zero_infinity = self.saved
        T, N, C = lp.shape
        L = ext.shape[1]
        # β: α of each sample reversed in time (within its input length) and in states.
        t_rev = il[None, :] - 1 - np.arange(T)[:, None]  # (T, N)
        s_rev = (2 * tl + 1)[:, None] - 1 - np.arange(L)[None, :]  # (N, L)
        t_ok, s_ok = t_rev >= 0, s_rev >= 0
        tt = np.maximum(t_rev, 0)[:, :, None]
        nn_ = np.arange(N)[None, :, None]
        ss = np.maximum(s_rev, 0)[None, :, :]
        lpe_rev = lpe[tt, nn_, ss]
        lpe_rev[~(t_ok[:, :, None] & s_ok[None])] = -np.inf
        ext_rev = np.where(s_ok, np.take_along_axis(ext, np.maximum(s_rev, 0), axis=1), blank)
        alpha_rev = _forward_log_alpha(lpe_rev, _skip_mask(ext_rev, s_ok))
        beta = alpha_rev[tt, nn_, ss]
        inside = t_ok[:, :, None] & valid[None]  # (T, N, L): frames and states that exist
        log_ab = np.where(inside, alpha + beta, -np.inf)  # α·β, which counts y_t(l'_s) twice
        # Σ over the states of each class, in log space: shift by the largest term per frame.
        top = log_ab.max(axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        flat = ((np.arange(T)[:, None, None] * N + np.arange(N)[None, :, None]) * C + ext[None]).reshape(-1)
        summed = np.bincount(flat, weights=np.exp(log_ab - top).reshape(-1), minlength=T * N * C)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_class = np.log(summed.reshape(T, N, C)) + top
            grad = np.exp(lp) - np.exp(log_class + nll[None, :, None] - lp)
        grad[~t_ok] = 0.0  # frames past the input length
        if zero_infinity:
            grad[:, impossible] = 0.0
        return grad

    def backward(self, g):
        grad = self._gradient()
        return (CTCLossGrad.apply(g, self.inputs[0], grad=grad),)


class CTCLossGrad(Function):
    """g (N,) times the CTC gradient (T, N, C). Linear in g, so differentiable with respect to g;
    its derivative with respect to log_probs (a second derivative of the loss) is not
    implemented, as in PyTorch, and asking for it is an error rather than a silent zero."""

    uses_input_values = False

    def forward(self, g, log_probs, grad):
        self.grad = grad
        return (g[None, :, None] * grad).astype(log_probs.dtype, copy=False)

    def backward(self, gg):
        if self.needs_input_grad[1]:
            raise NotImplementedError("ctc_loss: the derivative of its gradient (a second derivative) is not "
                                      "implemented (PyTorch does not implement it either)")
        if not self.needs_input_grad[0]:
            return None, None
        w = Tensor._make(self.grad.astype(gg._data.dtype))
        return (gg * w).sum((0, 2)), None

