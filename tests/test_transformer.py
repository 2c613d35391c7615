"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer against PyTorch with PyTorch's state_dict loaded: outputs, gradients of inputs and of
every parameter (float64 to 1e-8, float32 to 1e-4), post-norm and pre-norm, activations, masks,
batch_first, unbatched inputs; submodule names, causal-mask helper, errors."""
import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import mlseries as ms
from module_parity import check_module, randomise
from op_harness import make_inputs

torch.set_num_threads(1)
# PyTorch's own deprecation notes (float attn_mask beside a bool padding mask; nested tensors).
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
D, NH, FF = 8, 2, 12  # d_model, heads, feed-forward width
S, T_, N = 5, 4, 3  # source length, target length, batch

_r = np.random.default_rng(0)
SRC_KPM = _r.random((N, S)) > 0.7
SRC_KPM[:, 0] = False
TGT_KPM = _r.random((N, T_)) > 0.7
TGT_KPM[:, 0] = False
MEM_MASK = _r.standard_normal((T_, S))


def _dt(dtype):
    return (torch.float64, ms.float64) if dtype == np.float64 else (torch.float32, ms.float32)


def _causal(n, T):
    return T.tensor(np.triu(np.full((n, n), -np.inf), 1))


def _mask(T, arr, like):
    return T.tensor(arr.astype(like.detach().numpy().dtype) if arr.dtype.kind == "f" else arr)


def _pair(cls, dtype, seed=0, activation="relu", **kw):
    tdt, mdt = _dt(dtype)
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, cls)(dtype=tdt, activation=activation[0] if isinstance(activation, tuple)
                                    else activation, **kw)
    randomise(theirs, seed)
    ours = getattr(ms.nn, cls)(dtype=mdt, activation=activation[1] if isinstance(activation, tuple)
                               else activation, **kw)
    return ours, theirs


ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "callable": (torch.tanh, ms.tanh), "module": (torch.nn.GELU("tanh"),
                                                                                             ms.nn.GELU("tanh"))}


@DTYPES
@pytest.mark.parametrize("masks", ["none", "causal_kpm", "is_causal"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_encoder_layer_matches_torch(act, norm_first, batch_first, masks, dtype):
    ours, theirs = _pair("TransformerEncoderLayer", dtype, d_model=D, nhead=NH, dim_feedforward=FF,
                         activation=ACTIVATIONS[act], norm_first=norm_first, batch_first=batch_first)
    ours.eval(), theirs.eval()  # dropout off for parity

    def call(T, m, x):
        kw = {}
        if masks == "causal_kpm":
            kw = dict(src_mask=_causal(S, T).to(x.dtype), src_key_padding_mask=T.tensor(SRC_KPM))
        elif masks == "is_causal":
            kw = dict(src_mask=_causal(S, T).to(x.dtype), is_causal=True)
        return m(x, **kw)

    shape = (N, S, D) if batch_first else (S, N, D)
    check_module(ours, theirs, make_inputs([shape], np.random.default_rng(1)), call, dtype)


@DTYPES
@pytest.mark.parametrize("masks", ["none", "all"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("act", ["relu", "gelu", "callable"])
def test_decoder_layer_matches_torch(act, norm_first, batch_first, masks, dtype):
    ours, theirs = _pair("TransformerDecoderLayer", dtype, seed=1, d_model=D, nhead=NH, dim_feedforward=FF,
                         activation=ACTIVATIONS[act], norm_first=norm_first, batch_first=batch_first)
    ours.eval(), theirs.eval()

    def call(T, m, tgt, mem):
        kw = {}
        if masks == "all":
            kw = dict(tgt_mask=_causal(T_, T).to(tgt.dtype), memory_mask=_mask(T, MEM_MASK, tgt),
                      tgt_key_padding_mask=T.tensor(TGT_KPM), memory_key_padding_mask=T.tensor(SRC_KPM))
        return m(tgt, mem, **kw)

    shapes = [(N, T_, D), (N, S, D)] if batch_first else [(T_, N, D), (S, N, D)]
    check_module(ours, theirs, make_inputs(shapes, np.random.default_rng(2)), call, dtype)


@DTYPES
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_and_decoder_stacks_with_final_norm_match_torch(norm_first, dtype):
    tdt, mdt = _dt(dtype)
    torch.manual_seed(3)
    t_layer = torch.nn.TransformerEncoderLayer(D, NH, FF, dtype=tdt, norm_first=norm_first, batch_first=True)
    theirs = torch.nn.TransformerEncoder(t_layer, 3, norm=torch.nn.LayerNorm(D, dtype=tdt),
                                         enable_nested_tensor=False)
    randomise(theirs, 3)
    m_layer = ms.nn.TransformerEncoderLayer(D, NH, FF, dtype=mdt, norm_first=norm_first, batch_first=True)
    ours = ms.nn.TransformerEncoder(m_layer, 3, norm=ms.nn.LayerNorm(D, dtype=mdt), enable_nested_tensor=False)
    ours.eval(), theirs.eval()
    check_module(ours, theirs, make_inputs([(N, S, D)], np.random.default_rng(4)),
                 lambda T, m, x: m(x, mask=_causal(S, T).to(x.dtype), src_key_padding_mask=T.tensor(SRC_KPM)), dtype)

    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, NH, FF, dtype=tdt, norm_first=norm_first),
                                        2, norm=torch.nn.LayerNorm(D, dtype=tdt))
    randomise(t_dec, 5)
    m_dec = ms.nn.TransformerDecoder(ms.nn.TransformerDecoderLayer(D, NH, FF, dtype=mdt, norm_first=norm_first),
                                     2, norm=ms.nn.LayerNorm(D, dtype=mdt))
    t_dec.eval(), m_dec.eval()
    check_module(m_dec, t_dec, make_inputs([(T_, N, D), (S, N, D)], np.random.default_rng(5)),
                 lambda T, m, t, mem: m(t, mem, tgt_mask=_causal(T_, T).to(t.dtype),
                                        memory_key_padding_mask=T.tensor(SRC_KPM)), dtype)


def test_stacked_layers_have_independent_weights():
    enc = ms.nn.TransformerEncoder(ms.nn.TransformerEncoderLayer(D, NH, FF), 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert a is not b and not np.shares_memory(a.numpy(), b.numpy())
    assert len(list(enc.parameters())) == 2 * len(list(enc.layers[0].parameters()))


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_transformer_matches_torch(norm_first, batch_first, dtype):
    tdt, mdt = _dt(dtype)
    kw = dict(d_model=D, nhead=NH, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF,
              norm_first=norm_first, batch_first=batch_first, activation="gelu")
    torch.manual_seed(6)
    theirs = torch.nn.Transformer(dtype=tdt, **kw)
    randomise(theirs, 6)
    ours = ms.nn.Transformer(dtype=mdt, **kw)
    ours.eval(), theirs.eval()

    def call(T, m, src, tgt):
        return m(src, tgt, tgt_mask=T.nn.Transformer.generate_square_subsequent_mask(T_, dtype=src.dtype),
                 src_key_padding_mask=T.tensor(SRC_KPM), memory_key_padding_mask=T.tensor(SRC_KPM),
                 tgt_key_padding_mask=T.tensor(TGT_KPM))

    shapes = [(N, S, D), (N, T_, D)] if batch_first else [(S, N, D), (T_, N, D)]
    check_module(ours, theirs, make_inputs(shapes, np.random.default_rng(7)), call, dtype)


def test_transformer_unbatched_and_training_without_dropout_match_torch():
    kw = dict(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0)
    torch.manual_seed(8)
    theirs = torch.nn.Transformer(dtype=torch.float64, **kw)
    randomise(theirs, 8)
    ours = ms.nn.Transformer(dtype=ms.float64, **kw)
    check_module(ours, theirs, make_inputs([(S, D), (T_, D)], np.random.default_rng(9)),
                 lambda T, m, src, tgt: m(src, tgt, tgt_mask=_causal(T_, T), tgt_is_causal=True))


def test_transformer_state_dict_names_match_torch():
    kw = dict(d_model=D, nhead=NH, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF)
    ours, theirs = ms.nn.Transformer(**kw), torch.nn.Transformer(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), name
    # Matrices re-initialised with xavier_uniform_, as PyTorch (biases keep their own init).
    w = ours.encoder.layers[0].linear1.weight.numpy()
    assert np.abs(w).max() <= np.sqrt(6.0 / (D + FF))
    assert repr(ms.nn.TransformerEncoderLayer(D, NH, FF)) == repr(torch.nn.TransformerEncoderLayer(D, NH, FF))
    assert ms.nn.TransformerEncoderLayer(D, NH, bias=False).norm1.bias is None


def test_generate_square_subsequent_mask_like_torch():
    got = ms.nn.Transformer.generate_square_subsequent_mask(4)
    want = torch.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.dtype == ms.float32
    assert ms.nn.Transformer.generate_square_subsequent_mask(3, dtype=ms.float64).dtype == ms.float64


def test_transformer_second_derivatives_match_torch():
    """A gradient penalty through a whole (pre-norm) encoder layer: layer norm, attention, MLP."""
    torch.manual_seed(10)
    theirs = torch.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, norm_first=True, batch_first=True,
                                              activation="gelu", dtype=torch.float64)
    randomise(theirs, 10)
    ours = ms.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, norm_first=True, batch_first=True,
                                         activation="gelu", dtype=ms.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(11).standard_normal((2, 3, D))
    grads = []
    for T, m in ((ms, ours), (torch, theirs)):
        xt = T.tensor(x, requires_grad=True)
        with sdpa_kernel(SDPBackend.MATH):  # PyTorch's fused CPU kernel has no double backward
            y = m(xt, src_mask=_causal(3, T), is_causal=True)
            (gx,) = T.autograd.grad((y * y).sum(), xt, create_graph=True)
            (gx * gx).sum().backward()
        grads.append([xt.grad.numpy()] + [p.grad.numpy() for _, p in m.named_parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_transformer_errors_say_what_was_wrong():
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        ms.nn.TransformerEncoderLayer(D, NH, activation="swish")
    with pytest.raises(ValueError, match="divisible by num_heads"):
        ms.nn.TransformerEncoderLayer(10, 3)
    m = ms.nn.Transformer(D, NH, 1, 1, FF)
    with pytest.raises(ValueError, match="same batch size"):
        m(ms.randn(S, 2, D), ms.randn(T_, 3, D))
    with pytest.raises(ValueError, match="must equal d_model=8"):
        m(ms.randn(S, 2, 6), ms.randn(T_, 2, 6))
    layer = ms.nn.TransformerEncoderLayer(D, NH, FF)
    with pytest.raises(ValueError, match="attn_mask has shape"):
        layer(ms.randn(S, 2, D), src_mask=ms.zeros(S + 1, S + 1))
