"""The part-3 layers against PyTorch: 1-D convolution and pooling, adaptive max pooling, group /
instance / local-response norm, normalize, the extra activations, distances, pixel shuffles,
unfold/fold, padding layers, bilinear, embedding bags and the dropout variants. Forward values
and the gradients of every input and parameter (float64 to 1e-8, float32 to 1e-4), state dicts
loaded from PyTorch, second derivatives, finite differences for the new calculus, and errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from module_parity import check_module, randomise
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


def _ids(cases):
    return [f"{x}-{w}-{kw}" for x, w, kw in cases]


def _load(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


# ---- 1-D convolution --------------------------------------------------------------------------------
CONV1D_CASES = [
    ((2, 3, 9), (4, 3, 3), dict()),
    ((2, 3, 9), (4, 3, 3), dict(padding=1)),
    ((1, 2, 11), (3, 2, 4), dict(stride=2, padding=2)),
    ((2, 4, 10), (6, 2, 3), dict(groups=2, dilation=2, padding=1)),
    ((2, 4, 7), (4, 1, 3), dict(groups=4, stride=3)),  # depthwise
    ((2, 2, 8), (3, 2, 4), dict(padding="same")),  # even kernel: the extra padding on the right
    ((2, 2, 8), (3, 2, 3), dict(padding="valid", dilation=2)),
    ((3, 7), (2, 3, 3), dict(padding=(1,), stride=(2,))),  # unbatched (C, L), sizes as 1-tuples
]

TRANSPOSE1D_CASES = [
    ((2, 3, 5), (3, 2, 3), dict()),
    ((2, 3, 5), (3, 2, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 4), (4, 3, 2), dict(stride=2)),
    ((2, 4, 5), (4, 1, 3), dict(stride=3, padding=1, output_padding=2, groups=2)),
    ((1, 2, 4), (2, 3, 3), dict(dilation=2, padding=1, stride=2, output_padding=1)),
    ((3, 5), (3, 2, 3), dict(stride=2)),  # unbatched
]


@DTYPES
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,kw", CONV1D_CASES, ids=_ids(CONV1D_CASES))
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv1d_matches_torch(xs, ws, kw, bias, dtype):
    rng = np.random.default_rng(sum(xs) + sum(ws))
    shapes = [xs, ws] + ([(ws[0],)] if bias else [])
    compare(lambda *a: F.conv1d(*a, **kw), make_inputs(shapes, rng), dtype=dtype,
            torch_fn=lambda *a: TF.conv1d(*a, **kw), name=f"conv1d {kw}")


@DTYPES
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("xs,ws,kw", TRANSPOSE1D_CASES, ids=_ids(TRANSPOSE1D_CASES))
def test_conv_transpose1d_matches_torch(xs, ws, kw, bias, dtype):
    rng = np.random.default_rng(sum(xs) * 3 + sum(ws))
    shapes = [xs, ws] + ([(ws[1] * kw.get("groups", 1),)] if bias else [])
    compare(lambda *a: F.conv_transpose1d(*a, **kw), make_inputs(shapes, rng), dtype=dtype,
            torch_fn=lambda *a: TF.conv_transpose1d(*a, **kw), name=f"conv_transpose1d {kw}")


@pytest.mark.parametrize("make", [
    lambda T, d: T.nn.Conv1d(3, 4, 3, padding=1, dtype=d),
    lambda T, d: T.nn.Conv1d(4, 6, 2, stride=2, dilation=2, groups=2, bias=False, dtype=d),
    lambda T, d: T.nn.Conv1d(3, 2, 4, padding="same", padding_mode="reflect", dtype=d),
    lambda T, d: T.nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular", dtype=d),
    lambda T, d: T.nn.Conv1d(3, 2, 3, padding=1, padding_mode="replicate", dtype=d),
    lambda T, d: T.nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1, dtype=d),
    lambda T, d: T.nn.ConvTranspose1d(4, 2, 2, stride=2, groups=2, dilation=1, bias=False, dtype=d),
], ids=["conv", "strided-groups", "same-reflect", "circular", "replicate", "transpose", "transpose-groups"])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv1d_layers_load_torch_state_and_match(make):
    theirs, ours = make(torch, torch.float64), make(ms, ms.float64)
    randomise(theirs, 0)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(3).standard_normal((2, theirs.in_channels, 7))
    check_module(ours, theirs, [x], lambda T, m, x: m(x))


def test_conv1d_init_and_transpose_output_size():
    ms.manual_seed(0)
    conv = ms.nn.Conv1d(2, 5, 3)
    assert conv.weight.shape == (5, 2, 3) and conv.kernel_size == (3,) and conv.stride == (1,)
    bound = 1 / math.sqrt(2 * 3)  # fan_in = in_channels · kernel
    assert 0.8 * bound < np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.bias.numpy()).max() <= bound
    theirs = torch.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    ours = _load(ms.nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, dtype=ms.float64), theirs)
    x = np.random.default_rng(1).standard_normal((1, 3, 4))
    compare(lambda t: ours(t, output_size=[8]), [x], torch_fn=lambda t: theirs(t, output_size=[8]),
            name="ConvTranspose1d output_size")
    with pytest.raises(ValueError, match="not reachable"):
        ours(ms.tensor(x), output_size=[12])


def test_conv1d_second_derivatives_match_torch():
    """A gradient penalty through conv1d (a WGAN-GP critic on audio): differentiated twice."""
    rng = np.random.default_rng(11)
    x, w, b = make_inputs([(2, 4, 9), (4, 2, 3), (4,)], rng)

    def penalty(T, conv, x, w, b):
        out = conv(x, w, b, stride=2, padding=1, groups=2)
        (gx,) = T.autograd.grad(T.tanh(out).sum(), x, create_graph=True)
        return (gx * gx).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w, b)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    p_ms, p_th = penalty(ms, F.conv1d, *got), penalty(torch, TF.conv1d, *want)
    np.testing.assert_allclose(p_ms.item(), p_th.item(), rtol=1e-10)
    p_ms.backward()
    p_th.backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_conv1d_errors_speak_of_lengths():
    x = ms.randn(2, 3, 8)
    with pytest.raises(ValueError, match="3-D"):
        F.conv1d(x, ms.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="should have 1 channels"):
        F.conv1d(x, ms.randn(4, 1, 3))
    with pytest.raises(ValueError, match="length 2"):
        F.conv1d(ms.randn(1, 1, 2), ms.randn(1, 1, 3))
    with pytest.raises(ValueError, match="2-D \\(C, L\\) or 3-D"):
        F.conv1d(ms.randn(1, 1, 2, 2), ms.randn(1, 1, 1))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose1d(x, ms.randn(3, 2, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="1-tuple"):
        ms.nn.Conv1d(1, 1, (3, 3))


# ---- 1-D and adaptive pooling -------------------------------------------------------------------------
POOL1D_CASES = [
    ((2, 3, 9), dict(kernel_size=2)),
    ((2, 3, 10), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 11), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((2, 2, 12), dict(kernel_size=2, stride=1, dilation=3)),
    ((3, 9), dict(kernel_size=(4,), stride=(3,), padding=(2,), ceil_mode=True)),  # unbatched
]


@DTYPES
@pytest.mark.parametrize("xs,kw", POOL1D_CASES, ids=[str(k) for _, k in POOL1D_CASES])
def test_max_pool1d_matches_torch(xs, kw, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs)))
    compare(lambda t: F.max_pool1d(t, **kw, return_indices=True), x, dtype=dtype,
            torch_fn=lambda t: TF.max_pool1d(t, **kw, return_indices=True), name=f"max_pool1d {kw}")


@DTYPES
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("xs,kw", [c for c in POOL1D_CASES if "dilation" not in c[1]],
                         ids=[str(k) for _, k in POOL1D_CASES if "dilation" not in k])
def test_avg_pool1d_matches_torch(xs, kw, count_include_pad, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs) + 1))
    compare(lambda t: F.avg_pool1d(t, **kw, count_include_pad=count_include_pad), x, dtype=dtype,
            torch_fn=lambda t: TF.avg_pool1d(t, **kw, count_include_pad=count_include_pad), name=f"avg_pool1d {kw}")


@DTYPES
@pytest.mark.parametrize("xs,out", [((2, 3, 10), 4), ((2, 3, 7), 7), ((1, 2, 5), 8), ((3, 11), 1), ((2, 2, 13), 5)])
def test_adaptive_pool1d_matches_torch(xs, out, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs) + out))
    compare(lambda t: F.adaptive_avg_pool1d(t, out), x, dtype=dtype,
            torch_fn=lambda t: TF.adaptive_avg_pool1d(t, out), name="adaptive_avg_pool1d")
    compare(lambda t: F.adaptive_max_pool1d(t, out, return_indices=True), x, dtype=dtype,
            torch_fn=lambda t: TF.adaptive_max_pool1d(t, out, return_indices=True), name="adaptive_max_pool1d")


@DTYPES
@pytest.mark.parametrize("xs,out", [((2, 3, 10, 9), (4, 3)), ((1, 2, 7, 7), 1), ((2, 2, 5, 6), (8, None)),
                                    ((3, 11, 4), (3, 2)), ((1, 1, 6, 6), (6, 6))])
def test_adaptive_max_pool2d_matches_torch(xs, out, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs)))
    compare(lambda t: F.adaptive_max_pool2d(t, out, return_indices=True), x, dtype=dtype,
            torch_fn=lambda t: TF.adaptive_max_pool2d(t, out, return_indices=True), name="adaptive_max_pool2d")


def test_adaptive_max_pool_ties_pick_the_first_and_finite_differences():
    x = ms.tensor([[[1.0, 3.0, 3.0, 2.0, 2.0]]], requires_grad=True)
    t = torch.tensor(x.numpy(), requires_grad=True)
    out, idx = F.adaptive_max_pool1d(x, 2, return_indices=True)
    want, want_idx = TF.adaptive_max_pool1d(t, 2, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    rng = np.random.default_rng(4)
    finite_difference_check(lambda t: F.adaptive_max_pool2d(t, (2, 3)), make_inputs([(1, 2, 5, 7)], rng),
                            name="adaptive_max_pool2d")


@pytest.mark.parametrize("make", [
    lambda T: T.nn.MaxPool1d(3, 2, 1), lambda T: T.nn.MaxPool1d(2, return_indices=True),
    lambda T: T.nn.AvgPool1d(3), lambda T: T.nn.AvgPool1d(4, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda T: T.nn.AdaptiveAvgPool1d(4), lambda T: T.nn.AdaptiveMaxPool1d(3, return_indices=True),
    lambda T: T.nn.AdaptiveMaxPool2d((3, None)), lambda T: T.nn.AdaptiveMaxPool2d(2),
], ids=["max", "max-indices", "avg", "avg-options", "adaptive-avg", "adaptive-max1d", "adaptive-max2d-none",
        "adaptive-max2d"])
def test_pooling_modules_match_torch(make):
    ours, theirs = make(ms), make(torch)
    assert repr(ours) == repr(theirs)
    shape = (2, 3, 7, 9) if "2d" in repr(theirs) else (2, 3, 11)
    x = np.random.default_rng(2).standard_normal(shape)
    compare(ours, [x], torch_fn=theirs, name=repr(theirs))


def test_pooling_errors_speak_of_1d_windows():
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool1d(ms.randn(1, 1, 8), 2, padding=2)
    with pytest.raises(ValueError, match="too small"):
        F.avg_pool1d(ms.randn(1, 1, 2), 3)
    with pytest.raises(ValueError, match="2-D \\(C, L\\) or 3-D"):
        F.max_pool1d(ms.randn(8), 2)
    with pytest.raises(ValueError, match="positive"):
        F.adaptive_max_pool2d(ms.randn(1, 1, 4, 4), (0, 2))


# ---- normalisation ------------------------------------------------------------------------------------
@DTYPES
@pytest.mark.parametrize("xs,groups,affine", [((2, 6, 5, 4), 3, True), ((3, 4, 7), 2, False), ((4, 6), 3, True),
                                              ((2, 4, 3, 2, 3), 4, True), ((2, 5, 3), 1, True)])
def test_group_norm_matches_torch(xs, groups, affine, dtype):
    rng = np.random.default_rng(sum(xs))
    c = xs[1]
    arrays = make_inputs([xs] + ([(c,), (c,)] if affine else []), rng)
    compare(lambda x, *wb: F.group_norm(x, groups, *wb, eps=1e-4), arrays, dtype=dtype,
            torch_fn=lambda x, *wb: TF.group_norm(x, groups, *wb, eps=1e-4), name="group_norm")


@DTYPES
@pytest.mark.parametrize("xs", [(2, 3, 7), (3, 2, 4, 5), (1, 4, 3, 3)])
def test_instance_norm_matches_torch_with_running_stats(xs, dtype):
    rng = np.random.default_rng(sum(xs))
    c = xs[1]
    x, w, b = make_inputs([xs, (c,), (c,)], rng)
    stats = {T: [T.tensor(rng_a.astype(dtype)) for rng_a in (np.zeros(c), np.ones(c))] for T in (ms, torch)}
    compare(lambda x, w, b: F.instance_norm(x, *stats[ms], w, b, use_input_stats=True, momentum=0.3),
            [x, w, b], dtype=dtype,
            torch_fn=lambda x, w, b: TF.instance_norm(x, *stats[torch], w, b, use_input_stats=True, momentum=0.3),
            name="instance_norm training")
    tol = dict(rtol=1e-8, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for a, t in zip(stats[ms], stats[torch]):
        np.testing.assert_allclose(a.numpy(), t.numpy(), **tol)
    compare(lambda x, w, b: F.instance_norm(x, *stats[ms], w, b, use_input_stats=False), [x, w, b], dtype=dtype,
            torch_fn=lambda x, w, b: TF.instance_norm(x, *stats[torch], w, b, use_input_stats=False),
            name="instance_norm with running statistics")
    compare(lambda x: F.instance_norm(x), [x], dtype=dtype, torch_fn=lambda x: TF.instance_norm(x),
            name="instance_norm plain")


@pytest.mark.parametrize("make,shape", [
    (lambda T, d: T.nn.GroupNorm(2, 6, dtype=d), (2, 6, 3, 4)),
    (lambda T, d: T.nn.GroupNorm(3, 3, affine=False, dtype=d), (2, 3, 5)),
    (lambda T, d: T.nn.GroupNorm(1, 4, eps=1e-3, bias=False, dtype=d), (2, 4, 3, 3)),
    (lambda T, d: T.nn.InstanceNorm1d(3, dtype=d), (2, 3, 6)),
    (lambda T, d: T.nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=d), (2, 3, 6)),
    (lambda T, d: T.nn.InstanceNorm2d(4, affine=True, dtype=d), (2, 4, 3, 5)),
    (lambda T, d: T.nn.InstanceNorm2d(4, track_running_stats=True, momentum=None, dtype=d), (4, 3, 5)),
    (lambda T, d: T.nn.BatchNorm1d(3, dtype=d), (4, 3, 5)),
    (lambda T, d: T.nn.LocalResponseNorm(3, alpha=0.01, beta=0.6, k=2.0), (2, 5, 3, 4)),
    (lambda T, d: T.nn.LocalResponseNorm(4), (2, 6, 5)),
], ids=["group", "group-noaffine", "group-nobias", "instance1d", "instance1d-track", "instance2d-affine",
        "instance2d-unbatched-track", "batchnorm1d-ncl", "lrn", "lrn-3d"])
def test_norm_modules_load_torch_state_and_match(make, shape):
    theirs, ours = make(torch, torch.float64), make(ms, ms.float64)
    randomise(theirs, 1)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(5).standard_normal(shape) * 2 + 1
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        check_module(ours, theirs, [x], lambda T, m, x: m(x))
        for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            np.testing.assert_allclose(np.asarray(a.numpy(), float), t.double().numpy(), rtol=1e-10, err_msg=k)


@DTYPES
@pytest.mark.parametrize("xs,size", [((2, 5, 4), 3), ((2, 6, 3, 4), 5), ((1, 4, 2, 3, 2), 2), ((2, 3, 4, 4), 8)])
def test_local_response_norm_matches_torch(xs, size, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs)), -3, 3)
    compare(lambda t: F.local_response_norm(t, size, alpha=0.1, beta=0.8, k=1.5), x, dtype=dtype,
            torch_fn=lambda t: TF.local_response_norm(t, size, alpha=0.1, beta=0.8, k=1.5), name="lrn")


@DTYPES
@pytest.mark.parametrize("p,dim", [(2, 1), (1, -1), (3, 0), (math.inf, 1), (2, (1, 2))])
def test_normalize_matches_torch(p, dim, dtype):
    x = make_inputs([(3, 4, 5)], np.random.default_rng(7))[0]
    x[1, :, 2] = 0.0  # a zero vector: the eps floor and a zero-safe norm gradient
    compare(lambda t: F.normalize(t, p, dim), [x], dtype=dtype, torch_fn=lambda t: TF.normalize(t, p, dim),
            name=f"normalize p={p}")


def test_group_norm_second_derivatives_match_torch():
    rng = np.random.default_rng(9)
    x, w, b = make_inputs([(2, 4, 3, 3), (4,), (4,)], rng)

    def fn(T, gn, x, w, b):
        (gx,) = T.autograd.grad(T.sin(gn(x, 2, w, b)).sum(), x, create_graph=True)
        return (gx * gx).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w, b)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    fn(ms, F.group_norm, *got).backward()
    fn(torch, TF.group_norm, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_norm_errors_speak_the_users_terms():
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(ms.randn(2, 5, 3), 2)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        ms.nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(ms.randn(2, 3, 1))
    with pytest.raises(ValueError, match="expected 2D \\(unbatched\\) or 3D"):
        ms.nn.InstanceNorm1d(3)(ms.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="num_features"):
        ms.nn.InstanceNorm1d(3, affine=True)(ms.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="num_features"):
        ms.nn.InstanceNorm1d(3)(ms.randn(2, 4, 5))
    with pytest.raises(ValueError, match="3D or higher"):
        F.local_response_norm(ms.randn(2, 3), 2)


# ---- activations --------------------------------------------------------------------------------------
# Random values plus every kink and bound, where the derivative is a choice PyTorch made.
_KINKS = np.array([-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6, 20, -20, 25, -25], float)

ACTIVATIONS = [
    ("relu6", {}), ("hardtanh", {}), ("hardtanh", dict(min_val=-2.0, max_val=0.5)), ("hardsigmoid", {}),
    ("hardswish", {}), ("mish", {}), ("selu", {}), ("celu", {}), ("celu", dict(alpha=0.5)), ("softsign", {}),
    ("tanhshrink", {}), ("threshold", dict(threshold=0.5, value=-2.0)), ("softshrink", {}),
    ("softshrink", dict(lambd=1.0)), ("hardshrink", {}), ("hardshrink", dict(lambd=0.0)),
    ("glu", {}), ("glu", dict(dim=0)), ("rrelu", {}),
]


@DTYPES
@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}-{k}" for n, k in ACTIVATIONS])
def test_functional_activations_match_torch(name, kw, dtype):
    rng = np.random.default_rng(len(name))
    x = np.concatenate([rng.uniform(-5, 5, 15), _KINKS]).reshape(2, 14)
    compare(lambda t: getattr(F, name)(t, **kw), [x], dtype=dtype,
            torch_fn=lambda t: getattr(TF, name)(t, **kw), name=name)


@DTYPES
@pytest.mark.parametrize("xs,ws", [((2, 3, 4), (3,)), ((2, 3, 4), (1,)), ((5,), (1,)), ((2, 4, 3, 3), (4,)),
                                   ((), (1,))])
def test_prelu_matches_torch(xs, ws, dtype):
    rng = np.random.default_rng(sum(xs) + 7)
    x, w = make_inputs([xs, ws], rng)
    x.reshape(-1)[:1] = 0.0  # the kink: PyTorch gives x the slope there
    compare(F.prelu, [x, w], dtype=dtype, torch_fn=TF.prelu, name="prelu")


ACTIVATION_MODULES = [
    lambda T: T.nn.ReLU6(), lambda T: T.nn.ReLU6(inplace=True), lambda T: T.nn.Hardtanh(),
    lambda T: T.nn.Hardtanh(-2.5, 2, inplace=True), lambda T: T.nn.Hardsigmoid(), lambda T: T.nn.Hardswish(),
    lambda T: T.nn.Mish(), lambda T: T.nn.SELU(), lambda T: T.nn.CELU(0.7), lambda T: T.nn.GLU(1),
    lambda T: T.nn.Softsign(), lambda T: T.nn.Tanhshrink(), lambda T: T.nn.Threshold(0.1, 20),
    lambda T: T.nn.Softshrink(0.3), lambda T: T.nn.Hardshrink(), lambda T: T.nn.RReLU(0.1, 0.3),
    lambda T: T.nn.Softmax2d(), lambda T: T.nn.LogSoftmax(dim=1), lambda T: T.nn.Softmin(dim=1),
    lambda T: T.nn.Identity(3, some_argument=4),
]


@pytest.mark.parametrize("make", ACTIVATION_MODULES, ids=[repr(m(torch)) for m in ACTIVATION_MODULES])
def test_activation_modules_match_torch(make):
    ours, theirs = make(ms), make(torch)
    assert repr(ours) == repr(theirs)
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(3).uniform(-4, 4, (2, 4, 3, 2))
    compare(ours, [x], torch_fn=lambda t: theirs(t * 1), name=repr(theirs))  # * 1: torch's inplace=True edits


def test_prelu_module_loads_torch_state_and_learns_slopes():
    for n in (1, 3):
        theirs, ours = torch.nn.PReLU(n, init=0.1, dtype=torch.float64), ms.nn.PReLU(n, init=0.1, dtype=ms.float64)
        assert repr(ours) == repr(theirs) and np.allclose(ours.weight.numpy(), 0.1)
        randomise(theirs, 2)
        check_module(ours, theirs, [np.random.default_rng(n).standard_normal((2, 3, 4))], lambda T, m, x: m(x))


def test_rrelu_training_draws_slopes_in_range_and_uses_them_in_backward():
    ms.manual_seed(0)
    x = ms.tensor(np.linspace(-4, 4, 400).reshape(20, 20), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = (y / x).numpy()
    neg = x.numpy() < 0
    assert np.all((slopes[neg] >= 0.1) & (slopes[neg] <= 0.3)) and np.all(slopes[~neg] == 1)
    assert len(np.unique(slopes[neg])) > 100  # one slope per element
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)


def test_activation_second_derivatives_match_torch():
    rng = np.random.default_rng(5)
    x, w = rng.uniform(-4, 4, (3, 4)), rng.uniform(0.1, 0.5, (4,))

    def fn(T, Fm, x, w):
        y = (Fm.hardswish(x) + Fm.mish(x) * Fm.selu(x) + Fm.prelu(x, w) ** 2).sum()
        y = y + (Fm.glu(x, 1) * Fm.softsign(x)[:, :2]).sum() + Fm.celu(x, 0.5).pow(2).sum()
        (gx,) = T.autograd.grad(y, x, create_graph=True)
        return (gx * gx).sum() + (gx * w).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w)]
    fn(ms, F, *got).backward()
    fn(torch, TF, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_activation_errors_speak_the_users_terms():
    with pytest.raises(ValueError, match="halving dimension must be even"):
        F.glu(ms.randn(2, 5))
    with pytest.raises(ValueError, match="3 channels"):
        F.prelu(ms.randn(2, 3), ms.randn(4))
    with pytest.raises(ValueError, match="lambd"):
        F.softshrink(ms.randn(3), -1.0)
    with pytest.raises(ValueError, match="greater than min_val"):
        ms.nn.Hardtanh(1.0, -1.0)


# ---- distances ----------------------------------------------------------------------------------------
CDIST_CASES = [
    ((5, 3), (4, 3), 2.0, "use_mm_for_euclid_dist_if_necessary"),  # small: the direct difference
    ((30, 4), (27, 4), 2.0, "use_mm_for_euclid_dist_if_necessary"),  # large: one matrix product
    ((2, 6, 3), (2, 5, 3), 2.0, "use_mm_for_euclid_dist"),
    ((2, 1, 6, 3), (3, 5, 3), 2.0, "donot_use_mm_for_euclid_dist"),  # broadcast batch dimensions
    ((4, 3), (6, 3), 1.0, "use_mm_for_euclid_dist"),
    ((4, 5), (3, 5), 3.0, "use_mm_for_euclid_dist_if_necessary"),
    ((4, 5), (3, 5), math.inf, "use_mm_for_euclid_dist_if_necessary"),
]


@DTYPES
@pytest.mark.parametrize("s1,s2,p,mode", CDIST_CASES, ids=[f"{a}-{b}-p{p}-{m[:8]}" for a, b, p, m in CDIST_CASES])
def test_cdist_matches_torch(s1, s2, p, mode, dtype):
    arrays = make_inputs([s1, s2], np.random.default_rng(len(s1) + s1[-2]))
    compare(lambda a, b: ms.cdist(a, b, p, mode), arrays, dtype=dtype,
            torch_fn=lambda a, b: torch.cdist(a, b, p, mode), name=f"cdist p={p}")


def test_cdist_zero_distance_has_zero_gradient_and_p0_counts():
    x = np.random.default_rng(0).standard_normal((3, 4))
    y = np.concatenate([x[:2], np.ones((2, 4))])  # two rows equal to rows of x
    for p in (2.0, 1.5, 1.0):
        compare(lambda a, b: ms.cdist(a, b, p, "donot_use_mm_for_euclid_dist"), [x, y],
                torch_fn=lambda a, b: torch.cdist(a, b, p, "donot_use_mm_for_euclid_dist"), name=f"cdist zero p={p}")
    got = ms.cdist(ms.tensor(x), ms.tensor(y), 0.0).numpy()
    np.testing.assert_array_equal(got, torch.cdist(torch.tensor(x), torch.tensor(y), 0.0).numpy())


@DTYPES
@pytest.mark.parametrize("p", [2, 1, 3.5, math.inf, 0])
def test_dist_matches_torch(p, dtype):
    a, b = make_inputs([(3, 4), (4,)], np.random.default_rng(3))
    grad = p != 0  # the p = 0 "norm" counts non-zeros: no gradient
    compare(lambda a, b: ms.dist(a, b, p), [a, b], dtype=dtype, torch_fn=lambda a, b: torch.dist(a, b, p),
            name=f"dist p={p}", grad=grad)
    compare(lambda a, b: a.dist(b, p), [a, b], dtype=dtype, torch_fn=lambda a, b: a.dist(b, p), name="Tensor.dist",
            grad=grad)


@DTYPES
@pytest.mark.parametrize("s1,s2,dim", [((4, 5), (4, 5), 1), ((3, 4, 5), (4, 5), -1), ((2, 3, 4), (2, 1, 4), 0),
                                       ((6,), (6,), 0)])
def test_cosine_similarity_matches_torch(s1, s2, dim, dtype):
    a, b = make_inputs([s1, s2], np.random.default_rng(sum(s1)))
    compare(lambda a, b: F.cosine_similarity(a, b, dim), [a, b], dtype=dtype,
            torch_fn=lambda a, b: TF.cosine_similarity(a, b, dim), name="cosine_similarity")


def test_cosine_similarity_of_tiny_vectors_floors_like_torch():
    a = np.random.default_rng(1).standard_normal((3, 4))
    b = a.copy()
    a[0] *= 1e-10  # below eps: floored for the value, not for the gradient's path
    b[1] = 0.0
    compare(lambda a, b: F.cosine_similarity(a, b, eps=1e-8), [a, b],
            torch_fn=lambda a, b: TF.cosine_similarity(a, b, eps=1e-8), name="cosine tiny")


@DTYPES
@pytest.mark.parametrize("p,keepdim", [(2.0, False), (1.0, True), (3.0, False), (math.inf, False)])
def test_pairwise_distance_matches_torch(p, keepdim, dtype):
    a, b = make_inputs([(5, 4), (5, 4)], np.random.default_rng(2))
    b[0] = a[0]  # identical points: eps keeps the norm away from 0
    compare(lambda a, b: F.pairwise_distance(a, b, p, 1e-6, keepdim), [a, b], dtype=dtype,
            torch_fn=lambda a, b: TF.pairwise_distance(a, b, p, 1e-6, keepdim), name="pairwise_distance")
    compare(lambda a, b: F.pairwise_distance(a, b, p), [a[0], b[1]], dtype=dtype,
            torch_fn=lambda a, b: TF.pairwise_distance(a, b, p), name="pairwise_distance 1-D")


def test_distance_modules_and_second_derivatives():
    for make in (lambda T: T.nn.CosineSimilarity(dim=0, eps=1e-6),
                 lambda T: T.nn.PairwiseDistance(p=1.0, keepdim=True)):
        ours, theirs = make(ms), make(torch)
        assert repr(ours) == repr(theirs)
        compare(ours, make_inputs([(4, 3), (4, 3)], np.random.default_rng(0)), torch_fn=theirs, name=repr(theirs))
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((4, 3))

    def fn(T, x, y):
        d = T.cdist(x, y) + T.nn.functional.cosine_similarity(x[:4], y, dim=1).sum()
        (gx,) = T.autograd.grad(d.sum(), x, create_graph=True)
        return (gx ** 2).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, y)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, y)]
    fn(ms, *got).backward()
    fn(torch, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_distance_errors_speak_the_users_terms():
    with pytest.raises(ValueError, match="same number of columns"):
        ms.cdist(ms.randn(3, 4), ms.randn(3, 5))
    with pytest.raises(ValueError, match="at least 2D"):
        ms.cdist(ms.randn(4), ms.randn(3, 4))
    with pytest.raises(ValueError, match="non-negative"):
        ms.cdist(ms.randn(3, 4), ms.randn(3, 4), p=-1)


# ---- pixel shuffles, unfold / fold, padding -----------------------------------------------------------
@DTYPES
@pytest.mark.parametrize("xs,r", [((2, 8, 3, 4), 2), ((1, 9, 2, 2), 3), ((2, 3, 4, 3, 2), 1), ((4, 3, 5), 2)])
def test_pixel_shuffle_and_unshuffle_match_torch(xs, r, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs)))
    if xs[-3] % (r * r) == 0:
        compare(lambda t: F.pixel_shuffle(t, r), x, dtype=dtype, torch_fn=lambda t: TF.pixel_shuffle(t, r),
                name="pixel_shuffle")
    big = make_inputs([xs[:-2] + (xs[-2] * r, xs[-1] * r)], np.random.default_rng(1))
    compare(lambda t: F.pixel_unshuffle(t, r), big, dtype=dtype, torch_fn=lambda t: TF.pixel_unshuffle(t, r),
            name="pixel_unshuffle")


def test_channel_shuffle_and_shuffle_modules_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 2))
    for make in (lambda T: T.nn.PixelShuffle(1), lambda T: T.nn.PixelUnshuffle(1), lambda T: T.nn.ChannelShuffle(3)):
        ours, theirs = make(ms), make(torch)
        assert repr(ours) == repr(theirs)
        compare(ours, [x], torch_fn=theirs, name=repr(theirs))
    compare(lambda t: F.channel_shuffle(t, 2), [x[:, :, 0]], torch_fn=lambda t: TF.channel_shuffle(t, 2),
            name="channel_shuffle 3-D")
    with pytest.raises(ValueError, match="divisible by the square"):
        F.pixel_shuffle(ms.randn(1, 5, 2, 2), 2)
    with pytest.raises(ValueError, match="divisible by groups"):
        F.channel_shuffle(ms.randn(1, 5, 2, 2), 2)


FOLD_CASES = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((1, 2, 7, 6), dict(kernel_size=(3, 2), stride=2, padding=1)),
    ((2, 2, 8, 7), dict(kernel_size=3, dilation=(2, 1), padding=(2, 0), stride=(1, 2))),
    ((3, 4, 4), dict(kernel_size=2, stride=2)),  # unbatched
]


@DTYPES
@pytest.mark.parametrize("xs,kw", FOLD_CASES, ids=[str(k) for _, k in FOLD_CASES])
def test_unfold_and_fold_match_torch(xs, kw, dtype):
    x = make_inputs([xs], np.random.default_rng(sum(xs)))
    compare(lambda t: F.unfold(t, **kw), x, dtype=dtype, torch_fn=lambda t: TF.unfold(t, **kw), name="unfold")
    cols_shape = tuple(TF.unfold(torch.zeros(xs), **kw).shape)
    cols = make_inputs([cols_shape], np.random.default_rng(1))
    compare(lambda t: F.fold(t, xs[-2:], **kw), cols, dtype=dtype, torch_fn=lambda t: TF.fold(t, xs[-2:], **kw),
            name="fold")


def test_unfold_fold_finite_differences_second_derivative_and_modules():
    rng = np.random.default_rng(6)
    finite_difference_check(lambda t: F.unfold(t, 2, dilation=2, padding=1, stride=(1, 2)),
                            make_inputs([(1, 2, 4, 5)], rng), name="unfold")
    finite_difference_check(lambda t: F.fold(t, (4, 5), (2, 3), padding=1, stride=2), make_inputs([(1, 12, 9)], rng),
                            name="fold")
    x = rng.standard_normal((1, 2, 4, 4))

    def fn(T, Fm, x):
        y = Fm.fold(Fm.unfold(x, 3, padding=1) ** 2, (4, 4), 3, padding=1)
        (gx,) = T.autograd.grad(y.sum(), x, create_graph=True)
        return (gx ** 3).sum()

    a, b = ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fn(ms, F, a).backward()
    fn(torch, TF, b).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    for make in (lambda T: T.nn.Unfold((2, 3), padding=1, stride=2), lambda T: T.nn.Fold((4, 5), 2, dilation=1)):
        ours, theirs = make(ms), make(torch)
        assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="sliding blocks"):
        F.fold(ms.randn(1, 8, 5), (4, 5), 2)
    with pytest.raises(ValueError, match="divisible by the product of kernel_size"):
        F.fold(ms.randn(1, 7, 12), (4, 5), 2)
    with pytest.raises(ValueError, match="at least one"):
        F.unfold(ms.randn(1, 1, 2, 2), 3)


PAD_MODULES = [
    (lambda T: T.nn.ZeroPad2d(1), (2, 3, 4, 5)), (lambda T: T.nn.ZeroPad2d((1, 0, 2, 3)), (3, 4, 5)),
    (lambda T: T.nn.ZeroPad1d((2, 1)), (2, 3, 4)), (lambda T: T.nn.ConstantPad1d(2, 3.5), (2, 3, 4)),
    (lambda T: T.nn.ConstantPad2d((1, 2, 0, 1), -1.0), (2, 3, 4, 5)), (lambda T: T.nn.ReflectionPad1d(2), (2, 3, 4)),
    (lambda T: T.nn.ReflectionPad2d((1, 2, 3, 0)), (2, 3, 4, 5)), (lambda T: T.nn.ReplicationPad1d((1, 3)), (3, 4)),
    (lambda T: T.nn.ReplicationPad2d(2), (2, 3, 4, 5)), (lambda T: T.nn.CircularPad1d(2), (2, 3, 4)),
    (lambda T: T.nn.CircularPad2d((1, 2, 2, 1)), (1, 2, 4, 5)),
]


@pytest.mark.parametrize("make,shape", PAD_MODULES, ids=[repr(m(torch)) for m, _ in PAD_MODULES])
def test_padding_modules_match_torch(make, shape):
    ours, theirs = make(ms), make(torch)
    assert repr(ours) == repr(theirs)
    compare(ours, [np.random.default_rng(0).standard_normal(shape)], torch_fn=theirs, name=repr(theirs))


def test_padding_errors_speak_the_users_terms():
    with pytest.raises(ValueError, match="less than the corresponding input dimension"):
        ms.nn.ReflectionPad1d(3)(ms.randn(1, 2, 3))
    with pytest.raises(ValueError, match="tuple of 4 ints"):
        ms.nn.ZeroPad2d((1, 2))


# ---- bilinear, embedding bags ------------------------------------------------------------------------
@DTYPES
@pytest.mark.parametrize("lead,bias", [((4,), True), ((2, 3), False), ((), True)])
def test_bilinear_matches_torch(lead, bias, dtype):
    shapes = [lead + (3,), lead + (5,), (2, 3, 5)] + ([(2,)] if bias else [])
    compare(F.bilinear, make_inputs(shapes, np.random.default_rng(len(lead))), dtype=dtype, torch_fn=TF.bilinear,
            name="bilinear")


def test_bilinear_module_init_and_state():
    ms.manual_seed(0)
    layer = ms.nn.Bilinear(4, 3, 2)
    assert repr(layer) == repr(torch.nn.Bilinear(4, 3, 2))
    assert layer.weight.shape == (2, 4, 3) and np.abs(layer.weight.numpy()).max() <= 0.5
    theirs = torch.nn.Bilinear(4, 3, 2, dtype=torch.float64)
    rng = np.random.default_rng(1)
    check_module(ms.nn.Bilinear(4, 3, 2, dtype=ms.float64), theirs, [rng.standard_normal((5, 4)),
                 rng.standard_normal((5, 3))], lambda T, m, a, b: m(a, b))


BAG_CASES = [
    dict(input=[[1, 2, 4], [4, 3, 9], [0, 0, 5]], mode="mean"),
    dict(input=[[1, 2, 4], [4, 3, 9]], mode="sum"),
    dict(input=[[1, 2, 4, 2], [4, 3, 9, 1]], mode="max"),
    dict(input=[1, 2, 4, 5, 4, 3, 2, 9], offsets=[0, 3, 3, 5], mode="mean"),  # an empty bag
    dict(input=[1, 2, 4, 5, 4, 3, 2, 9], offsets=[0, 3, 3, 5], mode="max"),
    dict(input=[1, 2, 4, 5, 4, 3, 2, 9], offsets=[0, 2, 6, 8], mode="sum", include_last_offset=True),
    dict(input=[1, 2, 0, 5, 0, 3, 2, 9], offsets=[0, 2, 5], mode="mean", padding_idx=0),
    dict(input=[1, 2, 0, 5, 0, 3, 2, 9], offsets=[0, 2, 5], mode="max", padding_idx=0),
    dict(input=[[1, 2, 7], [6, 3, 8]], mode="mean", scale_grad_by_freq=True),  # no repeats: see below
]


@DTYPES
@pytest.mark.parametrize("case", BAG_CASES, ids=[str(c) for c in BAG_CASES])
def test_embedding_bag_matches_torch(case, dtype):
    case = dict(case)
    idx, off = np.array(case.pop("input")), case.pop("offsets", None)
    w = np.random.default_rng(len(idx)).standard_normal((10, 4))

    def run(T, Fm):
        return lambda w: Fm.embedding_bag(T.tensor(idx), w, None if off is None else T.tensor(off), **case)

    compare(run(ms, F), [w], dtype=dtype, torch_fn=run(torch, TF), name=f"embedding_bag {case}")


@DTYPES
def test_embedding_bag_per_sample_weights_match_torch(dtype):
    idx, off = np.array([1, 2, 4, 5, 4, 3, 0, 9]), np.array([0, 2, 2, 6])
    rng = np.random.default_rng(0)
    w, psw = rng.standard_normal((10, 3)), rng.standard_normal(8)
    for pad in (None, 0):
        def run(T, Fm):
            return lambda w, s: Fm.embedding_bag(T.tensor(idx), w, T.tensor(off), mode="sum", per_sample_weights=s,
                                                 padding_idx=pad)
        compare(run(ms, F), [w, psw], dtype=dtype, torch_fn=run(torch, TF), name="embedding_bag psw")


def test_embedding_bag_scale_grad_by_freq_divides_by_each_index_count():
    """Each row's gradient is divided by how often its index occurs in the batch, as F.embedding
    does (PyTorch 2.13's embedding_bag miscounts when an index repeats: it halves the gradient of the
    largest index instead; we follow the documented rule)."""
    idx = ms.tensor([[1, 2, 4], [4, 3, 9]])
    w1 = ms.tensor(np.random.default_rng(0).standard_normal((10, 3)), requires_grad=True)
    w2 = ms.tensor(w1.numpy().copy(), requires_grad=True)
    g = ms.tensor(np.random.default_rng(1).standard_normal((2, 3)))
    (F.embedding_bag(idx, w1, mode="sum", scale_grad_by_freq=True) * g).sum().backward()
    (F.embedding(idx, w2, scale_grad_by_freq=True).sum(1) * g).sum().backward()
    np.testing.assert_allclose(w1.grad.numpy(), w2.grad.numpy(), rtol=1e-12)
    theirs = torch.tensor(w1.numpy(), requires_grad=True)
    rows = TF.embedding(torch.tensor(idx.numpy()), theirs, scale_grad_by_freq=True)
    (rows.sum(1) * torch.tensor(g.numpy())).sum().backward()
    np.testing.assert_allclose(w1.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_embedding_bag_include_last_offset_ends_the_last_bag():
    """offsets in CSR form: the last one ends the last bag (PyTorch's float32 path does this; its
    float64 path runs the last bag to the end of the input)."""
    idx, off = [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 6, 7]
    w = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    got = F.embedding_bag(ms.tensor(idx), ms.tensor(w), ms.tensor(off), mode="sum", include_last_offset=True)
    want = TF.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor(off), mode="sum", include_last_offset=True)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got.numpy()[2], w[2])


def test_embedding_bag_module_loads_torch_state_and_matches():
    for kw in (dict(mode="sum"), dict(mode="max", padding_idx=2), dict(mode="mean", max_norm=1.0)):
        theirs = torch.nn.EmbeddingBag(12, 5, dtype=torch.float64, **kw)
        ours = ms.nn.EmbeddingBag(12, 5, dtype=ms.float64, **kw)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        _load(ours, theirs)
        idx, off = [3, 4, 2, 7, 8, 11, 2], [0, 3, 4]
        got = ours(ms.tensor(idx), ms.tensor(off))
        want = theirs(torch.tensor(idx), torch.tensor(off))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
        got.pow(2).sum().backward()
        want.pow(2).sum().backward()
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-7)
    ms.manual_seed(0)
    fresh = ms.nn.EmbeddingBag(6, 3, padding_idx=1)
    assert np.all(fresh.weight.numpy()[1] == 0) and fresh.weight.numpy().std() > 0.5
    frozen = ms.nn.EmbeddingBag.from_pretrained(ms.randn(4, 2), mode="sum")
    assert not frozen.weight.requires_grad and frozen(ms.tensor([[0, 1]])).shape == (1, 2)


def test_embedding_bag_errors_speak_the_users_terms():
    w = ms.randn(10, 3)
    with pytest.raises(ValueError, match="offsets has to be a 1D"):
        F.embedding_bag(ms.tensor([1, 2]), w)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(ms.tensor([[1, 2]]), w, ms.tensor([0]))
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(ms.tensor([1, 2, 3]), w, ms.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(ms.tensor([[1, 2]]), w, per_sample_weights=ms.ones(1, 2))
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(ms.tensor([[1, 12]]), w)
    with pytest.raises(ValueError, match="max mode does not support"):
        F.embedding_bag(ms.tensor([[1, 2]]), w, mode="max", scale_grad_by_freq=True)


# ---- dropout variants ---------------------------------------------------------------------------------
def test_dropout1d_drops_whole_channels():
    ms.manual_seed(0)
    layer = ms.nn.Dropout1d(0.5)
    assert repr(layer) == repr(torch.nn.Dropout1d(0.5))
    x = ms.ones(64, 8, 10, requires_grad=True)
    y = layer(x)
    values = y.numpy()
    assert np.all((values == 0) | (values == 2.0))
    assert np.all(values.min(axis=2) == values.max(axis=2))  # a channel is kept or dropped whole
    assert 0.4 < (values[:, :, 0] == 0).mean() < 0.6
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)
    assert F.dropout1d(ms.ones(3, 5), 0.5).shape == (3, 5)  # unbatched (C, L)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="2-D \\(C, L\\) or 3-D"):
        F.dropout1d(ms.ones(2, 3, 4, 5))


@pytest.mark.parametrize("feature", [False, True], ids=["alpha", "feature-alpha"])
def test_alpha_dropout_keeps_selu_statistics(feature):
    ms.manual_seed(1)
    make = ms.nn.FeatureAlphaDropout if feature else ms.nn.AlphaDropout
    layer = make(0.2)
    assert repr(layer) == repr((torch.nn.FeatureAlphaDropout if feature else torch.nn.AlphaDropout)(0.2))
    x = F.selu(ms.randn(400, 50, 20) if feature else ms.randn(200, 1000))  # mean 0, variance 1 under SELU
    y = layer(x).numpy()
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05
    dropped_value = -1.7580993408473766 * (1.0 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)) \
        + 1.7580993408473766 * (1.0 / math.sqrt((1.7580993408473766 ** 2 * 0.2 + 1) * 0.8)) * 0.2
    assert 0.15 < np.isclose(y, dropped_value, atol=1e-6).mean() < 0.25
    if feature:  # whole channels: all positions of a dropped (sample, channel) alike
        dropped = np.isclose(y, dropped_value, atol=1e-6)
        assert np.all(dropped.all(axis=2) == dropped.any(axis=2))
    layer.eval()
    assert layer(x) is x
    assert F.alpha_dropout(x, 0.5) is x  # PyTorch's default: training=False
