"""batch_norm and BatchNorm1d/2d against PyTorch: training-mode forward and gradients, running
statistics after several steps (momentum and cumulative), evaluation mode, state dicts, second
derivatives, finite differences; Dropout2d."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)

SHAPES = [(4, 3), (5, 3, 7), (4, 3, 5, 6), (2, 5, 3, 3)]


def _channels_last(x):
    """The same values in (N, H, W, C) memory, as a convolution leaves them."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).transpose((0, x.ndim - 1) + tuple(range(1, x.ndim - 1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_training_matches_torch(shape, affine, dtype):
    rng = np.random.default_rng(sum(shape))
    c = shape[1]
    arrays = make_inputs([shape, (c,), (c,)], rng)
    arrays[0] = arrays[0] * 3.0 + 1.0
    n_affine = {"both": 2, "weight": 1, "none": 0}[affine]

    def run(T, fn):
        def f(x, *wb):
            w = wb[0] if n_affine >= 1 else None
            b = wb[1] if n_affine == 2 else None
            rm, rv = T.zeros(c, dtype=x.dtype), T.ones(c, dtype=x.dtype)
            return fn(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
        return f

    compare(run(ms, F.batch_norm), arrays[:1 + n_affine], dtype=dtype, torch_fn=run(torch, TF.batch_norm),
            name=f"batch_norm {shape}")
    if len(shape) >= 3:  # channels-last memory takes the other reduction path
        arrays[0] = _channels_last(arrays[0])
        compare(run(ms, F.batch_norm), arrays[:1 + n_affine], dtype=dtype, torch_fn=run(torch, TF.batch_norm),
                name=f"batch_norm channels-last {shape}")


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum", "cumulative"])
@pytest.mark.parametrize("layer,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (6, 3, 5)),
                                         ("BatchNorm2d", (4, 3, 5, 5))])
def test_batchnorm_layer_running_stats_and_eval_match_torch(layer, shape, momentum):
    ours = getattr(ms.nn, layer)(3, momentum=momentum, dtype=ms.float64)
    theirs = getattr(torch.nn, layer)(3, momentum=momentum, dtype=torch.float64)
    rng = np.random.default_rng(2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 3)))
        theirs.bias.copy_(torch.tensor(rng.uniform(-1, 1, 3)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        compare(ours, [x], torch_fn=theirs, name=f"{layer} train step {step}")
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-12, err_msg=key)
    assert int(ours.num_batches_tracked.item()) == 4
    ours.eval()
    theirs.eval()
    compare(ours, [rng.standard_normal(shape)], torch_fn=theirs, name=f"{layer} eval")


def test_batchnorm_layer_state_repr_and_options():
    bn = ms.nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert repr(bn) == repr(torch.nn.BatchNorm2d(4))
    assert repr(ms.nn.BatchNorm1d(3, affine=False, track_running_stats=False)) == \
        repr(torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False))
    assert list(ms.nn.BatchNorm2d(2, bias=False).state_dict()) == list(torch.nn.BatchNorm2d(2, bias=False).state_dict())
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert bn.num_batches_tracked.dtype == ms.int64
    # Without running statistics, evaluation uses the batch's own, as in PyTorch.
    free = ms.nn.BatchNorm2d(3, track_running_stats=False).eval()
    y = free(ms.randn(4, 3, 2, 2) * 5 + 2)
    np.testing.assert_allclose(y.numpy().mean((0, 2, 3)), 0, atol=1e-5)
    assert bn.to(ms.float64).running_mean.dtype == ms.float64


def test_batch_norm_second_derivatives_match_torch():
    """A gradient penalty through batch norm: the backward pass must itself be differentiable."""
    rng = np.random.default_rng(9)
    x, w, b = make_inputs([(4, 3, 2, 2), (3,), (3,)], rng)

    def fn(T, bn, x, w, b):
        y = bn(x, None, None, w, b, training=True)
        (gx,) = T.autograd.grad((T.tanh(y) * T.arange(48.0, dtype=x.dtype).reshape(4, 3, 2, 2)).sum(), x,
                                create_graph=True)
        return (gx * gx).sum()

    got = [ms.tensor(a, requires_grad=True) for a in (x, w, b)]
    want = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    fn(ms, F.batch_norm, *got).backward()
    fn(torch, TF.batch_norm, *want).backward()
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_batch_norm_finite_differences():
    rng = np.random.default_rng(10)
    x, w, b = make_inputs([(3, 2, 2, 3), (2,), (2,)], rng)
    finite_difference_check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b],
                            name="batch_norm")


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ms.nn.BatchNorm1d(3)(ms.randn(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        ms.nn.BatchNorm2d(3)(ms.randn(2, 3, 4))
    with pytest.raises(ValueError, match="has 2 channels"):
        ms.nn.BatchNorm2d(3)(ms.randn(2, 2, 4, 4))


def test_dropout2d_zeroes_whole_channels_and_scales():
    ms.manual_seed(0)
    x = ms.ones(64, 32, 3, 3, requires_grad=True)
    layer = ms.nn.Dropout2d(0.25)
    assert repr(layer) == repr(torch.nn.Dropout2d(0.25))
    y = layer(x)
    per_channel = y.numpy().reshape(64, 32, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # each map is all kept or all zero
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.15 < (per_channel[..., 0] == 0).mean() < 0.35
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    assert layer.eval()(x) is x
    with pytest.warns(UserWarning, match="3D input to dropout2d"):  # PyTorch 2.13 reads 3-D as (N, C, L)
        assert F.dropout2d(ms.ones(3, 4, 4), 1.0).numpy().max() == 0
    ms.manual_seed(3)
    a = F.dropout2d(ms.ones(2, 8, 2, 2))
    ms.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), F.dropout2d(ms.ones(2, 8, 2, 2)).numpy())
