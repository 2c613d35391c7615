"""ch04.dnn — 手写全连接神经网络 / A dense network by hand.

A dense (fully connected) network is a composite function h(g(f(weights, biases))): each layer
multiplies by a weight matrix, adds a bias and bends the result with an activation. Training
it means finding the weights that make the loss small, and for that we need the gradient of
the loss with respect to every weight. Here both directions are written out in plain NumPy:

- the forward pass, layer by layer, keeping each layer's output;
- the backward pass, the chain rule applied from the loss back to the first layer.

First the smallest interesting network, 2 inputs - 2 hidden - 1 output, one step printed
number by number and then trained on XOR (which no single line can separate). Then the same
code, grown to 2-16-16-1, learns the two moons. Both times the hand-derived gradients are
compared with the engine's autograd on the same forward pass, in float64: they must agree to
1e-8, which is the evidence that the calculus by hand is right.

    mlseries run ch04.dnn [--quick]
"""
import numpy as np

import mlseries as ms
from mlseries import datasets, viz

from ..registry import lesson

FULL = dict(xor_steps=4000, moons_epochs=100, frames=40)
QUICK = dict(xor_steps=2000, moons_epochs=30, frames=8)
XOR_STARTS = 10         # independent random starts of the 2-2-1 network on XOR
XOR_LR = 2.0            # full batch of 4 points; sigmoid units learn slowly, so a big step
MOONS = dict(n=1000, noise=0.1, test_fraction=0.2)
MOONS_SIZES = (2, 16, 16, 1)
MOONS_LR = 0.2         # 0.5 also converges, but its loss jumps about from epoch to epoch
MOONS_BATCH = 32


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "loss_curve.png": ("损失持续下降，准确率越过 0.97 的目标线。",
                       "The loss keeps falling and accuracy crosses the 0.97 target line."),
    "moon_classify.png": ("黑线是 P = 0.5 的分界线，弯曲地穿过两个月牙之间；大圆圈是分错的测试点。",
                          "The black line (P = 0.5) bends between the two moons; big circles mark test mistakes."),
    "xor_221.png": ("中图：隐藏层把 XOR 的四个点变得可以用一条直线分开；右图：10 个起点中有的卡在平台上。",
                    "Middle: the hidden layer makes XOR's four points separable by a line; right: some of the 10 starts get stuck on a plateau."),
    "moon_train.gif": ("分界线从一条直线慢慢弯成绕过月牙的形状。",
                       "The boundary bends from a straight line into the shape that wraps around the moons."),
}


# ---------------------------------------------------------------- 1. the pieces

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# Each activation with its derivative written in terms of its own output a = act(z):
# σ'(z) = σ(z)(1 − σ(z)) and tanh'(z) = 1 − tanh(z)², so backward needs no z at all.
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
}


def bce(p, y):
    """Mean binary cross-entropy of probabilities p against labels y (both (N, 1))."""
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def init_params(sizes, rng):
    """[(W, b), ...] for layer sizes like (2, 2, 1): W (n_in, n_out) ~ N(0, 1/n_in), b = 0.

    The 1/n_in variance keeps each layer's pre-activations near unit size whatever its width,
    so sigmoid and tanh start in their steep middle rather than their flat tails.
    """
    return [(rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_in, n_out)), np.zeros(n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


# ---------------------------------------------------------------- 2. forward and backward by hand

def forward(params, x, hidden="sigmoid"):
    """Run x (N, n_in) through the network; the output layer is a sigmoid (a probability).

    Returns the list of every layer's output, starting with x itself: outs[-1] is p (N, 1).
    Backward needs them all: the gradient of a weight is its layer's input times the error.
    """
    act, _ = ACTIVATIONS[hidden]
    outs = [x]
    for i, (W, b) in enumerate(params):
        z = outs[-1] @ W + b                               # (N, n_out)
        outs.append(sigmoid(z) if i == len(params) - 1 else act(z))
    return outs


def backward(params, outs, y, hidden="sigmoid"):
    """Gradients [(dW, db), ...] of the mean binary cross-entropy, by the chain rule.

    The last layer starts easy: for p = σ(z) and the cross-entropy L, dL/dz = (p − y)/N
    (the seed's `deriv_binary_cross_entry` is this p − y: the σ' and the 1/(p(1−p)) of the
    log cancel). From there each layer repeats two rules, from the output back to the input:
        dW = inputᵀ · dz,   db = Σ dz                 (the layer was z = input·W + b)
        d input = dz · Wᵀ,  dz_prev = d input ⊙ act'  (the activation was applied elementwise)
    """
    _, act_grad = ACTIVATIONS[hidden]
    dz = (outs[-1] - y) / len(y)                           # (N, 1)
    grads = []
    for i in reversed(range(len(params))):
        W, _ = params[i]
        layer_in = outs[i]                                 # (N, n_in)
        grads.append((layer_in.T @ dz, dz.sum(axis=0)))   # (n_in, n_out), (n_out,)
        if i > 0:
            dz = (dz @ W.T) * act_grad(layer_in)           # (N, n_in): layer_in is act(z_prev)
    return grads[::-1]


def sgd_step(params, grads, lr):
    """Move every weight a little against its gradient (in place)."""
    for (W, b), (dW, db) in zip(params, grads):
        W -= lr * dW
        b -= lr * db


def predict(params, x, hidden):
    return forward(params, x, hidden)[-1]


def accuracy(params, x, y, hidden):
    return float(np.mean((predict(params, x, hidden) > 0.5) == (y > 0.5)))


# ---------------------------------------------------------------- 3. the same forward in the engine

def engine_gradients(params, x, y, hidden):
    """The loss and its gradients from the engine's autograd, for the same network in float64.

    Nothing here knows a derivative: backward() applies the engine's own rules for @, +,
    sigmoid/tanh and log. Agreement with `backward` above checks the hand calculus.
    """
    tensors = [(ms.tensor(W, dtype=ms.float64, requires_grad=True),
                ms.tensor(b, dtype=ms.float64, requires_grad=True)) for W, b in params]
    a = ms.tensor(x, dtype=ms.float64)                     # (N, n_in)
    t = ms.tensor(y, dtype=ms.float64)                     # (N, 1)
    for i, (W, b) in enumerate(tensors):
        z = a @ W + b                                      # (N, n_out)
        a = z.sigmoid() if i == len(tensors) - 1 or hidden == "sigmoid" else z.tanh()
    loss = -(t * a.log() + (1 - t) * (1 - a).log()).mean()  # ()
    loss.backward()
    return loss.item(), [(W.grad.numpy(), b.grad.numpy()) for W, b in tensors]


def max_gap(grads_a, grads_b):
    """Largest absolute difference between two gradient lists [(dW, db), ...]."""
    return max(float(np.max(np.abs(ga - gb)))
               for pa, pb in zip(grads_a, grads_b) for ga, gb in zip(pa, pb))


def numeric_gradients(params, x, y, hidden, h=1e-6):
    """Central finite differences of the loss, one weight at a time: slow, but needs no calculus."""
    grads = []
    for W, b in params:
        layer = []
        for array in (W, b):
            g = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                keep = array[idx]
                array[idx] = keep + h
                up = bce(predict(params, x, hidden), y)
                array[idx] = keep - h
                down = bce(predict(params, x, hidden), y)
                array[idx] = keep
                g[idx] = (up - down) / (2 * h)
            layer.append(g)
        grads.append(tuple(layer))
    return grads


# ---------------------------------------------------------------- 4. the 2-2-1 network on XOR

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (4, 2)
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])                     # (4, 1): 1 where x1 ≠ x2


def walk_through(ctx, params):
    """One forward and backward pass of the 2-2-1 network on XOR, every number printed."""
    (W1, b1), (W2, b2) = params
    outs = forward(params, XOR_X, "sigmoid")
    x, h, p = outs
    grads = backward(params, outs, XOR_Y, "sigmoid")
    (dW1, db1), (dW2, db2) = grads
    dz2 = (p - XOR_Y) / len(XOR_Y)
    show = [
        ("x  (4, 2)  the four XOR inputs", x),
        ("W1 (2, 2)", W1), ("b1 (2,)", b1), ("W2 (2, 1)", W2), ("b2 (1,)", b2),
        ("z1 = x·W1 + b1  (4, 2)", x @ W1 + b1),
        ("h = σ(z1)       (4, 2)  hidden layer", h),
        ("z2 = h·W2 + b2  (4, 1)", h @ W2 + b2),
        ("p = σ(z2)       (4, 1)  output", p),
        ("y               (4, 1)  target", XOR_Y),
        ("dL/dz2 = (p − y)/N      (4, 1)", dz2),
        ("dL/dW2 = hᵀ·dz2         (2, 1)", dW2), ("dL/db2 = Σ dz2 (1,)", db2),
        ("dL/dh = dz2·W2ᵀ         (4, 2)", dz2 @ W2.T),
        ("dL/dz1 = dL/dh ⊙ h(1−h) (4, 2)", (dz2 @ W2.T) * h * (1 - h)),
        ("dL/dW1 = xᵀ·dz1         (2, 2)", dW1), ("dL/db1 = Σ dz1 (2,)", db1),
    ]
    ctx.log("\nThe 2-2-1 network, one step by hand (sigmoid hidden and output, cross-entropy):")
    for name, value in show:
        text = np.array2string(value, precision=4, suppress_small=True)
        ctx.log(f"  {name}\n    " + text.replace("\n", "\n    "))
    ctx.log(f"  loss L = {bce(p, XOR_Y):.6f}")
    return grads


def train_xor(params, steps):
    """Full-batch gradient descent on the four XOR points; returns the loss per step."""
    losses = []
    for _ in range(steps):
        outs = forward(params, XOR_X, "sigmoid")
        losses.append(bce(outs[-1], XOR_Y))
        sgd_step(params, backward(params, outs, XOR_Y, "sigmoid"), XOR_LR)
    return np.array(losses)


# ---------------------------------------------------------------- 5. the moons

def moons_data(seed):
    """Two interleaved half circles, split into train and test: float64 x (N, 2), y (N, 1)."""
    x, y = datasets.moons(n=MOONS["n"], noise=MOONS["noise"], seed=seed)
    x = x.numpy().astype(np.float64)                       # (N, 2)
    y = y.numpy().astype(np.float64)[:, None]              # (N, 1)
    order = np.random.default_rng([seed, 1]).permutation(len(x))
    n_test = int(MOONS["test_fraction"] * len(x))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def train_moons(params, x, y, x_test, y_test, epochs, rng, snapshot_at=()):
    """Mini-batch gradient descent, reshuffled each epoch.

    Returns a history of (train loss, train accuracy, test accuracy) per epoch (row 0: before
    training) and copies of the weights at the epochs in `snapshot_at` (for the animation).
    """
    def measure():
        return (bce(predict(params, x, "tanh"), y), accuracy(params, x, y, "tanh"),
                accuracy(params, x_test, y_test, "tanh"))

    history, snapshots = [measure()], {}
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for start in range(0, len(x), MOONS_BATCH):
            batch = order[start:start + MOONS_BATCH]
            outs = forward(params, x[batch], "tanh")
            sgd_step(params, backward(params, outs, y[batch], "tanh"), MOONS_LR)
        history.append(measure())
        if epoch in snapshot_at:
            snapshots[epoch] = [(W.copy(), b.copy()) for W, b in params]
    return np.array(history), snapshots


# ---------------------------------------------------------------- 6. figures

def _grid(x, steps=200, pad=0.5):
    (x0, y0), (x1, y1) = x.min(0) - pad, x.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))  # (S, S) each
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])                      # (S², 2)


def _draw_boundary(ax, params, hidden, gx, gy, points):
    """Probability of class 1 as colour, the 0.5 contour as the decision boundary."""
    prob = predict(params, points, hidden).reshape(gx.shape)  # (S, S)
    filled = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    return filled


def plot_xor(params, losses_by_start, best):
    """Left: the XOR points and the learned regions. Middle: the same points in the hidden
    layer's coordinates, where one line separates them. Right: the loss of every start."""
    fig = viz.figure(figsize=(14, 4.2))
    left, middle, right = fig.subplots(1, 3)
    gx, gy, points = _grid(XOR_X, 150, 0.5)
    _draw_boundary(left, params, "sigmoid", gx, gy, points)
    colors = np.where(XOR_Y[:, 0] > 0.5, "#c44e52", "#4c72b0")
    left.scatter(XOR_X[:, 0], XOR_X[:, 1], c=colors, s=120, edgecolors="k", zorder=3)
    left.set(title=viz.text("输入空间：XOR 的决策区域", "Input space: XOR regions", sep="\n"),
             xlabel="x₁", ylabel="x₂", aspect="equal")

    h = forward(params, XOR_X, "sigmoid")[1]               # (4, 2)
    middle.scatter(h[:, 0], h[:, 1], c=colors, s=120, edgecolors="k", zorder=3)
    (W2, b2) = params[1]
    # the output unit's boundary: w1·h1 + w2·h2 + b = 0, a straight line in hidden space
    h1 = np.linspace(-0.05, 1.05, 2)
    middle.plot(h1, -(W2[0, 0] * h1 + b2[0]) / W2[1, 0], "k-", lw=1.5,
                label=viz.text("输出单元的分界线", "output unit's line"))
    # (0,0) and (1,1) land on almost the same hidden point: that is how the line can work
    for k, (i, j) in enumerate(XOR_X.astype(int)):
        right_half = h[k, 0] > 0.5  # label towards the middle, so no label leaves the axes
        middle.annotate(f"x = ({i},{j})", h[k], textcoords="offset points", va="center",
                        xytext=(-12 if right_half else 12, -8 if k in (1, 3) else 10),
                        ha="right" if right_half else "left")
    middle.set(title=viz.text("隐藏层空间：一条直线即可分开", "Hidden space: one line separates",
                             sep="\n"),
               xlabel="h₁", ylabel="h₂", xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), aspect="equal")
    middle.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=8.5)  # where the line goes varies

    for k, losses in enumerate(losses_by_start):
        label = (viz.text("左图所用的起点（最好）", "the start drawn left (best)") if k == best else
                 viz.text("其他起点（平的：卡住了）", "other starts (flat ones are stuck)") if k == min(
                     i for i in range(len(losses_by_start)) if i != best) else None)
        right.plot(losses, color="#c44e52" if k == best else "0.6", lw=2 if k == best else 0.8,
                   zorder=3 if k == best else 2, label=label)
    right.set(title=viz.text(f"{len(losses_by_start)} 个随机起点的损失",
                             f"Loss from {len(losses_by_start)} random starts", sep="\n"),
              xlabel=viz.text("步数", "step"), ylabel=viz.text("交叉熵", "cross-entropy"),
              yscale="log")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), fontsize=8.5)  # below: curves fill the axes
    return fig


def plot_moons(params, x, y, x_test, y_test, title):
    """The seed's moon_classify figure: both classes, the learned regions and the boundary."""
    fig = viz.figure(figsize=(7, 5))
    ax = fig.subplots()
    filled = draw_moons(ax, params, x, y, x_test, y_test)
    fig.colorbar(filled, ax=ax, label=viz.text("类别 1 的概率", "P(class 1)"))
    ax.set(title=title, xlabel="x₁", ylabel="x₂")
    ax.legend(loc="lower left")
    return fig


def draw_moons(ax, params, x, y, x_test, y_test, grid=None):
    gx, gy, points = grid or _grid(np.vstack([x, x_test]))
    filled = _draw_boundary(ax, params, "tanh", gx, gy, points)
    for label, color in ((0, "#4c72b0"), (1, "#c44e52")):
        mask = y[:, 0] == label
        ax.scatter(x[mask, 0], x[mask, 1], s=10, color=color, alpha=0.6,
                   label=viz.text(f"训练，类别 {label}", f"train, class {label}"))
        mask = y_test[:, 0] == label
        ax.scatter(x_test[mask, 0], x_test[mask, 1], s=28, color=color, edgecolors="k",
                   linewidths=0.8, label=viz.text(f"测试，类别 {label}", f"test, class {label}"))
    wrong = (predict(params, x_test, "tanh") > 0.5) != (y_test > 0.5)
    wrong = wrong[:, 0]
    if wrong.any():
        ax.scatter(x_test[wrong, 0], x_test[wrong, 1], s=120, facecolors="none",
                   edgecolors="#222222", linewidths=1.5,
                   label=viz.text("测试错分", "test mistakes"))
    return filled


def plot_loss(history):
    fig = viz.figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    epochs = np.arange(len(history))
    left.plot(epochs, history[:, 0], color=viz.COLORS["learned"])
    left.set(title=viz.text("训练损失", "Training loss"), xlabel=viz.text("轮次", "epoch"),
             ylabel=viz.text("交叉熵", "cross-entropy"), yscale="log")
    right.plot(epochs, history[:, 1], label=viz.text("训练集", "train"),
               color=viz.COLORS["data"])
    right.plot(epochs, history[:, 2], label=viz.text("测试集", "test"),
               color=viz.COLORS["learned"])
    right.axhline(0.97, color=viz.COLORS["reference"], ls="--", lw=1,
                  label=viz.text("目标 0.97", "target 0.97"))
    right.set(title=viz.text("准确率", "Accuracy"), xlabel=viz.text("轮次", "epoch"),
              ylabel=viz.text("准确率", "accuracy"),
              ylim=(min(0.5, history[:, 1:].min()) - 0.02, 1.005))
    right.legend(loc="lower right")
    return fig


def animate_moons(ctx, snapshots, history, x, y, x_test, y_test):
    fig = viz.figure(figsize=(6, 4.4), dpi=100)
    ax = fig.subplots()
    grid = _grid(np.vstack([x, x_test]), 120)
    with ctx.gif("moon_train.gif", fps=6, hold_last=2.0) as gif:
        for epoch, params in snapshots.items():
            ax.clear()
            draw_moons(ax, params, x, y, x_test, y_test, grid)
            ax.set(title=viz.text(f"第 {epoch} 轮：测试准确率 {history[epoch, 2]:.3f}",
                                  f"epoch {epoch}: test accuracy {history[epoch, 2]:.3f}"),
                   xlabel="x₁", ylabel="x₂")
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch04.dnn", zh="手写全连接神经网络：2-2-1 网络与双月数据",
        en="A dense network by hand: the 2-2-1 network and the moons")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. the 2-2-1 network: one step by hand, checked three ways
    params = init_params((2, 2, 1), rng)
    hand = walk_through(ctx, params)
    _, auto = engine_gradients(params, XOR_X, XOR_Y, "sigmoid")
    numeric = numeric_gradients(params, XOR_X, XOR_Y, "sigmoid")
    gap_221, gap_221_numeric = max_gap(hand, auto), max_gap(hand, numeric)
    ctx.log(f"2-2-1 gradients: hand vs autograd {gap_221:.2e}, "
            f"hand vs finite differences {gap_221_numeric:.2e}")

    # 2. train it on XOR from several random starts: the net can draw XOR, but gradient
    #    descent from some starts settles in a local minimum with points still wrong
    starts = [init_params((2, 2, 1), ctx.rng(100 + k)) for k in range(XOR_STARTS)]
    xor_losses = [train_xor(p, settings["xor_steps"]) for p in ctx.progress(starts, "XOR starts")]
    solved = [accuracy(p, XOR_X, XOR_Y, "sigmoid") == 1.0 for p in starts]
    best = int(np.argmin([losses[-1] for losses in xor_losses]))
    xor_params = starts[best]
    ctx.log(f"XOR: {sum(solved)} of {XOR_STARTS} starts classify all four points; "
            f"best final loss {xor_losses[best][-1]:.4f}")
    ctx.log("XOR predictions of the best start: "
            + ", ".join(f"{tuple(int(v) for v in xi)} → {p:.3f}" for xi, p in
                        zip(XOR_X, predict(xor_params, XOR_X, "sigmoid")[:, 0])))

    # 3. the moons: the same forward and backward, two hidden layers of 16 tanh units
    x, y, x_test, y_test = moons_data(ctx.seed)
    ctx.log(f"\nmoons: {len(x)} train, {len(x_test)} test points, noise {MOONS['noise']}; "
            f"network {'-'.join(map(str, MOONS_SIZES))}, tanh, lr {MOONS_LR}, "
            f"batch {MOONS_BATCH}, {settings['moons_epochs']} epochs")
    moons_params = init_params(MOONS_SIZES, ctx.rng(1))
    # gradients on the whole training set, before training and after
    gap_before = max_gap(backward(moons_params, forward(moons_params, x, "tanh"), y, "tanh"),
                         engine_gradients(moons_params, x, y, "tanh")[1])
    epochs = settings["moons_epochs"]
    shown = np.unique(np.geomspace(1, epochs, settings["frames"]).astype(int))
    history, snapshots = train_moons(moons_params, x, y, x_test, y_test, epochs, ctx.rng(2),
                                     snapshot_at=set(shown.tolist()))
    engine_loss, auto = engine_gradients(moons_params, x, y, "tanh")
    hand = backward(moons_params, forward(moons_params, x, "tanh"), y, "tanh")
    gap_after = max_gap(hand, auto)
    train_loss, train_acc, test_acc = history[-1]
    grad_gap = max(gap_221, gap_before, gap_after)

    # results
    ctx.record(gap_221_hand_vs_autograd=gap_221, gap_221_hand_vs_numeric=gap_221_numeric,
               xor_starts=XOR_STARTS, xor_solved=sum(solved),
               xor_best_loss=xor_losses[best][-1], moons_train_loss=train_loss,
               moons_engine_loss=engine_loss, moons_train_accuracy=train_acc,
               moons_test_accuracy=test_acc, moons_epochs=epochs,
               grad_gap_before_training=gap_before, grad_gap_after_training=gap_after,
               max_grad_gap=grad_gap)
    ctx.log(f"moons: train loss {train_loss:.4f}, train accuracy {train_acc:.3f}, "
            f"test accuracy {test_acc:.3f}")
    ctx.log(f"hand vs autograd on the full training set: {gap_before:.2e} before training, "
            f"{gap_after:.2e} after")
    ctx.check("moons test accuracy >= 0.97", test_acc >= 0.97)
    ctx.check("hand-written gradients equal autograd to 1e-8 (float64)", grad_gap <= 1e-8)

    # 4. figures
    ctx.save_figure(plot_xor(xor_params, xor_losses, best), "xor_221.png")
    ctx.save_figure(plot_moons(moons_params, x, y, x_test, y_test,
                               viz.text(f"数据点分类：测试准确率 {test_acc:.3f}",
                                        f"Moons classified: test accuracy {test_acc:.3f}")),
                    "moon_classify.png")
    ctx.save_figure(plot_loss(history), "loss_curve.png")
    animate_moons(ctx, snapshots, history, x, y, x_test, y_test)
