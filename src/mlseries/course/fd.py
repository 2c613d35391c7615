"""FD — 弗雷歇距离 / the Fréchet distance between real and generated images, on the project's own classifier.

How good are a generative model's samples? The Fréchet Inception Distance (FID) answers with a
trained network: pass real and generated images through it, fit a Gaussian (mean μ, covariance
Σ) to each set's features, and measure how far apart the two Gaussians are:

    FD = ‖μ_r − μ_g‖² + tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^½)

Small when the samples' features have the same average *and* the same spread as the real ones:
blurry samples, or samples that all look alike (mode collapse), both move it up.

FID uses Inception v3, trained on ImageNet, whose weights would have to be downloaded. Instead
this module trains, once, a small CNN of the project's own on MNIST or Fashion-MNIST (all
60 000 training images, seeded) and uses its penultimate layer (64 features after ReLU). The
trained weights are cached in `~/.mlseries/cache/fd-classifier/` (or `$MLSERIES_DATA/cache/`)
with `ms.save` (arrays only, written atomically) and a SHA-256 checksum beside them; a file
whose checksum does not match is refused and the classifier retrained.

The numbers are this project's FD, not FID: they are comparable with each other (same data set,
same classifier, same number of samples), not with published FIDs. Because a Gaussian fitted to
a finite sample is never exact, even two halves of the real test set are a small distance
apart: that real-vs-real FD is the *floor*, the best a generator could hope for.
"""
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, nn
from mlseries.datasets._paths import cache_dir  # the same cache folder as the spoken digits

FEATURES = 64       # width of the penultimate layer: the FD's feature space
VERSION = "v1"      # part of the cache's file name: change it when the network or its training changes
# the real classifier (lessons' full runs) and a tiny one (quick runs and tests: seconds, not a minute)
SETTINGS = {"full": dict(train=None, epochs=2, batch=128, lr=2e-3),
            "quick": dict(train=4000, epochs=2, batch=64, lr=2e-3)}
DATASETS = {"mnist": datasets.MNIST, "fashion": datasets.FashionMNIST}


def make_classifier():
    """conv-pool-conv-pool → 64 features → 10 logits, for (B, 1, 28, 28) images in [0, 1]."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (B, 16, 14, 14)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 7, 7)
        nn.Flatten(),                                                  # (B, 1568)
        nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU(),                    # (B, 64): the FD's features
        nn.Linear(FEATURES, 10),                                       # (B, 10) logits
    )


def load_images(dataset, train):
    """(x, y): images float32 (N, 1, 28, 28) in [0, 1] and int64 labels, of 'mnist' or 'fashion'."""
    return DATASETS[dataset](train=train).as_arrays()


def train_classifier(dataset, kind="full", seed=0, log=None):
    """Train the classifier on `dataset`'s training images with Adam; the same seed gives the
    same weights (the engine's initialisation and the data order are both seeded)."""
    settings = SETTINGS[kind]
    x, y = load_images(dataset, train=True)
    if settings["train"] is not None:  # evenly spaced, so every class and writer is there
        index = np.arange(settings["train"]) * (len(x) // settings["train"])
        x, y = x[index], y[index]
    ms.manual_seed(seed)
    model = make_classifier()
    optimizer = ms.optim.Adam(model.parameters(), lr=settings["lr"])
    rng = np.random.default_rng(seed)
    model.train()
    for epoch in range(settings["epochs"]):
        order = rng.permutation(len(x))
        for start in range(0, len(x), settings["batch"]):
            idx = order[start:start + settings["batch"]]
            loss = F.cross_entropy(model(ms.tensor(x[idx])), ms.tensor(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if log is not None:
            log(f"FD classifier ({dataset}, {kind}): epoch {epoch + 1}, last batch loss {loss.item():.3f}")
    model.eval()
    return model


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_paths(dataset, kind, cache=None):
    """(weights file, checksum file) in `cache` or the user's cache folder."""
    folder = Path(cache) if cache is not None else cache_dir("fd-classifier")
    stem = folder / f"{dataset}-{kind}-{VERSION}"
    return stem.with_suffix(".pt"), stem.with_suffix(".sha256")


def _load_checked(weights, checksum):
    """The cached classifier, or None when it is missing, its checksum differs, or it will not load."""
    if not (weights.is_file() and checksum.is_file()):
        return None
    if checksum.read_text(encoding="utf-8").split()[0:1] != [sha256(weights)]:
        return None
    model = make_classifier()
    try:
        model.load_state_dict(ms.load(weights))
    except Exception:  # a corrupt file whose checksum was rewritten to match: still refuse it
        return None
    model.eval()
    return model


def classifier(dataset, kind="full", cache=None, log=None):
    """The trained classifier for `dataset` ('mnist' or 'fashion'), from the cache when its
    checksum matches, else trained now (seeded) and cached."""
    weights, checksum = cache_paths(dataset, kind, cache)
    model = _load_checked(weights, checksum)
    if model is not None:
        return model
    if log is not None:
        log(f"FD classifier ({dataset}, {kind}): not cached (or its checksum failed), training it once")
    model = train_classifier(dataset, kind, log=log)
    weights.parent.mkdir(parents=True, exist_ok=True)
    ms.save(model.state_dict(), weights)                   # atomic: a whole file or none
    temporary = checksum.with_name(f".{checksum.name}.{os.getpid()}")
    temporary.write_text(f"{sha256(weights)}  {weights.name}\n", encoding="utf-8")
    os.replace(temporary, checksum)                        # the checksum appears only once complete
    return model


def features(model, images, batch=500):
    """Penultimate-layer features (N, 64) of images (N, 1, 28, 28) or (N, 784), values in [0, 1]."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, 1, 28, 28)
    body = model[:-1]   # every layer but the last Linear: conv … Linear(1568, 64), ReLU
    model.eval()
    with ms.no_grad():
        return np.concatenate([body(ms.tensor(images[i:i + batch])).numpy().astype(np.float64)
                               for i in range(0, len(images), batch)])


def gaussian(feats):
    """Mean (D,) and covariance (D, D) of features (N, D)."""
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1, cov1, mu2, cov2):
    """‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½): the Fréchet (2-Wasserstein) distance² between two Gaussians."""
    # A feature that is always 0 (a ReLU that never fires) makes Σ singular and the square root
    # ill-conditioned: a tiny ridge on both diagonals (as FID code does) keeps it well defined.
    ridge = 1e-6 * np.eye(len(cov1))
    cov1, cov2 = cov1 + ridge, cov2 + ridge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = np.real(scipy.linalg.sqrtm(cov1 @ cov2))  # rounding leaves tiny imaginary parts
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(root), 0.0))


class FD:
    """FD against one data set's test images, with the classifier and the real statistics kept:

        fd = FD("mnist")           # trains or loads the classifier
        fd(samples)                # FD of samples (N, 1, 28, 28) in [0, 1] against the test set
        fd.floor                   # real vs real: the two halves of the test set
    """

    def __init__(self, dataset, kind="full", test=None, cache=None, log=None):
        self.dataset = dataset
        self.model = classifier(dataset, kind, cache, log)
        x, _ = load_images(dataset, train=False)
        if test is not None:
            x = x[np.arange(test) * (len(x) // test)]
        real = features(self.model, x)
        self.real = gaussian(real)
        # two random halves (MNIST's test set is ordered: its first 5 000 digits are neater)
        order = np.random.default_rng(0).permutation(len(real))
        half = len(real) // 2
        self.floor = frechet_distance(*gaussian(real[order[:half]]), *gaussian(real[order[half:2 * half]]))
        self.test_size = len(x)

    def __call__(self, images):
        return frechet_distance(*self.real, *gaussian(features(self.model, images)))


def fd(real_images, fake_images, dataset, kind="full", cache=None):
    """The Fréchet distance between the classifier's features of two image sets (both in [0, 1])."""
    model = classifier(dataset, kind, cache)
    return frechet_distance(*gaussian(features(model, real_images)), *gaussian(features(model, fake_images)))
