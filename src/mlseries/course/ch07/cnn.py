"""ch07.cnn — 卷积神经网络 / A convolutional network: by hand, then with the engine.

A dense network sees an image as 784 unrelated numbers. A convolutional network keeps the
picture: each layer's small kernels look at neighbouring pixels (a receptive field), the same
kernel is used at every position (parameter sharing), and pooling shrinks the maps so that
later layers see larger regions. Far fewer weights, and the right assumption for images.

Part 1 is day 5 of the 7-day course: load MNIST, and train a small CNN written entirely by
hand in NumPy — the forward pass (convolution through im2col, ReLU, max pooling, a dense
layer, softmax) and the backward pass derived with the chain rule — and check its gradients
against the engine's autograd.

Part 2 builds the classic conv-pool-conv-pool-dense network from the engine's layers and
trains it with Adam on Fashion-MNIST (all 60 000 training images) and on the 5 000 real MNIST
digits, then draws what it learned: the first layer's filters, the feature maps an image
produces, and the confusion matrix.

    mlseries run ch07.cnn [--quick]
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, nn, viz

from .conv import im2col, show_image
from ..training import (FASHION_ZH, accuracy, check_loss, confusion_matrix, count_parameters,  # noqa: F401
                        fashion_mnist, fashion_names, fit, plot_confusion, plot_histories)  # (ch09.vit takes FASHION_ZH from here)
from ..registry import lesson

FULL = dict(hand_train=None, hand_epochs=3, fashion_train=None, fashion_epochs=8,
            mnist_train=None, mnist_epochs=12, test=None)
# quick: three epochs each (on fewer images), so the training curves have a shape to read
QUICK = dict(hand_train=2000, hand_epochs=1, fashion_train=2000, fashion_epochs=3,
             mnist_train=1500, mnist_epochs=3, test=1000)
HAND = dict(channels=8, lr=0.1, batch=32)
CNN = dict(lr=1e-3, batch=64, dropout=0.5)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "hand_cnn_loss.png": ("手写 CNN 的损失从 ln 10（瞎猜）开始，开头几步冲高后稳定下降。",
                          "The hand-written CNN starts at ln 10 (guessing), overshoots for a few steps, then falls steadily."),
    "cnn_history.png": ("训练损失下降，测试准确率逐轮上升，完整运行会越过各自的目标虚线。",
                        "Training loss falls and test accuracy rises each epoch; the full run crosses each dotted target."),
    "fashion_confusion.png": ("对角线是分对的；错误主要是衬衫与 T 恤、套衫、外套之间。",
                              "The diagonal is what was right; most mistakes are shirts confused with T-shirts, pullovers and coats."),
    "mnist_confusion.png": ("几乎所有数字都在对角线上；少数错误发生在形状相近的数字之间。",
                            "Nearly every digit is on the diagonal; the few mistakes are between look-alike digits."),
    "filters.png": ("第一层学到的 3×3 核：许多是不同方向的边缘检测器。",
                    "The learned first-layer 3×3 kernels: many are edge detectors in different directions."),
    "feature_maps.png": ("第一层特征图还像原图，第二层更小也更抽象。",
                         "Layer-1 maps still look like the image; layer-2 maps are smaller and more abstract."),
    "mistakes.png": ("分错的测试图（真实 → 预测）：很多错误连人都容易犯。",
                     "Misclassified test images (true → predicted): many are mistakes a person could make."),
}


# ---------------------------------------------------------------- 1. a CNN by hand (NumPy only)

def init_hand_cnn(rng, channels=8, size=28, classes=10):
    """conv 3×3 (1 → channels, padding 1) → ReLU → 2×2 max pool → dense → 10 logits.

    He initialisation (variance 2 / fan-in) for the kernels; the dense layer starts at zero, so
    the untrained network gives every class 1/10 and the first loss is exactly ln 10 ≈ 2.303.
    (The kernels must not start equal, or they would all learn the same thing; the last layer
    may, because the different kernels already make its inputs differ.)
    """
    flat = channels * (size // 2) ** 2
    return {"w1": rng.normal(0.0, np.sqrt(2 / 9), size=(channels, 1, 3, 3)),
            "b1": np.zeros(channels),
            "w2": np.zeros((flat, classes)),
            "b2": np.zeros(classes)}


def max_pool_2x2(a):
    """2×2 max pooling of (B, C, H, W) without loops; also returns which of the 4 won each
    window (0..3 in reading order, the first on ties, like PyTorch) for the backward pass."""
    b, c, h, w = a.shape
    windows = a.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5)  # (B, C, H/2, W/2, 2, 2)
    windows = windows.reshape(b, c, h // 2, w // 2, 4)
    winner = windows.argmax(axis=-1)                                            # (B, C, H/2, W/2)
    return np.take_along_axis(windows, winner[..., None], axis=-1)[..., 0], winner


def max_pool_2x2_backward(grad, winner):
    """Each window's gradient goes to its winner; the other three get zero."""
    b, c, h2, w2 = grad.shape
    windows = np.zeros((b, c, h2, w2, 4), dtype=grad.dtype)
    np.put_along_axis(windows, winner[..., None], grad[..., None], axis=-1)
    return windows.reshape(b, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(b, c, 2 * h2, 2 * w2)


def hand_forward(params, x):
    """Logits (B, 10) for images x (B, 1, H, W), and what backward needs."""
    w1 = params["w1"]
    cols, (b, h, w) = im2col(x, 3, 3, padding=1)                   # (B·H·W, 9)
    z = (cols @ w1.reshape(len(w1), -1).T + params["b1"])          # (B·H·W, C)
    z = z.reshape(b, h, w, -1).transpose(0, 3, 1, 2)               # (B, C, H, W)
    a = np.maximum(z, 0.0)                                         # ReLU
    pooled, winner = max_pool_2x2(a)                               # (B, C, H/2, W/2)
    flat = pooled.reshape(b, -1)                                   # (B, C·H/2·W/2)
    logits = flat @ params["w2"] + params["b2"]                    # (B, 10)
    return logits, (cols, z, winner, flat)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy and its gradient with respect to the logits: (softmax − one-hot) / B."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    grad = p
    grad[np.arange(n), y] -= 1.0
    return float(loss), grad / n


def hand_backward(params, cache, grad_logits):
    """The chain rule, layer by layer from the loss back to the first kernel."""
    cols, z, winner, flat = cache
    grads = {"w2": flat.T @ grad_logits,                   # (C·H/2·W/2, 10)
             "b2": grad_logits.sum(axis=0)}
    grad_pooled = (grad_logits @ params["w2"].T).reshape(winner.shape)  # (B, C, H/2, W/2)
    grad_a = max_pool_2x2_backward(grad_pooled, winner)                 # (B, C, H, W)
    grad_z = grad_a * (z > 0)                                           # ReLU lets gradient through where z > 0
    grad_z = grad_z.transpose(0, 2, 3, 1).reshape(-1, z.shape[1])       # (B·H·W, C), rows like cols
    grads["w1"] = (grad_z.T @ cols).reshape(params["w1"].shape)         # each kernel: Σ error × window
    grads["b1"] = grad_z.sum(axis=0)
    return grads


def engine_gradients(params, x, y):
    """The same network written with engine ops; its autograd gradients, for the check."""
    t = {k: ms.tensor(v, dtype=ms.float64, requires_grad=True) for k, v in params.items()}
    h = F.relu(F.conv2d(ms.tensor(x, dtype=ms.float64), t["w1"], t["b1"], padding=1))
    h = F.max_pool2d(h, 2).flatten(1)
    loss = F.cross_entropy(h @ t["w2"] + t["b2"], ms.tensor(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


def train_hand_cnn(params, x, y, epochs, lr, batch, rng, progress=iter, state=None):
    """Plain mini-batch SGD on the hand-derived gradients; returns the loss of every step.

    `state` (from ctx.resumable, tracking params and rng) makes it resumable after any step:
    the losses, the epoch count and the current epoch's order and position live in state.vars."""
    run = state.vars if state is not None else {}
    losses = run.setdefault("losses", [])
    while run.get("epochs_done", 0) < epochs:
        epoch = run.get("epoch")
        if epoch is None:
            epoch = run["epoch"] = {"order": rng.permutation(len(x)), "position": 0}
        starts = range(0, len(x), batch)
        for b in progress(range(epoch["position"], len(starts))):
            idx = epoch["order"][starts[b]:starts[b] + batch]
            logits, cache = hand_forward(params, x[idx])
            loss, grad_logits = softmax_cross_entropy(logits, y[idx])
            check_loss(loss, f"hand-written CNN, batch {b + 1} of {len(starts)}")
            for name, grad in hand_backward(params, cache, grad_logits).items():
                params[name] -= lr * grad
            losses.append(loss)
            epoch["position"] = b + 1
            if state is not None:
                state.step()
        run["epoch"] = None
        run["epochs_done"] = run.get("epochs_done", 0) + 1
    if state is not None:
        state.finish()
    return np.array(losses)


def hand_accuracy(params, x, y, batch=1000):
    pred = np.concatenate([hand_forward(params, x[i:i + batch])[0].argmax(axis=1)
                           for i in range(0, len(x), batch)])
    return float(np.mean(pred == y))


# ---------------------------------------------------------------- 2. the CNN with the engine's layers

def make_cnn(dropout=CNN["dropout"]):
    """conv-pool-conv-pool-dense for 28×28 grey images (the benchmark uses the same network)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (B, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 64, 7, 7)
        nn.Flatten(),                                                  # (B, 3136)
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(dropout),    # (B, 128)
        nn.Linear(128, 10),                                            # (B, 10) logits
    )


def train_cnn(ctx, name, train, test, epochs):
    """Adam with a cosine-decaying learning rate, batch 64; returns the model and its history.

    The rate falls smoothly to zero over the run, so the last epochs polish instead of
    bouncing around the minimum (constant-rate Adam's test accuracy wobbles by ±0.5 %)."""
    model = make_cnn()
    optimizer = ms.optim.Adam(model.parameters(), lr=CNN["lr"])
    steps = epochs * -(-len(train[0]) // CNN["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    rng = ctx.rng(len(name))
    # resumable: `mlseries run ch07.cnn --resume` continues an interrupted run from its last checkpoint
    state = ctx.resumable(name, model=model, optimizer=optimizer, scheduler=scheduler, rng=rng)
    history = fit(model, optimizer, train, test, epochs, CNN["batch"], rng,
                  scheduler=scheduler, log=ctx.log, progress=ctx.progress, desc=name, state=state)
    return model, history


# ---------------------------------------------------------------- 3. figures

def plot_hand_losses(losses, steps_per_epoch):
    fig = viz.figure()
    ax = fig.subplots()
    window = min(25, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(np.arange(len(losses)), losses, color=viz.COLORS["data"], alpha=0.3, lw=0.8,
            label=viz.text("每步", "each step"))
    ax.plot(np.arange(window - 1, len(losses)), smooth, color=viz.COLORS["learned"],
            label=viz.text(f"{window} 步平均", f"mean of {window} steps"))
    for epoch in range(1, len(losses) // steps_per_epoch):
        ax.axvline(epoch * steps_per_epoch, color="0.6", ls=":", lw=1,
                   label=viz.text("新一轮开始", "a new epoch") if epoch == 1 else None)
    ax.axhline(np.log(10), color=viz.COLORS["reference"], ls="--", lw=1,
               label=viz.text("ln 10：瞎猜", "ln 10: guessing"))
    # The first steps overshoot: 1568 positive pooled features give the dense layer a large
    # curvature, so a rate that suits the rest of training is too big for a few steps.
    ax.set(title=viz.text("手写 CNN 的训练损失（NumPy，SGD）", "Training loss of the hand-written CNN (NumPy, SGD)",
                          sep="\n"),
           xlabel=viz.text("步数", "step"), ylabel=viz.text("交叉熵", "cross-entropy"), yscale="log")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)  # the noisy steps fill the axes
    return fig


def plot_filters(weight, title):
    """Every first-layer kernel (O, 1, 3, 3) as a small picture, each on its own colour scale."""
    n = len(weight)
    cols = 8
    fig = viz.figure(figsize=(cols * 0.95, (n // cols) * 1.05 + 0.6))
    axes = fig.subplots(-(-n // cols), cols)
    for k, ax in enumerate(axes.ravel()):
        if k < n:
            limit = np.abs(weight[k, 0]).max()
            show_image(ax, weight[k, 0], f"#{k}", cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            ax.set_axis_off()
    fig.suptitle(title)
    return fig


def plot_feature_maps(model, image, label, shown=8):
    """An image, and the first `shown` maps after each conv + ReLU + pool stage."""
    layers = list(model)
    model.eval()
    stages, h = [], ms.tensor(image[None])
    with ms.no_grad():
        for stop in (3, 6):  # after the first and the second max pool
            for layer in layers[stop - 3:stop]:
                h = layer(h)
            stages.append(h.numpy()[0])   # (C, H, W)
    fig = viz.figure(figsize=(1.3 * (shown + 1), 3.2))
    axes = fig.subplots(2, shown + 1)
    show_image(axes[0, 0], image[0], label, cmap="gray")
    axes[1, 0].set_axis_off()
    for row, maps in enumerate(stages):
        for k in range(shown):
            show_image(axes[row, k + 1], maps[k], f"{row + 1}.{k}  {maps.shape[1]}×{maps.shape[2]}",
                       cmap="magma")
    fig.suptitle(viz.text("特征图：第 1 层（上，14×14）与第 2 层（下，7×7）",
                          "Feature maps: layer 1 (top, 14×14) and layer 2 (bottom, 7×7)"))
    return fig


def plot_mistakes(images, y, pred, classes, count=12, cols=6):
    """The first `count` misclassified images in rows of `cols` (one long strip shrinks its text
    to a few pixels once it is fitted to a page)."""
    wrong = np.flatnonzero(pred != y)[:count]
    rows = max(1, -(-len(wrong) // cols))
    fig = viz.figure(figsize=(1.7 * cols, 2.2 * rows + 0.5))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, wrong):
        show_image(ax, images[i, 0], f"{classes[y[i]]}\n→ {classes[pred[i]]}", cmap="gray")
    fig.suptitle(viz.text("判错的测试图（真实 → 预测）", "Misclassified test images (true → predicted)"))
    return fig


# ---------------------------------------------------------------- the lesson

def _subset(x, y, n):
    """n examples evenly spaced through (x, y) (every k-th), or all when n is None: with the
    full MNIST installed, a quick run then sees the whole set's variety, not its first writers."""
    if n is None or n >= len(x):
        return x, y
    index = np.arange(n) * (len(x) // n)
    return x[index], y[index]


@lesson("ch07.cnn", zh="卷积神经网络：手写训练与 Fashion-MNIST",
        en="A convolutional network: by hand, then Fashion-MNIST")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. data: MNIST (5 000 real digits unless the full IDX files are installed), Fashion-MNIST
    mnist_train, mnist_test = datasets.MNIST(train=True), datasets.MNIST(train=False)
    mx, my = mnist_train.as_arrays(normalize=True)            # (N, 1, 28, 28), (N,)
    mxt, myt = _subset(*mnist_test.as_arrays(normalize=True), settings["test"])  # quick: 1 000
    (fx, fy), (fxt, fyt) = fashion_mnist(settings["fashion_train"], settings["test"])
    ctx.log(f"MNIST ({mnist_train.source}): train {mx.shape}, test {mxt.shape}; "
            f"Fashion-MNIST: train {fx.shape}, test {fxt.shape}")

    # 2. the hand-written CNN, trained with SGD on its hand-derived gradients
    params = init_hand_cnn(rng, HAND["channels"])
    hx, hy = _subset(mx, my, settings["hand_train"])
    losses = train_hand_cnn(params, hx, hy, settings["hand_epochs"], HAND["lr"], HAND["batch"], rng,
                            progress=lambda it: ctx.progress(it, "hand-written CNN"),
                            state=ctx.resumable("hand-written CNN", params=params, rng=rng))
    hand_acc = hand_accuracy(params, mxt, myt)
    ctx.log(f"hand-written CNN ({HAND['channels']} kernels, {settings['hand_epochs']} epochs of SGD "
            f"on {len(hx)} digits): first loss {losses[0]:.4f} (ln 10 = {np.log(10):.4f}), "
            f"MNIST test accuracy {hand_acc:.4f}")

    # ... and its gradients against the engine's autograd on the same batch, at the trained
    # weights (at the start the zero dense layer makes every kernel gradient exactly 0, which
    # would check nothing)
    logits, cache = hand_forward(params, mxt[:32].astype(np.float64))
    loss, grad_logits = softmax_cross_entropy(logits, myt[:32])
    by_hand = hand_backward(params, cache, grad_logits)
    engine_loss, by_engine = engine_gradients(params, mxt[:32], myt[:32])
    grad_err = max(np.abs(by_hand[k] - by_engine[k]).max() for k in params)
    ctx.log(f"loss on 32 test digits: by hand {loss:.8f}, engine {engine_loss:.8f}; "
            f"max |hand − autograd| over all gradients {grad_err:.2e}")
    ctx.record(hand_grad_max_err=grad_err, hand_mnist_test_acc=hand_acc, hand_train_size=len(hx))
    ctx.check("hand-derived CNN gradients equal autograd (≤ 1e-8)",
              grad_err <= 1e-8 and abs(loss - engine_loss) <= 1e-8)
    ctx.check(f"hand-written CNN learns MNIST (test ≥ {0.8 if ctx.quick else 0.93})",
              hand_acc >= (0.8 if ctx.quick else 0.93))
    ctx.save_figure(plot_hand_losses(losses, -(-len(hx) // HAND["batch"])), "hand_cnn_loss.png")

    # 3. the engine's CNN on Fashion-MNIST, then on MNIST
    model, fashion = train_cnn(ctx, "Fashion-MNIST", (fx, fy), (fxt, fyt), settings["fashion_epochs"])
    fashion_acc, fashion_pred = accuracy(model, fxt, fyt)
    ctx.log(f"CNN: {count_parameters(model):,} parameters; Fashion-MNIST test accuracy "
            f"{fashion_acc:.4f} after {settings['fashion_epochs']} epochs ({fashion['seconds'][-1]:.0f} s)")
    mnist_model, mnist = train_cnn(ctx, "MNIST", _subset(mx, my, settings["mnist_train"]), (mxt, myt),
                                   settings["mnist_epochs"])
    mnist_acc, mnist_pred = accuracy(mnist_model, mxt, myt)
    ctx.record(cnn_parameters=count_parameters(model), fashion_train_size=len(fx),
               fashion_epochs=settings["fashion_epochs"], fashion_test_acc=fashion_acc,
               fashion_seconds=fashion["seconds"][-1], fashion_test_acc_per_epoch=fashion["test_acc"],
               mnist_source=mnist_train.source, mnist_epochs=settings["mnist_epochs"],
               mnist_test_acc=mnist_acc, mnist_seconds=mnist["seconds"][-1])
    if ctx.quick:  # a few thousand images for one or two epochs: far from the targets, far above chance
        ctx.check("quick CNN: Fashion-MNIST test ≥ 0.65", fashion_acc >= 0.65)
        ctx.check("quick CNN: MNIST test ≥ 0.80", mnist_acc >= 0.80)
    else:
        ctx.check("Fashion-MNIST test ≥ 0.91", fashion_acc >= 0.91)
        ctx.check("MNIST test ≥ 0.96", mnist_acc >= 0.96)

    # 4. figures: curves, confusion matrices, what the network learned
    fig = plot_histories({"Fashion-MNIST": fashion, "MNIST": mnist}, viz.text("CNN 训练过程", "CNN training"))
    for target, color, name in ((0.91, "C0", "Fashion-MNIST"), (0.96, "C1", "MNIST")):
        # the curriculum's targets (full run), in each run's colour
        fig.axes[1].axhline(target, color=color, ls=":", lw=1,
                            label=viz.text(f"{name} 目标 {target}", f"{name} target {target}"))
    fig.axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, fontsize=8)  # below: curves vary
    ctx.save_figure(fig, "cnn_history.png")
    names = fashion_names(" / ")
    ctx.save_figure(plot_confusion(confusion_matrix(fyt, fashion_pred, 10), names,
                                   viz.text(f"Fashion-MNIST 混淆矩阵（准确率 {fashion_acc:.3f}）",
                                            f"Fashion-MNIST confusion matrix (accuracy {fashion_acc:.3f})", sep="\n")),
                    "fashion_confusion.png")
    ctx.save_figure(plot_confusion(confusion_matrix(myt, mnist_pred, 10), [str(d) for d in range(10)],
                                   viz.text(f"MNIST 混淆矩阵（准确率 {mnist_acc:.3f}）",
                                            f"MNIST confusion matrix (accuracy {mnist_acc:.3f})", sep="\n")),
                    "mnist_confusion.png")
    ctx.save_figure(plot_filters(model[0].weight.detach().numpy(),
                                 viz.text("第 1 层的 32 个 3×3 卷积核（Fashion-MNIST）",
                                          "The 32 first-layer 3×3 kernels (Fashion-MNIST)", sep="\n")), "filters.png")
    ctx.save_figure(plot_feature_maps(model, fxt[0], names[fyt[0]]), "feature_maps.png")
    ctx.save_figure(plot_mistakes(fxt, fyt, fashion_pred, fashion_names()), "mistakes.png")
