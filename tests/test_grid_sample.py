"""affine_grid / grid_sample, gumbel_softmax, weight_norm and spectral_norm against PyTorch, with
a Spatial Transformer step and an SN-GAN discriminator step run in both frameworks."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import mlseries as ms

rng = np.random.default_rng(0)
TF, MF = torch.nn.functional, ms.nn.functional


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("mode,padding,align", list(itertools.product(
    ["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True])))
def test_grid_sample_values_and_gradients(mode, padding, align):
    x = rng.standard_normal((2, 3, 5, 6))
    g = rng.uniform(-1.4, 1.4, (2, 4, 7, 2))  # some positions outside the image
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    xm, gm = ms.tensor(x, requires_grad=True), ms.tensor(g, requires_grad=True)
    ot = TF.grid_sample(xt, gt, mode=mode, padding_mode=padding, align_corners=align)
    om = MF.grid_sample(xm, gm, mode=mode, padding_mode=padding, align_corners=align)
    np.testing.assert_allclose(om.numpy(), _np(ot), atol=1e-12)
    w = rng.standard_normal(tuple(ot.shape))
    (ot * torch.tensor(w)).sum().backward()
    (om * ms.tensor(w)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gm.grad.numpy(), gt.grad.numpy(), atol=1e-10)


def test_grid_sample_float32_and_identity():
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    theta = np.array([[[1.0, 0, 0], [0, 1.0, 0]]], np.float32)
    grid = MF.affine_grid(ms.tensor(theta), (1, 2, 4, 4), align_corners=False)
    out = MF.grid_sample(ms.tensor(x), grid, align_corners=False)
    assert out.dtype == ms.float32
    np.testing.assert_allclose(out.numpy(), x, atol=1e-6)  # the identity transform reads every pixel back


@pytest.mark.parametrize("align", [False, True])
def test_affine_grid(align):
    th = rng.standard_normal((2, 2, 3))
    a, b = torch.tensor(th, requires_grad=True), ms.tensor(th, requires_grad=True)
    ot = TF.affine_grid(a, (2, 3, 4, 5), align_corners=align)
    om = MF.affine_grid(b, (2, 3, 4, 5), align_corners=align)
    np.testing.assert_allclose(om.numpy(), _np(ot), atol=1e-12)
    (ot ** 2).sum().backward()
    (om ** 2).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), atol=1e-12)


def test_grid_errors_and_warning():
    x, g = ms.zeros(1, 1, 3, 3), ms.zeros(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners"):
        MF.grid_sample(x, g)
    with pytest.raises(ValueError, match="padding_mode"):
        MF.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(ValueError, match="mode"):
        MF.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(RuntimeError, match="batch size"):
        MF.grid_sample(ms.zeros(2, 1, 3, 3), g, align_corners=False)
    with pytest.raises(RuntimeError, match="last dimension"):
        MF.grid_sample(x, ms.zeros(1, 2, 2, 3), align_corners=False)
    with pytest.raises(ValueError, match="Nx2x3"):
        MF.affine_grid(ms.zeros(1, 3, 3), (1, 1, 3, 3), align_corners=False)


def test_gumbel_softmax():
    ms.manual_seed(0)
    logits = ms.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    y = MF.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(y.sum(-1).numpy(), 1.0)
    hard = MF.gumbel_softmax(logits, hard=True, dim=0)
    assert set(np.unique(hard.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(hard.sum(0).numpy(), 1.0)
    # straight-through: the backward is the soft sample's; given the same noise, torch agrees
    ms.manual_seed(3)
    soft = MF.gumbel_softmax(logits, tau=0.7)
    ms.manual_seed(3)
    hard = MF.gumbel_softmax(logits, tau=0.7, hard=True)
    np.testing.assert_allclose(hard.numpy(), np.eye(5)[soft.numpy().argmax(-1)])
    w = ms.tensor(rng.standard_normal((4, 5)))
    (hard * w).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    (soft * w).sum().backward()
    np.testing.assert_allclose(g_hard, logits.grad.numpy(), atol=1e-12)
    # the soft sample given the noise (manual_seed(3) draws from NumPy's default_rng(3)), in torch
    noise = -np.log(np.random.default_rng(3).exponential(size=(4, 5)))
    lt = torch.tensor(logits.numpy())
    np.testing.assert_allclose(soft.numpy(), torch.softmax((lt + torch.tensor(noise)) / 0.7, -1).numpy(), atol=1e-12)


def _copy_into_torch(tm, mm):
    with torch.no_grad():
        for k, v in mm.state_dict().items():
            tm.state_dict()[k].copy_(torch.tensor(v.numpy()))


def test_weight_norm_matches_torch():
    for dim in (0, 1, None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lt = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double(), dim=dim)
            lm = ms.nn.utils.weight_norm(ms.nn.Linear(3, 4).double(), dim=dim)
        assert list(lt.state_dict()) == list(lm.state_dict())
        assert tuple(lt.weight_g.shape) == tuple(lm.weight_g.shape)
        _copy_into_torch(lt, lm)
        x = rng.standard_normal((5, 3))
        yt, ym = lt(torch.tensor(x)), lm(ms.tensor(x))
        np.testing.assert_allclose(ym.numpy(), _np(yt), atol=1e-12)
        (yt ** 2).sum().backward()
        (ym ** 2).sum().backward()
        np.testing.assert_allclose(lm.weight_g.grad.numpy(), lt.weight_g.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(lm.weight_v.grad.numpy(), lt.weight_v.grad.numpy(), atol=1e-12)
        ms.nn.utils.remove_weight_norm(lm)
        torch.nn.utils.remove_weight_norm(lt)
        assert list(lm.state_dict()) == list(lt.state_dict())
        np.testing.assert_allclose(lm.weight.detach().numpy(), _np(lt.weight), atol=1e-12)
    with pytest.raises(ValueError, match="not found"):
        ms.nn.utils.remove_weight_norm(ms.nn.Linear(2, 2))


def test_spectral_norm_matches_torch_with_same_u_v():
    for layer in ("conv", "convT", "linear"):
        if layer == "conv":
            mt, mm = torch.nn.Conv2d(3, 4, 3).double(), ms.nn.Conv2d(3, 4, 3).double()
            x = rng.standard_normal((2, 3, 5, 5))
        elif layer == "convT":
            mt, mm = torch.nn.ConvTranspose2d(3, 4, 3).double(), ms.nn.ConvTranspose2d(3, 4, 3).double()
            x = rng.standard_normal((2, 3, 5, 5))
        else:
            mt, mm = torch.nn.Linear(6, 4).double(), ms.nn.Linear(6, 4).double()
            x = rng.standard_normal((3, 6))
        torch.nn.utils.spectral_norm(mt, n_power_iterations=2)
        ms.nn.utils.spectral_norm(mm, n_power_iterations=2)
        assert list(mt.state_dict()) == list(mm.state_dict()) and mm.weight_u.shape == mt.weight_u.shape
        _copy_into_torch(mt, mm)  # same weight, u and v
        for _ in range(3):  # training mode: u, v are updated in place each call
            yt, ym = mt(torch.tensor(x)), mm(ms.tensor(x))
            np.testing.assert_allclose(ym.numpy(), _np(yt), atol=1e-12)
            (yt ** 2).sum().backward()
            (ym ** 2).sum().backward()
            np.testing.assert_allclose(mm.weight_orig.grad.numpy(), mt.weight_orig.grad.numpy(), atol=1e-10)
            np.testing.assert_allclose(mm.weight_u.numpy(), mt.weight_u.numpy(), atol=1e-12)
        mt.eval()
        mm.eval()
        np.testing.assert_allclose(mm(ms.tensor(x)).numpy(), _np(mt(torch.tensor(x))), atol=1e-12)
        np.testing.assert_allclose(mm.weight_u.numpy(), mt.weight_u.numpy(), atol=1e-12)
        torch.nn.utils.remove_spectral_norm(mt)
        ms.nn.utils.remove_spectral_norm(mm)
        np.testing.assert_allclose(mm.weight.detach().numpy(), _np(mt.weight), atol=1e-12)
    with pytest.raises(ValueError, match="n_power_iterations"):
        ms.nn.utils.spectral_norm(ms.nn.Linear(2, 2), n_power_iterations=0)


def test_real_program_sngan_discriminator_steps():
    """SN-GAN's discriminator: spectral-normalised conv and linear layers, hinge loss, Adam;
    same weights and u/v buffers in both, losses compared step by step."""
    def disc(L):
        n = L.nn
        sn = n.utils.spectral_norm
        return n.Sequential(sn(n.Conv2d(1, 4, 3, stride=2, padding=1)), n.LeakyReLU(0.1),
                            sn(n.Conv2d(4, 8, 3, stride=2, padding=1)), n.LeakyReLU(0.1), n.Flatten(),
                            sn(n.Linear(8 * 2 * 2, 1))).double()
    dm, dt = disc(ms), disc(torch)
    _copy_into_torch(dt, dm)
    real = rng.standard_normal((6, 1, 8, 8))
    fake = rng.standard_normal((6, 1, 8, 8)) * 0.5

    def steps(L, d):
        opt = L.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.9))
        losses = []
        for _ in range(4):
            loss = L.relu(1.0 - d(L.tensor(real))).mean() + L.relu(1.0 + d(L.tensor(fake))).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses
    np.testing.assert_allclose(steps(ms, dm), steps(torch, dt), rtol=1e-9)


def test_real_program_spatial_transformer_steps():
    """A Spatial Transformer (as in PyTorch's tutorial, shrunk): a localisation net predicts θ,
    affine_grid + grid_sample warp the input, a classifier follows; SGD steps in both."""
    def make(L):
        n = L.nn

        class STN(n.Module):
            def __init__(self):
                super().__init__()
                self.loc = n.Sequential(n.Flatten(), n.Linear(64, 8), n.ReLU(), n.Linear(8, 6))
                self.fc = n.Linear(64, 3)

            def forward(self, x):
                theta = self.loc(x).view(-1, 2, 3) + L.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=L.float64)
                grid = L.nn.functional.affine_grid(theta, x.size(), align_corners=False)  # (N, 8, 8, 2)
                x = L.nn.functional.grid_sample(x, grid, align_corners=False)  # (N, 1, 8, 8)
                return self.fc(x.flatten(1))
        return STN().double()
    mm, mt = make(ms), make(torch)
    _copy_into_torch(mt, mm)
    x = rng.standard_normal((5, 1, 8, 8))
    y = rng.integers(0, 3, 5)

    def steps(L, m):
        opt = L.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        out = []
        for _ in range(4):
            loss = L.nn.functional.cross_entropy(m(L.tensor(x)), L.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out
    np.testing.assert_allclose(steps(ms, mm), steps(torch, mt), rtol=1e-9)
