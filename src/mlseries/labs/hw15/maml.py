"""MAML and its relatives, written on explicit "fast weights": a network is an `nn.Module` (which
gives it its initial parameters, in `parameters()` order) and a functional forward `f(x, params)`
that runs the same layers on any list of tensors in that order, so the inner loop can compute
θ' = θ − α·∇L(θ) as new tensors while θ stays the module's parameters.

    fast = adapt(conv_forward, params, xs, ys, F.cross_entropy, lr=0.4, steps=1, second_order=True)
    loss = F.cross_entropy(conv_forward(xq, fast), yq)
    loss.backward()                    # the meta-gradient, through the inner step

* MAML (second_order=True): the inner gradient is computed with `create_graph=True`, so the
  meta-gradient carries the Hessian term −α·H·∇L_query (二阶导数).
* first-order MAML (second_order=False): the inner gradient is a constant, so the meta-gradient is
  ∇L_query at θ' applied to θ (一阶近似).
* ANIL (`only=head`): only the last layer adapts in the inner loop; the body is meta-learned as a
  feature extractor shared by every task.
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn


# ---------------------------------------------------------------- the networks

def conv_net(channels, n_out, blocks=4):
    """MAML's Omniglot network (a small version): `blocks` × [3×3 conv, batch norm, ReLU, 2×2 max-pool]
    on 28×28 grey images (28 → 14 → 7 → 3 → 1), then a linear head."""
    layers, cin = [], 1
    for _ in range(blocks):
        layers += [nn.Conv2d(cin, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(), nn.MaxPool2d(2)]
        cin = channels
    side = 28
    for _ in range(blocks):
        side //= 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, n_out))


def conv_features(x, params):
    """The conv body on explicit parameters (4 per block: conv weight and bias, BN scale and shift).
    Batch norm uses the batch's own statistics, as MAML does (no running averages across tasks)."""
    for i in range(len(params) // 4):
        w, b, gamma, beta = params[4 * i:4 * i + 4]
        x = F.conv2d(x, w, b, padding=1)                                  # (N, C, H, W)
        x = F.batch_norm(x, None, None, gamma, beta, training=True)
        x = F.max_pool2d(F.relu(x), 2)                                    # (N, C, H/2, W/2)
    return x.flatten(1)                                                  # (N, C·h·w)


def conv_forward(x, params):
    """conv_net's forward on explicit parameters: (N, 1, 28, 28) → (N, n_out) logits."""
    return F.linear(conv_features(x, params[:-2]), params[-2], params[-1])


def mlp(hidden=(40, 40)):
    """MAML's sinusoid regressor: 1 → 40 → 40 → 1 with ReLU."""
    layers, cin = [], 1
    for h in hidden:
        layers += [nn.Linear(cin, h), nn.ReLU()]
        cin = h
    return nn.Sequential(*layers, nn.Linear(cin, 1))


def mlp_forward(x, params):
    """The MLP on per-task parameters: x (T, K, 1), each weight (T, out, in), each bias (T, out)
    → (T, K, 1). Every task has its own fast weights, so T tasks adapt in one batched product."""
    n = len(params) // 2
    for i in range(n):
        w, b = params[2 * i], params[2 * i + 1]
        x = ms.matmul(x, w.transpose(1, 2)) + b.unsqueeze(1)             # (T, K, out)
        if i < n - 1:
            x = F.relu(x)
    return x


def per_task(params, n_tasks):
    """Each shared parameter repeated for n_tasks tasks: (out, in) → (T, out, in). The copies stay in
    the graph, so the meta-gradient of the shared parameter is the sum over tasks."""
    return [p.unsqueeze(0).expand(n_tasks, *p.shape) for p in params]


def task_mse(pred, y):
    """The sum over tasks of each task's mean squared error: its gradient with respect to one task's
    fast weights is that task's own gradient."""
    return ((pred - y) ** 2).mean(dim=(1, 2)).sum()                      # (T, K, 1) → ()


# ---------------------------------------------------------------- the inner loop

def adapt(forward, params, x, y, loss_fn, lr, steps, second_order, only=None):
    """`steps` gradient steps of size `lr` on the support set (x, y), from `params`; returns the
    fast weights (a new list). `only`: the indices of the parameters that adapt (ANIL: the head's);
    the others are used as they are. With second_order the steps stay differentiable (MAML);
    without, each inner gradient is a constant (first-order MAML, and every test-time adaptation)."""
    fast = list(params)
    idx = list(range(len(params))) if only is None else list(only)
    for _ in range(steps):
        loss = loss_fn(forward(x, fast), y)
        # retain_graph: the query loss is differentiated through these steps afterwards
        grads = ms.autograd.grad(loss, [fast[i] for i in idx], create_graph=second_order, retain_graph=True)
        for i, g in zip(idx, grads):
            fast[i] = fast[i] - lr * g
    return fast


def detached(params):
    """Fresh leaves with the parameters' values: test-time adaptation builds no graph back to θ."""
    return [p.detach().clone().requires_grad_(True) for p in params]


def head_indices(params):
    """The last linear layer's weight and bias: what ANIL adapts."""
    return [len(params) - 2, len(params) - 1]


# ---------------------------------------------------------------- scoring

def interval(values):
    """Mean and 95 % half-width (1.96 standard errors) of per-task scores."""
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))
