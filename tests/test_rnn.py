"""RNN, LSTM, GRU and their cells against PyTorch, with PyTorch's weights loaded through
`load_state_dict`: outputs, final states, and the gradients of the input, the initial states and
every parameter (float64 to 1e-8, float32 to 1e-4); packed variable-length batches; second
derivatives through the fused layer (its `composite`); argument errors; state_dict names,
initialisation and repr."""
import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import mlseries as ms
from mlseries.nn.utils import rnn as mrnn

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

TOL = {np.float64: dict(rtol=1e-8, atol=1e-8), np.float32: dict(rtol=1e-4, atol=1e-4)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
MS_DTYPE = {np.float64: ms.float64, np.float32: ms.float32}
KINDS = {"RNN": ("RNN", {}), "RNN_relu": ("RNN", {"nonlinearity": "relu"}), "LSTM": ("LSTM", {}), "GRU": ("GRU", {})}


def make_pair(kind, dtype=np.float64, seed=0, **kwargs):
    """The same layer in both frameworks: PyTorch's initial weights copied into mlseries."""
    cls, base = KINDS[kind]
    kwargs = {**base, **kwargs}
    torch.manual_seed(seed)
    tm = getattr(torch.nn, cls)(**kwargs).to(TORCH_DTYPE[dtype])
    mm = getattr(ms.nn, cls)(**kwargs).to(MS_DTYPE[dtype])
    mm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, mm


def _leaves(arrays, dtype):
    ms_t = [ms.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    th_t = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    return ms_t, th_t


def _flatten(result):
    """(output, h_n) or (output, (h_n, c_n)) -> a flat list of tensors (PackedSequence -> its data)."""
    out, state = result
    if isinstance(out, tuple):  # PackedSequence in either framework
        out = out[0]
    return [out] + (list(state) if isinstance(state, tuple) else [state])


def assert_same(ms_out, th_out, ms_leaves, th_leaves, mm, tm, dtype, name=""):
    """Outputs equal; then the gradients of Σ wᵢ·outᵢ (random w) for every leaf and parameter."""
    tol = TOL[dtype]
    assert len(ms_out) == len(th_out), name
    rng = np.random.default_rng(123)
    ms_loss = th_loss = 0
    for i, (mo, to) in enumerate(zip(ms_out, th_out)):
        got, want = mo.numpy(), to.detach().numpy()
        assert got.shape == want.shape, f"{name}: output {i} shape {got.shape} vs torch {want.shape}"
        assert got.dtype == want.dtype, f"{name}: output {i} dtype"
        np.testing.assert_allclose(got, want, err_msg=f"{name}: output {i}", **tol)
        w = rng.standard_normal(want.shape).astype(dtype)
        ms_loss = ms_loss + (mo * ms.tensor(w)).sum()
        th_loss = th_loss + (to * torch.tensor(w)).sum()
    ms_loss.backward()
    th_loss.backward()
    for i, (ml, tl) in enumerate(zip(ms_leaves, th_leaves)):
        assert ml.grad is not None, f"{name}: leaf {i} got no gradient"
        np.testing.assert_allclose(ml.grad.numpy(), tl.grad.numpy(), err_msg=f"{name}: grad of leaf {i}", **tol)
    th_params = dict(tm.named_parameters())
    for pname, p in mm.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        np.testing.assert_allclose(p.grad.numpy(), th_params[pname].grad.numpy(), err_msg=f"{name}: grad of {pname}",
                                   **tol)


def run_case(kind, dtype, T=6, B=3, I=5, H=7, with_state=False, unbatched=False, train=True, seed=0, **kwargs):
    tm, mm = make_pair(kind, dtype, seed=seed, input_size=I, hidden_size=H, **kwargs)
    if not train:
        tm.eval()
        mm.eval()
    D = 2 if kwargs.get("bidirectional") else 1
    L = kwargs.get("num_layers", 1)
    R = kwargs.get("proj_size", 0) or H
    rng = np.random.default_rng(seed + 1)
    x_shape = (T, I) if unbatched else ((B, T, I) if kwargs.get("batch_first") else (T, B, I))
    arrays = [rng.uniform(-1.5, 1.5, x_shape)]
    lead = (L * D,) if unbatched else (L * D, B)
    if with_state:
        arrays.append(rng.uniform(-1, 1, lead + (R,)))
        if kind == "LSTM":
            arrays.append(rng.uniform(-1, 1, lead + (H,)))
    ms_in, th_in = _leaves(arrays, dtype)

    def call(module, leaves):
        if not with_state:
            return module(leaves[0])
        hx = (leaves[1], leaves[2]) if kind == "LSTM" else leaves[1]
        return module(leaves[0], hx)

    assert_same(_flatten(call(mm, ms_in)), _flatten(call(tm, th_in)), ms_in, th_in, mm, tm, dtype,
                name=f"{kind} {kwargs}")


LAYER_CONFIGS = [
    dict(),
    dict(with_state=True),
    dict(num_layers=2, bidirectional=True, with_state=True),
    dict(num_layers=3),
    dict(batch_first=True, bidirectional=True),
    dict(bias=False, num_layers=2),
    dict(num_layers=2, dropout=0.4, train=False),  # dropout is off in eval mode
    dict(num_layers=2, dropout=0.0),  # and p = 0 in train mode changes nothing
    dict(unbatched=True, with_state=True, num_layers=2, bidirectional=True),
    dict(unbatched=True),
    dict(T=1, B=1, I=2, H=3),
]


def _config_id(c):
    return "-".join(f"{k}={v}" for k, v in c.items()) or "default"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", LAYER_CONFIGS, ids=[_config_id(c) for c in LAYER_CONFIGS])
@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_matches_torch(kind, config, dtype):
    run_case(kind, dtype, **config)


PROJ_CONFIGS = [
    dict(proj_size=3),
    dict(proj_size=4, num_layers=2, bidirectional=True, with_state=True),
    dict(proj_size=2, batch_first=True, unbatched=True, with_state=True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", PROJ_CONFIGS, ids=[_config_id(c) for c in PROJ_CONFIGS])
def test_lstm_projection_matches_torch(config, dtype):
    run_case("LSTM", dtype, **config)


def test_long_sequence_wider_layer_float32():
    """Closer to real use: 40 steps, hidden 32, errors must not grow along the sequence."""
    for kind in ("LSTM", "GRU"):
        run_case(kind, np.float32, T=40, B=4, I=9, H=32, num_layers=2, with_state=True)


# ---- packed sequences ---------------------------------------------------------------------------
PACKED_CONFIGS = [
    dict(lengths=[6, 4, 4, 1], enforce_sorted=True),
    dict(lengths=[2, 6, 3, 6, 1], enforce_sorted=False),
    dict(lengths=[3, 5, 1], enforce_sorted=False, bidirectional=True, num_layers=2, with_state=True),
    dict(lengths=[4, 2, 5], enforce_sorted=False, batch_first=True, bidirectional=True, with_state=True),
    dict(lengths=[5, 5, 5], enforce_sorted=True, bidirectional=True),  # all full: no padding at all
]


def run_packed(kind, dtype, lengths, enforce_sorted, with_state=False, I=5, H=7, batch_first=False, **kwargs):
    tm, mm = make_pair(kind, dtype, input_size=I, hidden_size=H, batch_first=batch_first, **kwargs)
    B, T = len(lengths), max(lengths)
    D = 2 if kwargs.get("bidirectional") else 1
    L = kwargs.get("num_layers", 1)
    R = kwargs.get("proj_size", 0) or H
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(-1.5, 1.5, (B, T, I) if batch_first else (T, B, I))]
    if with_state:
        arrays.append(rng.uniform(-1, 1, (L * D, B, R)))
        if kind == "LSTM":
            arrays.append(rng.uniform(-1, 1, (L * D, B, H)))
    ms_in, th_in = _leaves(arrays, dtype)
    results = []
    for F, module, leaves in ((mrnn, mm, ms_in), (trnn, tm, th_in)):
        packed = F.pack_padded_sequence(leaves[0], lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        hx = None
        if with_state:
            hx = (leaves[1], leaves[2]) if kind == "LSTM" else leaves[1]
        out, state = module(packed, hx)
        padded, out_lengths = F.pad_packed_sequence(out, batch_first=batch_first, total_length=T + 1)
        results.append((out, state, padded, out_lengths))
    (mo, ms_state, mpad, mlen), (to, th_state, tpad, tlen) = results
    np.testing.assert_array_equal(mo.batch_sizes.numpy(), to.batch_sizes.numpy())
    for a, b in ((mo.sorted_indices, to.sorted_indices), (mo.unsorted_indices, to.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(mlen.numpy(), tlen.numpy())
    ms_flat = [mo.data, mpad] + _flatten((None, ms_state))[1:]
    th_flat = [to.data, tpad] + _flatten((None, th_state))[1:]
    assert_same(ms_flat, th_flat, ms_in, th_in, mm, tm, dtype, name=f"packed {kind} {lengths} {kwargs}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", PACKED_CONFIGS, ids=[_config_id(c) for c in PACKED_CONFIGS])
@pytest.mark.parametrize("kind", list(KINDS))
def test_packed_layer_matches_torch(kind, config, dtype):
    run_packed(kind, dtype, **config)


@pytest.mark.parametrize("proj_size", [0, 40])
def test_lstm_batch_split_over_threads_matches_torch(proj_size, monkeypatch):
    """A batch of 64 with 128 units is wide enough that the LSTM's recurrence runs its rows in
    parts (one per core); lengths that end inside both parts, both directions, a projection."""
    from mlseries import _ops_rnn, _threads
    monkeypatch.setattr(_threads, "cores", lambda: 2)   # the split, even on a one-core machine
    parts = []
    monkeypatch.setattr(_ops_rnn._parallel, "run_parts", lambda fn, p: parts.append(len(p)) or [fn(x) for x in p])
    # distinct lengths: PyTorch's sort does not keep ties in order, so their packing orders differ
    lengths = [int(n) for n in np.random.default_rng(3).permutation(24) + 1] + list(range(25, 65))
    lengths = [int(n) for n in np.random.default_rng(4).permutation(lengths)]
    run_packed("LSTM", np.float64, lengths, enforce_sorted=False, with_state=True, I=6, H=128,
               bidirectional=True, proj_size=proj_size)
    assert parts and set(parts) == {2}


def test_packed_lstm_with_projection_matches_torch():
    run_packed("LSTM", np.float64, lengths=[2, 5, 3], enforce_sorted=False, proj_size=3, num_layers=2,
               bidirectional=True, with_state=True)


def test_packed_final_state_is_each_sequences_last_step():
    """h_n of a packed batch equals running each sequence alone."""
    _, lstm = make_pair("LSTM", np.float64, input_size=3, hidden_size=4)
    rng = np.random.default_rng(0)
    seqs = [ms.tensor(rng.standard_normal((n, 3))) for n in (2, 5, 3)]
    _, (h_n, c_n) = lstm(mrnn.pack_sequence(seqs, enforce_sorted=False))
    for b, s in enumerate(seqs):
        _, (h, c) = lstm(s)
        np.testing.assert_allclose(h_n.numpy()[:, b], h.numpy(), atol=1e-12)
        np.testing.assert_allclose(c_n.numpy()[:, b], c.numpy(), atol=1e-12)


# ---- cells --------------------------------------------------------------------------------------
CELLS = {"RNNCell": {}, "RNNCell_relu": {"nonlinearity": "relu"}, "LSTMCell": {}, "GRUCell": {}}
CELL_CONFIGS = [dict(), dict(with_state=True), dict(bias=False, with_state=True), dict(unbatched=True, with_state=True),
                dict(unbatched=True)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", CELL_CONFIGS, ids=[_config_id(c) for c in CELL_CONFIGS])
@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_matches_torch(kind, config, dtype):
    config = dict(config)
    with_state, unbatched = config.pop("with_state", False), config.pop("unbatched", False)
    cls = kind.split("_")[0]
    torch.manual_seed(3)
    tm = getattr(torch.nn, cls)(5, 7, **CELLS[kind], **config).to(TORCH_DTYPE[dtype])
    mm = getattr(ms.nn, cls)(5, 7, **CELLS[kind], **config).to(MS_DTYPE[dtype])
    mm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(4)
    lead = () if unbatched else (3,)
    arrays = [rng.uniform(-1.5, 1.5, lead + (5,))]
    if with_state:
        arrays += [rng.uniform(-1, 1, lead + (7,)) for _ in range(2 if cls == "LSTMCell" else 1)]
    ms_in, th_in = _leaves(arrays, dtype)

    def call(module, leaves):
        out = module(leaves[0], tuple(leaves[1:]) if cls == "LSTMCell" else leaves[1]) if with_state \
            else module(leaves[0])
        return list(out) if isinstance(out, tuple) else [out]

    assert_same(call(mm, ms_in), call(tm, th_in), ms_in, th_in, mm, tm, dtype, name=f"{kind} {config}")


def test_lstm_cell_loop_equals_lstm_layer():
    """A hand-written loop of LSTMCell with the layer's weights gives the layer's output."""
    _, layer = make_pair("LSTM", np.float64, input_size=4, hidden_size=5)
    cell = ms.nn.LSTMCell(4, 5).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = ms.tensor(np.random.default_rng(0).standard_normal((6, 2, 4)))
    out, (h_n, c_n) = layer(x)
    h = c = None
    for t in range(6):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(h.numpy(), out.numpy()[t], atol=1e-12)
    np.testing.assert_allclose(c.numpy(), c_n.numpy()[0], atol=1e-12)


# ---- second derivatives (through RecurrentLayer.composite) ----------------------------------------
def _gradient_penalty(T, module, x, kind, packed_lengths=None):
    """‖∂(Σ v·output)/∂x‖², whose gradient with respect to the weights needs second derivatives."""
    inp = T.nn.utils.rnn.pack_padded_sequence(x, packed_lengths, enforce_sorted=False) if packed_lengths else x
    out, state = module(inp)
    out = out[0] if isinstance(out, tuple) else out
    h_n = state[0] if isinstance(state, tuple) else state
    v = T.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)), dtype=out.dtype)
    y = (out * v).sum() + (h_n * h_n).sum()
    (g,) = T.autograd.grad(y, x, create_graph=True)
    return (g * g).sum()


@pytest.mark.parametrize("case", [
    ("LSTM", dict()),
    ("GRU", dict()),
    ("RNN", dict(num_layers=2)),
    ("LSTM", dict(bidirectional=True, proj_size=3)),
    ("GRU", dict(bidirectional=True, packed=[4, 2, 3])),
    ("LSTM", dict(packed=[1, 4, 3])),
], ids=["lstm", "gru", "rnn-2layers", "lstm-bidir-proj", "gru-packed", "lstm-packed"])
def test_second_derivatives_match_torch(case):
    kind, kw = case
    kw = dict(kw)
    lengths = kw.pop("packed", None)
    tm, mm = make_pair(kind, np.float64, input_size=3, hidden_size=5, **kw)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 3, 3))
    mx, tx = ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mp = _gradient_penalty(ms, mm, mx, kind, lengths)
    tp = _gradient_penalty(torch, tm, tx, kind, lengths)
    np.testing.assert_allclose(mp.item(), tp.item(), rtol=1e-10)
    mp.backward()
    tp.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-8)
    th_params = dict(tm.named_parameters())
    for name, p in mm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), th_params[name].grad.numpy(), rtol=1e-8, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cell_second_derivatives_match_torch(cls):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(3, 4).double()
    mm = getattr(ms.nn, cls)(3, 4).double()
    mm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3))
    grads = []
    for T, module in ((ms, mm), (torch, tm)):
        xt = T.tensor(x, requires_grad=True)
        out = module(xt)
        h = out[0] if isinstance(out, tuple) else out
        y = (h.tanh() * T.tensor(np.arange(8.0).reshape(2, 4))).sum()
        (g,) = T.autograd.grad(y, xt, create_graph=True)
        (g * g).sum().backward()
        grads.append([p.grad.numpy() for p in module.parameters()] + [xt.grad.numpy()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_create_graph_gradient_equals_array_gradient():
    """The composite path (create_graph=True) and the array path give the same first derivative."""
    _, gru = make_pair("GRU", np.float64, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    x = ms.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
    y = gru(x)[0].tanh().sum()
    (fast,) = ms.autograd.grad(y, x, retain_graph=True)
    (slow,) = ms.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), atol=1e-12)


# ---- dropout between layers -----------------------------------------------------------------------
def test_dropout_between_layers_in_training():
    lstm = ms.nn.LSTM(3, 4, num_layers=3, dropout=0.5).double()
    x = ms.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    ms.manual_seed(1)
    a = lstm(x)[0].numpy().copy()
    ms.manual_seed(1)
    b = lstm(x)[0].numpy().copy()
    np.testing.assert_array_equal(a, b)  # the masks come from the default generator
    c = lstm(x)[0].numpy()
    assert not np.allclose(a, c)  # and differ from one call to the next
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].numpy(), lstm(x)[0].numpy())


def test_dropout_with_one_layer_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        gru = ms.nn.GRU(3, 4, dropout=0.5)
    with pytest.warns(UserWarning):
        torch.nn.GRU(3, 4, dropout=0.5)
    x = ms.randn(5, 2, 3)
    np.testing.assert_array_equal(gru(x)[0].numpy(), gru(x)[0].numpy())


# ---- errors, in the user's terms ----------------------------------------------------------------
def test_wrong_input_size_is_named():
    with pytest.raises(ValueError, match="LSTM: input has 5 features but input_size is 4"):
        ms.nn.LSTM(4, 6)(ms.randn(3, 2, 5))
    with pytest.raises(ValueError, match="GRUCell: input has 5 features but input_size is 4"):
        ms.nn.GRUCell(4, 6)(ms.randn(2, 5))


def test_wrong_hidden_state_shape_is_named():
    lstm = ms.nn.LSTM(4, 6, num_layers=2)
    x = ms.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match=r"LSTM: h0 has shape \(1, 2, 6\) but \(2, 2, 6\) is expected"):
        lstm(x, (ms.zeros(1, 2, 6), ms.zeros(2, 2, 6)))
    with pytest.raises(RuntimeError, match=r"LSTM: c0 has shape \(2, 3, 6\) but \(2, 2, 6\) is expected"):
        lstm(x, (ms.zeros(2, 2, 6), ms.zeros(2, 3, 6)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h0, c0\)"):
        lstm(x, ms.zeros(2, 2, 6))
    with pytest.raises(RuntimeError, match="for batched 3-D input, h0 should also be 3-D"):
        ms.nn.GRU(4, 6)(x, ms.zeros(2, 6))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, h0 should also be 2-D"):
        ms.nn.GRU(4, 6)(ms.randn(3, 4), ms.zeros(1, 1, 6))
    with pytest.raises(RuntimeError, match=r"RNNCell: hx has shape \(3, 6\) but \(2, 6\) is expected"):
        ms.nn.RNNCell(4, 6)(ms.randn(2, 4), ms.zeros(3, 6))


def test_other_argument_errors():
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        ms.nn.RNN(4, 6)(ms.randn(1, 3, 2, 4))
    with pytest.raises(RuntimeError, match="empty"):
        ms.nn.RNN(4, 6)(ms.randn(0, 2, 4))
    with pytest.raises(TypeError, match="the input is mlseries.float64 but the parameters are mlseries.float32"):
        ms.nn.GRU(4, 6)(ms.randn(3, 2, 4, dtype=ms.float64))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        ms.nn.RNN(4, 6, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        ms.nn.LSTM(4, 6, proj_size=6)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        ms.nn.RNNBase("GRU", 4, 6, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        ms.nn.LSTM(4, 6, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D"):
        ms.nn.LSTMCell(4, 6)(ms.randn(1, 2, 4))


# ---- parameters, state_dict, init, repr -------------------------------------------------------------
MODULE_CONFIGS = [
    ("RNN", dict(input_size=3, hidden_size=4)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu", dropout=0.5, bias=False)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, proj_size=2)),
    ("LSTM", dict(input_size=3, hidden_size=4, batch_first=True, bias=False)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=3, bidirectional=True, batch_first=True)),
    ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu", bias=False)),
    ("LSTMCell", dict(input_size=3, hidden_size=4)),
    ("GRUCell", dict(input_size=3, hidden_size=4)),
]


@pytest.mark.parametrize("cls,kw", MODULE_CONFIGS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(MODULE_CONFIGS)])
def test_names_shapes_and_repr_match_torch(cls, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = getattr(torch.nn, cls)(**kw)
        mm = getattr(ms.nn, cls)(**kw)
    t_sd, m_sd = tm.state_dict(), mm.state_dict()
    assert list(m_sd.keys()) == list(t_sd.keys())
    for k in t_sd:
        assert tuple(m_sd[k].shape) == tuple(t_sd[k].shape), k
    assert repr(mm) == repr(tm)
    if not cls.endswith("Cell"):
        assert [[tuple(w.shape) for w in ws] for ws in mm.all_weights] == \
            [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
        mm.flatten_parameters()


def test_init_is_uniform_in_one_over_sqrt_hidden_and_seeded():
    ms.manual_seed(5)
    a = ms.nn.LSTM(10, 64, num_layers=2)
    ms.manual_seed(5)
    b = ms.nn.LSTM(10, 64, num_layers=2)
    bound = 1 / np.sqrt(64)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert np.abs(p.numpy()).max() <= bound, name
        assert np.abs(p.numpy()).max() > 0.9 * bound, name  # spread over the whole range
    assert a.weight_ih_l0.dtype == ms.float32


def test_float32_stays_float32():
    lstm = ms.nn.LSTM(3, 4)
    out, (h, c) = lstm(ms.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == ms.float32
    out.sum().backward()
    assert all(p.grad.dtype == ms.float32 for p in lstm.parameters())


def test_empty_batch_like_torch():
    out, (h, c) = ms.nn.LSTM(3, 4)(ms.randn(2, 0, 3))
    assert tuple(out.shape) == (2, 0, 4) and tuple(h.shape) == (1, 0, 4)


def test_pytorch_style_imports():
    from mlseries.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence  # noqa: F401
    assert ms.nn.utils.rnn.pad_sequence is ms.nn.utils.pad_sequence


# ---- gradient clipping (what RNN training uses) ----------------------------------------------------
def _grads_pair(arrays):
    mp = [ms.nn.Parameter(ms.zeros(*a.shape, dtype=MS_DTYPE[a.dtype.type])) for a in arrays]
    tp = [torch.nn.Parameter(torch.zeros(*a.shape, dtype=TORCH_DTYPE[a.dtype.type])) for a in arrays]
    for m, t, a in zip(mp, tp, arrays):
        m.grad, t.grad = ms.tensor(a.copy()), torch.tensor(a.copy())
    return mp, tp


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), "inf", 3.0, 0.5, 0.0, float("-inf")])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    rng = np.random.default_rng(0)
    mp, tp = _grads_pair([rng.standard_normal(s).astype(dtype) for s in [(4, 3), (3,), (2, 2, 2)]])
    total_m = ms.nn.utils.clip_grad_norm_(mp, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert total_m.dtype == MS_DTYPE[dtype] and total_m.ndim == 0
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(total_m.item(), total_t.item(), rtol=rtol)
    for m, t in zip(mp, tp):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_clip_grad_norm_nonfinite_like_torch(bad):
    a = np.array([1.0, bad, -2.0], np.float32)
    for error in (True, False):
        mp, tp = _grads_pair([a, np.ones(2, np.float32)])
        if error:
            with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
                torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
            with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
                ms.nn.utils.clip_grad_norm_(mp, 1.0, error_if_nonfinite=True)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no NumPy warnings leak out
            total_m = ms.nn.utils.clip_grad_norm_(mp, 1.0)
        total_t = torch.nn.utils.clip_grad_norm_(tp, 1.0)
        np.testing.assert_equal(total_m.item(), total_t.item())
        for m, t in zip(mp, tp):
            np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


def test_total_norm_helpers_and_no_gradients_match_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in [(3, 2), (5,)]]
    mp, tp = _grads_pair(arrays)
    total_m = ms.nn.utils.get_total_norm([p.grad for p in mp], norm_type=3.0)
    total_t = torch.nn.utils.get_total_norm([p.grad for p in tp], norm_type=3.0)
    np.testing.assert_allclose(total_m.item(), total_t.item(), rtol=1e-12)
    ms.nn.utils.clip_grads_with_norm_(mp, 0.5, total_m)
    torch.nn.utils.clip_grads_with_norm_(tp, 0.5, total_t)
    for m, t in zip(mp, tp):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    empty = [ms.nn.Parameter(ms.zeros(2))]
    assert ms.nn.utils.clip_grad_norm_(empty, 1.0).item() == torch.nn.utils.clip_grad_norm_(
        [torch.nn.Parameter(torch.zeros(2))], 1.0).item() == 0.0
