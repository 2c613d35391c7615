"""The toy half of ch11.diffusion: Gaussian mixtures in 1-D and 2-D, whose noised marginals and
scores have closed forms, a small network that learns the score by denoising score matching,
and Langevin dynamics that samples with it."""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn


class Mixture:
    """A mixture of isotropic Gaussians (高斯混合): weights (K,), means (K, D), stds (K,)."""

    def __init__(self, weights, means, stds):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.means = np.asarray(means, dtype=np.float64).reshape(len(self.weights), -1)
        self.stds = np.asarray(stds, dtype=np.float64)
        self.dim = self.means.shape[1]

    def sample(self, n, rng):
        """(points (n, D), component of each (n,))."""
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.means[k] + self.stds[k, None] * rng.standard_normal((n, self.dim)), k

    def noised(self, scale, sigma):
        """The law of scale · x + sigma · ε: again a mixture, means scaled, variances s² σ_k² + σ²."""
        return Mixture(self.weights, scale * self.means, np.sqrt(scale ** 2 * self.stds ** 2 + sigma ** 2))

    def _log_parts(self, x):
        """log(w_k N(x; μ_k, σ_k² I)) for every point and component: (n, K)."""
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)             # (n, K) squared distances
        var = self.stds ** 2
        return np.log(self.weights) - 0.5 * d2 / var - 0.5 * self.dim * np.log(2 * np.pi * var)

    def log_density(self, x):
        parts = self._log_parts(np.asarray(x, dtype=np.float64))
        top = parts.max(axis=1, keepdims=True)                             # log-sum-exp, safely
        return (top + np.log(np.exp(parts - top).sum(axis=1, keepdims=True)))[:, 0]

    def density(self, x):
        return np.exp(self.log_density(x))

    def responsibilities(self, x):
        """r_k(x) = w_k N(x; μ_k, σ_k²) / p(x): how much each component explains x. (n, K)."""
        parts = self._log_parts(np.asarray(x, dtype=np.float64))
        r = np.exp(parts - parts.max(axis=1, keepdims=True))
        return r / r.sum(axis=1, keepdims=True)

    def score(self, x):
        """∇_x log p(x) = Σ_k r_k(x) (μ_k − x) / σ_k²: each component pulls x towards its mean,
        weighted by how much it explains x. (n, D)."""
        x = np.asarray(x, dtype=np.float64)
        r = self.responsibilities(x)                                       # (n, K)
        pulls = (self.means[None] - x[:, None, :]) / (self.stds ** 2)[None, :, None]   # (n, K, D)
        return (r[:, :, None] * pulls).sum(axis=1)


# ---------------------------------------------------------------- the learned score

class ScoreNet(nn.Module):
    """s_θ(x, σ) for 2-D points: an MLP given x and log σ. It outputs −ε̂ (the unit-size noise to
    remove), and the score is that divided by σ, so the output has the same scale at every σ."""

    def __init__(self, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, x, sigma):                                  # x (B, 2), sigma (B, 1)
        h = ms.cat([x, ms.log(sigma)], dim=1)                     # (B, 3)
        return self.net(h) / sigma                                # (B, 2): the score estimate


def train_score(model, data, sigmas, steps, batch, lr, rng, progress=iter):
    """Denoising score matching (去噪分数匹配, Vincent 2011): noise a data point, x̃ = x + σ ε; the
    score of the noised law, on average over x, is −ε / σ. Minimise E ‖σ s_θ(x̃, σ) + ε‖² over the
    noise levels (the σ² weighting of Song & Ermon 2019, which makes every level count alike)."""
    optimizer = ms.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in progress(range(steps)):
        x = data[rng.integers(0, len(data), batch)]                              # (B, 2)
        sigma = sigmas[rng.integers(0, len(sigmas), batch)][:, None]             # (B, 1)
        eps = rng.standard_normal(x.shape)
        noisy = ms.tensor((x + sigma * eps).astype(np.float32))
        s = ms.tensor(sigma.astype(np.float32))
        loss = ((model(noisy, s) * s + ms.tensor(eps.astype(np.float32))) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def score_fn(model):
    """A NumPy function (x (n, 2), σ) → the model's score (n, 2)."""
    def score(x, sigma):
        with ms.no_grad():
            s = ms.full((len(x), 1), float(sigma))
            return model(ms.tensor(np.asarray(x, dtype=np.float32)), s).numpy().astype(np.float64)
    return score


def langevin(score, x, sigmas, steps_per_level, step_size, rng):
    """(Annealed) Langevin dynamics (朗之万动力学): x ← x + (α/2) s(x, σ) + √α z, z ~ N(0, I), a few
    steps at each σ from the largest to the smallest, with α = step_size · σ² / σ_min² (Song &
    Ermon's α ∝ σ²: big moves while the noise is big). Pass one σ for plain Langevin."""
    for sigma in sigmas:
        alpha = step_size * (sigma / sigmas[-1]) ** 2
        for _ in range(steps_per_level):
            x = x + 0.5 * alpha * score(x, sigma) + np.sqrt(alpha) * rng.standard_normal(x.shape)
    return x


def mode_fractions(points, mixture):
    """The share of points nearest to each component's mean: (K,)."""
    d2 = ((points[:, None, :] - mixture.means[None]) ** 2).sum(-1)
    return np.bincount(d2.argmin(axis=1), minlength=len(mixture.weights)) / len(points)
