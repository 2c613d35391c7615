"""Chapter 11: the diffusion lesson's hand-written parts (the forward process in closed form, the
DDPM posterior, DDIM's step, the Gaussian mixture's score) against formulas and the engine's
autograd, and the lesson's quick run."""
import numpy as np
import pytest

import mlseries as ms
from mlseries.course.ch11 import diffusion
from mlseries.course.ch11.sampling import Schedule, ddim_sample, ddim_steps, ddpm_sample, guided_eps
from mlseries.course.ch11.toy import Mixture, ScoreNet, langevin, mode_fractions
from mlseries.course.ch11.unet import UNet

from lesson_checks import quick_run_suite

LESSONS = ("ch11.diffusion",)


# ---------------------------------------------------------------- the forward process

def test_one_jump_equals_t_single_steps():
    # x_t = √(1−β_t) x_{t−1} + √β_t ε, step by step from a fixed x_0: mean and variance by recursion
    s = Schedule(100)
    mean, var = 1.7, 0.0
    for t in range(s.T):
        mean, var = np.sqrt(1 - s.betas[t]) * mean, (1 - s.betas[t]) * var + s.betas[t]
        scale, std = s.q_mean_std(t)
        assert scale * 1.7 == pytest.approx(mean, rel=1e-10)
        assert std ** 2 == pytest.approx(var, rel=1e-10)
    assert s.q_mean_std(s.T - 1)[0] < 0.01        # the schedule ends in (almost) pure noise


def test_add_noise_has_the_closed_form_mean_and_variance():
    s, rng = Schedule(50), np.random.default_rng(0)
    x0 = np.full((200_000, 1), 0.8)
    for t in (0, 10, 49):
        xt = s.add_noise(x0, np.full(len(x0), t), rng.standard_normal(x0.shape))
        scale, std = s.q_mean_std(t)
        assert xt.mean() == pytest.approx(scale * 0.8, abs=4 * std / np.sqrt(len(x0)) + 1e-6)
        assert xt.std() == pytest.approx(std, rel=0.01)


def test_noised_mixture_moments_match_samples():
    mix, rng = Mixture(**diffusion.MIX_1D), np.random.default_rng(1)
    x, _ = mix.sample(200_000, rng)
    scale, sigma = 0.6, 0.8
    noised = scale * x + sigma * rng.standard_normal(x.shape)
    mean, var = diffusion.mixture_moments(mix, scale, sigma)
    assert noised.mean() == pytest.approx(mean, abs=0.01)
    assert noised.var() == pytest.approx(var, rel=0.01)


# ---------------------------------------------------------------- the reverse step

def test_posterior_is_bayes_rule():
    # q(x_{t−1} | x_t, x_0) ∝ q(x_t | x_{t−1}) q(x_{t−1} | x_0): two Gaussians' product, by hand
    s = Schedule(100)
    x0, xt = np.array([0.3, -0.9]), np.array([1.2, 0.1])
    for t in (1, 40, 99):
        a_prev, alpha, beta = s.alpha_bars[t - 1], s.alphas[t], s.betas[t]
        precision = 1 / (1 - a_prev) + alpha / beta
        mean = (np.sqrt(a_prev) * x0 / (1 - a_prev) + np.sqrt(alpha) * xt / beta) / precision
        got_mean, got_std = s.posterior(xt, x0, t)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-10)
        assert got_std ** 2 == pytest.approx(1 / precision, rel=1e-10)
    assert s.posterior(xt, x0, 0)[1] == 0.0       # the last step adds no noise


def test_ddim_with_eta_one_and_one_step_is_the_ddpm_posterior():
    s, rng = Schedule(100), np.random.default_rng(2)
    x, eps = rng.standard_normal((4, 1, 3, 3)) * 0.5, rng.standard_normal((4, 1, 3, 3))
    for t in (5, 50, 99):
        x0 = s.predict_x0(x, eps, t)
        ddpm_mean, ddpm_std = s.posterior(x, x0, t)
        ddim_mean, ddim_std = s.ddim_mean_std(x, eps, t, t - 1, eta=1.0)
        np.testing.assert_allclose(ddim_mean, ddpm_mean, rtol=1e-9, atol=1e-12)
        assert ddim_std == pytest.approx(ddpm_std, rel=1e-9)


def test_ddim_with_eta_zero_is_deterministic_and_ddpm_is_not():
    s = Schedule(50)
    eps_fn = lambda x, t: np.tanh(x) * (t + 1) / 50           # any fixed "model"
    x_T = np.random.default_rng(3).standard_normal((3, 1, 4, 4)).astype(np.float32)
    a = ddim_sample(s, eps_fn, x_T, 10, eta=0.0, rng=np.random.default_rng(0))
    b = ddim_sample(s, eps_fn, x_T, 10, eta=0.0, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    c = ddpm_sample(s, eps_fn, x_T, np.random.default_rng(0))
    d = ddpm_sample(s, eps_fn, x_T, np.random.default_rng(1))
    assert np.abs(c - d).max() > 1e-3
    assert list(ddim_steps(50, 10))[0] == 49 and list(ddim_steps(50, 10))[-1] == 0


def test_ddim_recovers_x0_when_the_model_knows_the_noise():
    # with the true ε, x̂_0 is exact, so one DDIM jump from any step lands on x_0
    s, rng = Schedule(100), np.random.default_rng(4)
    x0 = rng.uniform(-0.9, 0.9, (2, 1, 5, 5))
    eps = rng.standard_normal(x0.shape)
    xt = s.add_noise(x0, np.array([70, 70]), eps).astype(np.float64)
    mean, std = s.ddim_mean_std(xt, eps, 70, -1, eta=0.0)
    np.testing.assert_allclose(mean, x0, atol=1e-5)
    assert std == 0


def test_guidance_weight_zero_is_the_conditional_model():
    cond, uncond = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    np.testing.assert_array_equal(guided_eps(cond, uncond, 0.0), cond)
    np.testing.assert_allclose(guided_eps(cond, uncond, 2.0), 3 * cond - 2 * uncond)


# ---------------------------------------------------------------- the score

def test_mixture_score_by_hand_and_by_autograd():
    mix = Mixture(**diffusion.MIX_2D)
    x = np.array([[0.3, -0.4], [-2.5, -1.0], [1.0, 2.0]])
    # one component: the score of N(μ, σ² I) is (μ − x)/σ²
    single = Mixture([1.0], [(1.0, 2.0)], [0.7])
    np.testing.assert_allclose(single.score(x), (np.array([1.0, 2.0]) - x) / 0.49, rtol=1e-12)
    # central differences of log p
    h = 1e-5
    numeric = np.stack([(mix.log_density(x + h * e) - mix.log_density(x - h * e)) / (2 * h) for e in np.eye(2)], 1)
    np.testing.assert_allclose(mix.score(x), numeric, rtol=1e-5, atol=1e-7)
    # the engine's autograd on log Σ_k w_k N(x; μ_k, σ_k² I), written with tensors
    xt = ms.tensor(x, dtype=ms.float64, requires_grad=True)
    means, var = ms.tensor(mix.means, dtype=ms.float64), ms.tensor(mix.stds ** 2, dtype=ms.float64)
    d2 = ((xt[:, None, :] - means[None]) ** 2).sum(dim=2)                      # (n, K)
    log_parts = ms.tensor(np.log(mix.weights), dtype=ms.float64) - 0.5 * d2 / var - ms.log(2 * np.pi * var)
    ms.logsumexp(log_parts, dim=1).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), mix.score(x), rtol=1e-10)


def test_langevin_with_the_exact_score_samples_one_gaussian():
    g = Mixture([1.0], [(1.0, -1.0)], [0.5])
    rng = np.random.default_rng(5)
    out = langevin(lambda x, s: g.noised(1.0, s).score(x), rng.standard_normal((4000, 2)), [0.01], 300, 0.01, rng)
    np.testing.assert_allclose(out.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(out.std(0), [0.5, 0.5], rtol=0.06)
    assert mode_fractions(out, g).tolist() == [1.0]


def test_networks_have_the_right_shapes():
    net = UNet(8, emb_dim=16, classes=10)
    x = ms.tensor(np.zeros((3, 1, 28, 28), dtype=np.float32))
    assert net(x, np.array([0, 5, 9]), np.array([1, 2, 10])).shape == (3, 1, 28, 28)
    assert net(x, np.array([0, 5, 9])).shape == (3, 1, 28, 28)     # no label: the "no label" token
    score = ScoreNet(16)(ms.tensor(np.zeros((4, 2), dtype=np.float32)), ms.full((4, 1), 0.5))
    assert score.shape == (4, 2)


# ---------------------------------------------------------------- the quick run

runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_quick_run_numbers(runs):
    _, output, record, _ = runs("ch11.diffusion")
    m = record["metrics"]
    assert m["fd_ddpm"] < m["fd_dcgan"]
    assert m["fd_floor"] < m["fd_ddpm"]
    assert m["langevin_tv_annealed"] < m["langevin_tv_plain"]
    assert m["guided_accuracy"][f"{diffusion.QUICK['guide_w']:g}"] >= diffusion.QUICK["accuracy_target"]
    assert "DDIM" in output
