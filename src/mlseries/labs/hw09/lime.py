"""HW09's LIME (Ribeiro, Singh & Guestrin 2016), written here: explain one prediction with a
linear model that imitates the classifier near the image.

1. Cut the image into segments (here square patches; superpixels on photographs).
2. Draw random on/off masks z ∈ {0, 1}^S over the S segments; an "off" segment is blanked.
3. Ask the classifier for the class's probability on each masked image.
4. Fit a ridge regression (scikit-learn) from z to those probabilities, each sample weighted by
   how close its mask is to the whole image (an exponential kernel on the cosine distance),
   so that the surrogate is faithful *locally*.
5. The surrogate's coefficients are the segments' importances; its weighted R² says how well a
   linear model of the segments describes the classifier there.
"""
import numpy as np
from sklearn.linear_model import Ridge

from ...course.training import outputs


def patch_segments(height, width, patch):
    """(H, W) int array: the index of the patch×patch square each pixel is in."""
    rows, cols = np.arange(height) // patch, np.arange(width) // patch
    return rows[:, None] * (-(-width // patch)) + cols[None, :]


def masked_images(image, segments, masks, blank):
    """image (C, H, W) with the segments that are 0 in each mask (M, S) set to `blank` → (M, C, H, W)."""
    keep = masks[:, segments]                                        # (M, H, W): the mask per pixel
    return np.where(keep[:, None].astype(bool), image[None], blank).astype(np.float32)


def kernel_weights(masks, width=0.25):
    """exp(−d² / width²) with d the cosine distance between each mask and the all-on mask."""
    on = masks.sum(axis=1)
    d = 1.0 - on / np.sqrt(masks.shape[1] * np.maximum(on, 1))
    return np.exp(-d ** 2 / width ** 2)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def lime(model, image, label, segments, blank, rng, samples=300, alpha=1.0):
    """LIME for one image (C, H, W) and class `label`. Returns (coefficients per segment (S,),
    the surrogate's weighted R² on its samples)."""
    n_segments = int(segments.max()) + 1
    masks = rng.integers(0, 2, size=(samples, n_segments))
    masks[0] = 1                                                     # the image itself is one sample
    probs = softmax(outputs(model, masked_images(image, segments, masks, blank)))[:, label]   # (M,)
    weights = kernel_weights(masks)
    surrogate = Ridge(alpha=alpha).fit(masks, probs, sample_weight=weights)
    return surrogate.coef_, float(surrogate.score(masks, probs, sample_weight=weights))


def lime_maps(model, x, classes, segments, blank, rng, samples=300):
    """LIME for every image of x (N, C, H, W): per-pixel maps (each pixel its segment's
    coefficient, shape of x) and each surrogate's R² (N,)."""
    maps, r2 = np.zeros(x.shape), np.zeros(len(x))
    for i, image in enumerate(x):
        coef, r2[i] = lime(model, image, classes[i], segments, blank, rng, samples)
        maps[i] = coef[segments][None]
    return maps, r2
