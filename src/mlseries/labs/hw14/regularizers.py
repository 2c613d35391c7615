"""HW14's three ways to remember: each gives every parameter an importance Ω after a task, and the
next tasks pay λ · Σ Ω (θ − θ*)² for moving it (θ* the values after that task).

* **EWC** (elastic weight consolidation, 弹性权重巩固; Kirkpatrick et al. 2017): Ω is the diagonal
  of the Fisher information, the mean of the squared gradient of log p(y | x) over the task's
  images — how sharply the likelihood of what the network knew depends on each weight. One
  (Ω, θ*) pair is kept per earlier task, each with its own penalty.
* **MAS** (memory-aware synapses, 记忆感知突触; Aljundi et al. 2018): Ω is the mean |∂‖f(x)‖²/∂θ|
  over images without labels — how much the output moves when a weight does. Ω adds up over tasks.
* **SI** (synaptic intelligence, 突触智能; Zenke et al. 2017): while a task is trained, each
  parameter's contribution to lowering the loss is summed along the way, ω = Σ −g · Δθ (g the
  task loss's gradient, Δθ each step's update); at the end Ω += ω / ((θ_end − θ_start)² + ξ). No
  extra pass over the data: the importance is a by-product of training.

Per-image gradients are taken one image at a time (the MLP is small), as the definitions ask;
a batch's gradient squared or in absolute value would measure something else.
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F


def _params(model):
    return [p for p in model.parameters() if p.requires_grad]


def snapshot(model):
    return [p.detach().numpy().copy() for p in _params(model)]


def per_image_grads(model, x, value):
    """Yield, for each image x_i, the gradients of value(logits_i (1, 10), i) (a scalar) as NumPy."""
    model.eval()
    params = _params(model)
    for i in range(len(x)):
        out = value(model(ms.tensor(x[i:i + 1])), i)                  # scalar
        yield [g.numpy() for g in ms.autograd.grad(out, params)]


def mean_over_images(model, x, value, transform):
    total = [np.zeros(p.shape, np.float32) for p in _params(model)]
    for grads in per_image_grads(model, x, value):
        for t, g in zip(total, grads):
            t += transform(g)
    return [t / len(x) for t in total]


def fisher_diagonal(model, x, y):
    """EWC's Ω: the mean over images of (∂ log p(y_i | x_i) / ∂θ)², y the task's labels."""
    label = ms.tensor(y)
    return mean_over_images(model, x, lambda logits, i: F.cross_entropy(logits, label[i:i + 1]), np.square)


def mas_importance(model, x):
    """MAS's Ω: the mean over (unlabelled) images of |∂ ‖f(x_i)‖² / ∂θ|, f the logits."""
    return mean_over_images(model, x, lambda logits, i: (logits ** 2).sum(), np.abs)


class SynapticIntelligence:
    """SI's running path integral. Call `start(model)` before a task, `step(model, grads_task,
    before)` after each optimiser step, and `consolidate(model)` at the end for the task's Ω."""

    def __init__(self, xi):
        self.xi = xi

    def start(self, model):
        self.theta_start = snapshot(model)
        self.omega = [np.zeros_like(t) for t in self.theta_start]

    def step(self, task_grads, before, after):
        for w, g, b, a in zip(self.omega, task_grads, before, after):
            w -= g * (a - b)                        # −g · Δθ: positive where the step lowered the loss

    def consolidate(self, model):
        end = snapshot(model)
        return [np.maximum(w, 0) / ((e - s) ** 2 + self.xi)          # a step can raise the loss; Ω ≥ 0
                for w, e, s in zip(self.omega, end, self.theta_start)]


class Penalty:
    """λ Σ_k Σ Ω_k (θ − θ*_k)², with (Ω_k, θ*_k) pairs added after each task (EWC), or one pair
    replaced after each task by the summed Ω and the latest θ* (MAS, SI)."""

    def __init__(self, strength):
        self.strength = strength
        self.anchors = []                       # [(Ω list, θ* list)]

    def add(self, omega, theta):
        self.anchors.append(([ms.tensor(o) for o in omega], [ms.tensor(t) for t in theta]))

    def replace(self, omega, theta):
        self.anchors = []
        self.add(omega, theta)

    def __call__(self, model):
        if not self.anchors or self.strength == 0:
            return None
        total = 0
        for omega, theta in self.anchors:
            for p, o, t in zip(_params(model), omega, theta):
                total = total + (o * (p - t) ** 2).sum()
        return self.strength * total
