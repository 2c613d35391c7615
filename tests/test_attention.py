"""scaled_dot_product_attention and MultiheadAttention against PyTorch: forward, gradients of
inputs, float masks and every parameter (float64 to 1e-8, float32 to 1e-4), masks of every kind,
second derivatives through create_graph, dropout, state dicts, initialisation, errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.nn.attention import SDPBackend, sdpa_kernel

import mlseries as ms
import mlseries.nn.functional as F
from module_parity import check_module, randomise
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's note on mixed mask types

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


def _T(T, a):
    """A NumPy mask as a tensor of framework T (no gradient)."""
    return T.tensor(a)


# ---- scaled_dot_product_attention -----------------------------------------------------------------
# (name, shapes of q, k, v, extra inputs, keyword builder(T, rng-made constants))
_rng = np.random.default_rng(0)
_BOOL_LS = _rng.random((5, 7)) > 0.3
_BOOL_LS[:, 0] = True  # no fully masked row here
_BOOL_B = _rng.random((2, 1, 5, 7)) > 0.5
_BOOL_B[..., 2] = True
_BOOL_EMPTY = _BOOL_LS.copy()
_BOOL_EMPTY[1] = False  # query 1 sees nothing
_FLOAT_EMPTY = np.where(_BOOL_EMPTY, 0.0, -np.inf)

SDPA_CASES = [
    ("plain", [(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4)], {}),
    ("value_dim_differs", [(2, 5, 4), (2, 7, 4), (2, 7, 6)], {}),
    ("unbatched", [(5, 4), (7, 4), (7, 3)], {}),
    ("broadcast_batch", [(2, 3, 5, 4), (3, 7, 4), (3, 7, 4)], {}),
    ("bool_mask", [(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4)], {"attn_mask": lambda T: _T(T, _BOOL_LS)}),
    ("bool_mask_broadcast", [(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4)], {"attn_mask": lambda T: _T(T, _BOOL_B)}),
    ("bool_mask_empty_row", [(2, 5, 4), (2, 7, 4), (2, 7, 4)], {"attn_mask": lambda T: _T(T, _BOOL_EMPTY)}),
    ("float_mask_empty_row", [(2, 5, 4), (2, 7, 4), (2, 7, 4)], {"attn_mask": lambda T: _T(T, _FLOAT_EMPTY)}),
    ("causal_square", [(2, 3, 6, 4), (2, 3, 6, 4), (2, 3, 6, 4)], {"is_causal": True}),
    ("causal_L_lt_S", [(2, 3, 4, 4), (2, 3, 7, 4), (2, 3, 7, 4)], {"is_causal": True}),
    ("causal_L_gt_S", [(2, 7, 4), (2, 4, 4), (2, 4, 4)], {"is_causal": True}),
    ("scale", [(2, 5, 3), (2, 7, 3), (2, 7, 3)], {"scale": 0.37}),
    ("odd_sizes", [(1, 1, 1, 1), (1, 1, 3, 1), (1, 1, 3, 2)], {}),
    ("one_key", [(3, 5, 2), (3, 1, 2), (3, 1, 4)], {}),
    ("gqa", [(2, 4, 5, 4), (2, 2, 7, 4), (2, 2, 7, 4)], {"enable_gqa": True}),
]


def _sdpa(F_, kw):
    def f(q, k, v, *mask):
        T = torch if F_ is TF else ms
        extra = {key: (val(T) if callable(val) else val) for key, val in kw.items()}
        if "attn_mask" in extra and extra["attn_mask"].is_floating_point():
            extra["attn_mask"] = extra["attn_mask"].to(q.dtype)  # PyTorch refuses a wider mask
        if mask:
            extra["attn_mask"] = mask[0]
        return F_.scaled_dot_product_attention(q, k, v, **extra)
    return f


@DTYPES
@pytest.mark.parametrize("name,shapes,kw", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch(name, shapes, kw, dtype):
    rng = np.random.default_rng(len(name))
    compare(_sdpa(F, kw), make_inputs(shapes, rng), dtype=dtype, torch_fn=_sdpa(TF, kw), name=name)


@DTYPES
@pytest.mark.parametrize("mshape", [(5, 7), (2, 1, 5, 7), (1, 7), (3, 5, 1)], ids=str)
def test_sdpa_float_mask_gets_its_gradient(mshape, dtype):
    rng = np.random.default_rng(11)
    arrays = make_inputs([(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), mshape], rng)
    compare(_sdpa(F, {}), arrays, dtype=dtype, torch_fn=_sdpa(TF, {}), name=f"float mask {mshape}")


def test_sdpa_fully_masked_rows_give_zeros_like_torch():
    rng = np.random.default_rng(2)
    q, k, v = (ms.tensor(a, requires_grad=True) for a in make_inputs([(2, 5, 4), (2, 7, 4), (2, 7, 4)], rng))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ms.tensor(_BOOL_EMPTY))
    assert np.all(out.numpy()[:, 1] == 0) and np.isfinite(out.numpy()).all()
    out.sum().backward()
    assert np.all(q.grad.numpy()[:, 1] == 0) and np.isfinite(k.grad.numpy()).all()


def test_sdpa_non_contiguous_views_like_a_gpt():
    """q, k, v cut from one projection and split into heads by views, as nanoGPT does."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3 * 8))

    def run(T, F_):
        def f(x):
            B, L, C3 = x.shape
            q, k, v = x.split(C3 // 3, dim=2)
            q, k, v = (t.reshape(B, L, 2, 4).transpose(1, 2) for t in (q, k, v))  # (B, nh, L, hs)
            y = F_.scaled_dot_product_attention(q, k, v, is_causal=True)
            return y.transpose(1, 2).reshape(B, L, 8)
        return f

    compare(run(ms, F), [x], torch_fn=run(torch, TF), name="gpt views")
    compare(run(ms, F), [x], dtype=np.float32, torch_fn=run(torch, TF), name="gpt views f32")


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"attn_mask": "float"}, {"attn_mask": "bool"}],
                         ids=["plain", "causal", "float", "bool"])
def test_sdpa_second_derivatives_match_torch(kw):
    rng = np.random.default_rng(4)
    arrays = make_inputs([(2, 5, 3), (2, 6, 3), (2, 6, 3)], rng)
    mask = {"float": rng.standard_normal((5, 6)), "bool": _BOOL_LS[:, :6]}.get(kw.get("attn_mask"))
    got = [ms.tensor(a, requires_grad=True) for a in arrays]
    want = [torch.tensor(a, requires_grad=True) for a in arrays]
    for T, F_, ins in ((ms, F, got), (torch, TF, want)):
        extra = dict(kw)
        if mask is not None:
            extra["attn_mask"] = T.tensor(mask)
        y = F_.scaled_dot_product_attention(*ins, **extra)
        w = T.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))
        gq, gk = T.autograd.grad((y * y * w).sum(), ins[:2], create_graph=True)
        ((gq * gq).sum() + (gk * T.tanh(gk)).sum()).backward()
    for i, (g, t) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=f"input {i}")


@pytest.mark.parametrize("kw", [{"is_causal": True}, {"attn_mask": "bool"}], ids=["causal", "bool"])
def test_sdpa_create_graph_path_agrees_with_the_array_path_at_gpt_size(kw):
    """The composite (create_graph) and the closed-form backward give the same gradients on a
    full-size causal block, where the masks are much smaller than the scores they broadcast to."""
    rng = np.random.default_rng(13)
    arrays = [a.astype(np.float32) for a in make_inputs([(4, 4, 64, 16)] * 3, rng)]
    if kw.get("attn_mask") == "bool":
        kw = {"attn_mask": ms.tensor(rng.random((4, 1, 64, 64)) > 0.3)}
    results = []
    for create_graph in (False, True):
        ins = [ms.tensor(a, requires_grad=True) for a in arrays]
        y = F.scaled_dot_product_attention(*ins, **kw)
        results.append(ms.autograd.grad((y * y).sum(), ins, create_graph=create_graph))
    for a, b in zip(*results):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_sdpa_finite_differences():
    rng = np.random.default_rng(12)
    arrays = make_inputs([(2, 3, 2), (2, 4, 2), (2, 4, 3), (3, 4)], rng)
    finite_difference_check(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), arrays,
                            name="sdpa")


def test_sdpa_dropout_is_seeded_and_both_backward_paths_agree():
    rng = np.random.default_rng(5)
    arrays = make_inputs([(2, 2, 6, 4), (2, 2, 6, 4), (2, 2, 6, 4)], rng)

    def run(create_graph):
        ms.manual_seed(7)
        ins = [ms.tensor(a, requires_grad=True) for a in arrays]
        y = F.scaled_dot_product_attention(*ins, dropout_p=0.4, is_causal=True)
        grads = ms.autograd.grad((y * y).sum(), ins, create_graph=create_graph)
        return y.numpy(), [g.numpy() for g in grads]

    y1, g1 = run(False)
    y2, g2 = run(True)  # through `composite`, with the same dropout mask
    np.testing.assert_array_equal(y1, y2)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    ms.manual_seed(8)
    ins = [ms.tensor(a) for a in arrays]
    assert not np.allclose(F.scaled_dot_product_attention(*ins, dropout_p=0.4, is_causal=True).numpy(), y1)
    np.testing.assert_array_equal(F.scaled_dot_product_attention(*ins, dropout_p=1.0).numpy(), 0)
    # without dropout the result does not touch the generator
    ms.manual_seed(9)
    F.scaled_dot_product_attention(*ins)
    after = ms.rand(1).item()
    ms.manual_seed(9)
    assert ms.rand(1).item() == after


def test_sdpa_dropout_keeps_the_expectation():
    ms.manual_seed(0)
    q = ms.zeros(1, 1, 200, 4)  # uniform weights 1/S
    v = ms.ones(1, 1, 50, 3)
    y = F.scaled_dot_product_attention(q, ms.zeros(1, 1, 50, 4), v, dropout_p=0.3)
    assert abs(y.numpy().mean() - 1.0) < 0.05 and y.numpy().std() > 0.05


def test_sdpa_keeps_float32():
    q = ms.randn(2, 3, 4)
    assert F.scaled_dot_product_attention(q, q, q, is_causal=True).dtype == ms.float32
    assert F.scaled_dot_product_attention(q, q, q, attn_mask=ms.zeros(3, 3, dtype=ms.float64)).dtype == ms.float32


def test_sdpa_errors_say_what_was_wrong():
    q, k = ms.randn(2, 5, 4), ms.randn(2, 7, 4)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 7\) cannot be broadcast.*\(2, 5, 7\)"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=ms.ones(4, 7, dtype=ms.bool))
    with pytest.raises(ValueError, match="same embedding size"):
        F.scaled_dot_product_attention(q, ms.randn(2, 7, 3), k)
    with pytest.raises(ValueError, match="same sequence length"):
        F.scaled_dot_product_attention(q, k, ms.randn(2, 6, 4))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=ms.ones(5, 7, dtype=ms.bool), is_causal=True)
    with pytest.raises(TypeError, match="bool .* or float"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=ms.ones(5, 7, dtype=ms.int64))


# ---- MultiheadAttention ------------------------------------------------------------------------------
def _mha_pair(dtype=np.float64, seed=0, **kw):
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(dtype=torch.float64 if dtype == np.float64 else torch.float32, **kw)
    randomise(theirs, seed)
    ours = ms.nn.MultiheadAttention(dtype=ms.float64 if dtype == np.float64 else ms.float32, **kw)
    return ours, theirs


def _call(fwd_kw=None, masks=None, self_attention=False, cross=False):
    """forward(q, k, v) (or (x, x, x), or (q, kv, kv)) with masks built for each framework."""
    fwd_kw, masks = fwd_kw or {}, masks or {}

    def call(T, m, *xs):
        kw = dict(fwd_kw)
        for key, arr in masks.items():
            kw[key] = T.tensor(arr.astype(xs[0].detach().numpy().dtype) if arr.dtype.kind == "f" else arr)
        if self_attention:
            return m(xs[0], xs[0], xs[0], **kw)
        if cross:
            return m(xs[0], xs[1], xs[1], **kw)
        return m(*xs, **kw)
    return call


E, H, L, S, N = 8, 2, 5, 6, 3
_r = np.random.default_rng(1)
KPM_BOOL = _r.random((N, S)) > 0.7
KPM_BOOL[:, 0] = False
KPM_FLOAT = np.where(_r.random((N, S)) > 0.7, -np.inf, _r.standard_normal((N, S)))
KPM_FLOAT[:, 0] = 0.5
AM2_BOOL = _r.random((L, S)) > 0.7
AM2_BOOL[:, 1] = False
AM2_FLOAT = _r.standard_normal((L, S))
AM3_BOOL = _r.random((N * H, L, S)) > 0.6
AM3_BOOL[..., 2] = False
AM3_FLOAT = _r.standard_normal((N * H, L, S))

MHA_CASES = [
    # (name, constructor kwargs, input shapes (seq-first unless batch_first), call builder)
    ("self", {}, [(L, N, E)], _call(self_attention=True)),
    ("self_batch_first", {"batch_first": True}, [(N, L, E)], _call(self_attention=True)),
    ("qkv_distinct", {}, [(L, N, E), (S, N, E), (S, N, E)], _call()),
    ("cross_kv_same", {"batch_first": True}, [(N, L, E), (N, S, E)], _call(cross=True)),
    ("unbatched", {}, [(L, E), (S, E), (S, E)], _call()),
    ("unbatched_self_kpm", {}, [(S, E)], _call(self_attention=True, masks={"key_padding_mask": KPM_BOOL[0]})),
    ("kdim_vdim", {"kdim": 3, "vdim": 7}, [(L, N, E), (S, N, 3), (S, N, 7)], _call()),
    ("kdim_vdim_batch_first", {"kdim": 3, "vdim": 7, "batch_first": True}, [(N, L, E), (N, S, 3), (N, S, 7)],
     _call()),
    ("no_bias", {"bias": False}, [(L, N, E), (S, N, E), (S, N, E)], _call()),
    ("add_bias_kv", {"add_bias_kv": True}, [(L, N, E), (S, N, E), (S, N, E)],
     _call(masks={"key_padding_mask": KPM_BOOL, "attn_mask": AM2_BOOL})),
    ("add_zero_attn", {"add_zero_attn": True, "batch_first": True}, [(N, L, E), (N, S, E), (N, S, E)],
     _call(masks={"key_padding_mask": KPM_FLOAT, "attn_mask": AM3_FLOAT})),
    ("bias_kv_zero_attn", {"add_bias_kv": True, "add_zero_attn": True}, [(L, N, E), (S, N, E), (S, N, E)],
     _call(fwd_kw={"need_weights": False}, masks={"attn_mask": AM3_BOOL})),
    ("kpm_bool", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(masks={"key_padding_mask": KPM_BOOL})),
    ("kpm_float", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(masks={"key_padding_mask": KPM_FLOAT})),
    ("am2_bool", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(masks={"attn_mask": AM2_BOOL})),
    ("am2_float", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(masks={"attn_mask": AM2_FLOAT})),
    ("am3_bool", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(masks={"attn_mask": AM3_BOOL})),
    ("am3_float_kpm_float", {}, [(L, N, E), (S, N, E), (S, N, E)],
     _call(masks={"attn_mask": AM3_FLOAT, "key_padding_mask": KPM_FLOAT})),
    ("am2_float_kpm_bool_mixed", {"batch_first": True}, [(N, L, E), (N, S, E), (N, S, E)],
     _call(fwd_kw={"need_weights": False}, masks={"attn_mask": AM2_FLOAT, "key_padding_mask": KPM_BOOL})),
    ("am2_kpm_bool_no_weights", {"batch_first": True}, [(N, L, E), (N, S, E), (N, S, E)],
     _call(fwd_kw={"need_weights": False}, masks={"attn_mask": AM2_BOOL, "key_padding_mask": KPM_BOOL})),
    ("am3_float_no_weights", {}, [(L, N, E), (S, N, E), (S, N, E)],
     _call(fwd_kw={"need_weights": False}, masks={"attn_mask": AM3_FLOAT})),
    ("weights_per_head", {"batch_first": True}, [(N, L, E), (N, S, E), (N, S, E)],
     _call(fwd_kw={"average_attn_weights": False}, masks={"key_padding_mask": KPM_BOOL})),
    ("unbatched_weights_per_head", {}, [(L, E), (S, E), (S, E)],
     _call(fwd_kw={"average_attn_weights": False}, masks={"attn_mask": AM3_FLOAT[:H]})),
    ("no_weights", {}, [(L, N, E), (S, N, E), (S, N, E)], _call(fwd_kw={"need_weights": False})),
    ("causal_hint", {"batch_first": True}, [(N, L, E)],
     _call(self_attention=True, fwd_kw={"need_weights": False, "is_causal": True},
           masks={"attn_mask": np.triu(np.ones((L, L), bool), 1)})),
    ("causal_hint_with_weights", {}, [(L, N, E)],
     _call(self_attention=True, fwd_kw={"is_causal": True},
           masks={"attn_mask": np.triu(np.full((L, L), -np.inf), 1)})),
    ("four_heads", {"num_heads": 4}, [(L, N, E)], _call(self_attention=True)),
]


@DTYPES
@pytest.mark.parametrize("name,kw,shapes,call", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multihead_attention_matches_torch(name, kw, shapes, call, dtype):
    kw = dict(kw)
    kw.setdefault("num_heads", H)
    ours, theirs = _mha_pair(dtype, seed=len(name), embed_dim=E, **kw)
    rng = np.random.default_rng(len(name))
    check_module(ours, theirs, make_inputs(shapes, rng), call, dtype)


def test_multihead_attention_dropout_in_eval_mode_matches_torch():
    ours, theirs = _mha_pair(embed_dim=E, num_heads=H, dropout=0.3, batch_first=True)
    ours.eval(), theirs.eval()
    rng = np.random.default_rng(3)
    check_module(ours, theirs, make_inputs([(N, L, E)], rng), _call(self_attention=True))
    ours.train()
    x = ms.tensor(rng.standard_normal((N, L, E)))
    ms.manual_seed(1)
    a = ours(x, x, x)[1].numpy()
    ms.manual_seed(1)
    np.testing.assert_array_equal(a, ours(x, x, x)[1].numpy())


def test_multi_head_attention_forward_functional_matches_torch():
    ours, theirs = _mha_pair(embed_dim=E, num_heads=H)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(4)
    q, k = make_inputs([(L, N, E), (S, N, E)], rng)

    def run(T, F_, m):
        out, w = F_.multi_head_attention_forward(T.tensor(q), T.tensor(k), T.tensor(k), E, H, m.in_proj_weight,
                                                 m.in_proj_bias, None, None, False, 0.0, m.out_proj.weight,
                                                 m.out_proj.bias, key_padding_mask=T.tensor(KPM_BOOL))
        return out.detach().numpy(), w.detach().numpy()

    for a, b in zip(run(ms, F, ours), run(torch, TF, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_second_derivatives_match_torch(need_weights):
    """Ours through either path (explicit weights, or the fused node) against PyTorch's math
    path (its fused CPU kernel has no double backward)."""
    ours, theirs = _mha_pair(embed_dim=E, num_heads=H, batch_first=True)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((2, 4, E))
    mask = np.triu(np.ones((4, 4), bool), 1)
    grads = []
    for T, m in ((ms, ours), (torch, theirs)):
        xt = T.tensor(x, requires_grad=True)
        with sdpa_kernel(SDPBackend.MATH):
            y = m(xt, xt, xt, attn_mask=T.tensor(mask), need_weights=need_weights)[0]
            (gx,) = T.autograd.grad((y * y).sum(), xt, create_graph=True)
            (gx * gx).sum().backward()
        grads.append([xt.grad.numpy()] + [p.grad.numpy() for _, p in m.named_parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_multihead_attention_fully_masked_rows_like_torch():
    ours, theirs = _mha_pair(embed_dim=E, num_heads=H, batch_first=True)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((N, L, E))
    kpm = np.zeros((N, L), bool)
    kpm[0] = True  # the first sequence is all padding
    for need_weights in (False, True):
        a = ours(ms.tensor(x), ms.tensor(x), ms.tensor(x), key_padding_mask=ms.tensor(kpm),
                 need_weights=need_weights)[0].numpy()
        with torch.no_grad():
            b = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)[0]
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-12, equal_nan=True)
        assert np.isnan(a[0]).all() == need_weights  # PyTorch: NaN with the weights, zeros through SDPA


@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"add_bias_kv": True}, {"kdim": 3, "vdim": 5},
                                {"kdim": 3, "add_bias_kv": True, "bias": False}], ids=str)
def test_multihead_attention_parameters_and_init_like_torch(kw):
    ours, theirs = ms.nn.MultiheadAttention(16, 4, **kw), torch.nn.MultiheadAttention(16, 4, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    assert type(ours.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(ours.out_proj, ms.nn.Linear)
    for name, p in ours.named_parameters():
        a = p.numpy()
        if name in ("in_proj_bias", "out_proj.bias"):
            assert not a.any(), name
        elif name.endswith("proj_weight"):
            fan_out, fan_in = a.shape
            assert np.abs(a).max() <= math.sqrt(6.0 / (fan_in + fan_out)) and a.std() > 0, name
        else:
            assert a.std() > 0, name


def test_multihead_attention_errors_say_what_was_wrong():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        ms.nn.MultiheadAttention(10, 3)
    m = ms.nn.MultiheadAttention(8, 2)
    x = ms.randn(5, 3, 8)
    with pytest.raises(ValueError, match=r"2-D attn_mask has shape \(4, 5\) but should be \(L, S\) = \(5, 5\)"):
        m(x, x, x, attn_mask=ms.zeros(4, 5))
    with pytest.raises(ValueError, match=r"3-D attn_mask has shape \(3, 5, 5\) but should be .* \(6, 5, 5\)"):
        m(x, x, x, attn_mask=ms.zeros(3, 5, 5))
    with pytest.raises(ValueError, match=r"key_padding_mask has shape \(5, 3\) but should be \(N, S\) = \(3, 5\)"):
        m(x, x, x, key_padding_mask=ms.zeros(5, 3, dtype=ms.bool))
    with pytest.raises(ValueError, match="is_causal=True is only a hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="expected the query's embedding dimension to be 8, got 6"):
        m(ms.randn(5, 3, 6), x, x)
    with pytest.raises(ValueError, match="batch size 3 but key has 2"):
        m(x, ms.randn(5, 2, 8), ms.randn(5, 2, 8))
    with pytest.raises(ValueError, match="query must be an unbatched 2-D"):
        m(ms.randn(2, 5, 3, 8), x, x)
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=ms.zeros(5, 5, dtype=ms.int64))
