"""HW10's stand-in for CIFAR-10: Fashion-MNIST garments in colour on photographs, 32×32 RGB.

The lab attacks CIFAR-10: 32×32 colour photographs, 3 072 numbers per image, natural textures
everywhere. Grey Fashion-MNIST is far from that in the way that matters for an L∞ attack: 784
numbers, most of them a black background that cannot be pushed below 0, so at ε = 8/255 even
an attack with the black box's own gradients leaves it at about 0.25 accuracy. Here each garment
(padded from 28×28 to 32×32) gets a random colour and is laid over a random 32×32 crop of one of
scikit-image's sample photographs (installed with it, no download), with the garment's grey value
as its opacity:

    image = (1 − g)·background + g·colour        g ∈ [0, 1] the Fashion-MNIST pixel

so the class is carried by shape alone (the colour says nothing), on textured, colourful
backgrounds — a CIFAR-like input the same small networks can still learn (≈ 0.8 accuracy), and
one an 8/255 perturbation can move as it moves CIFAR images. Images are rounded to 8 bits, as
PNGs store them.
"""
import numpy as np
from skimage import data as sample_images

from mlseries import datasets

SIZE = 32
# scikit-image's bundled photographs and textures (grey ones are repeated over three channels);
# synthetic graphics and the images it would download are left out
COLOUR = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field",
          "stereo_motorcycle")
GREY = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock", "page")


def backgrounds():
    """The photographs as float32 (3, H, W) arrays in [0, 1]."""
    out = []
    for name in COLOUR + GREY:
        image = getattr(sample_images, name)()
        if isinstance(image, tuple):                   # stereo_motorcycle: (left, right, disparity)
            image = image[0]
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        out.append(image[..., :3].astype(np.float32).transpose(2, 0, 1) / 255.0)    # (3, H, W)
    return out


def on_photos(garments, rng, pool=None):
    """Fashion-MNIST images (N, 1, 28, 28) in [0, 1] → (N, 3, 32, 32): each garment in a random
    colour over a random crop of a random photograph, rounded to 8 bits."""
    pool = backgrounds() if pool is None else pool
    n = len(garments)
    pad = (SIZE - garments.shape[-1]) // 2
    alpha = np.pad(garments, ((0, 0), (0, 0), (pad, pad), (pad, pad)))              # (N, 1, 32, 32)
    colours = rng.random((n, 3, 1, 1)).astype(np.float32)                            # (N, 3, 1, 1)
    which = rng.integers(0, len(pool), n)
    out = np.empty((n, 3, SIZE, SIZE), np.float32)
    for i in range(n):
        photo = pool[which[i]]
        top, left = rng.integers(0, photo.shape[1] - SIZE), rng.integers(0, photo.shape[2] - SIZE)
        background = photo[:, top:top + SIZE, left:left + SIZE]                      # (3, 32, 32)
        out[i] = (1 - alpha[i]) * background + alpha[i] * colours[i]
    return np.round(np.clip(out, 0, 1) * 255.0).astype(np.float32) / 255.0


def fashion_on_photos(n_train, n_attack, rng):
    """(x, y) for training from Fashion-MNIST's training images and the attacked images (x, y)
    from its test images, both on photographs; the test images' backgrounds come from the same
    photographs, other crops."""
    x, y = datasets.FashionMNIST(train=True).as_arrays()                # (60000, 1, 28, 28), [0, 1]
    xt, yt = datasets.FashionMNIST(train=False).as_arrays()
    pool = backgrounds()
    return ((on_photos(x[:n_train], rng, pool), y[:n_train]),
            (on_photos(xt[:n_attack], rng, pool), yt[:n_attack]))
