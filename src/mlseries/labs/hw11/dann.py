"""HW11's networks and the three ways they are trained: on the source alone, DANN, and DANN with
pseudo-labels.

**The networks** follow the TA's sample code, smaller: a convolutional feature extractor (特征提取器)
of conv-BN-ReLU-max-pool blocks, a label predictor (标签预测器) — two linear layers to the 10 digits —
and, for DANN, a domain classifier (域分类器) of two linear layers saying "source or target".

**The gradient-reversal layer** (梯度反转层, Ganin & Lempitsky 2015) is the identity going forward
and multiplies the gradient by −λ going back. Put between the features and the domain classifier,
one backward pass trains the classifier to tell the domains apart and, through the reversed
gradient, the feature extractor to make that impossible — features the label predictor can use on
both domains. It is a custom autograd Function (`ms.autograd.Function`), written exactly as the
TA's code writes a `torch.autograd.Function`: a static `forward(ctx, …)` and `backward(ctx, grad)`.
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn

from ...course.training import check_loss, minibatches, outputs


class GradReverse(ms.autograd.Function):
    """y = x going forward; ∂L/∂x = −λ · ∂L/∂y going back."""

    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd              # backward needs only λ, not x
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * -ctx.lambd, None  # no gradient for λ


def grad_reverse(x, lambd):
    return GradReverse.apply(x, float(lambd))


def dann_lambda(p, gamma=10.0):
    """The paper's schedule for λ over training progress p ∈ [0, 1]: 2 / (1 + e^(−γp)) − 1, from 0
    (let the label predictor find useful features first) rising to ~1."""
    return 2.0 / (1.0 + np.exp(-gamma * p)) - 1.0


def block(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]


class DomainNet(nn.Module):
    """features (B, 1, 28, 28) → (B, 576); labels → (B, 10); domain → (B,) logit (target = 1)."""

    def __init__(self, widths=(32, 48, 64), hidden=128):
        super().__init__()
        a, b, c = widths
        self.features = nn.Sequential(*block(1, a), *block(a, b), *block(b, c), nn.Flatten())  # 28→14→7→3
        d = c * 3 * 3
        self.labels = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        self.domain = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):                                 # what `outputs`/`accuracy` call: the digits
        return self.labels(self.features(x))              # (B, 10)


def features(model, x, batch=500):
    """The feature extractor's output for every image, in eval mode, as NumPy (N, 576)."""
    model.eval()
    with ms.no_grad():
        return np.concatenate([model.features(ms.tensor(x[i])).numpy() for i in minibatches(len(x), batch)])


def train(ctx, model, source, target, cfg, rng, desc, adapt=True, pseudo=None, lambdas=None):
    """Adam on the label loss of the source batches (and, with `pseudo` = (x, y), of as many
    pseudo-labelled target images), plus — with `adapt` — the domain classifier's loss through the
    gradient-reversal layer on a source and a target batch together. λ follows `dann_lambda` over
    all steps of this call unless `lambdas` = (start, end) progress says otherwise. Returns the
    (step, λ, domain accuracy) history."""
    (xs, ys), xt = source, target
    batch, epochs = cfg["batch"], cfg["epochs"] if pseudo is None else cfg["pseudo_epochs"]
    steps = epochs * (len(xs) // batch)
    p0, p1 = lambdas or (0.0, 1.0)
    if cfg.get("optimizer", "adam") == "sgd":
        # the paper's recipe: SGD with momentum, learning rate annealed as lr / (1 + 10 p)^0.75
        optimizer = ms.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
        scheduler = ms.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: (1 + 10 * (p0 + (p1 - p0) * s / max(steps - 1, 1))) ** -0.75)
    else:
        optimizer, scheduler = ms.optim.Adam(model.parameters(), lr=cfg["lr"]), None
    history, step = [], 0
    for epoch in range(epochs):
        model.train()
        order, order_t = rng.permutation(len(xs)), rng.permutation(len(xt))
        order_p = rng.permutation(len(pseudo[0])) if pseudo is not None else None
        for b in ctx.progress(range(len(xs) // batch), f"{desc} {epoch + 1}/{epochs}"):
            idx = order[b * batch:(b + 1) * batch]
            x_src = ms.tensor(xs[idx])                                         # (B, 1, 28, 28)
            labels = ms.tensor(ys[idx])
            parts = [x_src]
            if pseudo is not None:
                jdx = order_p[np.arange(b * batch, (b + 1) * batch) % len(order_p)]
                parts.append(ms.tensor(pseudo[0][jdx]))
                labels = ms.cat([labels, ms.tensor(pseudo[1][jdx])])
            if adapt:
                kdx = order_t[np.arange(b * batch, (b + 1) * batch) % len(order_t)]
                parts.append(ms.tensor(xt[kdx]))
            h = model.features(ms.cat(parts) if len(parts) > 1 else x_src)     # (B·parts, 576): one BN batch
            n_lab = len(labels)
            loss = F.cross_entropy(model.labels(h[:n_lab]), labels)
            if adapt:
                lambd = cfg["lambda_max"] * dann_lambda(p0 + (p1 - p0) * step / max(steps - 1, 1))
                dom = model.domain(grad_reverse(ms.cat([h[:batch], h[-batch:]]),
                                                lambd)).reshape(-1)             # (2B,)
                truth = ms.tensor(np.r_[np.zeros(batch), np.ones(batch)].astype(np.float32))
                d_loss = F.binary_cross_entropy_with_logits(dom, truth)
                loss = loss + d_loss
                if step % 5 == 0:
                    acc = float(np.mean((dom.detach().numpy() > 0) == (truth.numpy() > 0.5)))
                    history.append((step, lambd, acc))
            check_loss(loss.item(), f"{desc}, epoch {epoch + 1}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
    return history


def pseudo_labels(model, x, threshold):
    """The target images the model is confident about (softmax ≥ threshold) with its predictions:
    (indices, labels)."""
    logits = outputs(model, x)                                                 # (N, 10)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    keep = np.flatnonzero(p.max(axis=1) >= threshold)
    return keep, p.argmax(axis=1)[keep]
