"""The noise schedule and the samplers of ch11.diffusion, in NumPy: the forward process
q(x_t | x_0), DDPM's reverse step (ancestral sampling), DDIM's step, classifier-free guidance.

The model only ever answers one question, "what noise ε is in x_t?" (`eps_fn(x, t)` → ε̂,
arrays (B, ...)); everything here is arithmetic on the schedule around that answer.
"""
import numpy as np


class Schedule:
    """A variance-preserving noise schedule (方差保持的加噪过程) with T steps: β_t rising linearly
    (Ho et al. 2020's 1e-4 … 0.02 for T = 1000, scaled by 1000 / T so that fewer steps still end in
    pure noise), α_t = 1 − β_t, ᾱ_t = α_1 ⋯ α_t. Index t = 0 … T−1 is the paper's step t + 1."""

    def __init__(self, T):
        self.T = T
        # (T,); capped below 1 so that very short schedules (T < 25) keep ᾱ_t > 0
        self.betas = np.minimum(np.linspace(1e-4 * 1000 / T, 0.02 * 1000 / T, T), 0.999)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)                            # ᾱ_t, falling from ≈1 to ≈0
        # ᾱ before the first step is 1 (clean data); prev[t] is ᾱ_{t−1}
        self.alpha_bars_prev = np.concatenate([[1.0], self.alpha_bars[:-1]])

    def q_mean_std(self, t):
        """q(x_t | x_0) = N(√ᾱ_t · x_0, (1 − ᾱ_t) I): the factor on x_0 and the noise's std."""
        a = self.alpha_bars[t]
        return np.sqrt(a), np.sqrt(1.0 - a)

    def add_noise(self, x0, t, eps):
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε in one jump, for per-example steps t (B,)."""
        scale, std = self.q_mean_std(np.asarray(t))
        shape = (-1,) + (1,) * (x0.ndim - 1)
        return (scale.reshape(shape) * x0 + std.reshape(shape) * eps).astype(np.float32)

    def predict_x0(self, x, eps, t, clip=True):
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t: the clean image the model's ε̂ implies (clipped to the
        data's range [−1, 1], as in DDPM's own sampler, so that an early bad guess cannot explode)."""
        scale, std = self.q_mean_std(t)
        x0 = (x - std * eps) / scale
        return np.clip(x0, -1.0, 1.0) if clip else x0

    def posterior(self, x, x0, t):
        """q(x_{t−1} | x_t, x_0) = N(μ̃, β̃): DDPM's reverse step once x_0 is guessed. (mean, std)."""
        a_bar, a_bar_prev = self.alpha_bars[t], self.alpha_bars_prev[t]
        beta = self.betas[t]
        mean = (np.sqrt(a_bar_prev) * beta / (1 - a_bar)) * x0 + \
               (np.sqrt(self.alphas[t]) * (1 - a_bar_prev) / (1 - a_bar)) * x
        var = beta * (1 - a_bar_prev) / (1 - a_bar)                          # β̃_t (0 at t = 0)
        return mean, np.sqrt(var)

    def ddim_mean_std(self, x, eps, t, s, eta=0.0, clip=True):
        """DDIM's step from step t to an earlier step s (s = −1: the clean image), (mean, std):

            x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s − σ²) ε̂ + σ z,   σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s)

        η = 0: no fresh noise, the same x_T always gives the same image; η = 1 with s = t − 1 is
        exactly DDPM's posterior step."""
        a_t = self.alpha_bars[t]
        a_s = self.alpha_bars[s] if s >= 0 else 1.0
        x0 = self.predict_x0(x, eps, t, clip)
        eps = (x - np.sqrt(a_t) * x0) / np.sqrt(1 - a_t)                     # the ε consistent with the clipped x̂_0
        sigma = eta * np.sqrt((1 - a_s) / (1 - a_t)) * np.sqrt(1 - a_t / a_s)
        mean = np.sqrt(a_s) * x0 + np.sqrt(max(1 - a_s - sigma ** 2, 0.0)) * eps
        return mean, sigma


def ddpm_sample(schedule, eps_fn, x, rng, on_step=None):
    """Ancestral sampling (祖先采样): T reverse steps from x = x_T ~ N(0, I), each with fresh noise.
    `on_step(t, x_t, x̂_0)` sees every step (for the GIF)."""
    for t in range(schedule.T - 1, -1, -1):
        eps = eps_fn(x, t)
        x0 = schedule.predict_x0(x, eps, t)
        mean, std = schedule.posterior(x, x0, t)
        x = (mean + std * rng.standard_normal(x.shape) if t > 0 else mean).astype(np.float32)
        if on_step is not None:
            on_step(t, x, x0)
    return x


def ddim_steps(T, steps):
    """`steps` evenly spaced steps T−1 … 0 (the subsequence DDIM visits), descending."""
    return np.unique(np.linspace(0, T - 1, steps).round().astype(int))[::-1]


def ddim_sample(schedule, eps_fn, x, steps, eta=0.0, rng=None):
    """DDIM with `steps` model calls instead of T: jump along the subsequence, then to x_0."""
    seq = ddim_steps(schedule.T, steps)
    for i, t in enumerate(seq):
        s = seq[i + 1] if i + 1 < len(seq) else -1
        mean, std = schedule.ddim_mean_std(x, eps_fn(x, t), t, s, eta)
        x = (mean + std * rng.standard_normal(x.shape) if std > 0 else mean).astype(np.float32)
    return x


def guided_eps(eps_cond, eps_uncond, w):
    """Classifier-free guidance (无分类器引导): ε̃ = (1 + w) ε(x, y) − w ε(x, ∅). w = 0 is the plain
    conditional model; larger w pushes further along the direction the label adds."""
    return (1 + w) * eps_cond - w * eps_uncond
