"""layer_norm / LayerNorm, rms_norm / RMSNorm and the smooth activations (gelu, silu, softplus)
against PyTorch: forward, gradients of the input and every parameter (float64 to 1e-8, float32
to 1e-4), second derivatives through create_graph, finite differences, state dicts, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import TOL, compare, finite_difference_check, make_inputs

torch.set_num_threads(1)

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])

# (input shape, normalized_shape)
NORM_SHAPES = [((4, 7), (7,)), ((2, 3, 5), 5), ((2, 3, 4, 5), (4, 5)), ((3, 2, 3, 4), (2, 3, 4)), ((6,), (6,))]


def _norm_fn(F_, shape, affine):
    if F_ is TF and isinstance(shape, int):  # torch's functional form wants a tuple; ours takes both
        shape = (shape,)

    def f(x, *wb):
        w = wb[0] if affine in ("both", "weight") else None
        b = wb[-1] if affine in ("both", "bias") else None
        return F_.layer_norm(x, shape, w, b, eps=1e-5)
    return f


@DTYPES
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("xshape,nshape", NORM_SHAPES, ids=str)
def test_layer_norm_matches_torch(xshape, nshape, affine, dtype):
    rng = np.random.default_rng(len(xshape) * 10 + len(affine))
    ns = (nshape,) if isinstance(nshape, int) else nshape
    arrays = make_inputs([xshape], rng)
    arrays[0] = arrays[0] * 3.0 + 1.5  # away from mean 0 / variance 1, so the normalisation matters
    arrays += make_inputs([ns] * {"both": 2, "weight": 1, "bias": 1, "none": 0}[affine], rng)
    compare(_norm_fn(F, nshape, affine), arrays, dtype=dtype, torch_fn=_norm_fn(TF, nshape, affine),
            name=f"layer_norm {xshape} {nshape} {affine}")


@DTYPES
def test_layer_norm_non_contiguous_and_reused_input(dtype):
    rng = np.random.default_rng(3)
    x, w, b = make_inputs([(5, 4, 6), (4,), (4,)], rng)

    def run(F_):
        def f(x, w, b):
            xt = x.transpose(1, 2)  # (5, 6, 4), a strided view
            return F_.layer_norm(xt, (4,), w, b) * xt
        return f

    compare(run(F), [x, w, b], dtype=dtype, torch_fn=run(TF), name="layer_norm strided")


@DTYPES
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("xshape,nshape", NORM_SHAPES[:4], ids=str)
def test_rms_norm_matches_torch(xshape, nshape, eps, affine, dtype):
    rng = np.random.default_rng(len(xshape))
    ns = (nshape,) if isinstance(nshape, int) else nshape
    arrays = make_inputs([xshape] + ([ns] if affine else []), rng)

    def run(F_):
        ns_ = (nshape,) if F_ is TF and isinstance(nshape, int) else nshape
        return lambda x, *w: F_.rms_norm(x, ns_, w[0] if w else None, eps=eps)

    compare(run(F), arrays, dtype=dtype, torch_fn=run(TF), name=f"rms_norm {xshape} {nshape}")


def _second_order(fn_ms, fn_th, arrays, dtype, rtol=1e-7, atol=1e-9):
    """Gradients of a loss built from ∂(Σ w·tanh(fn))/∂x: the backward of fn must itself be
    differentiable (create_graph=True), with respect to x and to every parameter."""
    got = [ms.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    want = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    losses = []
    for T, fn, ins in ((ms, fn_ms, got), (torch, fn_th, want)):
        y = fn(*ins)
        w = np.random.default_rng(6).standard_normal(tuple(y.shape)).astype(dtype)
        (gx,) = T.autograd.grad((T.tanh(y) * T.tensor(w)).sum(), ins[0], create_graph=True)
        w2 = np.random.default_rng(5).standard_normal(tuple(gx.shape)).astype(dtype)
        loss = (gx * gx * T.tensor(w2)).sum()
        loss.backward()
        losses.append(float(loss.item()))
    np.testing.assert_allclose(losses[0], losses[1], rtol=rtol, atol=atol)
    for i, (g, t) in enumerate(zip(got, want)):
        assert g.grad is not None, f"input {i}: no second-order gradient"
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}")


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_second_derivatives_match_torch(affine):
    rng = np.random.default_rng(8)
    arrays = make_inputs([(3, 2, 5), (2, 5), (2, 5)] if affine else [(3, 2, 5)], rng)
    if affine:
        _second_order(lambda x, w, b: F.layer_norm(x, (2, 5), w, b), lambda x, w, b: TF.layer_norm(x, (2, 5), w, b),
                      arrays, np.float64)
    else:
        _second_order(lambda x: F.layer_norm(x, 5), lambda x: TF.layer_norm(x, (5,)), arrays, np.float64)


def test_rms_norm_second_derivatives_match_torch():
    rng = np.random.default_rng(9)
    arrays = make_inputs([(4, 6), (6,)], rng)
    _second_order(lambda x, w: F.rms_norm(x, 6, w), lambda x, w: TF.rms_norm(x, (6,), w), arrays, np.float64)


def test_norm_finite_differences():
    rng = np.random.default_rng(10)
    x, w, b = make_inputs([(3, 4), (4,), (4,)], rng)
    finite_difference_check(lambda x, w, b: F.layer_norm(x, 4, w, b), [x, w, b], name="layer_norm")
    finite_difference_check(lambda x, w: F.rms_norm(x, 4, w), [x, w], name="rms_norm")


@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False}, {"eps": 1e-3}])
@pytest.mark.parametrize("shape", [8, (3, 8)], ids=str)
def test_layernorm_module_state_dict_and_parity(shape, kwargs):
    theirs = torch.nn.LayerNorm(shape, dtype=torch.float64, **kwargs)
    ours = ms.nn.LayerNorm(shape, dtype=ms.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 3, 8)) * 2 + 1
    compare(ours, [x], torch_fn=theirs, name="LayerNorm")
    xm, xt = ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(xm) ** 3).sum().backward()
    (theirs(xt) ** 3).sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=name, **TOL[np.float64])


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-4}, {"elementwise_affine": False}])
def test_rmsnorm_module_matches_torch(kwargs):
    theirs = torch.nn.RMSNorm((2, 6), **kwargs)
    ours = ms.nn.RMSNorm((2, 6), **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(2)
    if ours.weight is not None:
        w = rng.uniform(0.5, 1.5, (2, 6)).astype(np.float32)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
        ours.load_state_dict({"weight": w})
    compare(ours, [rng.standard_normal((4, 2, 6))], dtype=np.float32, torch_fn=theirs, name="RMSNorm")


def test_norm_float32_stays_float32_and_module_to_float64():
    x = ms.randn(4, 8)
    assert F.layer_norm(x, 8).dtype == ms.float32
    assert F.rms_norm(x, 8).dtype == ms.float32
    ln = ms.nn.LayerNorm(8).to(ms.float64)
    assert ln(x.double()).dtype == ms.float64


def test_norm_errors_say_what_was_wrong():
    with pytest.raises(ValueError, match=r"normalized_shape=\[5\] expects an input of shape \(\*, 5\).*\(2, 3\)"):
        F.layer_norm(ms.randn(2, 3), 5)
    with pytest.raises(ValueError, match="weight has shape"):
        F.layer_norm(ms.randn(2, 3), 3, weight=ms.ones(4))
    with pytest.raises(TypeError, match="float32 but the weight is mlseries.float64"):
        F.layer_norm(ms.randn(2, 3), 3, weight=ms.ones(3, dtype=ms.float64))
    with pytest.raises(ValueError, match="rms_norm"):
        ms.nn.RMSNorm(4)(ms.randn(3, 5))


# ---- activations -------------------------------------------------------------------------------
ACTIVATIONS = [
    ("gelu", lambda F_, x: F_.gelu(x)),
    ("gelu_tanh", lambda F_, x: F_.gelu(x, approximate="tanh")),
    ("silu", lambda F_, x: F_.silu(x)),
    ("softplus", lambda F_, x: F_.softplus(x)),
    ("softplus_beta", lambda F_, x: F_.softplus(x, beta=2.0, threshold=5.0)),
]


@DTYPES
@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch(name, fn, dtype):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-3, 3, 40), [-12.0, -6.0, -4.0, -1e-3, 0.0, 1e-3, 4.0, 6.0, 12.0]])
    compare(lambda x: fn(F, x), [x.reshape(7, 7)], dtype=dtype, torch_fn=lambda x: fn(TF, x), name=name)


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_second_derivatives_match_torch(name, fn):
    rng = np.random.default_rng(7)
    _second_order(lambda x: fn(F, x), lambda x: fn(TF, x), [rng.uniform(-3, 3, (5, 6))], np.float64)


def test_gelu_is_one_node_and_modules_use_it():
    x = ms.randn(3, 4, requires_grad=True)
    assert type(F.gelu(x).grad_fn).__name__ == "Gelu"
    assert type(ms.nn.GELU("tanh")(x).grad_fn).__name__ == "Gelu"
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(x, approximate="fast")
