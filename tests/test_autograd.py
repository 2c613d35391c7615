"""The graph machinery: accumulation, deep graphs, higher-order gradients, grad modes, errors."""
import numpy as np
import pytest
import torch

import mlseries as ms


def both(x):
    return ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def test_node_used_twice_accumulates():
    a = ms.tensor([3.0], requires_grad=True)
    b = a + a
    b.backward()
    assert a.grad.tolist() == [2.0]


def test_diamond_graph_matches_torch():
    m, t = both(np.array([0.3, -1.2, 2.0]))
    for T, x in ((ms, m), (torch, t)):
        y = x * 2.0
        (T.tanh(y) * y + y.exp() / (y * y + 1.0)).sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_graph_ten_thousand_ops_deep():
    x = ms.tensor(1.0, dtype=ms.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_gradients_accumulate_across_backward_calls_and_zero():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]


def test_grads_of_inputs_never_share_memory():
    a = ms.tensor([1.0, 2.0], requires_grad=True)
    b = ms.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(10.0)
    assert b.grad.tolist() == [1.0, 1.0]


def test_backward_twice_needs_retain_graph():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


def test_non_scalar_backward_requires_gradient_argument():
    x = ms.randn(3, requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(3,\).*gradient="):
        y.backward()
    y.backward(ms.tensor([1.0, 0.0, 2.0]))
    assert x.grad.tolist() == [2.0, 0.0, 4.0]


def test_backward_on_tensor_without_grad_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ms.tensor([1.0]).sum().backward()


def test_no_grad_and_enable_grad():
    x = ms.randn(2, requires_grad=True)
    with ms.no_grad():
        y = x * 2.0
        with ms.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert ms.is_grad_enabled()

    @ms.no_grad()
    def f(t):
        return t * 3.0
    assert not f(x).requires_grad


def test_set_grad_enabled_as_function_and_context():
    with ms.set_grad_enabled(False):
        assert not ms.is_grad_enabled()
    assert ms.is_grad_enabled()


def test_detach_and_retain_grad():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    (y * y.detach()).sum().backward()
    assert y.grad.tolist() == [3.0, 6.0]
    assert x.grad.tolist() == [9.0, 18.0]


def test_inplace_on_leaf_requiring_grad_is_refused():
    w = ms.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with ms.no_grad():
        w -= 1.0
    assert w.tolist() == [-1.0, -1.0, -1.0] and w.is_leaf


def test_modified_saved_tensor_is_detected():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    z = y * y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_autograd_grad_does_not_touch_dot_grad():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ms.autograd.grad((x ** 3).sum(), x)
    assert g.tolist() == [3.0, 12.0]
    assert x.grad is None


def test_autograd_grad_non_leaf_and_leaf_inputs():
    for T in (ms, torch):
        x = T.tensor([0.5, -1.0], requires_grad=True)
        y = x * x
        z = (T.tanh(y) * x).sum()
        gy, gx = (ms.autograd if T is ms else torch.autograd).grad(z, [y, x])
        if T is ms:
            got = (gy.numpy(), gx.numpy())
        else:
            want = (gy.numpy(), gx.numpy())
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def test_autograd_grad_unused_input():
    x = ms.randn(2, requires_grad=True)
    u = ms.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        ms.autograd.grad(x.sum(), [x, u])
    gx, gu = ms.autograd.grad(x.sum(), [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [1.0, 1.0]


# ---- second derivatives -----------------------------------------------------------------------
def test_second_derivative_of_tanh():
    xs = np.linspace(-2, 2, 7)
    m, t = both(xs)
    res = []
    for T, x, ag in ((ms, m, ms.autograd), (torch, t, torch.autograd)):
        (g,) = ag.grad(T.tanh(x).sum(), x, create_graph=True)
        (h,) = ag.grad(g.sum(), x)
        res.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10, atol=1e-12)
    analytic = -2 * np.tanh(xs) * (1 - np.tanh(xs) ** 2)
    np.testing.assert_allclose(res[0][1], analytic, rtol=1e-10, atol=1e-12)


def test_third_derivative_via_backward_create_graph():
    x = ms.tensor(0.7, dtype=ms.float64, requires_grad=True)
    y = x ** 4
    (g1,) = ms.autograd.grad(y, x, create_graph=True)
    (g2,) = ms.autograd.grad(g1, x, create_graph=True)
    g2.backward()
    assert x.grad.item() == pytest.approx(24 * 0.7)


def test_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    x0, v = rng.standard_normal(3), rng.standard_normal(3)
    out = []
    for T, ag in ((ms, ms.autograd), (torch, torch.autograd)):
        x = T.tensor(x0, requires_grad=True)
        w = T.tensor(W)
        f = (T.tanh(w @ x) ** 2).sum() + (x * x * x).sum()
        (g,) = ag.grad(f, x, create_graph=True)
        (hv,) = ag.grad((g * T.tensor(v)).sum(), x)
        out.append(hv.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10)


def test_wgan_gp_gradient_penalty_reaches_critic_weights():
    rng = np.random.default_rng(1)
    W1, b1, W2 = rng.standard_normal((5, 4)), rng.standard_normal(5), rng.standard_normal((1, 5))
    real, fake, alpha = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)), rng.uniform(size=(6, 1))
    grads = []
    for T, ag in ((ms, ms.autograd), (torch, torch.autograd)):
        w1, c1, w2 = (T.tensor(a, requires_grad=True) for a in (W1, b1, W2))
        mix = T.tensor(alpha) * T.tensor(real) + (1 - T.tensor(alpha)) * T.tensor(fake)
        mix.requires_grad_(True)
        critic = T.tanh(mix @ w1.T + c1) @ w2.T          # (6, 1)
        (gx,) = ag.grad(critic.sum(), mix, create_graph=True)
        penalty = ((gx.norm(dim=1) - 1.0) ** 2).mean()
        loss = critic.mean() + 10.0 * penalty
        loss.backward()
        grads.append([p.grad.numpy() for p in (w1, c1, w2)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_second_order_through_softmax_log_softmax_and_indexing():
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((3, 4))
    out = []
    for T, ag in ((ms, ms.autograd), (torch, torch.autograd)):
        x = T.tensor(x0, requires_grad=True)
        f = (T.softmax(x, 1) * T.log_softmax(x * 2.0, 1)).sum() + (x[:, 1:3] ** 3).sum() + T.logsumexp(x, 0).sum()
        (g,) = ag.grad(f, x, create_graph=True)
        (h,) = ag.grad((g * g).sum(), x)
        out.append(h.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-9, atol=1e-12)


def test_second_derivative_through_linear_bias_matches_torch():
    rng = np.random.default_rng(4)
    W, b, X = rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal((4, 3))
    out = []
    for T, ag, F in ((ms, ms.autograd, ms.nn.functional), (torch, torch.autograd, torch.nn.functional)):
        w, c = T.tensor(W, requires_grad=True), T.tensor(b, requires_grad=True)
        gw, gb = ag.grad((F.linear(T.tensor(X), w, c) ** 3).sum(), [w, c], create_graph=True)
        (hw,) = ag.grad(gb.sum() + (gw * gw).sum(), w)
        out.append(hw.numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10)


@pytest.mark.parametrize("expr", [
    lambda T, a, b: a + a * b + b.log() * 2,
    lambda T, a, b: (a - b * a) + b.exp(),
    lambda T, a, b: (a + b) * (a + b).sum() + a,
    lambda T, a, b: T.stack([a + b, a * b, b - a]).sum(0) + b,
    lambda T, a, b: (a + a) * b + (b + b).tanh() + a,
])
def test_a_gradient_shared_by_several_nodes_is_not_changed_in_place(expr):
    # Add passes one gradient array to both inputs; a leaf that adopts it as .grad must not add
    # into it later while another node still has to read it (found in ordinary graphs).
    import torch
    w = [1.0, -2.0, 0.5]
    grads = []
    for T in (ms, torch):
        a = T.tensor([1.0, 2.0, 0.3], dtype=T.float64, requires_grad=True)
        b = T.tensor([3.0, 4.0, 1.5], dtype=T.float64, requires_grad=True)
        (expr(T, a, b) * T.tensor(w, dtype=T.float64)).sum().backward()
        grads.append((a.grad.numpy().copy(), b.grad.numpy().copy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_retained_gradient_is_its_own_array():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    h = x + 0.0
    h.retain_grad()
    (h * 3.0).sum().backward()
    x.grad.zero_()
    assert h.grad.tolist() == [3.0, 3.0]
