"""ch10.gan: the gradient penalty (a second derivative) against finite differences and PyTorch,
the losses by hand, the networks' shapes, the training loop's three losses, and the quick run."""
import inspect

import numpy as np
import pytest

import mlseries as ms
from mlseries import nn
from mlseries.course.ch10 import gan as ch10_gan
from mlseries.course.ch10 import gans

from lesson_checks import quick_run_suite

LESSONS = ("ch10.gan",)


def small_critic():
    ms.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.LeakyReLU(0.2),   # (B, 3, 3, 3)
                         nn.Flatten(), nn.Linear(27, 1))


def penalty_inputs(dtype=np.float64):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(4, 1, 6, 6)).astype(dtype)
    fake = rng.normal(size=(4, 1, 6, 6)).astype(dtype)
    alpha = rng.random((4, 1, 1, 1)).astype(dtype)
    return real, fake, alpha


def to_float64(module):
    for p in module.parameters():
        p.data = ms.tensor(p.numpy().astype(np.float64))
    return module


def grad_or_zero(p):
    """p's gradient, or zeros where none reached it: the penalty depends on ∇ₓD, which no bias changes
    (a Linear's bias not at all, a bias before LeakyReLU only through the piecewise slope)."""
    g = p.grad
    if g is None:
        return np.zeros(p.shape)
    return g.numpy() if hasattr(g, "numpy") and not isinstance(g, np.ndarray) else np.asarray(g)


def penalty_value(D, real, fake, alpha):
    return gans.gradient_penalty(D, ms.tensor(real), ms.tensor(fake), ms.tensor(alpha)).item()


# ---------------------------------------------------------------- the gradient penalty

def test_gradient_penalty_by_hand_for_a_linear_critic():
    # D(x) = w·x + b has ∇ₓD = w everywhere: the penalty is (‖w‖ − 1)², and ∂/∂w = 2(‖w‖ − 1) w/‖w‖
    D = to_float64(nn.Sequential(nn.Flatten(), nn.Linear(36, 1)))
    real, fake, alpha = penalty_inputs()
    gp = gans.gradient_penalty(D, ms.tensor(real), ms.tensor(fake), ms.tensor(alpha))
    w = D[1].weight.numpy().ravel()
    norm = np.linalg.norm(w)
    assert gp.item() == pytest.approx((norm - 1) ** 2, rel=1e-9)
    gp.backward()   # through the gradient: needs create_graph=True
    np.testing.assert_allclose(D[1].weight.grad.numpy().ravel(), 2 * (norm - 1) * w / norm, rtol=1e-7)


def test_gradient_penalty_gradient_matches_finite_differences():
    D = to_float64(small_critic())
    real, fake, alpha = penalty_inputs()
    gp = gans.gradient_penalty(D, ms.tensor(real), ms.tensor(fake), ms.tensor(alpha))
    gp.backward()
    rng = np.random.default_rng(1)
    for p in D.parameters():
        analytic = grad_or_zero(p)
        original = p.numpy().copy()
        for index in [tuple(rng.integers(0, s) for s in original.shape) for _ in range(4)]:
            h = 1e-6
            values = []
            for sign in (1, -1):
                changed = original.copy()
                changed[index] += sign * h
                p.data = ms.tensor(changed)
                values.append(penalty_value(D, real, fake, alpha))
            p.data = ms.tensor(original)
            assert analytic[index] == pytest.approx((values[0] - values[1]) / (2 * h), rel=1e-5, abs=1e-8)


def test_gradient_penalty_matches_pytorch():
    torch = pytest.importorskip("torch")
    D = to_float64(small_critic())
    real, fake, alpha = penalty_inputs()
    gp = gans.gradient_penalty(D, ms.tensor(real), ms.tensor(fake), ms.tensor(alpha))
    gp.backward()

    conv, linear = D[0], D[3]
    tc = torch.nn.Conv2d(1, 3, 3, stride=2, padding=1).double()
    tl = torch.nn.Linear(27, 1).double()
    with torch.no_grad():
        for t, m in ((tc, conv), (tl, linear)):
            t.weight.copy_(torch.from_numpy(m.weight.numpy()))
            t.bias.copy_(torch.from_numpy(m.bias.numpy()))
    net = torch.nn.Sequential(tc, torch.nn.LeakyReLU(0.2), torch.nn.Flatten(), tl)
    a = torch.from_numpy(alpha)
    x_hat = (a * torch.from_numpy(real) + (1 - a) * torch.from_numpy(fake)).requires_grad_(True)
    grad, = torch.autograd.grad(net(x_hat).sum(), x_hat, create_graph=True)
    expected = ((grad.reshape(4, -1).pow(2).sum(dim=1).add(1e-12).sqrt() - 1) ** 2).mean()
    expected.backward()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-10)
    assert np.abs(grad_or_zero(conv.weight)).sum() > 0 and np.abs(grad_or_zero(linear.weight)).sum() > 0
    for mine, theirs in ((conv.weight, tc.weight), (conv.bias, tc.bias), (linear.weight, tl.weight),
                         (linear.bias, tl.bias)):
        theirs = theirs.grad.numpy() if theirs.grad is not None else np.zeros(tuple(theirs.shape))
        np.testing.assert_allclose(grad_or_zero(mine), theirs, rtol=1e-8, atol=1e-12)


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    D = to_float64(nn.Sequential(nn.Flatten(), nn.Linear(36, 1)))
    w = np.zeros((1, 36))
    w[0, :4] = 0.5                                   # ‖w‖ = 1
    D[1].weight.data = ms.tensor(w)
    real, fake, alpha = penalty_inputs()
    assert penalty_value(D, real, fake, alpha) == pytest.approx(0.0, abs=1e-10)


# ---------------------------------------------------------------- the losses

def test_gan_losses_by_hand():
    real, fake = np.array([[2.0], [-1.0], [0.5]]), np.array([[-3.0], [0.2], [1.0]])
    sig = lambda v: 1 / (1 + np.exp(-v))                                        # noqa: E731
    d_expected = -np.log(sig(real)).mean() - np.log(1 - sig(fake)).mean()
    g_expected = -np.log(sig(fake)).mean()                                     # non-saturating
    assert gans.gan_d_loss(ms.tensor(real), ms.tensor(fake)).item() == pytest.approx(d_expected, rel=1e-9)
    assert gans.gan_g_loss(ms.tensor(fake)).item() == pytest.approx(g_expected, rel=1e-9)
    assert gans.critic_loss(ms.tensor(real), ms.tensor(fake)).item() == pytest.approx(fake.mean() - real.mean())


def test_non_saturating_loss_is_steep_where_the_minimax_loss_is_flat():
    # D rejects the fake confidently (logit −6): the minimax loss log(1 − σ) barely moves, −log σ does
    logit = ms.tensor([[-6.0]], requires_grad=True)
    gans.gan_g_loss(logit).backward()
    steep = abs(logit.grad.item())
    minimax_slope = 1 / (1 + np.exp(-(-6.0)))      # |d/dl log(1 − σ(l))| = σ(l)
    assert steep > 0.99 and minimax_slope < 0.003


# ---------------------------------------------------------------- networks and training

@pytest.mark.parametrize("make", [lambda: gans.make_fc_gan(latent=8, hidden=16),
                                  lambda: gans.make_dcgan(latent=8, width=4)])
def test_networks_shapes_and_range(make):
    G, D = make()
    images = G(ms.randn(5, 8))
    assert images.shape == (5, 1, 28, 28)
    assert float(images.numpy().min()) >= -1 and float(images.numpy().max()) <= 1
    assert D(images).shape == (5, 1)
    samples = gans.generate(G, np.zeros((3, 8), dtype=np.float32))
    assert samples.shape == (3, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1


class QuietContext:
    def progress(self, iterable, desc=None, total=None):
        return iterable


@pytest.mark.parametrize("loss", gans.LOSSES)
def test_train_gan_runs_each_loss(loss):
    ms.manual_seed(0)
    G, D = gans.make_dcgan(latent=8, width=4)
    images = np.random.default_rng(0).uniform(-1, 1, (40, 1, 28, 28)).astype(np.float32)
    measured = []
    G, history = gans.train_gan(QuietContext(), G, D, images, loss=loss, steps=4, batch=8, every=2,
                                on_measure=measured.append)
    assert measured == [0, 2, 4]
    assert len(history["d_loss"]) == len(history["g_loss"]) == 4
    assert all(np.isfinite(history["d_loss"]))
    assert len(history["gp"]) == (4 if loss == "wgan-gp" else 0)
    if loss == "wgan":   # weight clipping keeps every critic weight within ±0.01
        assert max(float(np.abs(p.numpy()).max()) for p in D.parameters()) <= 0.01 + 1e-7


def test_train_gan_rejects_an_unknown_loss():
    G, D = gans.make_fc_gan(latent=4, hidden=8)
    with pytest.raises(ValueError, match="wgan-gp"):
        gans.train_gan(QuietContext(), G, D, np.zeros((8, 1, 28, 28), np.float32), loss="lsgan")


def test_reusable_names_are_exported_from_the_lesson():
    for name in ("make_dcgan", "make_fc_gan", "train_gan", "gradient_penalty", "dcgan_baseline", "generate"):
        assert callable(getattr(ch10_gan, name))
    # ch11.diffusion calls dcgan_baseline(ctx, dataset, quick, samples=...): keep the signature
    assert list(inspect.signature(ch10_gan.dcgan_baseline).parameters) == ["ctx", "dataset", "quick", "samples"]


# ---------------------------------------------------------------- the quick run

runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_gan_quick_numbers(runs):
    m = runs("ch10.gan")[2]["metrics"]
    assert m["fd_floor"] < m["dcgan_fd"] < m["fc_fd"] < m["fd_noise"]
    for key in ("fc", "dcgan", "wgan_gp"):
        per_measure = m[f"{key}_fd_over_training"]
        assert per_measure[-1] < per_measure[1]
        assert len(per_measure) == len(m[f"{key}_fd_steps"]) >= 4
        assert sum(m[f"{key}_class_shares"]) == pytest.approx(1.0, abs=1e-3)
    assert m["wgan_gp_wasserstein_last"] <= 0.7 * m["wgan_gp_wasserstein_peak"]
    assert m["real_effective_classes"] > 9.5
