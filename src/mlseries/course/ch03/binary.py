"""ch03.binary — 二分类：Keras 求解 / Binary classification with the Keras-style API.

200 points drawn from a standard normal distribution in the plane, labelled 1 when x + y > 0
and 0 otherwise. Which side of a line is a point on? The seed's Keras code answers it with the
smallest possible network: one Dense unit with a sigmoid,

    p(label = 1 | x, y) = σ(w₁·x + w₂·y + b),

which is logistic regression. Its decision line is where p = 0.5, i.e. w₁·x + w₂·y + b = 0.
The code below is the seed's snippet, run on `mlseries.keras` (the engine underneath): the
kernel starts at zero and the bias at one, so at first every point gets p = σ(1) ≈ 0.73 and
there is no line at all; Adam (learning rate 0.01) then updates after every single point
(batch_size=1), 200 updates per epoch, 5 epochs. The animation shows the line appear and turn
until it lies on x + y = 0.

    mlseries run ch03.binary [--quick]
"""
import numpy as np

from mlseries import datasets, keras, viz
from mlseries.keras import initializers, optimizers

from ..registry import lesson

FULL = dict(frames=60)
QUICK = dict(frames=16)
N_POINTS = 200     # the seed's sample size
N_TEST = 1000      # fresh points from the same distribution, never seen in training
EPOCHS, BATCH, LR = 5, 1, 0.01
LIMIT = 3.5        # the plots show [-LIMIT, LIMIT]²: beyond 3.5σ there are (almost) no points


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "training_curve.png": ("红线是每次更新后在全部 200 点上的损失和准确率；蓝点是 fit() 打印的每轮平均，所以落后一些。",
                           "Red: loss and accuracy on all 200 points after every update; blue dots: what fit() prints, epoch means, hence lagging behind."),
    "decision_boundary.png": ("学到的分界线（实线）几乎与真实的 x + y = 0（虚线）重合。",
                              "The learned line (solid) almost lies on the true line x + y = 0 (dashed)."),
    "binary_classify_anim.gif": ("前几次更新时分界线转得最快，之后慢慢贴近虚线。",
                                 "The line turns fastest in the first updates, then settles onto the dashed true line."),
}


# ---------------------------------------------------------------- 1. data

def points(n, seed):
    """n standard-normal points (n, 2) and their labels (n,): 1 where x + y > 0."""
    x, y = datasets.binary_points(n, seed=seed)
    return x.numpy(), y.numpy()


# ---------------------------------------------------------------- 2. the seed's model

def build_model():
    """The seed's network: Input(2) -> Dense(1, sigmoid), kernel 0, bias 1, Adam 0.01."""
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(2,)))
    model.add(keras.layers.Dense(units=1, activation='sigmoid',
                                 kernel_initializer=initializers.Constant(0.0),
                                 bias_initializer=initializers.Constant(1.0)))
    model.compile(loss='binary_crossentropy',
                  optimizer=optimizers.Adam(learning_rate=LR), metrics=['accuracy'])
    return model


def train(model, x, y):
    """fit() as in the seed, plus a callback that keeps (w₁, w₂, b) after every update.

    Returns the History and an array (updates + 1, 3) of the weights, row 0 the initial ones.
    """
    def weights():
        kernel, bias = model.get_weights()  # (2, 1), (1,)
        return (kernel[0, 0], kernel[1, 0], bias[0])

    trail = [weights()]
    keep = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: trail.append(weights()))
    history = model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=2, callbacks=[keep])
    return history, np.array(trail)


# ---------------------------------------------------------------- 3. looking at the weights

def probabilities(w, x):
    """σ(w₁·x + w₂·y + b) for weights w = (w₁, w₂, b) and points x (n, 2)."""
    return 1.0 / (1.0 + np.exp(-(x @ w[:2] + w[2])))


def loss_and_accuracy(trail, x, y):
    """Cross-entropy and accuracy on all of (x, y) for every row of weights: (T, 2)."""
    p = np.clip(1.0 / (1.0 + np.exp(-(x @ trail[:, :2].T + trail[:, 2]))), 1e-7, 1 - 1e-7)  # (n, T)
    loss = -np.mean(y[:, None] * np.log(p) + (1 - y[:, None]) * np.log(1 - p), axis=0)
    accuracy = np.mean((p > 0.5) == (y[:, None] == 1), axis=0)
    return np.stack([loss, accuracy], axis=1)


def line_points(w):
    """Two points of the line w₁·x + w₂·y + b = 0 spanning the plotted square (None: no line)."""
    w1, w2, b = w
    if abs(w1) < 1e-9 and abs(w2) < 1e-9:
        return None
    s = np.array([-LIMIT, LIMIT])
    if abs(w2) >= abs(w1):
        return s, -(w1 * s + b) / w2
    return -(w2 * s + b) / w1, s


def line_in_view(w):
    """Does the line cross the plotted square? Not when all four corners lie on one side."""
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * LIMIT
    sides = np.sign(corners @ w[:2] + w[2])
    return sides.min() != sides.max()


def angle_to_truth(w):
    """Degrees between the learned line's normal (w₁, w₂) and the true one, (1, 1)."""
    cos = (w[0] + w[1]) / (np.hypot(w[0], w[1]) * np.sqrt(2))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


# ---------------------------------------------------------------- 4. figures

_GRID = np.linspace(-LIMIT, LIMIT, 161)
_GRID_POINTS = np.stack(np.meshgrid(_GRID, _GRID), axis=-1).reshape(-1, 2)  # (161², 2)


def draw_scene(ax, x, y, w):
    """Probability as background colour, the points, the true line; returns the moving artists."""
    image = ax.imshow(probabilities(w, _GRID_POINTS).reshape(len(_GRID), len(_GRID)), origin="lower",
                      extent=(-LIMIT, LIMIT, -LIMIT, LIMIT), cmap="RdBu_r", vmin=0, vmax=1, alpha=0.35)
    ax.scatter(*x[y == 1].T, s=14, color="#c44e52", edgecolors="white", linewidths=0.4,
               label=viz.text("标签 1 (x + y > 0)", "label 1 (x + y > 0)"))
    ax.scatter(*x[y == 0].T, s=14, color="#4c72b0", edgecolors="white", linewidths=0.4,
               label=viz.text("标签 0", "label 0"))
    ax.plot([-LIMIT, LIMIT], [LIMIT, -LIMIT], color=viz.COLORS["reference"], ls="--", lw=1,
            label=viz.text("真实分界线 x + y = 0", "true line x + y = 0"))
    (line,) = ax.plot([], [], color="k", lw=2.2, label=viz.text("学到的分界线", "learned line"))
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), aspect="equal", xlabel="x", ylabel="y")
    ax.grid(False)
    return image, line


def show_weights(image, line, w):
    image.set_data(probabilities(w, _GRID_POINTS).reshape(len(_GRID), len(_GRID)))
    ends = line_points(w)
    line.set_data(*(ends if ends is not None else ([], [])))


def plot_boundary(x, y, w, accuracy):
    fig = viz.figure(figsize=(6.2, 6.6))
    ax = fig.subplots()
    image, line = draw_scene(ax, x, y, w)
    show_weights(image, line, w)
    fig.colorbar(image, ax=ax, shrink=0.8, label=viz.text("预测概率 p", "predicted p"))
    ax.set_title(viz.text(f"训练后的分界线：测试准确率 {accuracy:.3f}",
                          f"Learned decision line: test accuracy {accuracy:.3f}", sep="\n"))
    # below the square: inside it, every corner holds points or the lines
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8.5)
    return fig


def plot_training(curve, history, updates_per_epoch):
    """Loss and accuracy on all 200 points after every update, with the values fit() logs
    (running means over each epoch, so they lag behind the model at the epoch's end)."""
    fig = viz.figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    steps = np.arange(len(curve))
    epoch_ends = updates_per_epoch * np.arange(1, EPOCHS + 1)
    for ax, column, key, label in ((left, 0, "loss", viz.text("交叉熵", "cross-entropy")),
                                   (right, 1, "accuracy", viz.text("准确率", "accuracy"))):
        ax.plot(steps, curve[:, column], color=viz.COLORS["learned"], lw=1.2,
                label=viz.text("全部 200 点", "all 200 points"))
        ax.plot(epoch_ends, history[key], "o", color=viz.COLORS["data"],
                label=viz.text("fit() 每轮的均值", "fit()'s epoch mean"))
        for end in epoch_ends[:-1]:
            ax.axvline(end, color="0.8", lw=0.8, zorder=0)
        ax.set(xlabel=viz.text("更新次数（batch_size=1）", "updates (batch_size=1)"), ylabel=label)
        ax.legend(loc="center right")
    left.set_title(viz.text("损失", "Loss"))
    right.set_title(viz.text("准确率", "Accuracy"))
    return fig


def animate(ctx, x, y, trail, curve, frames, updates_per_epoch):
    fig = viz.figure(figsize=(6.4, 7.2), dpi=100)
    ax = fig.subplots()
    image, line = draw_scene(ax, x, y, trail[0])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=9)
    caption = ax.text(0.97, 0.03, "", transform=ax.transAxes, ha="right", va="bottom",
                      family="monospace", fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="0.8"))
    ax.set_title(viz.text("二分类：分界线的学习过程", "Binary classification: the line being learned",
                          sep="\n"), fontsize=11)
    # the line moves most in the first updates: sample them densely, then every epoch's end
    shown = np.unique(np.concatenate([[0], np.geomspace(1, len(trail) - 1, frames).astype(int),
                                      updates_per_epoch * np.arange(1, EPOCHS + 1)]))
    with ctx.gif("binary_classify_anim.gif", fps=8, hold_last=2.0) as gif:
        for step in shown:
            w = trail[step]
            show_weights(image, line, w)
            epoch = min(EPOCHS, 1 + (step - 1) // updates_per_epoch) if step else 0
            # all four corners on one side: the whole square is on the side the origin is on
            where = ("" if line_in_view(w) else
                     f"\nline outside the view: p {'>' if w[2] > 0 else '<'} 0.5 everywhere")
            caption.set_text(f"update {step:>4}  epoch {epoch}\n"
                             f"w = ({w[0]:+.2f}, {w[1]:+.2f})  b = {w[2]:+.2f}\n"
                             f"accuracy {curve[step, 1]:.3f}{where}")
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch03.binary", zh="二分类：Keras 求解", en="Binary classification with the Keras-style API")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. data: the seed's 200 points, and 1000 fresh ones from the same distribution to test on
    x, y = points(N_POINTS, ctx.seed)
    x_test, y_test = points(N_TEST, ctx.seed + 1)
    ctx.log(f"{N_POINTS} training points, {int(y.sum())} labelled 1; {N_TEST} test points")

    # 2. the model, exactly as the seed writes it
    model = build_model()
    lines = []
    model.summary(print_fn=lines.append)
    ctx.log(lines[0])
    ctx.path("summary.txt").write_text(lines[0] + "\n", encoding="utf-8")

    # 3. training: one update per point, 5 epochs; fit() prints one line per epoch
    history, trail = train(model, x, y)
    train_loss, train_acc = model.evaluate(x, y, verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    w = trail[-1]
    ctx.log(f"learned line: {w[0]:.3f}·x + {w[1]:.3f}·y + {w[2]:.3f} = 0 "
            f"({angle_to_truth(w):.1f}° from x + y = 0)")
    ctx.log(f"train: loss {train_loss:.4f}, accuracy {train_acc:.3f};  "
            f"test: loss {test_loss:.4f}, accuracy {test_acc:.3f}")

    ctx.record(params=model.count_params(), updates=len(trail) - 1,
               history_loss=[round(v, 4) for v in history.history["loss"]],
               history_accuracy=history.history["accuracy"],
               train_loss=train_loss, train_accuracy=train_acc, test_loss=test_loss,
               test_accuracy=test_acc, w1=w[0], w2=w[1], b=w[2], angle_error_deg=angle_to_truth(w))
    ctx.check("test accuracy >= 0.98", test_acc >= 0.98)

    # 4. figures
    updates_per_epoch = -(-N_POINTS // BATCH)
    curve = loss_and_accuracy(trail, x, y)
    ctx.save_figure(plot_training(curve, history.history, updates_per_epoch), "training_curve.png")
    ctx.save_figure(plot_boundary(x, y, w, test_acc), "decision_boundary.png")
    animate(ctx, x, y, trail, curve, settings["frames"], updates_per_epoch)
