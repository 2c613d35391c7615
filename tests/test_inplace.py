"""In-place edits through views and detached tensors: the engine must refuse a backward pass whose
saved values were changed, exactly where PyTorch does, and must not refuse where PyTorch runs.

Views (slices, transposes, reshapes), `detach()` and `.data` share one version counter with the
tensor whose memory they see, so an edit through any of them is seen by every node that saved it.
"""
import numpy as np
import pytest
import torch

import mlseries as ms
from mlseries._tensor import FusedFunction


def _detach_then_edit(T):
    x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()  # Mul saves x
    with T.no_grad():
        x.detach().mul_(2.0)
    return y


def _detached_output_edit(T):
    w = T.tensor([0.5, -1.0], requires_grad=True)
    e = w.exp()  # Exp saves its output
    e.detach().mul_(3.0)
    return e.sum()


def _slice_edit(T):
    x = T.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = (x.sin()).sum()  # Sin saves x
    with T.no_grad():
        x[0:2].mul_(2.0)
    return y


def _transpose_edit(T):
    X = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = (X * X).sum()
    with T.no_grad():
        X.T.add_(1.0)
    return y


def _sigmoid_output_no_grad_edit(T):
    x = T.tensor([0.1, -0.3, 2.0], requires_grad=True)
    s = x.sigmoid()  # Sigmoid saves its output
    with T.no_grad():
        s.mul_(2.0)
    return s.sum()


def _reshape_edit(T):
    x = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x.tanh().sum()  # Tanh saves its output, which we edit through a reshaped view
    h = x.tanh()
    z = (h * 1.0).sum() + y
    with T.no_grad():
        h.view(-1).zero_()
    return z + (h * h).sum()


def _setitem_under_no_grad_through_view(T):
    x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp().sum() + (x * x).sum()
    with T.no_grad():
        v = x[1:]
        v[0] = 10.0
    return y


RAISES = [_detach_then_edit, _detached_output_edit, _slice_edit, _transpose_edit, _sigmoid_output_no_grad_edit,
          _reshape_edit, _setitem_under_no_grad_through_view]


@pytest.mark.parametrize("case", RAISES, ids=[c.__name__.strip("_") for c in RAISES])
def test_edit_through_a_view_is_refused_like_torch(case):
    with pytest.raises(RuntimeError, match="inplace"):
        case(torch).backward()
    with pytest.raises(RuntimeError, match="in-place operation"):
        case(ms).backward()


def _edit_unsaved_view(T):
    # Add saves nothing, so editing its input afterwards is harmless in both frameworks.
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1.0).sum()
    with T.no_grad():
        x[0:1].mul_(3.0)
    return y, x


def _edit_copy(T):
    # A clone has its own memory and counter: editing it leaves the graph's values alone.
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    c = x.detach().clone()
    c.mul_(3.0)
    return y, x


def _edit_before_use(T):
    x = T.tensor([1.0, 2.0], requires_grad=True)
    with T.no_grad():
        x.detach()[0] = 4.0
    y = (x * x).sum()
    return y, x


def _data_edit(T):
    # `.data` is PyTorch's untracked door: edits through it are not counted, in either framework
    # (old-style optimisers write `p.data.add_(...)`), and backward uses the new values.
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    x.data.mul_(5.0)
    return y, x


ALLOWED = [_edit_unsaved_view, _edit_copy, _edit_before_use, _data_edit]


@pytest.mark.parametrize("case", ALLOWED, ids=[c.__name__.strip("_") for c in ALLOWED])
def test_harmless_edits_still_run_and_match_torch(case):
    y_t, x_t = case(torch)
    y_m, x_m = case(ms)
    y_t.backward()
    y_m.backward()
    np.testing.assert_allclose(x_m.grad.numpy(), x_t.grad.numpy(), rtol=1e-6)


def test_views_share_the_version_counter():
    x = ms.zeros(4, 3)
    views = [x[1:], x.T, x.view(12), x.detach(), x.reshape(2, 6), x.transpose(0, 1), x.flip(0), x[0]]
    before = x._version
    x.add_(1.0)
    assert all(v._version == before + 1 for v in views)
    views[0].mul_(2.0)
    assert x._version == before + 2
    copy = x[[0, 2]]  # integer-array indexing copies: a counter of its own
    copy.mul_(2.0)
    assert x._version == before + 2


def test_optimizer_step_between_forward_and_backward_is_refused():
    # The classic GAN mistake: stepping the weights after a forward pass that saved them.
    lin = ms.nn.Linear(3, 2)
    opt = ms.optim.SGD(lin.parameters(), lr=0.1)
    x = ms.randn(4, 3, requires_grad=True)
    loss = (lin(x) ** 2).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="in-place operation"):
        loss.backward()


class _Square(FusedFunction):
    """x² as a fused node, to test the array path against the composite path."""

    def compute(self, x, scale):
        return x * x * scale

    def backward_arrays(self, g):
        return (g * 2.0 * self.inputs[0]._data * self.params["scale"],)

    @staticmethod
    def composite(x, scale):
        return x * x * scale


def test_fused_function_second_derivatives_come_from_its_composite():
    x = ms.tensor([1.0, -2.0, 0.5], dtype=ms.float64, requires_grad=True)
    y = _Square.apply(x, scale=3.0).sum()
    (g,) = ms.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 6.0 * x.numpy())
    (h,) = ms.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 6.0, 6.0])
    # the array path, for an ordinary backward
    x.grad = None
    _Square.apply(x, scale=3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6.0 * x.numpy())


def test_fused_create_graph_does_not_walk_upstream_of_its_inputs():
    a = ms.tensor([1.0, 2.0], dtype=ms.float64, requires_grad=True)
    b = a.exp()
    y = _Square.apply(b, scale=1.0).sum()
    (g,) = ms.autograd.grad(y, a, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2.0 * np.exp(2.0 * a.numpy()))
    (h,) = ms.autograd.grad(g.sum(), a)
    np.testing.assert_allclose(h.numpy(), 4.0 * np.exp(2.0 * a.numpy()))
