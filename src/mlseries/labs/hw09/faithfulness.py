"""HW09's test of an explanation: does deleting what it points at hurt the prediction more than
deleting pixels at random?

The deletion test (删除测试, as in Petsiuk et al.'s RISE paper): rank the pixels by attribution,
blank the top fraction, and measure how much the explained class's probability falls; do the
same with randomly chosen pixels. An attribution that is faithful to the model finds the pixels
the model uses, so its drop is larger. The score is the ratio of the mean drops over several
fractions: above 1 beats random, and it can fail (a map of noise scores about 1).
"""
import numpy as np

from ...course.training import outputs
from .lime import softmax

FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2)


def class_probability(model, x, classes):
    return softmax(outputs(model, x.astype(np.float32)))[np.arange(len(x)), classes]


def delete_top(x, ranking, fraction, blank):
    """Blank each image's `fraction` of pixels with the highest ranking (N, C, H, W)."""
    n, flat = len(x), x.reshape(len(x), -1)
    k = max(1, int(round(fraction * flat.shape[1])))
    top = np.argsort(-ranking.reshape(n, -1), axis=1, kind="stable")[:, :k]     # (N, k)
    out = flat.copy()
    np.put_along_axis(out, top, blank, axis=1)
    return out.reshape(x.shape)


def deletion_curve(model, x, classes, ranking, blank, fractions=FRACTIONS):
    """Mean probability of the class after blanking each fraction of top-ranked pixels."""
    return np.array([class_probability(model, delete_top(x, ranking, f, blank), classes).mean()
                     for f in fractions])


def random_curve(model, x, classes, blank, rng, repeats=3, fractions=FRACTIONS):
    """deletion_curve with random rankings, averaged over `repeats` draws."""
    return np.mean([deletion_curve(model, x, classes, rng.random(x.shape), blank, fractions)
                    for _ in range(repeats)], axis=0)


def faithfulness(p_before, curve, random):
    """(mean drop of the method's curve) / (mean drop of random deletion)."""
    before = np.mean(p_before)
    return float(np.mean(before - curve) / max(np.mean(before - random), 1e-12))
