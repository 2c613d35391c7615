"""conv2d and conv_transpose2d against PyTorch: forward and gradients (float64 to 1e-8, float32
to 1e-4) over odd sizes, strides, padding, dilation and groups; second derivatives; finite
differences; the Conv2d / ConvTranspose2d layers (init, repr, padding modes)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)

# (x shape, weight shape, keyword arguments) — odd sizes, every option at least once.
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(padding=1)),
    ((1, 2, 9, 8), (3, 2, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 2, 10, 11), (2, 2, 3, 3), dict(stride=(3, 2), padding=2)),
    ((2, 3, 9, 9), (4, 3, 3, 3), dict(dilation=2, padding=1)),
    ((2, 4, 6, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 6, 5, 5), (6, 1, 3, 3), dict(groups=6, stride=2, padding=1)),  # depthwise
    ((2, 3, 8, 7), (5, 3, 1, 1), dict()),  # 1×1
    ((1, 2, 4, 5), (3, 2, 1, 2), dict(padding=1)),  # padding beyond the kernel's reach
    ((2, 1, 6, 6), (3, 1, 4, 4), dict(padding="same")),  # even kernel: extra padding on the bottom/right
    ((2, 2, 7, 5), (3, 2, 3, 3), dict(padding="valid", dilation=(1, 2))),
    ((3, 5, 5), (2, 3, 3, 3), dict(padding=1)),  # unbatched (C, H, W)
]

TRANSPOSE_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), dict()),
    ((2, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 3, 3), (4, 3, 2, 2), dict(stride=2)),  # the U-Net upsampler
    ((2, 4, 5, 4), (4, 1, 3, 3), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2), groups=2)),
    ((1, 2, 4, 4), (2, 3, 3, 3), dict(dilation=2, padding=1, stride=2, output_padding=1)),
]


def _ids(cases):
    return [f"{x}-{w}-{kw}" for x, w, kw in cases]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES, ids=_ids(CONV_CASES))
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_matches_torch(xs, ws, kw, bias, dtype):
    rng = np.random.default_rng(sum(xs) + sum(ws))
    shapes = [xs, ws] + ([(ws[0],)] if bias else [])
    compare(lambda *a: F.conv2d(*a, **kw), make_inputs(shapes, rng), dtype=dtype,
            torch_fn=lambda *a: TF.conv2d(*a, **kw), name=f"conv2d {kw}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,kw", TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_conv_transpose2d_matches_torch(xs, ws, kw, bias, dtype):
    rng = np.random.default_rng(sum(xs) * 3 + sum(ws))
    groups = kw.get("groups", 1)
    shapes = [xs, ws] + ([(ws[1] * groups,)] if bias else [])
    compare(lambda *a: F.conv_transpose2d(*a, **kw), make_inputs(shapes, rng), dtype=dtype,
            torch_fn=lambda *a: TF.conv_transpose2d(*a, **kw), name=f"conv_transpose2d {kw}")


def test_conv2d_input_in_ordinary_and_channels_last_memory():
    """The engine computes channels-last; an input viewed from either layout gives the same answer."""
    rng = np.random.default_rng(5)
    x, w = make_inputs([(2, 3, 6, 5), (4, 3, 3, 3)], rng)
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    a = F.conv2d(ms.tensor(x), ms.tensor(w), padding=1).numpy()
    b = F.conv2d(ms.from_numpy(nhwc), ms.tensor(w), padding=1).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, groups=2, dilation=(2, 1), padding=(1, 2))],
                         ids=["plain", "strided-groups"])
def test_conv2d_second_derivatives_match_torch(kw):
    """A gradient penalty: ‖∂(Σ v·conv(x, w))/∂x‖² differentiated again with respect to x and w
    (WGAN-GP does this through its critic)."""
    rng = np.random.default_rng(11)
    x, w, b = make_inputs([(2, 4, 7, 6), (4, 2 if "groups" in kw else 4, 3, 3), (4,)], rng)

    def penalty(T, conv, x, w, b):
        out = conv(x, w, b, **kw)
        v = T.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        inner = T.tanh(out).mul(v).sum()
        (gx,) = T.autograd.grad(inner, x, create_graph=True)
        return (gx * gx).sum() + (gx * x).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w, b)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    p_ms = penalty(ms, F.conv2d, *got)
    p_th = penalty(torch, TF.conv2d, *want)
    np.testing.assert_allclose(p_ms.item(), p_th.item(), rtol=1e-10)
    p_ms.backward()
    p_th.backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_conv_weight_gradient_is_differentiable():
    """Second derivative through the weight gradient too (the third of the adjoint trio)."""
    rng = np.random.default_rng(12)
    x, w = make_inputs([(2, 3, 6, 6), (2, 3, 3, 3)], rng)

    def fn(T, conv, x, w):
        (gw,) = T.autograd.grad(T.sin(conv(x, w, stride=2, padding=1)).sum(), w, create_graph=True)
        return (gw ** 2).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w)]
    fn(ms, F.conv2d, *got).backward()
    fn(torch, TF.conv2d, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_conv_finite_differences():
    rng = np.random.default_rng(13)
    x, w, b = make_inputs([(1, 2, 5, 4), (3, 2, 2, 3), (3,)], rng)
    finite_difference_check(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), [x, w, b], name="conv2d")
    x, w = make_inputs([(1, 2, 3, 3), (2, 1, 3, 2)], rng)
    finite_difference_check(lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1, groups=2), [x, w],
                            name="conv_transpose2d")


def test_conv2d_layer_init_repr_and_padding_modes():
    ms.manual_seed(0)
    conv = ms.nn.Conv2d(1, 32, 3, padding=1)
    assert repr(conv) == "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert conv.weight.shape == (32, 1, 3, 3) and conv.bias.shape == (32,)
    # kaiming_uniform(a=√5): U(−1/√fan_in, 1/√fan_in) with fan_in = 1·3·3, the bias likewise
    assert np.abs(conv.weight.numpy()).max() <= 1 / 3 and np.abs(conv.weight.numpy()).max() > 0.3
    assert np.abs(conv.bias.numpy()).max() <= 1 / 3
    assert list(conv.state_dict()) == ["weight", "bias"]
    odd = ms.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False,
                       padding_mode="reflect")
    assert repr(odd) == repr(torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False,
                                             padding_mode="reflect"))
    tconv = ms.nn.ConvTranspose2d(4, 2, 2, stride=2)
    assert repr(tconv) == "ConvTranspose2d(4, 2, kernel_size=(2, 2), stride=(2, 2))"
    assert tconv.weight.shape == (4, 2, 2, 2)
    x = ms.randn(1, 4, 5, 5)
    assert tconv(x).shape == (1, 2, 10, 10)
    assert tconv(x, output_size=(11, 11)).shape == (1, 2, 11, 11)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_layer_padding_modes_match_torch(mode):
    theirs = torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode, dtype=torch.float64)
    ours = ms.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode, dtype=ms.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    compare(ours, [x], torch_fn=theirs, name=f"Conv2d padding_mode={mode}")


def test_conv_transpose2d_output_size_argument():
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    ours = ms.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=ms.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 4))
    compare(lambda t: ours(t, output_size=(8, 8)), [x], torch_fn=lambda t: theirs(t, output_size=(8, 8)),
            name="ConvTranspose2d output_size")
    with pytest.raises(ValueError, match="not reachable"):
        ours(ms.tensor(x), output_size=(12, 12))


def test_conv_errors_name_the_problem():
    x = ms.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match="should have 1 channels"):
        F.conv2d(x, ms.randn(4, 1, 3, 3))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.conv2d(ms.randn(1, 1, 2, 2), ms.randn(1, 1, 3, 3))
    with pytest.raises(TypeError, match="float64"):
        F.conv2d(x.double(), ms.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, ms.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(x, ms.randn(3, 2, 3, 3), stride=2, output_padding=2)


@pytest.mark.parametrize("block_bytes", [1, 3000], ids=["one-image-blocks", "uneven-blocks"])
def test_conv_blocked_over_the_batch_matches_torch(monkeypatch, block_bytes):
    """im2col runs a block of images at a time; tiny blocks (and a short last block) change nothing."""
    from mlseries import _ops_conv
    monkeypatch.setattr(_ops_conv, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(21)
    kw = dict(stride=2, padding=1, groups=2)
    compare(lambda x, w, b: F.conv2d(x, w, b, **kw), make_inputs([(5, 4, 7, 6), (6, 2, 3, 3), (6,)], rng),
            torch_fn=lambda x, w, b: TF.conv2d(x, w, b, **kw), name="blocked conv2d")
    compare(lambda x, w: F.conv_transpose2d(x, w, **kw), make_inputs([(5, 4, 4, 3), (4, 3, 3, 3)], rng),
            torch_fn=lambda x, w: TF.conv_transpose2d(x, w, **kw), name="blocked conv_transpose2d")
