"""Recurrent primitives: one layer of an RNN, LSTM or GRU in one direction as one graph node,
and the gather/scatter pair that moves between padded and packed sequences.

A recurrent layer is hundreds of tiny operations per sequence; as separate graph nodes their
bookkeeping would cost more than their arithmetic. `RecurrentLayer` instead runs the whole
sequence in NumPy:

- forward: the input projection of every time step is one matrix product, (T·B, I) @ (I, G·H);
  the loop over time then does one `h @ W_hhᵀ` per step into a preallocated buffer and applies
  the gate nonlinearities in place. The sigmoid gates and the tanh gates go through a single
  `np.tanh` (σ(a) = ½·tanh(a/2) + ½), which is several times faster than a separate sigmoid.
- backward through time, also in NumPy: per step only the elementwise gate derivatives and one
  `dgates @ W_hh`; the weight and input gradients wait until the end and are one large matrix
  product each over all steps (the gate gradients are stacked in a (T, B, G·H) buffer).
- `composite` is the same recurrence cell by cell in Tensor operations; autograd uses it under
  `create_graph=True`, so gradient penalties and second derivatives work through the layer.

Variable lengths (packed sequences). The caller orders the batch by decreasing length, so at
time t the sequences still running are the first `batch_sizes[t]` rows, and each step computes
on that prefix. The other rows keep their state (a finished sequence keeps its h and c, one that
starts later in the reverse direction keeps h0), and their output is zero, as in PyTorch.

A Function returns one array, so the layer returns the output sequence and the final states
flattened into one vector: [output (T·B·R) | h_n (B·R) | c_n (B·H), LSTM only], where R is the
hidden size, or the projection size of an LSTM with `proj_size`. `split_result` cuts it apart.
"""
import functools

import numpy as np

from . import _parallel
from ._parallel import matmul as _matmul
from ._tensor import FusedFunction, Function, Tensor

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
# A part of the batch is worth its own thread when its per-step recurrent product has at least
# this many FLOPs (~2 M: 16 rows of a 128-unit LSTM, 20 µs of BLAS against ~10 µs of hand-off)
_MIN_STEP_FLOPS = 1 << 21


def input_names(mode, has_bias, has_proj):
    """The order of RecurrentLayer's inputs."""
    names = ["x", "h0"] + (["c0"] if mode == "LSTM" else []) + ["w_ih", "w_hh"]
    if has_bias:
        names += ["b_ih", "b_hh"]
    if has_proj:
        names.append("w_hr")
    return names


def result_sizes(mode, T, B, R, H):
    """Lengths of the pieces of RecurrentLayer's flat result: output, h_n and (LSTM) c_n."""
    return (T * B * R, B * R) + ((B * H,) if mode == "LSTM" else ())


def split_result(res, mode, T, B, R, H):
    """The layer's flat result as Tensors: output (T, B, R), h_n (B, R) and, for an LSTM, c_n (B, H)."""
    sizes = result_sizes(mode, T, B, R, H)
    shapes = [(T, B, R), (B, R), (B, H)]
    pieces, start = [], 0
    for size, shape in zip(sizes, shapes):
        pieces.append(res[start:start + size].reshape(shape))
        start += size
    return pieces


@functools.lru_cache(maxsize=8)
def _gate_constants(mode, B, H, dtype):
    """Per-column constants for the gates of an LSTM (i f g o) or the r, z gates of a GRU:

    prescale:    the rows of the weights and biases of the sigmoid gates are halved before the
                 forward pass (exact in binary floating point), so one tanh serves every gate:
                 σ(a) = ½·tanh(a/2) + ½, i.e. tanh(a/2)·scale + shift with scale ½ and shift ½;
                 the tanh gates have scale 1 and shift 0.

    scale and shift come as (B, G) arrays: an elementwise operation with a full array is about
    twice as fast as one that broadcasts a row vector over 64 rows.
    """
    sigmoid = {"LSTM": (1, 1, 0, 1), "GRU": (1, 1)}[mode]  # GRU: the n gate is computed apart
    is_sig = np.repeat(np.array(sigmoid, dtype=bool), H)
    prescale = np.where(np.repeat(np.array(sigmoid + (0,) * (GATES[mode] - len(sigmoid)), bool), H), 0.5, 1.0)
    prescale = prescale.astype(dtype)  # (G,)
    rows = [np.where(is_sig, 0.5, 1.0), np.where(is_sig, 0.5, 0.0)]  # scale, shift
    small = B * is_sig.size <= 1 << 17
    out = [prescale]
    for v in rows:
        v = v.astype(dtype)
        v = np.tile(v, (B, 1)) if small else np.broadcast_to(v, (B, v.size))
        v.flags.writeable = False
        out.append(v)
    return out  # prescale (G,), then scale, shift (B, G)


def _over_rows(B, R, G, rows_loop):
    """rows_loop(slice) over the batch's rows, which a recurrence treats independently: split in
    fixed parts (by shape and core count, so results never depend on load) when each part's
    per-step product h @ W_hhᵀ is large enough to pay for the hand-off, else all rows at once."""
    parts = _parallel.row_slices(B, 16)
    if len(parts) > 1 and 2 * (B // len(parts)) * R * G >= _MIN_STEP_FLOPS:
        _parallel.run_parts(rows_loop, parts)
    else:
        rows_loop(slice(0, B))


def _part_steps(steps, rows):
    """`steps` as one part of the batch sees them: (t, run, idle, before, after) with `run` the
    part's rows that compute at step t and `idle` those that do not (their sequence has ended or
    not begun), each as a slice relative to the part, or None. Computed once per pass, so a step
    indexes the part's own views with ready-made slices."""
    b = rows.stop - rows.start
    out = []
    for t, n, p, q in steps:
        m = max(0, min(n - rows.start, b))  # rows of the part that run
        out.append((t, slice(0, m) if m else None, slice(m, b) if m < b else None, p, q))
    return out


def _transposed(w):
    """wᵀ as a C-contiguous copy for the per-step products h @ wᵀ: OpenBLAS takes a transposed
    (Fortran-ordered) operand of these small products about 1.4× slower (32 × 128 by 128 × 512,
    float32: 27 µs against 19), and a sequence runs one per step."""
    return np.ascontiguousarray(w.T)


def _activate(a, scale, shift):
    """The gate nonlinearities in place, on pre-activations whose sigmoid gates arrive halved."""
    np.tanh(a, out=a)
    np.multiply(a, scale, out=a)
    np.add(a, shift, out=a)


class RecurrentLayer(FusedFunction):
    """One layer of RNN (`mode` 'RNN_TANH' / 'RNN_RELU'), LSTM or GRU in one direction.

    Inputs, in the order of `input_names`: x (T, B, I), h0 (B, R), c0 (B, H) for an LSTM,
    w_ih (G·H, I), w_hh (G·H, R), optionally b_ih and b_hh (G·H,), and w_hr (R, H) for an LSTM
    with a projection. `reverse` runs from the last step to the first; `batch_sizes` (one
    non-increasing count per time step, or None for full batches) gives variable lengths.
    Gate order is PyTorch's: LSTM i, f, g, o; GRU r, z, n.
    """

    def compute(self, *arrays, mode, reverse=False, batch_sizes=None, has_bias=True, has_proj=False):
        self.mode, self.reverse = mode, reverse
        self.names = input_names(mode, has_bias, has_proj)
        a = dict(zip(self.names, arrays))
        x = a["x"]
        T, B, I = x.shape
        R = a["h0"].shape[1]
        H = a["w_hh"].shape[0] // GATES[mode]
        dt = x.dtype
        self.sizes = (B,) * T if batch_sizes is None else tuple(batch_sizes)
        self.packed = batch_sizes is not None and min(self.sizes) < B
        self.shape = (T, B, I, R, H)
        self.x2 = x.reshape(T * B, I)  # (T·B, I), kept for the weight gradient
        fw = dict(a)  # the weights as the forward pass uses them
        if mode in ("LSTM", "GRU"):
            prescale = _gate_constants(mode, B, H, dt)[0]  # (G·H,): ½ on the sigmoid gates' rows
            for name in ("w_ih", "w_hh"):
                fw[name] = a[name] * prescale[:, None]
            for name in ("b_ih", "b_hh") if has_bias else ():
                fw[name] = a[name] * prescale
        add_bias = None
        if has_bias:
            if mode == "GRU":
                # b_hn sits inside r ⊙ (W_hn h + b_hn), so only b_hr and b_hz join the input part.
                def add_bias(rows, b_ih=fw["b_ih"], b_hrz=fw["b_hh"][:2 * H]):
                    rows += b_ih
                    rows[:, :2 * H] += b_hrz
            else:
                def add_bias(rows, bias=fw["b_ih"] + fw["b_hh"]):
                    rows += bias
        # (T·B, G·H): the input part of every step at once, the biases added part by part
        xw = _matmul(self.x2, fw["w_ih"].T, then=add_bias)
        xw = xw.reshape(T, B, xw.shape[-1])  # (T, B, G·H)
        hs = np.empty((T + 1, B, R), dt)  # hidden state before/after each step (see _steps)
        hs[T if reverse else 0] = a["h0"]
        self.hs = hs
        step = {"LSTM": self._lstm_forward, "GRU": self._gru_forward}.get(mode, self._rnn_forward)
        cn = step(xw, fw, dt)

        res = np.empty(sum(result_sizes(mode, T, B, R, H)), dt)
        out = res[:T * B * R].reshape(T, B, R)
        out[...] = hs[:T] if reverse else hs[1:]
        if self.packed:
            for t, n in enumerate(self.sizes):
                out[t, n:] = 0  # a sequence that has ended (or not begun) outputs zeros
        res[T * B * R:(T + 1) * B * R] = (hs[0] if reverse else hs[T]).reshape(-1)
        if cn is not None:
            res[(T + 1) * B * R:] = cn.reshape(-1)
        return res

    def _steps(self):
        """(t, n, before, after) for each step in the order the layer runs: time t, the n rows
        still running, and where the state before and after step t sits in `hs` / `cs`."""
        T = len(self.sizes)
        if self.reverse:
            return [(t, self.sizes[t], t + 1, t) for t in range(T - 1, -1, -1)]
        return [(t, self.sizes[t], t, t + 1) for t in range(T)]

    # ---- forward, one per cell type -----------------------------------------------------------
    def _rnn_forward(self, xw, a, dt):
        hs, w_hhT = self.hs, _transposed(a["w_hh"])
        relu = self.mode == "RNN_RELU"
        B = hs.shape[1]
        for t, n, p, q in self._steps():
            h = hs[q, :n]  # (n, H)
            np.matmul(hs[p, :n], w_hhT, out=h)
            h += xw[t, :n]
            if relu:
                np.maximum(h, 0, out=h)
            else:
                np.tanh(h, out=h)
            if n < B:
                hs[q, n:] = hs[p, n:]
        return None

    def _lstm_forward(self, xw, a, dt):
        hs = self.hs
        T, B, G = xw.shape
        H = G // 4
        w_hhT = _transposed(a["w_hh"])
        w_hrT = _transposed(a["w_hr"]) if "w_hr" in a else None
        _, scale, shift = _gate_constants("LSTM", B, H, dt)
        cs = np.empty((T + 1, B, H), dt)  # cell state before/after each step, like hs
        cs[T if self.reverse else 0] = a["c0"]
        tc = (np.zeros if self.packed else np.empty)((T, B, H), dt)  # tanh(c_t); zeros where no row runs
        # o ⊙ tanh(c) before the projection; zeros where no row runs, as the dW_hr product reads them
        hf = None if w_hrT is None else (np.zeros if self.packed else np.empty)((T, B, H), dt)
        hw = np.empty((B, G), dt)
        ig = np.empty((B, H), dt)
        steps = self._steps()

        def rows_loop(rows):
            # Every buffer is cut to this part's rows once: a step then only indexes time and the
            # running rows (~30 µs of Python per step before, against ~35 µs of arithmetic).
            X, HW, IG, TC = xw[:, rows], hw[rows], ig[rows], tc[:, rows]  # (T, b, 4H), (b, 4H), (b, H), (T, b, H)
            Hs, Cs = hs[:, rows], cs[:, rows]  # (T + 1, b, R), (T + 1, b, H)
            HF = None if hf is None else hf[:, rows]
            sc, sh = scale[rows], shift[rows]
            Ig, Fg, Gg, Og = (X[..., j * H:(j + 1) * H] for j in range(4))  # (T, b, H) each
            for t, k, idle, p, q in _part_steps(steps, rows):
                if k is not None:
                    g, hw_k = X[t, k], HW[k]  # the input part, then the gates in place
                    np.matmul(Hs[p, k], w_hhT, out=hw_k)
                    g += hw_k
                    np.tanh(g, out=g)  # σ(a) = ½·tanh(a/2) + ½ on the halved sigmoid rows
                    np.multiply(g, sc[k], out=g)
                    np.add(g, sh[k], out=g)
                    c, ig_k, th = Cs[q, k], IG[k], TC[t, k]
                    np.multiply(Fg[t, k], Cs[p, k], out=c)
                    np.multiply(Ig[t, k], Gg[t, k], out=ig_k)
                    c += ig_k
                    np.tanh(c, out=th)
                    if w_hrT is None:
                        np.multiply(Og[t, k], th, out=Hs[q, k])
                    else:
                        np.multiply(Og[t, k], th, out=HF[t, k])
                        np.matmul(HF[t, k], w_hrT, out=Hs[q, k])
                if idle is not None:
                    Hs[q, idle] = Hs[p, idle]
                    Cs[q, idle] = Cs[p, idle]

        _over_rows(B, hs.shape[2], G, rows_loop)
        self.gates, self.cs, self.tc, self.hf = xw, cs, tc, hf
        return cs[0] if self.reverse else cs[T]

    def _gru_forward(self, xw, a, dt):
        hs = self.hs
        T, B, G = xw.shape
        H = G // 3
        w_hhT = _transposed(a["w_hh"])
        b_hn = a["b_hh"][2 * H:] if "b_hh" in a else None
        _, scale, shift = _gate_constants("GRU", B, H, dt)
        gh = np.empty((T, B, G), dt)  # W_hh h (+ b_hn on the n part): its n part is needed in backward
        tmp = np.empty((B, H), dt)
        for t, n, p, q in self._steps():
            g = xw[t, :n]  # (n, 3H)
            ght = gh[t, :n]
            np.matmul(hs[p, :n], w_hhT, out=ght)
            if b_hn is not None:
                ght[:, 2 * H:] += b_hn
            rz = g[:, :2 * H]
            rz += ght[:, :2 * H]
            _activate(rz, scale[:n], shift[:n])
            r, z = g[:, :H], g[:, H:2 * H]
            nn = g[:, 2 * H:]
            np.multiply(r, ght[:, 2 * H:], out=tmp[:n])
            nn += tmp[:n]
            np.tanh(nn, out=nn)
            h = hs[q, :n]  # h' = n + z ⊙ (h − n), which is (1 − z) ⊙ n + z ⊙ h
            np.subtract(hs[p, :n], nn, out=h)
            h *= z
            h += nn
            if n < B:
                hs[q, n:] = hs[p, n:]
        self.gates, self.gh = xw, gh
        return None

    # ---- backward -----------------------------------------------------------------------------
    def backward_arrays(self, grad):
        mode = self.mode
        T, B, I, R, H = self.shape
        sizes = result_sizes(mode, T, B, R, H)
        gy = grad[:sizes[0]].reshape(T, B, R)
        dh = grad[sizes[0]:sizes[0] + sizes[1]].reshape(B, R).copy()  # ∂L/∂h, carried back through time
        dc = grad[sizes[0] + sizes[1]:].reshape(B, H).copy() if mode == "LSTM" else None
        names = self.names
        arrays = dict(zip(names, [t._data for t in self.inputs]))
        needs = dict(zip(names, self.needs_input_grad))
        # Rows that do not run at a step must hold zero gradient: the final products sum over them.
        alloc = np.zeros if self.packed else np.empty
        if mode == "LSTM":
            dgx, extra = self._lstm_backward(gy, dh, dc, arrays, alloc)
            dgh = dgx
        elif mode == "GRU":
            dgx, dgh = self._gru_backward(gy, dh, arrays, alloc)
            extra = {}
        else:
            dgx = dgh = self._rnn_backward(gy, dh, arrays, alloc)
            extra = {}

        G = dgx.shape[-1]
        dx2 = dgx.reshape(T * B, G)  # (T·B, G·H)
        dh2 = dgh.reshape(T * B, G)
        prev = self.hs[1:] if self.reverse else self.hs[:T]  # the state each step started from
        grads = {"h0": dh, "c0": dc}
        if needs["x"]:
            grads["x"] = _matmul(dx2, arrays["w_ih"]).reshape(T, B, I)
        if needs["w_ih"]:
            grads["w_ih"] = _matmul(dx2.T, self.x2)
        if needs["w_hh"]:
            grads["w_hh"] = _matmul(dh2.T, prev.reshape(T * B, R))
        if needs.get("b_ih") or needs.get("b_hh"):
            grads["b_ih"] = dx2.sum(0)
            # RNN and LSTM add both biases to the same pre-activation, so their gradients are equal.
            grads["b_hh"] = dh2.sum(0) if dh2 is not dx2 else grads["b_ih"].copy()
        grads.update(extra)
        return tuple(grads.get(name) if need else None for name, need in zip(names, self.needs_input_grad))

    def _rnn_backward(self, gy, dh, arrays, alloc):
        hs, w_hh = self.hs, arrays["w_hh"]
        T, B, _, _, H = self.shape
        relu = self.mode == "RNN_RELU"
        dg = alloc((T, B, H), gy.dtype)  # ∂L/∂(pre-activation) at every step
        for t, n, p, q in reversed(self._steps()):
            d = dh[:n]
            d += gy[t, :n]  # ∂L/∂h_t: from the output and from step t+1
            y = hs[q, :n]
            D = dg[t, :n]
            if relu:
                np.greater(y, 0, out=D, casting="unsafe")
            else:
                np.multiply(y, y, out=D)
                np.subtract(1, D, out=D)
            D *= d
            np.matmul(D, w_hh, out=d)
        return dg

    def _lstm_backward(self, gy, dh, dc, arrays, alloc):
        T, B, _, R, H = self.shape
        cs, tc, A = self.cs, self.tc, self.gates
        w_hh, w_hr = arrays["w_hh"], arrays.get("w_hr")
        dt = gy.dtype
        dg = alloc((T, B, 4 * H), dt)  # ∂L/∂(gate pre-activations) at every step
        dp = None if w_hr is None else alloc((T, B, R), dt)  # ∂L/∂h after the projection
        u = np.empty((B, H), dt)
        dhf_buf = np.empty((B, H), dt)
        steps = self._steps()[::-1]
        # steps whose output gets no gradient (a classifier reading only the last state): adding
        # their zero gradient can be skipped
        reads = gy.reshape(T, -1).any(axis=1)

        def rows_loop(rows):
            # Everything a step needs that does not depend on the gradient is computed for all
            # steps at once, in a few large passes, before the loop: the loop itself is then
            # seven small operations and one matrix product per step (it was fifteen), the part
            # that cannot be vectorised because each step needs the next one's ∂L/∂h.
            a = A[:, rows]  # (T, b, 4H): the activated gates i, f, g, o
            Ia, Fa, Ga, Oa = (a[..., j * H:(j + 1) * H] for j in range(4))  # (T, b, H) each
            c_prev = cs[1:, rows] if self.reverse else cs[:T, rows]  # the cell state each step read
            # ∂c_t/∂(i, f, g pre-activations) per unit of ∂L/∂c_t: g·σ'(i), c_{t-1}·σ'(f), i·tanh'(g)
            W3 = np.empty((T, a.shape[1], 3, H), dt)
            S = np.subtract(1, a[..., :2 * H])  # (T, b, 2H): σ' = σ(1 − σ) for i and f
            S *= a[..., :2 * H]
            np.multiply(Ga, S[..., :H], out=W3[:, :, 0])
            np.multiply(c_prev, S[..., H:], out=W3[:, :, 1])
            del S
            w3g = W3[:, :, 2]
            np.multiply(Ga, Ga, out=w3g)  # tanh' = 1 − g²
            np.subtract(1, w3g, out=w3g)
            w3g *= Ia
            th = tc[:, rows]
            TO = np.subtract(1, Oa)  # (T, b, H): ∂h/∂(o pre-activation) per unit of ∂L/∂h, tanh(c)·σ'(o)
            TO *= Oa
            TO *= th
            OU = np.multiply(th, th)  # (T, b, H): ∂h/∂c per unit of ∂L/∂h, o·(1 − tanh² c)
            np.subtract(1, OU, out=OU)
            OU *= Oa
            # this part's rows of every buffer, cut once (see _lstm_forward)
            DH, DC, U, DG, GY = dh[rows], dc[rows], u[rows], dg[:, rows], gy[:, rows]
            DP = None if dp is None else dp[:, rows]
            DHF = dhf_buf[rows]
            for t, k, _, p, q in _part_steps(steps, rows):
                if k is None:
                    continue
                d = DH[k]
                if reads[t]:
                    d += GY[t, k]  # ∂L/∂h_t: from the output and from step t+1
                if w_hr is None:
                    dhf = d
                else:
                    DP[t, k] = d
                    dhf = np.matmul(d, w_hr, out=DHF[k])  # back through the projection, (n, H)
                D = DG[t, k]  # (n, 4H)
                np.multiply(dhf, TO[t, k], out=D[:, 3 * H:])  # do
                dcn = DC[k]  # ∂L/∂c_t: from step t+1, plus through h_t
                un = np.multiply(dhf, OU[t, k], out=U[k])
                dcn += un
                np.multiply(dcn[:, None, :], W3[t, k], out=D[:, :3 * H].reshape(-1, 3, H))  # di, df, dg
                dcn *= Fa[t, k]  # ∂L/∂c_{t-1} = ∂L/∂c_t ⊙ f
                np.matmul(D, w_hh, out=d)  # ∂L/∂h_{t-1} from this step

        _over_rows(B, R, 4 * H, rows_loop)
        extra = {}
        if w_hr is not None:
            extra["w_hr"] = dp.reshape(T * B, R).T @ self.hf.reshape(T * B, H)
        return dg, extra

    def _gru_backward(self, gy, dh, arrays, alloc):
        T, B, _, _, H = self.shape
        hs, A, gh = self.hs, self.gates, self.gh
        w_hh = arrays["w_hh"]
        dt = gy.dtype
        dgx = alloc((T, B, 3 * H), dt)  # ∂L/∂(W_ih x + b_ih) at every step
        dgh = alloc((T, B, 3 * H), dt)  # ∂L/∂(W_hh h + b_hh): differs from dgx in the n part only
        u = np.empty((B, H), dt)
        dz_direct = np.empty((B, H), dt)
        v = np.empty((B, 2 * H), dt)
        for t, n, p, q in reversed(self._steps()):
            d = dh[:n]
            d += gy[t, :n]  # ∂L/∂h_t: from the output and from step t+1
            a = A[t, :n]
            r, z, nn = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            Dx, Dh = dgx[t, :n], dgh[t, :n]
            np.subtract(hs[p, :n], nn, out=Dx[:, H:2 * H])  # dz = dh ⊙ (h − n)
            Dx[:, H:2 * H] *= d
            dn = Dx[:, 2 * H:]  # dn (pre-tanh) = dh ⊙ (1 − z) ⊙ (1 − n²)
            np.subtract(1, z, out=dn)
            dn *= d
            un = u[:n]
            np.multiply(nn, nn, out=un)
            np.subtract(1, un, out=un)
            dn *= un
            np.multiply(dn, gh[t, :n, 2 * H:], out=Dx[:, :H])  # dr = dn ⊙ (W_hn h + b_hn)
            np.multiply(dn, r, out=Dh[:, 2 * H:])  # ∂L/∂(W_hn h + b_hn) = dn ⊙ r
            vn = v[:n]  # through σ for r and z
            np.subtract(1, a[:, :2 * H], out=vn)
            vn *= a[:, :2 * H]
            Dx[:, :2 * H] *= vn
            Dh[:, :2 * H] = Dx[:, :2 * H]
            np.multiply(d, z, out=dz_direct[:n])  # h' depends on h directly through z ⊙ h
            np.matmul(Dh, w_hh, out=d)
            d += dz_direct[:n]
        return dgx, dgh

    # ---- the same in Tensor operations, for create_graph=True -------------------------------------
    @staticmethod
    def composite(*tensors, mode, reverse=False, batch_sizes=None, has_bias=True, has_proj=False):
        from ._functions import cat, stack
        a = dict(zip(input_names(mode, has_bias, has_proj), tensors))
        x, h, c = a["x"], a["h0"], a.get("c0")
        T, B = x.shape[0], x.shape[1]
        H = a["w_hh"].shape[0] // GATES[mode]
        sizes = (B,) * T if batch_sizes is None else tuple(batch_sizes)
        xw = x.matmul(a["w_ih"].T)  # (T, B, G·H)
        if has_bias:
            xw = xw + a["b_ih"]
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            gx = xw[t]  # (B, G·H)
            gh = h.matmul(a["w_hh"].T)
            if has_bias:
                gh = gh + a["b_hh"]
            c_new = None
            if mode == "LSTM":
                s = gx + gh
                i, f = s[:, :H].sigmoid(), s[:, H:2 * H].sigmoid()
                g, o = s[:, 2 * H:3 * H].tanh(), s[:, 3 * H:].sigmoid()
                c_new = f * c + i * g
                h_new = o * c_new.tanh()
                if has_proj:
                    h_new = h_new.matmul(a["w_hr"].T)
            elif mode == "GRU":
                r = (gx[:, :H] + gh[:, :H]).sigmoid()
                z = (gx[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
                nn = (gx[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
                h_new = nn + z * (h - nn)
            else:
                s = gx + gh
                h_new = s.relu() if mode == "RNN_RELU" else s.tanh()
            n = sizes[t]
            if n < B:
                keep = np.zeros((B, 1), x._data.dtype)
                keep[:n] = 1
                keep, stay = Tensor._make(keep), Tensor._make(1 - keep)
                h = h_new * keep + h * stay
                if c_new is not None:
                    c = c_new * keep + c * stay
                outs[t] = h_new * keep
            else:
                h, c = h_new, c_new
                outs[t] = h_new
        pieces = [stack(outs).reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if mode == "LSTM" else [])
        return cat(pieces)


# ---- packed <-> padded ------------------------------------------------------------------------
class Pack(Function):
    """Rows `index` of a padded batch viewed as (T·B, *) (or (B·T, *)): the data of a packed
    sequence. Its adjoint is `Unpack`."""

    uses_input_values = False

    def forward(self, x, index):
        self.index, self.shape = index, x.shape
        return x.reshape((-1,) + x.shape[2:])[index]

    def backward(self, g):
        return (Unpack.apply(g, index=self.index, shape=self.shape),)


class Unpack(Function):
    """A padded batch of `shape` filled with `padding_value`, with the rows of `data` written at
    the flat positions `index` (each position once): the inverse placement of `Pack`."""

    uses_input_values = False

    def forward(self, data, index, shape, padding_value=0.0):
        self.index = index
        out = np.full((shape[0] * shape[1],) + tuple(shape[2:]), padding_value, dtype=data.dtype)
        out[index] = data
        return out.reshape(shape)

    def backward(self, g):
        return (Pack.apply(g, index=self.index),)
