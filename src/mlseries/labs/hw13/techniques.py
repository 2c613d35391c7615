"""HW13's two compression techniques besides the architecture: knowledge distillation and pruning.

**Knowledge distillation** (知识蒸馏, Hinton, Vinyals & Dean 2015). The teacher's logits t, softened
by a temperature T, say more than the label does: "this shirt is a bit like a T-shirt, not at
all like a bag". The student s is trained on

    α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · cross-entropy(s, label)

(T² keeps the soft term's gradients the same size whatever T is).

**Magnitude pruning** (剪枝). After training, the weights of smallest |w| in each convolution and
linear layer are set to zero and kept there (a mask applied after every optimiser step) while
the network is fine-tuned for a few epochs to recover; only the non-zero weights count.
"""
import numpy as np

import mlseries.nn.functional as F
from mlseries import nn


def pack_targets(labels, teacher_logits, classes=10):
    """(N, 2·classes) float32: one-hot labels beside the teacher's logits, so that the course's
    `fit` (which hands the loss one target array per batch) can carry both to `kd_loss`."""
    onehot = np.eye(classes, dtype=np.float32)[labels]                       # (N, classes)
    return np.concatenate([onehot, teacher_logits.astype(np.float32)], axis=1)


def kd_loss(temperature, alpha, classes=10):
    """loss(student_logits (B, C), packed (B, 2C)) → the distillation loss above (a scalar)."""
    def loss(logits, packed):
        onehot, teacher = packed[:, :classes], packed[:, classes:]           # (B, C) each
        hard = -(onehot * F.log_softmax(logits, dim=1)).sum(dim=1).mean()    # cross-entropy with the labels
        soft_teacher = F.softmax(teacher / temperature, dim=1)               # (B, C)
        soft = F.kl_div(F.log_softmax(logits / temperature, dim=1), soft_teacher, reduction="batchmean")
        return alpha * temperature ** 2 * soft + (1 - alpha) * hard
    return loss


def prunable(model):
    """The weight tensors of the model's convolutions and linear layers (not biases, not batch norm)."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def magnitude_masks(model, fraction):
    """For each prunable weight, a 0/1 mask that zeroes its `fraction` smallest |w| (per layer, so
    that no layer is cut away entirely)."""
    masks = []
    for w in prunable(model):
        magnitude = np.abs(w.detach().numpy())
        k = int(fraction * magnitude.size)
        cut = np.partition(magnitude.ravel(), k)[k] if k > 0 else -np.inf    # the k-th smallest |w|
        masks.append((magnitude >= cut).astype(np.float32))
    return masks


def apply_masks(model, masks):
    for w, mask in zip(prunable(model), masks):
        w.data = w.data * mask


class MaskedOptimizer:
    """An optimiser whose step() is followed by re-zeroing the pruned weights, so that fine-tuning
    cannot bring them back (the gradient of a zero weight is generally not zero)."""

    def __init__(self, optimizer, model, masks):
        self.optimizer, self.model, self.masks = optimizer, model, masks
        self.param_groups = optimizer.param_groups      # for learning-rate schedulers

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.optimizer.step()
        apply_masks(self.model, self.masks)

    def state_dict(self):
        return self.optimizer.state_dict()

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state)


def nonzero_parameters(model):
    """Parameters that are not exactly zero: what a sparse format would have to store."""
    return int(sum(np.count_nonzero(p.detach().numpy())
                   for p in model.parameters()))
