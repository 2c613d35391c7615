"""Chapter 10: the Fréchet-distance measure (formula, behaviour, the checksummed cache), the
VAE's hand-written loss terms against the engine and closed forms, and each lesson's quick run."""
import numpy as np
import pytest
import scipy.linalg

import mlseries as ms
import mlseries.nn.functional as F
from mlseries.course import fd as fd_measure
from mlseries.course.ch10 import autoencoder as ch10_ae

from lesson_checks import quick_run_suite

LESSONS = ("ch10.autoencoder",)


# ---------------------------------------------------------------- the Fréchet distance

def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    mu, cov = fd_measure.gaussian(a)
    assert fd_measure.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_by_hand():
    # diagonal covariances: (Σ₁Σ₂)^½ = diag(√(s₁s₂)), so FD = ‖μ₁−μ₂‖² + Σ (√s₁ − √s₂)²
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert fd_measure.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, abs=1e-5)
    # a general pair, against the formula written with scipy directly
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    c1, c2 = a @ a.T + np.eye(4), b @ b.T + 0.5 * np.eye(4)
    m1, m2 = rng.normal(size=4), rng.normal(size=4)
    direct = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2)))
    assert fd_measure.frechet_distance(m1, c1, m2, c2) == pytest.approx(direct, rel=1e-5)


def test_one_dimensional_case_is_the_wasserstein_distance():
    # in 1-D: (μ₁ − μ₂)² + (σ₁ − σ₂)²
    got = fd_measure.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[1.0]]))
    assert got == pytest.approx(4 + 1, abs=1e-5)


@pytest.fixture(scope="module")
def quick_mnist(tmp_path_factory):
    """The tiny classifier, trained into a temporary cache (a few seconds)."""
    cache = tmp_path_factory.mktemp("fd-cache")
    return cache, fd_measure.classifier("mnist", "quick", cache=cache)


def test_fd_of_identical_sets_is_zero_and_grows_with_noise(quick_mnist):
    cache, _ = quick_mnist
    x, _ = fd_measure.load_images("mnist", train=False)
    real = x[:1000]
    assert fd_measure.fd(real, real, "mnist", "quick", cache=cache) == pytest.approx(0.0, abs=1e-3)
    rng = np.random.default_rng(0)
    distances = [fd_measure.fd(real, np.clip(real + s * rng.normal(size=real.shape), 0, 1).astype(np.float32),
                               "mnist", "quick", cache=cache) for s in (0.1, 0.3, 0.6)]
    assert 0 < distances[0] < distances[1] < distances[2]
    # two different halves of real data are much closer than heavily noised data
    floor = fd_measure.fd(x[:1000], x[1000:2000], "mnist", "quick", cache=cache)
    assert floor < distances[1]


def test_cache_is_reused_and_a_wrong_checksum_is_refused(quick_mnist, monkeypatch):
    cache, model = quick_mnist
    weights, checksum = fd_measure.cache_paths("mnist", "quick", cache)
    assert weights.is_file() and checksum.is_file()
    assert checksum.read_text().split()[0] == fd_measure.sha256(weights)
    loaded = fd_measure._load_checked(weights, checksum)
    assert loaded is not None
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    # a changed file: the checksum no longer matches, so the cache is refused and retrained
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert fd_measure._load_checked(weights, checksum) is None
    trained = []
    real_train = fd_measure.train_classifier
    monkeypatch.setattr(fd_measure, "train_classifier", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    again = fd_measure.classifier("mnist", "quick", cache=cache)
    assert trained == [1]
    assert checksum.read_text().split()[0] == fd_measure.sha256(weights)
    # seeded training: the retrained classifier equals the first
    for a, b in zip(again.state_dict().values(), model.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    # and the next call uses the cache without training
    fd_measure.classifier("mnist", "quick", cache=cache)
    assert trained == [1]


def test_missing_checksum_is_refused(tmp_path):
    weights, checksum = fd_measure.cache_paths("mnist", "quick", tmp_path)
    ms.save(fd_measure.make_classifier().state_dict(), weights)
    assert fd_measure._load_checked(weights, checksum) is None


# ---------------------------------------------------------------- ch10.autoencoder: the loss terms

def test_kl_divergence_matches_the_closed_form_and_autograd():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) * 0.5
    m, lv = ms.tensor(mu, requires_grad=True), ms.tensor(logvar, requires_grad=True)
    kl = ch10_ae.kl_divergence(m, lv)
    var = np.exp(logvar)
    expected = 0.5 * np.sum(mu ** 2 + var - 1 - logvar, axis=1)       # KL(N(μ, σ²) ‖ N(0, 1)) per dimension, summed
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-6)
    kl.sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), mu, rtol=1e-6)                 # ∂KL/∂μ = μ
    np.testing.assert_allclose(lv.grad.numpy(), 0.5 * (var - 1), rtol=1e-6)   # ∂KL/∂log σ² = (σ² − 1)/2


def test_kl_of_one_dimension_by_monte_carlo():
    rng = np.random.default_rng(1)
    mu, sigma = 0.7, 0.6
    z = rng.normal(mu, sigma, size=400_000)
    log_q = -0.5 * ((z - mu) / sigma) ** 2 - np.log(sigma)
    log_p = -0.5 * z ** 2
    kl = ch10_ae.kl_divergence(ms.tensor([[mu]]), ms.tensor([[2 * np.log(sigma)]])).item()
    assert kl == pytest.approx(np.mean(log_q - log_p), abs=5e-3)


def test_bernoulli_nll_by_hand():
    rng = np.random.default_rng(2)
    logits, x = rng.normal(size=(3, 784)), rng.random((3, 784))
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(ch10_ae.bernoulli_nll(ms.tensor(logits), ms.tensor(x)).numpy(), expected, rtol=1e-6)


def test_reparameterisation_lets_gradients_reach_mu_and_sigma():
    ms.manual_seed(0)
    model = ch10_ae.VAE(latent=4, hidden=16)
    x = ms.tensor(np.random.default_rng(3).random((8, 784)).astype(np.float32))
    rec, kl = ch10_ae.loss_terms(model, x)
    (rec + kl).mean().backward()
    last = model.encoder[2]   # produces μ and log σ²: both halves of its weight get gradients
    g = last.weight.grad.numpy()
    assert np.abs(g[:4]).sum() > 0 and np.abs(g[4:]).sum() > 0


def test_mean_image_baseline_is_the_best_constant():
    rng = np.random.default_rng(4)
    x = (rng.random((200, 784)) < rng.random(784)).astype(np.float64)
    base = ch10_ae.mean_image_nll(x, x)
    p = np.clip(x.mean(axis=0), 1e-4, 1 - 1e-4)
    for shift in (-0.05, 0.05):
        q = np.clip(p + shift, 1e-4, 1 - 1e-4)
        assert base <= float(-(x * np.log(q) + (1 - x) * np.log(1 - q)).sum(axis=1).mean())


def test_tile_layout():
    images = np.arange(5)[:, None] * np.ones((5, 784)) / 4
    sheet = ch10_ae.tile(images, 3)
    assert sheet.shape == (2 * 29 - 1, 3 * 29 - 1)
    assert sheet[29, 29] == pytest.approx(1.0) and sheet[0, 28] == 0   # image 4 at row 1, col 1; a gap


# ---------------------------------------------------------------- the quick runs

runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_autoencoder_quick_numbers(runs):
    m = runs("ch10.autoencoder")[2]["metrics"]
    for data in ("mnist", "fashion"):
        assert m[f"{data}_neg_elbo"] < 0.75 * m[f"{data}_baseline_nll"]
        assert m[f"{data}_neg_elbo"] < m[f"{data}_neg_elbo_vae2"]
        assert m[f"{data}_fd_floor"] < m[f"{data}_fd_vae16_reconstructions"] < m[f"{data}_fd_vae16_samples"]
        assert m[f"{data}_fd_vae16_samples"] < 0.5 * m[f"{data}_fd_noise"]
        per_epoch = m[f"{data}_fd_vae16_samples_per_epoch"]
        assert per_epoch[-1] < per_epoch[1] < per_epoch[0]
