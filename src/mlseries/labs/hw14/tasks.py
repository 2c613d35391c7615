"""HW14's task sequence: MNIST digits, each task the same ten classes rotated by its own angle.

Every task is a classification of the ten digits by one shared network with one output layer
(domain-incremental: the network is not told which task an image comes from). Each task draws
its own training and test digits from MNIST, disjoint from the other tasks', and rotates them
about the centre (scipy.ndimage.rotate, bilinear, the corners filled with black).
"""
import numpy as np
from scipy.ndimage import rotate

from mlseries import datasets

ANGLES = (0, 35, 70, 105, 140)        # degrees, one per task


def rotated(images, angle):
    """(N, 1, 28, 28) in [0, 1] rotated by `angle` degrees anticlockwise."""
    if angle == 0:
        return images.copy()
    out = rotate(images, angle, axes=(3, 2), reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0, 1).astype(np.float32)


def rotated_mnist(n_train, n_test, rng, angles=ANGLES):
    """A list of tasks, one per angle: dict(angle, train=(x, y), test=(x, y)); x float32 (N, 1, 28, 28)."""
    x, y = datasets.MNIST(train=True).as_arrays()
    xt, yt = datasets.MNIST(train=False).as_arrays()
    order, order_t = rng.permutation(len(x)), rng.permutation(len(xt))
    tasks = []
    for i, angle in enumerate(angles):
        tr = order[i * n_train:(i + 1) * n_train]
        te = order_t[i * n_test:(i + 1) * n_test]
        tasks.append(dict(angle=angle, train=(rotated(x[tr], angle), y[tr]), test=(rotated(xt[te], angle), yt[te])))
    return tasks
