"""Tensor hooks (register_hook, post-accumulate hooks) and module backward hooks, against PyTorch;
and a Grad-CAM computation on a small CNN from the same weights in both frameworks."""
import numpy as np
import pytest
import torch

import mlseries as ms


def _both(fn):
    return fn(torch), fn(ms)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy()


def test_nonleaf_hook_replaces_gradient_and_sees_total():
    def run(L):
        x = L.tensor([1.0, -2.0, 3.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        y.register_hook(lambda g: g * 10)
        z = (y * y).sum() + y.sum()  # y used twice: the hook sees the sum once
        z.backward()
        return x.grad, seen
    (gt, st), (gm, sm) = _both(run)
    np.testing.assert_allclose(_np(gm), _np(gt), rtol=1e-12)
    assert len(sm) == len(st) == 1
    np.testing.assert_allclose(_np(sm[0]), _np(st[0]), rtol=1e-12)


def test_leaf_hook_runs_once_on_summed_gradient_and_post_hook():
    def run(L):
        c = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        calls, post = [], []
        c.register_hook(lambda g: calls.append(g.clone()))
        c.register_hook(lambda g: g + 1)
        c.register_post_accumulate_grad_hook(lambda t: post.append(t.grad.clone()))
        (c * 2 + c * 3).sum().backward()
        return c.grad, calls, post
    (gt, ct, pt), (gm, cm, pm) = _both(run)
    np.testing.assert_allclose(_np(gm), _np(gt))
    assert len(cm) == len(ct) == 1 and len(pm) == len(pt) == 1
    np.testing.assert_allclose(_np(cm[0]), _np(ct[0]))
    np.testing.assert_allclose(_np(pm[0]), _np(pt[0]))


def test_hooks_under_autograd_grad_and_retain_grad_order():
    def run(L):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g * 10)
        z = (y * y).sum()
        gy = L.autograd.grad(z, y, retain_graph=True)[0]
        gx = L.autograd.grad(z, x, retain_graph=True)[0]
        x.register_hook(lambda g: g + 1)
        gx2 = L.autograd.grad(z, x, retain_graph=True)[0]
        a = L.tensor([1.0], dtype=L.float64, requires_grad=True)
        b = a * 3
        b.retain_grad()  # retained before the hook is registered: still sees the hooked value
        b.register_hook(lambda g: g * 100)
        b.sum().backward()
        return [gy, gx, gx2, b.grad, a.grad]
    rt, rm = _both(run)
    for a, b in zip(rt, rm):
        np.testing.assert_allclose(_np(b), _np(a))


def test_handle_remove_and_errors():
    x = ms.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ms.tensor([1.0]).register_hook(lambda g: g)
    y = x * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda t: None)
    y.register_hook(lambda g: ms.zeros(5))
    with pytest.raises(RuntimeError, match="shape"):
        y.sum().backward()


def test_hook_with_create_graph_second_derivative():
    def run(L):
        x = L.tensor([0.5, 1.5], dtype=L.float64, requires_grad=True)
        y = x ** 3
        y.register_hook(lambda g: g * 2)
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()
        return g, x.grad
    (gt, ht), (gm, hm) = _both(run)
    np.testing.assert_allclose(_np(gm), _np(gt))
    np.testing.assert_allclose(_np(hm), _np(ht))


def test_module_full_backward_hooks():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    X = rng.standard_normal((4, 3))

    def run(L, x_grad):
        lin = L.nn.Linear(3, 2).double()
        with L.no_grad():
            lin.weight.copy_(L.tensor(W))
            lin.bias.copy_(L.tensor(b))
        rec = []
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        lin.register_full_backward_hook(lambda m, gi, go: rec.append((gi, go)))
        x = L.tensor(X, requires_grad=x_grad)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (lin(x) ** 2).sum().backward()
        return rec, lin.weight.grad, x.grad
    for x_grad in (False, True):
        (rt, wt, xt), (rm, wm, xm) = run(torch, x_grad), run(ms, x_grad)
        assert len(rt) == len(rm) == 1
        (git, got), (gim, gom) = rt[0], rm[0]
        np.testing.assert_allclose(_np(gom[0]), _np(got[0]))
        assert len(gim) == len(git)
        if x_grad:
            np.testing.assert_allclose(_np(gim[0]), _np(git[0]))
            np.testing.assert_allclose(_np(xm), _np(xt))
        else:
            assert gim[0] is None and git[0] is None
        np.testing.assert_allclose(_np(wm), _np(wt))


def _cnn(L, weights):
    n = L.nn

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.features = n.Sequential(n.Conv2d(3, 4, 3, padding=1), n.ReLU(), n.Conv2d(4, 6, 3, padding=1), n.ReLU())
            self.head = n.Linear(6, 5)

        def forward(self, x):
            a = self.features(x)  # (1, 6, 8, 8): the maps Grad-CAM explains
            return self.head(a.mean(dim=(2, 3))), a

    net = Net().double()
    if weights is not None:
        net.load_state_dict({k: L.tensor(v) for k, v in weights.items()})
    return net


@pytest.mark.parametrize("style", ["tensor_hook", "module_hook"])
def test_grad_cam_matches_torch(style):
    """Grad-CAM: weights = mean gradient of the class score over each feature map; CAM =
    relu(Σ weights · maps), normalised. Computed in both frameworks from the same weights."""
    import warnings
    torch.manual_seed(0)
    weights = {k: v.detach().numpy().copy() for k, v in _cnn(torch, None).state_dict().items()}
    img = np.random.default_rng(1).standard_normal((1, 3, 8, 8))

    def cam(L):
        net = _cnn(L, weights)
        store = {}
        if style == "module_hook":  # on the last conv: grad_output is d score / d (conv output)
            net.features[2].register_full_backward_hook(lambda m, gi, go: store.__setitem__("grad", go[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logits, maps = net(L.tensor(img))
            if style == "tensor_hook":
                maps.register_hook(lambda g: store.__setitem__("grad", g))
            cls = int(logits.argmax())
            net.zero_grad()
            logits[0, cls].backward()
        g = store["grad"]
        if style == "module_hook":  # through the final ReLU, as the maps are after it
            g = g * (maps > 0).to(g.dtype)
        w = g.mean(dim=(2, 3), keepdim=True)  # (1, 6, 1, 1)
        c = L.relu((w * maps).sum(dim=1)).detach()  # (1, 8, 8)
        return c / (c.max() + 1e-12)
    ct, cm = cam(torch), cam(ms)
    assert float(ct.max()) > 0
    np.testing.assert_allclose(_np(cm), _np(ct), rtol=1e-9, atol=1e-12)
