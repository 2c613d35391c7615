"""HW09's gradient attributions: which input pixels the class score depends on.

All three take a classifier `model` (eval mode), images x (N, C, H, W) as NumPy and the class
to explain per image, and return attributions of x's shape (NumPy float64):

* **Vanilla gradient saliency** (显著图, Simonyan et al. 2013): |∂F_c/∂x|, how much the class
  score F_c changes when one pixel changes a little.
* **SmoothGrad** (Smilkov et al. 2017): the mean of the gradient's magnitude over n noisy copies
  x + ε, ε ~ N(0, σ²): single gradients of a ReLU network are noisy from pixel to pixel, and
  averaging over a neighbourhood keeps what is consistent.
* **Integrated gradients** (积分梯度, Sundararajan et al. 2017): (x − x') · ∫₀¹ ∂F_c(x' + α(x − x'))/∂x dα
  from a baseline x' (a blank image). Its attributions are *complete*: they add up to
  F_c(x) − F_c(x'), which `completeness_error` checks. The integral is the trapezoid rule over
  `steps` equal intervals, so the sum matches to the integral's discretisation error.
"""
import numpy as np

import mlseries as ms


def class_gradients(model, x, classes, batch=256):
    """∂F_c/∂x for each row of x (N, ...) and its class c; also F_c(x). NumPy float64 each."""
    grads, scores = [], []
    for start in range(0, len(x), batch):
        xb = ms.tensor(x[start:start + batch].astype(np.float32), requires_grad=True)   # (B, C, H, W)
        cb = np.asarray(classes[start:start + batch])
        out = model(xb)                                                                 # (B, classes)
        picked = out[np.arange(len(cb)), cb]                                            # (B,)
        picked.sum().backward()       # rows are independent, so the sum's gradient is each row's
        grads.append(xb.grad.numpy().astype(np.float64))
        scores.append(picked.detach().numpy().astype(np.float64))
    return np.concatenate(grads), np.concatenate(scores)


def saliency(model, x, classes):
    """Vanilla gradient saliency |∂F_c/∂x|."""
    return np.abs(class_gradients(model, x, classes)[0])


def smoothgrad(model, x, classes, rng, samples=25, sigma=0.15):
    """Mean |∂F_c/∂x| over `samples` copies of x with Gaussian noise of std sigma·(max − min of x)."""
    total = np.zeros(x.shape)
    for i, image in enumerate(x):
        scale = sigma * float(image.max() - image.min())
        noisy = image[None] + rng.normal(0.0, scale, size=(samples,) + image.shape)   # (n, C, H, W)
        grads, _ = class_gradients(model, noisy, np.full(samples, classes[i]))
        total[i] = np.abs(grads).mean(axis=0)
    return total


def integrated_gradients(model, x, classes, baseline, steps=128):
    """Integrated gradients along the straight line from `baseline` (broadcastable to one image)
    to each image, by the trapezoid rule over `steps` intervals. Returns (attributions, F_c(x),
    F_c(baseline))."""
    alphas = np.linspace(0.0, 1.0, steps + 1)                       # (steps + 1,)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2                                           # trapezoid: the ends count half
    attributions = np.zeros(x.shape)
    f_x, f_base = np.zeros(len(x)), np.zeros(len(x))
    for i, image in enumerate(x):
        path = baseline + alphas[:, None, None, None] * (image - baseline)     # (steps + 1, C, H, W)
        grads, scores = class_gradients(model, path, np.full(steps + 1, classes[i]))
        mean_grad = np.tensordot(weights, grads, axes=1)            # (C, H, W): ∫ ∂F/∂x dα
        attributions[i] = (image - baseline) * mean_grad
        f_base[i], f_x[i] = scores[0], scores[-1]
    return attributions, f_x, f_base


def completeness_error(attributions, f_x, f_base):
    """Per image |Σ attributions − (F(x) − F(x'))| / |F(x) − F(x')|: 0 for exact integrated gradients."""
    total = attributions.reshape(len(attributions), -1).sum(axis=1)
    return np.abs(total - (f_x - f_base)) / np.abs(f_x - f_base)
