"""Recurrent layers: `RNN`, `LSTM`, `GRU` and their single-step cells, with PyTorch's arguments,
parameter names, gate order and initialisation, so a PyTorch state_dict loads unchanged.

Each layer and direction runs as one fused graph node (`_ops_rnn.RecurrentLayer`); this file
checks the arguments, lays out the parameters and hidden states, and stacks the layers.

    lstm = nn.LSTM(input_size=10, hidden_size=20, num_layers=2, batch_first=True)
    output, (h_n, c_n) = lstm(x)          # x (B, T, 10) -> output (B, T, 20), h_n (2, B, 20)
"""
import math
import numbers
import warnings

import numpy as np

from .. import _dtype
from .._factories import empty
from .._functions import cat, stack
from .._ops_rnn import GATES, Pack, RecurrentLayer, Unpack, split_result
from .._tensor import ShapeError, Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _shape(t):
    return tuple(t.shape)


def _check_dtype(name, what, t, dtype):
    if t._data.dtype != dtype:
        raise TypeError(f"{name}: {what} is {t.dtype} but the parameters are {_dtype.from_np(dtype)}; "
                        f"convert one of them (x.to({_dtype.from_np(dtype)}) or model.to({t.dtype}))")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, argument checks, and
    the loop over layers. `mode` is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode!r}")
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers),
                            ("proj_size", proj_size)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"{what} should be of type int, got: {type(value).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             f"element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = _dtype.default_float if dtype is None else dtype

        directions = 2 if bidirectional else 1
        gate_size = GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size), in registration order."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """Nothing to do: PyTorch packs weights into one buffer for cuDNN; here they are used as they are."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters as one list per layer and direction: [w_ih, w_hh, b_ih, b_hh, (w_hr)]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward --------------------------------------------------------------------------------
    @property
    def _name(self):
        return type(self).__name__

    def _hidden_sizes(self):
        real = self.proj_size if self.proj_size > 0 else self.hidden_size
        return real, self.hidden_size

    def _check_state(self, what, t, batched, expected, dtype):
        name = self._name
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a tensor, got {type(t).__name__}")
        if batched and t.ndim != 3:
            raise RuntimeError(f"{name}: for batched 3-D input, {what} should also be 3-D but got {t.ndim}-D tensor")
        if not batched and t.ndim != 2:
            raise RuntimeError(f"{name}: for unbatched 2-D input, {what} should also be 2-D but got {t.ndim}-D tensor")
        want = expected if batched else (expected[0], expected[2])
        if _shape(t) != want:
            layout = "(num_layers * num_directions, batch, {})" if batched else "(num_layers * num_directions, {})"
            size = "proj_size" if what == "h0" and self.proj_size > 0 else "hidden_size"
            raise RuntimeError(f"{name}: {what} has shape {_shape(t)} but {want} is expected "
                               + layout.format(size))
        _check_dtype(name, what, t, dtype)

    def forward(self, input, hx=None):
        name, lstm = self._name, self.mode == "LSTM"
        dtype = self.weight_ih_l0._data.dtype
        directions = 2 if self.bidirectional else 1
        R, H = self._hidden_sizes()
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            sizes = tuple(int(b) for b in batch_sizes._data)
            T, B = len(sizes), sizes[0]
            if data.ndim != 2:
                raise ValueError(f"{name}: a packed input's data must be 2-D (steps, features), "
                                 f"got shape {_shape(data)}")
            features = data.shape[-1]
            batched = True
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D instead")
            batched = input.ndim == 3
            features = input.shape[-1]
            sorted_indices = unsorted_indices = None
            sizes = None
        if features != self.input_size:
            raise ShapeError(f"{name}: input has {features} features but input_size is {self.input_size}")
        _check_dtype(name, "the input", data if packed else input, dtype)
        if packed:
            x = Unpack.apply(data, index=_packed_rows(sizes), shape=(T, B, features))  # (T, B, I) longest first
        elif not batched:
            x = input.unsqueeze(1)  # (T, 1, I)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise RuntimeError(f"{name}: the input sequence is empty (0 time steps); it needs at least one")

        h0, c0 = self._initial_states(hx, batched, B, dtype, directions, R, H)
        if sorted_indices is not None:
            h0 = h0 if h0 is None else h0[:, sorted_indices]  # the caller's order -> longest first
            c0 = c0 if c0 is None else c0[:, sorted_indices]

        h_n, c_n = [], []
        all_weights = self.all_weights
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                state = [self._state(h0, k, B, R, dtype)] + ([self._state(c0, k, B, H, dtype)] if lstm else [])
                res = RecurrentLayer.apply(layer_input, *state, *all_weights[k], mode=self.mode, reverse=direction == 1,
                                           batch_sizes=sizes, has_bias=bool(self.bias), has_proj=self.proj_size > 0)
                pieces = split_result(res, self.mode, T, B, R, H)
                outs.append(pieces[0])
                h_n.append(pieces[1])
                if lstm:
                    c_n.append(pieces[2])
            layer_input = outs[0] if directions == 1 else cat(outs, -1)  # (T, B, D·R)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input
        h_n = stack(h_n)  # (L·D, B, R)
        c_n = stack(c_n) if lstm else None
        if unsorted_indices is not None:
            h_n = h_n[:, unsorted_indices]
            c_n = c_n if c_n is None else c_n[:, unsorted_indices]

        if packed:
            output = PackedSequence(Pack.apply(output, index=_packed_rows(sizes)), batch_sizes, sorted_indices,
                                    unsorted_indices)
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _initial_states(self, hx, batched, B, dtype, directions, R, H):
        """(h0, c0) as (L·D, B, ·) tensors, or None where zeros are meant."""
        if hx is None:
            return None, None
        layers = self.num_layers * directions
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h0, c0), got {type(hx).__name__}")
            h0, c0 = hx
            self._check_state("h0", h0, batched, (layers, B, R), dtype)
            self._check_state("c0", c0, batched, (layers, B, H), dtype)
        else:
            h0, c0 = hx, None
            self._check_state("h0", h0, batched, (layers, B, R), dtype)
        if not batched:
            h0 = h0.unsqueeze(1)
            c0 = c0 if c0 is None else c0.unsqueeze(1)
        return h0, c0

    @staticmethod
    def _state(given, k, B, size, dtype):
        return Tensor._make(np.zeros((B, size), dtype)) if given is None else given[k]


def _packed_rows(sizes):
    """Flat (T·B) positions of a packed sequence's rows in a padded batch sorted longest first."""
    sizes = np.asarray(sizes)
    return np.flatnonzero(np.arange(sizes[0])[None, :] < sizes[:, None])


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or relu), per layer.

    Input (T, B, input_size) — (B, T, ·) with batch_first, (T, ·) unbatched, or a PackedSequence;
    returns (output (T, B, D·hidden_size), h_n (num_layers·D, B, hidden_size)), D = 2 if bidirectional.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity  # PyTorch's repr leaves it out too


class LSTM(RNNBase):
    """Long short-term memory. Gates i, f, g, o (PyTorch's order) from W_ih x + b_ih + W_hh h + b_hh;
    c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t), then h_t = W_hr h_t with `proj_size`.

    Returns (output, (h_n, c_n)); `hx` is a tuple (h0, c0) or None for zeros.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit. Gates r, z, n (PyTorch's order):
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}. Returns (output, h_n).
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# ---- cells: one time step -------------------------------------------------------------------------
class RNNCellBase(Module):
    """One step of a recurrent layer, for loops written by hand (decoders, attention)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = _dtype.default_float if dtype is None else dtype
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, mode, input, states):
        """Run the fused layer for one step: input (B, I), states [(B, H)] -> [h'] or [h', c']."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has {input.shape[-1]} features but input_size is {self.input_size}")
        dtype = self.weight_ih._data.dtype
        _check_dtype(name, "the input", input, dtype)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        full = []
        for what, s in states:
            if s is None:
                full.append(Tensor._make(np.zeros((B, H), dtype)))
                continue
            if not isinstance(s, Tensor):
                raise TypeError(f"{name}: {what} must be a tensor, got {type(s).__name__}")
            if s.ndim != input.ndim:
                raise RuntimeError(f"{name}: {what} should be {input.ndim}-D like the input, but got "
                                   f"{s.ndim}-D tensor")
            want = (B, H) if batched else (H,)
            if _shape(s) != want:
                raise RuntimeError(f"{name}: {what} has shape {_shape(s)} but {want} is expected "
                                   f"({'(batch, hidden_size)' if batched else '(hidden_size,)'})")
            _check_dtype(name, what, s, dtype)
            full.append(s if batched else s.unsqueeze(0))
        weights = [self.weight_ih, self.weight_hh] + ([self.bias_ih, self.bias_hh] if self.bias else [])
        res = RecurrentLayer.apply(x.unsqueeze(0), *full, *weights, mode=mode, has_bias=bool(self.bias))
        pieces = split_result(res, mode, 1, B, H, H)
        new = [pieces[1]] + pieces[2:]  # h_n (and c_n)
        return new if batched else [p.squeeze(0) for p in new]


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu); forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(mode, input, [("hx", hx)])[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; forward(input, (h, c) or None) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        h, c = self._step("LSTM", input, [("h", hx[0]), ("c", hx[1])])
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step; forward(input, hx=None) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step("GRU", input, [("hx", hx)])[0]
