"""max_pool2d, avg_pool2d, adaptive_avg_pool2d and their layers against PyTorch: forward and
gradients over odd sizes, stride ≠ kernel, padding, dilation and ceil_mode; second derivatives
(the scatter/gather adjoint pairs) and finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)

MAX_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 7, 9), dict(kernel_size=2)),  # odd sizes: the last row/column is dropped
    ((1, 2, 9, 7), dict(kernel_size=3, stride=2)),  # overlapping windows
    ((2, 2, 7, 8), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1))),
    ((1, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    ((2, 2, 7, 6), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((3, 7, 5), dict(kernel_size=2, stride=1)),  # unbatched
]

AVG_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 2, 9, 7), dict(kernel_size=3, stride=2)),
    ((2, 2, 7, 8), dict(kernel_size=(3, 2), stride=(1, 2), padding=1)),
    ((2, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 2, 7, 6), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((1, 2, 6, 6), dict(kernel_size=3, padding=1, divisor_override=5)),
]

ADAPTIVE_CASES = [((2, 3, 8, 8), (4, 4)), ((2, 3, 7, 9), (3, 4)), ((1, 2, 5, 6), 1), ((1, 2, 5, 6), (None, 4)),
                  ((2, 3, 4, 5), (6, 7)), ((3, 6, 6), 2)]


def _ids(cases):
    return [f"{a}-{b}" for a, b in cases]


def _distinct(shape, rng):
    """Inputs without ties, so the argmax (and hence the gradient) is unambiguous."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0 - 3.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,kw", MAX_CASES, ids=_ids(MAX_CASES))
def test_max_pool2d_matches_torch(shape, kw, dtype):
    x = _distinct(shape, np.random.default_rng(len(shape) + sum(shape)))
    compare(lambda t: F.max_pool2d(t, **kw), [x], dtype=dtype, torch_fn=lambda t: TF.max_pool2d(t, **kw),
            name=f"max_pool2d {kw}")


@pytest.mark.parametrize("shape,kw", MAX_CASES[:7], ids=_ids(MAX_CASES[:7]))
def test_max_pool2d_return_indices_match_torch(shape, kw):
    x = _distinct(shape, np.random.default_rng(3))
    _, ours = F.max_pool2d(ms.tensor(x), return_indices=True, **kw)
    _, theirs = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with ms.no_grad():  # no graph: the indices are found again
        _, again = F.max_pool2d(ms.tensor(x, requires_grad=True), return_indices=True, **kw)
    np.testing.assert_array_equal(again.numpy(), theirs.numpy())


def test_max_pool2d_ties_go_to_the_first_element_like_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0  # a tie inside the first window
    compare(lambda t: F.max_pool2d(t, 2), [x], torch_fn=lambda t: TF.max_pool2d(t, 2), name="ties")
    compare(lambda t: F.max_pool2d(t, 3, 1, 1), [x], torch_fn=lambda t: TF.max_pool2d(t, 3, 1, 1), name="ties overlap")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,kw", AVG_CASES, ids=_ids(AVG_CASES))
def test_avg_pool2d_matches_torch(shape, kw, dtype):
    x = make_inputs([shape], np.random.default_rng(sum(shape)))[0]
    compare(lambda t: F.avg_pool2d(t, **kw), [x], dtype=dtype, torch_fn=lambda t: TF.avg_pool2d(t, **kw),
            name=f"avg_pool2d {kw}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES, ids=_ids(ADAPTIVE_CASES))
def test_adaptive_avg_pool2d_matches_torch(shape, size, dtype):
    x = make_inputs([shape], np.random.default_rng(sum(shape)))[0]
    compare(lambda t: F.adaptive_avg_pool2d(t, size), [x], dtype=dtype,
            torch_fn=lambda t: TF.adaptive_avg_pool2d(t, size), name=f"adaptive_avg_pool2d {size}")


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pool_second_derivatives_match_torch(pool):
    """Differentiating a pooled network's input gradient again goes through the adjoint pairs."""
    x = _distinct((2, 2, 7, 7), np.random.default_rng(4))
    kw = dict(kernel_size=3, stride=2, padding=1)

    def fn(T, pool_fn, x):
        (gx,) = T.autograd.grad((pool_fn(x * x, **kw) ** 3).sum(), x, create_graph=True)
        return (gx * T.sin(x)).sum()

    ours = ms.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    fn(ms, getattr(F, f"{pool}_pool2d"), ours).backward()
    fn(torch, getattr(TF, f"{pool}_pool2d"), theirs).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_pool_finite_differences():
    x = _distinct((1, 2, 5, 6), np.random.default_rng(6))
    finite_difference_check(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), [x], name="max_pool2d")
    finite_difference_check(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False), [x], name="avg_pool2d")
    finite_difference_check(lambda t: F.adaptive_avg_pool2d(t, (2, 4)), [x], name="adaptive_avg_pool2d")


def test_pool_layers_repr_and_forward():
    assert repr(ms.nn.MaxPool2d(2)) == repr(torch.nn.MaxPool2d(2))
    assert repr(ms.nn.MaxPool2d(3, 2, 1, ceil_mode=True)) == repr(torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True))
    assert repr(ms.nn.AvgPool2d(3)) == repr(torch.nn.AvgPool2d(3))
    assert repr(ms.nn.AdaptiveAvgPool2d((1, 1))) == repr(torch.nn.AdaptiveAvgPool2d((1, 1)))
    x = _distinct((2, 3, 7, 7), np.random.default_rng(7))
    for ours, theirs in [(ms.nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                         (ms.nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
                         (ms.nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1))]:
        compare(ours, [x], torch_fn=theirs, name=repr(ours))
    values, indices = ms.nn.MaxPool2d(2, return_indices=True)(ms.tensor(x))
    np.testing.assert_array_equal(indices.numpy(), torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))[1])


def test_pool_errors_name_the_problem():
    with pytest.raises(ValueError, match="half of the kernel"):
        F.max_pool2d(ms.randn(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool2d(ms.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="4-D"):
        F.avg_pool2d(ms.randn(4, 4), 2)
