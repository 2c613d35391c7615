"""The network experiments of ch06.diagnose, on scikit-learn's 8×8 digits (1 438 train / 359 test):
batch size, learning-rate warm-up and decay, and overfitting vs optimisation failure.

Each experiment returns plain numbers and arrays; the lesson prints, checks and draws them.
"""
import time
from contextlib import contextmanager

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets


@contextmanager
def one_blas_thread():
    """Run with a single BLAS thread. These networks multiply matrices of a few hundred
    numbers a side, too small to share between threads: with two, OpenBLAS spends more time
    handing work over than multiplying, and when another process holds the second core each
    hand-over waits for the scheduler (measured: 1.5 ms instead of 40 µs for 32×128 @ 128×128)."""
    before = ms.get_num_threads()
    ms.set_num_threads(1)
    try:
        yield
    finally:
        ms.set_num_threads(before)


def digits():
    """(x_train, y_train, x_test, y_test) as engine tensors: 64 standardised pixels, labels 0–9."""
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    (x, y), (xt, yt) = train.as_arrays(flatten=True, normalize=True), test.as_arrays(flatten=True, normalize=True)
    return tuple(ms.tensor(a) for a in (x, y, xt, yt))


def mlp(sizes, activation=ms.nn.ReLU):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [ms.nn.Linear(n_in, n_out), activation()]
    return ms.nn.Sequential(*layers[:-1])


def evaluate(model, x, y):
    with ms.no_grad():
        logits = model(x)
        return F.cross_entropy(logits, y).item(), (logits.argmax(dim=1) == y).float().mean().item()


def fit(model, opt, data, epochs, batch, rng, scheduler=None, on_step=None):
    """Minibatch training. Returns per-epoch rows (train loss, test loss, train acc, test acc,
    seconds of training in the epoch) and the loss of every step."""
    x, y, xt, yt = data
    history, steps = [], []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        start = time.perf_counter()
        for i in range(0, len(y), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if scheduler:
                scheduler.step()
            steps.append(loss.item())
        seconds = time.perf_counter() - start
        (train_loss, train_acc), (test_loss, test_acc) = evaluate(model, x, y), evaluate(model, xt, yt)
        history.append((train_loss, test_loss, train_acc, test_acc, seconds))
    return np.array(history), np.array(steps)


# ---------------------------------------------------------------- curvature of a network's loss

def _loss_twice_differentiable(model, x, y):
    """The model's loss written with matmul and add instead of F.linear. (The engine's fused
    Linear primitive sums the bias gradient with an int `dim`, which its Sum backward cannot
    differentiate again; x @ W.T + b builds the same function from twice-differentiable parts.)"""
    h = x
    for layer in model:
        h = h @ layer.weight.T + layer.bias if isinstance(layer, ms.nn.Linear) else layer(h)
    return F.cross_entropy(h, y)


def sharpness(model, x, y, rng, iterations=20):
    """The largest eigenvalue of the Hessian of the training loss, by power iteration with
    Hessian-vector products (the gradient of g·v, where g was built with create_graph=True)."""
    params = list(model.parameters())
    grads = ms.autograd.grad(_loss_twice_differentiable(model, x, y), params, create_graph=True)
    v = [ms.tensor(rng.normal(size=tuple(p.shape)).astype(p.numpy().dtype)) for p in params]
    eigenvalue = 0.0
    for _ in range(iterations):
        norm = np.sqrt(sum(float((vi * vi).sum()) for vi in v))
        v = [vi / norm for vi in v]
        hv = ms.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eigenvalue = sum(float((a * b).sum()) for a, b in zip(hv, v))   # Rayleigh quotient vᵀHv
        v = [h.detach() for h in hv]
    return eigenvalue


def gradient_noise(model, x, y, batch, rng, draws=30):
    """How far a minibatch gradient strays from the full-batch one: mean ‖g_B − g‖ / ‖g‖."""
    params = list(model.parameters())

    def flat_grad(idx):
        grads = ms.autograd.grad(F.cross_entropy(model(x[idx]), y[idx]), params)
        return np.concatenate([g.numpy().ravel() for g in grads])

    full = flat_grad(np.arange(len(y)))
    errors = [np.linalg.norm(flat_grad(rng.choice(len(y), batch, replace=False)) - full)
              for _ in range(draws if batch < len(y) else 1)]
    return float(np.mean(errors) / np.linalg.norm(full))


# ---------------------------------------------------------------- experiments

def batch_sizes(data, batches, epochs, seed, lr=0.1, sizes=(64, 128, 128, 10)):
    """The same network and SGD learning rate, trained for the same number of epochs with each
    batch size. Rows: dict(batch, updates, noise, seconds per epoch, train/test loss and
    accuracy at the end, sharpness, and the history)."""
    x, y, *_ = data
    rows = []
    for batch in batches:
        ms.manual_seed(seed)
        model = mlp(sizes)
        rng = np.random.default_rng(seed)
        noise = gradient_noise(model, x, y, batch, rng)
        history, _ = fit(model, ms.optim.SGD(model.parameters(), lr=lr), data, epochs, batch, rng)
        rows.append(dict(batch=batch, updates=epochs * -(-len(y) // batch), noise=noise,
                         seconds_per_epoch=float(np.median(history[:, 4])),
                         train_loss=history[-1, 0], test_loss=history[-1, 1],
                         train_acc=history[-1, 2], test_acc=history[-1, 3],
                         sharpness=sharpness(model, x, y, rng), history=history))
    return rows


def schedules(data, epochs, seed, lr=1e-2, warmup=200, batch=32, depth=8):
    """Adam with a large learning rate on a deep ReLU network, under four schedules; warm-up
    lasts `warmup` steps, or a quarter of a short run. Returns {name: dict(history, steps, lrs)}."""
    per_epoch = -(-len(data[1]) // batch)
    total = epochs * per_epoch
    warmup = max(1, min(warmup, total // 4))
    rules = {
        "constant": lambda k: 1.0,
        "warm-up": lambda k: min(1.0, (k + 1) / warmup),
        "cosine decay": lambda k: 0.5 * (1 + np.cos(np.pi * min(k, total) / total)),
        "warm-up + cosine decay": lambda k: min(1.0, (k + 1) / warmup) * 0.5 * (
            1 + np.cos(np.pi * min(k, total) / total)),
    }
    out = {}
    for name, rule in rules.items():
        ms.manual_seed(seed)
        model = mlp((64,) + (128,) * depth + (10,))
        opt = ms.optim.Adam(model.parameters(), lr=lr)
        scheduler = ms.optim.lr_scheduler.LambdaLR(opt, rule)
        history, steps = fit(model, opt, data, epochs, batch, np.random.default_rng(seed), scheduler)
        out[name] = dict(history=history, steps=steps, lrs=np.array([lr * rule(k) for k in range(total)]))
    return out


def fitting(data, epochs, overfit_epochs, seed, few=60):
    """Three cases for the train/test diagnosis: a shallow sigmoid network, a deep one trained
    the same way (SGD) — and the deep one again with ReLU and Adam — plus a large network
    trained on only `few` examples. Returns {name: dict(history, description)}."""
    x, y, xt, yt = data
    cases = {}
    for name, sizes, act, make_opt in (
            ("shallow sigmoid, SGD", (64, 32, 10), ms.nn.Sigmoid, lambda p: ms.optim.SGD(p, lr=0.5)),
            ("deep sigmoid (10 hidden), SGD", (64,) + (32,) * 10 + (10,), ms.nn.Sigmoid,
             lambda p: ms.optim.SGD(p, lr=0.5)),
            ("deep ReLU (10 hidden), Adam", (64,) + (32,) * 10 + (10,), ms.nn.ReLU,
             lambda p: ms.optim.Adam(p, lr=1e-3))):
        ms.manual_seed(seed)
        model = mlp(sizes, act)
        history, _ = fit(model, make_opt(model.parameters()), data, epochs, 32,
                         np.random.default_rng(seed))
        cases[name] = dict(history=history, train_size=len(y))
    ms.manual_seed(seed)
    model = mlp((64, 256, 256, 10))
    keep = np.random.default_rng(seed).permutation(len(y))[:few]
    small = (x[keep], y[keep], xt, yt)
    history, _ = fit(model, ms.optim.Adam(model.parameters(), lr=1e-3), small, overfit_epochs, few,
                     np.random.default_rng(seed))
    cases[f"wide ReLU, {few} training examples, Adam"] = dict(history=history, train_size=few)
    return cases


def diagnose(case, reference_train_loss):
    """Lee's rule of thumb. If a more flexible model has a *higher training* loss than a
    simpler one, training failed (it could at least copy the simpler model): optimisation.
    If the training loss is small but the test loss is much larger and rose from its best,
    the model learned the training set's noise: overfitting."""
    history = case["history"]
    train_loss, test_loss = history[-1, 0], history[-1, 1]
    if train_loss > 2 * reference_train_loss + 0.05:
        return "optimisation failure"
    if test_loss > 3 * train_loss + 0.1 and test_loss > 1.1 * history[:, 1].min():
        return "overfitting"
    return "fine"
