"""Training and judging image models on whole NumPy arrays: the loop the ch07 lessons share.

The lessons keep a data set as NumPy arrays (N, C, H, W) and hand the engine one mini-batch at
a time: indexing an array is the fastest way to draw a batch, and keeping the loop here lets
each lesson show only what it is about (the model and what changes between runs).
"""
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, viz


def fashion_mnist(n_train=None, n_test=None):
    """Fashion-MNIST standardised, as NumPy: ((x, y), (x_test, y_test)), the first n_train and
    n_test images of each split (all when None); x float32 (N, 1, 28, 28), y int64 (N,)."""
    train, test = datasets.FashionMNIST(train=True), datasets.FashionMNIST(train=False)
    x, y = train.as_arrays(normalize=True)
    xt, yt = test.as_arrays(normalize=True)
    return (x[:n_train], y[:n_train]), (xt[:n_test], yt[:n_test])


def minibatches(n, batch_size, rng=None):
    """Index arrays covering range(n) in batches; shuffled when a NumPy generator is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def outputs(model, x, batch_size=500):
    """The model's outputs for every row of x, in eval mode and without a graph, as NumPy."""
    model.eval()
    with ms.no_grad():
        return np.concatenate([model(ms.tensor(x[idx])).numpy()
                               for idx in minibatches(len(x), batch_size)])


def accuracy(model, x, y, batch_size=500):
    """Fraction of rows whose highest logit is the true class; also returns the predictions."""
    pred = outputs(model, x, batch_size).argmax(axis=1)
    return float(np.mean(pred == y)), pred


def train_epoch(model, optimizer, x, y, batch_size, rng, loss_fn=F.cross_entropy,
                scheduler=None, augment=None, progress=iter, step_losses=None):
    """One pass over (x, y) in shuffled mini-batches; `scheduler` steps after every batch.

    `augment(xb)` changes each batch (a NumPy array) before the model sees it. Returns the mean
    training loss and, for class targets, the fraction of batches' predictions that were right
    (measured while training, in train mode, as the ResNet paper's training-error curves are).
    """
    model.train()
    total_loss, correct = 0.0, 0.0
    classify = y.dtype.kind in "iu"
    for idx in progress(list(minibatches(len(x), batch_size, rng))):
        xb = x[idx] if augment is None else augment(x[idx])
        out = model(ms.tensor(xb))
        loss = loss_fn(out, ms.tensor(y[idx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(idx)
        if step_losses is not None:
            step_losses.append(loss.item())
        if classify:
            correct += float(np.mean(out.numpy().argmax(axis=1) == y[idx])) * len(idx)
    return total_loss / len(x), (correct / len(x) if classify else None)


def fit(model, optimizer, train, test, epochs, batch_size, rng, scheduler=None, augment=None,
        log=None, progress=None, desc="training"):
    """Train for `epochs` on train = (x, y) and measure test = (x, y) after each one.

    Returns a history dict of lists: train_loss, train_acc, test_acc, seconds (cumulative
    training time, evaluation excluded). `log(message)` gets one line per epoch.
    """
    history = {"train_loss": [], "train_acc": [], "test_acc": [], "seconds": []}
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        bar = None if progress is None else (lambda it: progress(it, f"{desc} {epoch}/{epochs}"))
        loss, train_acc = train_epoch(model, optimizer, *train, batch_size, rng, scheduler=scheduler,
                                      augment=augment, progress=bar or iter)
        seconds += time.perf_counter() - start
        test_acc, _ = accuracy(model, *test)
        for key, value in zip(history, (loss, train_acc, test_acc, seconds)):
            history[key].append(value)
        if log is not None:
            log(f"{desc} epoch {epoch:>2}: train loss {loss:.4f}, train acc {train_acc:.4f}, "
                f"test acc {test_acc:.4f}  ({seconds:.0f} s)")
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
