"""HW11's two domains: labelled MNIST digits (source) and the same kind of digits in another style
(target), whose labels the training never sees.

The target style is MNIST-M's recipe (Ganin & Lempitsky 2015) in grey: each digit is laid over a
random 28×28 crop of a photograph or texture (scikit-image's sample images, installed with it) and
the pixel becomes |background − digit|, so the stroke is dark on a bright patch and bright on a
dark one, with the photo's edges and textures around it. A network that has only seen white
strokes on black finds neither the stroke polarity nor the clean background it learned on.
"""
import numpy as np
from skimage import color, data

from mlseries import datasets

# scikit-image sample images that ship with it (no download): photos and textures
BACKGROUNDS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass", "gravel",
               "moon", "coins", "immunohistochemistry", "hubble_deep_field", "clock", "page")


def backgrounds():
    """The background images as float32 grey arrays in [0, 1]."""
    out = []
    for name in BACKGROUNDS:
        image = getattr(data, name)()
        if image.ndim == 3:
            image = color.rgb2gray(image[..., :3])
        image = image.astype(np.float32)
        out.append(image / 255.0 if image.max() > 1.0 else image)
    return out


def stylise(digits, rng, pool=None):
    """MNIST digits (N, 1, 28, 28) in [0, 1] → the target style: |random background crop − digit|."""
    pool = backgrounds() if pool is None else pool
    n, _, h, w = digits.shape
    out = np.empty_like(digits)
    which = rng.integers(0, len(pool), n)
    for i in range(n):
        image = pool[which[i]]
        top, left = rng.integers(0, image.shape[0] - h), rng.integers(0, image.shape[1] - w)
        out[i, 0] = np.abs(image[top:top + h, left:left + w] - digits[i, 0])
    return out


def digit_domains(n_source, n_target, n_test, rng):
    """Labelled source (x, y), unlabelled target training images x_t (with their hidden labels,
    used only to report pseudo-label quality), and the target test set (x, y): MNIST training
    digits split into disjoint source and target halves, MNIST test digits for the target test.
    All float32 (N, 1, 28, 28) in [0, 1]."""
    x, y = datasets.MNIST(train=True).as_arrays()
    xt, yt = datasets.MNIST(train=False).as_arrays()
    order = rng.permutation(len(x))
    src, tgt = order[:n_source], order[n_source:n_source + n_target]
    test = rng.permutation(len(xt))[:n_test]
    pool = backgrounds()
    return ((x[src], y[src]), (stylise(x[tgt], rng, pool), y[tgt]), (stylise(xt[test], rng, pool), yt[test]))
