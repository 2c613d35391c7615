"""Small seeded point sets for the first lessons: a noisy line, a half-plane, moons, circles,
spirals, blobs. Each returns engine tensors: features float32 and labels int64 (cast with
`.float()` for a binary cross-entropy). Same seed, same points.
"""

import numpy as np

from ._convert import to_tensor


def noisy_line(n=100, slope=2.0, intercept=1.0, noise=1.0, low=0.0, high=10.0, seed=0):
    """x uniform in [low, high], y = slope·x + intercept + N(0, noise²); both float32 (n,)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    y = slope * x + intercept + rng.normal(0.0, noise, size=n)
    return to_tensor(x, np.float32), to_tensor(y, np.float32)


def binary_points(n=200, seed=0):
    """Standard normal points in 2-D labelled 1 where x + y > 0: X (n, 2), y (n,)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return to_tensor(x, np.float32), to_tensor(x.sum(axis=1) > 0, np.int64)


def _from_sklearn(x, y):
    return to_tensor(x, np.float32), to_tensor(y, np.int64)


def moons(n=100, noise=0.1, seed=0):
    """Two interleaved half circles (scikit-learn's make_moons): X (n, 2), y (n,) in {0, 1}."""
    from sklearn.datasets import make_moons

    return _from_sklearn(*make_moons(n_samples=n, noise=noise, random_state=seed))


def circles(n=100, noise=0.05, factor=0.5, seed=0):
    """A small circle inside a large one (make_circles): X (n, 2), y (n,), 1 = inner."""
    from sklearn.datasets import make_circles

    return _from_sklearn(*make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed))


def blobs(n=100, centers=3, std=1.0, dim=2, seed=0):
    """Gaussian clusters (make_blobs): X (n, dim), y (n,) in 0..centers-1."""
    from sklearn.datasets import make_blobs

    return _from_sklearn(*make_blobs(n_samples=n, centers=centers, cluster_std=std,
                                     n_features=dim, random_state=seed))


def _split_count(n, k):
    """n items over k classes as evenly as possible, e.g. (10, 3) -> [4, 3, 3]."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def spirals(n=300, classes=3, noise=0.2, turns=1.0, seed=0):
    """`classes` interleaved spiral arms, noise on the angle: X (n, 2) within the unit disc
    (up to noise), y (n,). No straight line separates them: a first reason for hidden layers."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c, m in enumerate(_split_count(n, classes)):
        r = np.linspace(0.0, 1.0, m)
        angle = (2 * np.pi * turns * r + 2 * np.pi * c / classes
                 + rng.normal(0.0, noise, size=m))
        xs.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        ys.append(np.full(m, c))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = rng.permutation(n)
    return to_tensor(x[order], np.float32), to_tensor(y[order], np.int64)
