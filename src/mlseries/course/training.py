"""Training and judging image models on whole NumPy arrays: the loop the ch07 lessons share.

The lessons keep a data set as NumPy arrays (N, C, H, W) and hand the engine one mini-batch at
a time: indexing an array is the fastest way to draw a batch, and keeping the loop here lets
each lesson show only what it is about (the model and what changes between runs).

The loop is resumable: given `state=ctx.resumable(name, model=..., optimizer=..., rng=...)`, the
epoch's data order, its position and running sums and the history live in `state.vars`, and
`state.step()` after each batch lets the run's checkpoint be written (course/resume.py). It also
stops with TrainingDiverged when the loss turns NaN or infinite, instead of training on garbage.
"""
import math
import sys
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
from mlseries import datasets, viz


FASHION_ZH = ("T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴")


def fashion_names(sep=" "):
    """Fashion-MNIST's classes in Chinese and English ("T恤 T-shirt"), English alone where no
    Chinese font draws (figures for Chinese readers should not name classes in English only)."""
    return [viz.text(zh, en.split("/")[0], sep=sep) for zh, en in zip(FASHION_ZH, datasets.FashionMNIST.classes)]


def fashion_mnist(n_train=None, n_test=None):
    """Fashion-MNIST standardised, as NumPy: ((x, y), (x_test, y_test)), the first n_train and
    n_test images of each split (all when None); x float32 (N, 1, 28, 28), y int64 (N,)."""
    train, test = datasets.FashionMNIST(train=True), datasets.FashionMNIST(train=False)
    x, y = train.as_arrays(normalize=True)
    xt, yt = test.as_arrays(normalize=True)
    return (x[:n_train], y[:n_train]), (xt[:n_test], yt[:n_test])


class TrainingDiverged(ArithmeticError):
    """The training loss became NaN or infinite: further steps would only spread the NaN."""


def check_loss(value, where):
    """`value` (a float) if finite; else TrainingDiverged saying where and what to try."""
    if not math.isfinite(value):
        raise TrainingDiverged(f"{where}: the training loss became {value}; training stopped. Usually the "
                               "learning rate is too high for this model (try a smaller one); "
                               "mlseries.autograd.detect_anomaly() names the operation whose gradient "
                               "turned NaN first")
    return value


def minibatches(n, batch_size, rng=None):
    """Index arrays covering range(n) in batches; shuffled when a NumPy generator is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def library(model):
    """The library `model` is built on: torch for a torch.nn.Module (a lesson run with
    --engine torch, see engines.py), else mlseries. The functions here work with either."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return torch
    return ms


def as_input(model, array):
    """A NumPy batch as a tensor of the model's library, on the model's device."""
    T = library(model)
    if T is ms:
        return ms.tensor(array)
    return T.as_tensor(np.ascontiguousarray(array), device=next(model.parameters()).device)


def outputs(model, x, batch_size=500):
    """The model's outputs for every row of x, in eval mode and without a graph, as NumPy."""
    model.eval()
    with library(model).no_grad():
        return np.concatenate([model(as_input(model, x[idx])).detach().cpu().numpy()
                               for idx in minibatches(len(x), batch_size)])


def accuracy(model, x, y, batch_size=500):
    """Fraction of rows whose highest logit is the true class; also returns the predictions."""
    pred = outputs(model, x, batch_size).argmax(axis=1)
    return float(np.mean(pred == y)), pred


def train_epoch(model, optimizer, x, y, batch_size, rng, loss_fn=None,
                scheduler=None, augment=None, progress=iter, step_losses=None, state=None, desc="training"):
    """One pass over (x, y) in shuffled mini-batches; `scheduler` steps after every batch.

    `augment(xb)` changes each batch (a NumPy array) before the model sees it. Returns the mean
    training loss and, for class targets, the fraction of batches' predictions that were right
    (measured while training, in train mode, as the ResNet paper's training-error curves are).
    With `state` (a TrainingState) the epoch can be interrupted and resumed mid-way: its order,
    position and sums are kept in state.vars["epoch"], and a checkpoint may follow any batch.
    A NaN or infinite loss raises TrainingDiverged naming `desc`.
    """
    model.train()
    loss_fn = loss_fn or library(model).nn.functional.cross_entropy   # an mlseries or a torch model
    classify = y.dtype.kind in "iu"
    run = state.vars if state is not None else {}
    epoch = run.get("epoch")
    if epoch is None:   # a fresh epoch: draw its order (resumed: the saved one, mid-way)
        epoch = {"order": rng.permutation(len(x)), "position": 0, "loss": 0.0, "correct": 0.0}
        run["epoch"] = epoch
    order = epoch["order"]
    starts = range(0, len(x), batch_size)
    for b in progress(range(epoch["position"], len(starts))):
        idx = order[starts[b]:starts[b] + batch_size]
        xb = x[idx] if augment is None else augment(x[idx])
        out = model(as_input(model, xb))
        loss = loss_fn(out, as_input(model, y[idx]))
        value = check_loss(loss.item(), f"{desc}, batch {b + 1} of {len(starts)}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        epoch["loss"] += value * len(idx)
        if step_losses is not None:
            step_losses.append(value)
        if classify:
            epoch["correct"] += float(np.mean(out.detach().cpu().numpy().argmax(axis=1) == y[idx])) * len(idx)
        epoch["position"] = b + 1
        if state is not None:
            state.step()
    run["epoch"] = None
    return epoch["loss"] / len(x), (epoch["correct"] / len(x) if classify else None)


def fit(model, optimizer, train, test, epochs, batch_size, rng, scheduler=None, augment=None,
        log=None, progress=None, desc="training", state=None, eval_train=False):
    """Train for `epochs` on train = (x, y) and measure test = (x, y) after each one.

    Returns a history dict of lists: train_loss, train_acc, test_acc, seconds (cumulative
    training time, evaluation excluded), and with `eval_train` train_acc_eval (the training set
    measured in eval mode after each epoch, like the test set). `log(message)` gets one line per
    epoch. With `state` (from ctx.resumable, tracking model, optimizer, scheduler and rng) the
    run can be resumed from any batch, and `state.finish()` is called at the end.
    """
    run = state.vars if state is not None else {}
    history = run.setdefault("history", {"train_loss": [], "train_acc": [], "test_acc": [], "seconds": []})
    if eval_train:
        history.setdefault("train_acc_eval", [])
    for epoch in range(len(history["train_loss"]) + 1, epochs + 1):
        start = time.perf_counter()
        bar = None if progress is None else (lambda it: progress(it, f"{desc} {epoch}/{epochs}"))
        loss, train_acc = train_epoch(model, optimizer, *train, batch_size, rng, scheduler=scheduler,
                                      augment=augment, progress=bar or iter, state=state,
                                      desc=f"{desc} epoch {epoch}")
        run["seconds"] = run.get("seconds", 0.0) + time.perf_counter() - start
        test_acc, _ = accuracy(model, *test)
        for key, value in zip(("train_loss", "train_acc", "test_acc", "seconds"),
                              (loss, train_acc, test_acc, run["seconds"])):
            history[key].append(value)
        if eval_train:
            history["train_acc_eval"].append(accuracy(model, *train)[0])
        if log is not None:
            log(f"{desc} epoch {epoch:>2}: train loss {loss:.4f}, train acc {train_acc:.4f}, "
                f"test acc {test_acc:.4f}  ({run['seconds']:.0f} s)")
    if state is not None:
        state.finish()
    return history


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion(cm, classes, title):
    """The confusion matrix as a heat map with every count written in."""
    fig = viz.figure(figsize=(7.2, 6.2))
    ax = fig.subplots()
    shown = ax.imshow(cm, cmap="Blues")
    fig.colorbar(shown, ax=ax, shrink=0.8, label=viz.text("样本数", "count"))
    for (i, j), count in np.ndenumerate(cm):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7.5,
                    color="white" if count > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.grid(False)
    ax.set(title=title, xlabel=viz.text("预测类别", "predicted class"),
           ylabel=viz.text("真实类别", "true class"))
    return fig


def plot_histories(histories, title, keys=("train_loss", "test_acc")):
    """Side-by-side curves per epoch for several runs; `histories` maps a label to a history."""
    labels = {"train_loss": viz.text("训练损失", "training loss"),
              "train_acc": viz.text("训练准确率", "training accuracy"),
              "test_acc": viz.text("测试准确率", "test accuracy")}
    fig = viz.figure(figsize=(5 * len(keys), 4))
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys):
        for label, history in histories.items():
            epochs = np.arange(1, len(history[key]) + 1)
            ax.plot(epochs, history[key], "o-", ms=3, label=label)
        ax.set(title=labels[key], xlabel=viz.text("轮次", "epoch"), ylabel=labels[key])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig
