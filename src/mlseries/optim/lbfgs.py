"""L-BFGS: a quasi-Newton method that re-evaluates the loss several times per `step(closure)`.

The curvature is remembered as the last `history_size` pairs (s, y) of parameter and gradient
changes; the search direction −H·g comes from the two-loop recursion (Nocedal & Wright,
Algorithm 7.4), with H₀ = (sᵀy / yᵀy)·I. The step length is `lr`, or is chosen by a line search
satisfying the strong Wolfe conditions (Algorithms 3.5 and 3.6: bracketing, then zooming with
safeguarded cubic interpolation). All parameters are treated as one flat vector, so only one
parameter group is allowed, and the whole history lives in the state of the first parameter,
under PyTorch's names (func_evals, n_iter, d, t, old_dirs, old_stps, ro, H_diag,
prev_flat_grad, prev_loss, al), so a saved optimizer resumes where it stopped.
"""
import math

import numpy as np

from .._grad_mode import enable_grad
from .._tensor import Tensor
from .optimizer import Optimizer


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped
    to `bounds` (default: the interval between x1 and x2); the interval's middle when the cubic
    has no minimum (N&W eq. 3.59)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 > x2:  # write the formula with a < b
        x1, f1, g1, x2, f2, g2 = x2, f2, g2, x1, f1, g1
    x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d with f(t) ≤ f + c1·t·gtd (sufficient decrease) and
    |f'(t)| ≤ c2·|gtd| (curvature). `evaluate(t)` returns (loss, flat gradient) at x + t·d.
    Returns (loss, gradient, t, number of evaluations)."""
    d_scale = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new @ d)
    # phase 1: grow t until [t_prev, t] brackets an acceptable point (or t itself is one)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    found = False
    it = 0
    bracket = None
    while it < max_ls:
        too_high = f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev)
        if not too_high and abs(gtd_new) <= -c2 * gtd:
            bracket = [[t, f_new, g_new, gtd_new]]
            found = True
            break
        if too_high or gtd_new >= 0:  # a minimum lies between t_prev and t
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        # extrapolate: at least 1% beyond t, at most 10·t
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if it == max_ls:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]

    # phase 2: shrink the bracket; `low` is the end with the smaller loss
    low = 0 if bracket[0][1] <= bracket[-1][1] else 1
    stalled = False
    while not found and it < max_ls:
        a, b = bracket[0][0], bracket[1][0]
        if abs(b - a) * d_scale < tolerance_change:
            break
        t = _cubic_minimum(a, bracket[0][1], bracket[0][3], b, bracket[1][1], bracket[1][3])
        lo, hi = min(a, b), max(a, b)
        margin = 0.1 * (hi - lo)
        # keep t away from the ends, so the bracket shrinks by a fair fraction each time
        if min(hi - t, t - lo) < margin:
            if stalled or t >= hi or t <= lo:
                t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        high = 1 - low
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
        else:
            if abs(gtd_new) <= -c2 * gtd:
                found = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new, gtd_new]
        low = 0 if bracket[0][1] <= bracket[1][1] else 1
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """PyTorch's L-BFGS. `step(closure)` needs a closure that zeroes the gradients, computes the
    loss, calls backward and returns the loss; it runs up to `max_iter` iterations (and
    `max_eval` closure calls) and returns the loss of the first evaluation."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= float(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError(f"only 'strong_wolfe' is supported as line_search_fn, got {line_search_fn!r}")
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): "
                             "pass one list of parameters")
        self._params = self.param_groups[0]["params"]

    # ---- the parameters as one flat vector -----------------------------------------------
    def _flat_grad(self):
        parts = [np.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.reshape(-1)
                 for p in self._params]
        return np.concatenate(parts)

    def _add_to_params(self, t, d):
        """x ← x + t·d, parameter by parameter."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (t * d[offset:offset + n]).reshape(p._data.shape).astype(p._data.dtype, copy=False)
            p._version += 1
            offset += n

    def _set_params(self, saved):
        for p, x in zip(self._params, saved):
            np.copyto(p._data, x)
            p._version += 1

    def _evaluate_at(self, closure, x0, t, d):
        """Loss and flat gradient at x0 + t·d, leaving the parameters at x0."""
        self._add_to_params(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        self._set_params(x0)
        return loss, g

    def step(self, closure):
        if closure is None:
            raise RuntimeError("LBFGS.step() needs a closure that re-evaluates the model and returns the loss "
                               "(def closure(): opt.zero_grad(); loss = ...; loss.backward(); return loss)")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            first_loss = closure()
        loss = float(first_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return first_loss  # already at a stationary point

        d, t = _arr(state.get("d")), state.get("t")
        old_dirs = [_arr(v) for v in state.get("old_dirs", [])]   # y: gradient changes
        old_stps = [_arr(v) for v in state.get("old_stps", [])]   # s: parameter changes
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag")
        prev_g, prev_loss = _arr(state.get("prev_flat_grad")), state.get("prev_loss")
        al = state.get("al")

        n = 0
        while n < max_iter:
            n += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                # scalars stay in the parameters' dtype (PyTorch's are 0-d tensors), so float32
                # runs round as PyTorch's do
                one = g.dtype.type(1)
                y = g - prev_g
                s = d * g.dtype.type(t)
                ys = y @ s
                if ys > 1e-10:  # keep the pair only when the curvature is positive
                    if len(old_dirs) == history:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(one / ys)
                    h_diag = ys / (y @ y)
                # two-loop recursion: d = −H·g
                al = [None] * history
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = (old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = (old_dirs[i] @ d) * ro[i]
                    d = d + (al[i] - beta) * old_stps[i]
            prev_g = g.copy()
            prev_loss = loss
            # the first step is scaled so that it moves by at most lr in the L1 sense
            t = float(min(1.0, 1.0 / np.abs(g).sum()) * lr) if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:
                break  # not a descent direction any more
            ls_evals = 0
            if group["line_search_fn"] is not None:
                x0 = [p._data.copy() for p in self._params]
                loss, g, t, ls_evals = _strong_wolfe(lambda step: self._evaluate_at(closure, x0, step, d),
                                                     t, d, loss, g, gtd)
                self._add_to_params(t, d)
                done = np.abs(g).max() <= tol_grad
            else:
                self._add_to_params(t, d)
                done = False
                if n != max_iter:
                    # the next iteration needs the gradient here (skipped on the last one)
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    done = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n == max_iter or evals >= max_eval or done:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no more progress

        state.update(d=_tensor(d), t=t, old_dirs=[_tensor(v) for v in old_dirs],
                     old_stps=[_tensor(v) for v in old_stps], ro=ro, H_diag=h_diag,
                     prev_flat_grad=_tensor(prev_g), prev_loss=prev_loss, al=al)
        return first_loss


def _arr(value):
    return value._data if isinstance(value, Tensor) else value


def _tensor(value):
    return None if value is None else Tensor._make(value)
