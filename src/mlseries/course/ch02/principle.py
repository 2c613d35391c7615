"""ch02.principle — 深度学习原理 / How deep learning works: finding a function in three steps.

Hung-yi Lee's first lecture: machine learning is finding a function, in three steps.

1. Write a model with unknown parameters, from what you know of the problem. To predict a
   channel's views tomorrow from its views today: y = b + w·x₁, unknowns w and b.
2. Define a loss from the training data: how bad is a guess (w, b)? Lee's choice is the mean
   absolute error, L = mean |ŷ − y| over the days we know.
3. Optimise: start somewhere and walk downhill, w ← w − η·∂L/∂w, b ← b − η·∂L/∂b
   (gradient descent; η is the learning rate, a hyperparameter we choose).

Then the model grows: 7 days instead of 1 (still linear), then a sum of sigmoids
y = b + Σᵢ cᵢ·σ(bᵢ + Σⱼ wᵢⱼ·xⱼ) — a hidden layer — then ReLUs instead of sigmoids, then more
layers. Each is more flexible, so its loss on the training days falls; the test days (the
last year, never trained on) tell whether that flexibility found the pattern or memorised
the noise. On this synthetic series every hidden layer lowers the training loss, and the
deeper networks do worse on the test year: overfitting.

Training here is also Lee's batch / epoch / update: the training days are shuffled and cut
into batches of B; each batch gives one update; one pass over all batches is an epoch.

    mlseries run ch02.principle [--quick]
"""
import numpy as np

import mlseries as ms
from mlseries import datasets, nn, viz

from ..registry import lesson

FULL = dict(gd_steps=3000, grid=241)
QUICK = dict(gd_steps=1500, grid=121)
WINDOW = 56          # the longest look-back in Lee's table; every model predicts the same days
HIDDEN = 100         # units per hidden layer, as in Lee's table
BATCH = 64
EPOCHS = 150         # 150 epochs of 11 batches: 1650 updates per model
STARTS = 2           # each network is trained from two random starts (see fit_network)
LR_LINEAR, LR_NETWORK = 1e-2, 1e-3
GD_LR = 0.02         # plain gradient descent on the 1-day model, in thousands of views
LEE_EXAMPLE = dict(n=10_000, batch=10)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "views.png": ("每周的起伏与偶尔的尖峰；灰色区域是从不参与训练的测试年。",
                  "A weekly rhythm with occasional spikes; the grey year is never trained on."),
    "loss_surface.png": ("误差曲面上，梯度下降从 (0, 0) 出发，先横穿再沿山谷走到星号所在的最低点。",
                         "On the error surface gradient descent starts at (0, 0), crosses the valley, then follows it to the lowest point (the star)."),
    "sigmoid_relu.png": ("任何分段线性函数 = 常数 + 若干 hard sigmoid；一个 hard sigmoid = 两个 ReLU 之差。",
                         "Any piecewise-linear function is a constant plus hard sigmoids, and one hard sigmoid is two ReLUs."),
    "loss_table.png": ("蓝柱（训练误差）随模型变灵活一路下降；红柱（测试误差）在 28 天线性模型处最低，更深的网络反而上升：过拟合。",
                       "Blue (training error) falls as the model grows more flexible; red (test error) is lowest for the 28-day linear model and rises for deeper networks: overfitting."),
    "predictions.png": ("模型都跟上了每周的节奏，但没有一个能预测尖峰。",
                        "Every model follows the weekly rhythm; none can foresee the spikes."),
}


# ---------------------------------------------------------------- 1. data

def load_views(seed):
    """The channel's daily views (thousands); the last 365 days are the test year."""
    return datasets.ChannelViews(seed=seed)


def windows(views, days):
    """Features (N, days) and targets (N,) for train and test, as NumPy float32.

    Every model predicts the same days (from day WINDOW on), so their losses compare.
    """
    x_train, y_train = views.windows(days, "train")
    x_test, y_test = views.windows(days, "test")
    skip = WINDOW - days
    return (x_train.numpy()[skip:], y_train.numpy()[skip:]), (x_test.numpy(), y_test.numpy())


def mae(prediction, target):
    return float(np.mean(np.abs(prediction - target)))


# ---------------------------------------------------------------- 2. Lee's three steps, by hand

def loss_surface(x, y, ws, bs):
    """L(w, b) = mean |b + w·x − y| on a grid: (len(bs), len(ws))."""
    surface = np.empty((len(bs), len(ws)))
    for i, b in enumerate(bs):
        predictions = b + ws[:, None] * x                 # (W, N)
        surface[i] = np.mean(np.abs(predictions - y), axis=1)
    return surface


def gradient_descent(x, y, steps, lr, start=(0.0, 0.0)):
    """Fit y ≈ b + w·x by plain gradient descent on the MAE, with autograd's gradients.

    Returns the path, (steps + 1, 3): w, b and the loss at each step.
    """
    x, y = ms.tensor(x), ms.tensor(y)                    # (N,), (N,)
    w = ms.tensor(start[0], requires_grad=True)          # () weight
    b = ms.tensor(start[1], requires_grad=True)          # () bias
    path = []
    for _ in range(steps):
        loss = (b + w * x - y).abs().mean()              # step 2: the loss of this guess
        loss.backward()                                  # ∂L/∂w and ∂L/∂b
        path.append((w.item(), b.item(), loss.item()))
        with ms.no_grad():                               # step 3: a step downhill
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = b.grad = None
    with ms.no_grad():
        path.append((w.item(), b.item(), (b + w * x - y).abs().mean().item()))
    return np.array(path)


def updates_per_epoch(n, batch):
    """One update per batch; the last batch may be smaller (N = 10000, B = 10 → 1000)."""
    return -(-n // batch)


# ---------------------------------------------------------------- 3. more flexible models

def network(inputs, layers, activation):
    """`layers` hidden layers of HIDDEN units (Sigmoid or ReLU), then one output.

    With one sigmoid layer this is Lee's y = b + Σᵢ cᵢ·σ(bᵢ + Σⱼ wᵢⱼ·xⱼ); with none it is
    the linear model y = b + Σⱼ wⱼ·xⱼ.
    """
    modules, width = [], inputs
    for _ in range(layers):
        modules += [nn.Linear(width, HIDDEN), activation()]
        width = HIDDEN
    return nn.Sequential(*modules, nn.Linear(width, 1))


def train(model, x, y, lr, rng, progress=iter):
    """Mini-batch training on the MAE: EPOCHS epochs of shuffled batches of BATCH days.

    Inputs and outputs are standardised with the training days' mean and spread, so one
    learning rate suits every model; Adam's rate decays to zero along a cosine, so each
    model settles instead of rattling around its minimum.
    """
    mean, spread = float(y.mean()), float(y.std())
    features = ms.tensor((x - mean) / spread)                 # (N, days)
    targets = ms.tensor(y)                                    # (N,)
    steps = EPOCHS * updates_per_epoch(len(y), BATCH)
    optimizer = ms.optim.Adam(model.parameters(), lr=lr)
    schedule = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in progress(range(EPOCHS)):
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            batch = ms.tensor(order[start:start + BATCH])
            optimizer.zero_grad()
            predicted = model(features[batch]).squeeze(-1) * spread + mean   # (B,)
            (predicted - targets[batch]).abs().mean().backward()
            optimizer.step()
            schedule.step()

    def predict(inputs):
        with ms.no_grad():
            return model(ms.tensor((inputs - mean) / spread)).squeeze(-1).numpy() * spread + mean
    return predict


def fit_model(days, layers, activation, x, y, rng):
    """A trained model and its predict function.

    A linear model's loss has one valley, so one run finds it. A network's training can end
    in a worse place by bad luck of its random start; a deeper network can always do at
    least what a shallower one does, so a deeper one ending with the higher training loss is
    a failure of optimisation, not of the model (Lee's lecture 2). So each network is
    trained from STARTS random starts, keeping the one that fits the training days best —
    chosen on training data only; the test year is never looked at.
    """
    best = None
    for _ in range(STARTS if layers else 1):
        model = network(days, layers, activation)
        predict = train(model, x, y, LR_NETWORK if layers else LR_LINEAR, rng)
        fit = mae(predict(x), y)
        if best is None or fit < best[0]:
            best = (fit, model, predict)
    return best[1], best[2]


MODELS = (  # (key, Chinese, English, days of input, hidden layers, activation)
    ("linear_1d", "线性，前 1 天", "linear, 1 day", 1, 0, None),
    ("linear_7d", "线性，前 7 天", "linear, 7 days", 7, 0, None),
    ("linear_28d", "线性，前 28 天", "linear, 28 days", 28, 0, None),
    ("linear_56d", "线性，前 56 天", "linear, 56 days", 56, 0, None),
    ("sigmoid_1layer", "100 个 sigmoid", "100 sigmoids", 56, 1, nn.Sigmoid),
    ("relu_1layer", "100 个 ReLU，1 层", "100 ReLUs, 1 layer", 56, 1, nn.ReLU),
    ("relu_2layer", "ReLU，2 层", "ReLU, 2 layers", 56, 2, nn.ReLU),
    ("relu_3layer", "ReLU，3 层", "ReLU, 3 layers", 56, 3, nn.ReLU),
    ("relu_4layer", "ReLU，4 层", "ReLU, 4 layers", 56, 4, nn.ReLU),
)


# ---------------------------------------------------------------- 4. figures

def plot_views(views):
    fig = viz.figure(figsize=(11, 3.6))
    ax = fig.subplots()
    split = views.dates[len(views) - views.test_days]
    ax.plot(views.dates, views.views, color=viz.COLORS["data"], lw=0.7)
    ax.axvspan(split, views.dates[-1], color="0.9", zorder=0,
               label=viz.text("测试年（不参与训练）", "test year (never trained on)"))
    ax.set(title=viz.text("频道每日观看量", "Daily views of a channel"), xlabel=viz.text("日期", "date"),
           ylabel=viz.text("观看量（千）", "views (thousands)"))
    ax.legend(loc="upper left")
    return fig


def plot_blocks():
    """Lee's picture: a piecewise-linear curve is a constant plus hard sigmoids; a sigmoid
    approximates a hard sigmoid; two ReLUs make one exactly."""
    x = np.linspace(0, 10, 500)

    def hard(x, start, end, height):  # 0 before start, rising linearly, `height` after end
        return height * np.clip((x - start) / (end - start), 0, 1)

    pieces = [hard(x, 1, 3, 2.0), hard(x, 4.5, 6, -1.5), hard(x, 7, 9, 2.5)]
    fig = viz.figure(figsize=(12, 4))
    left, middle, right = fig.subplots(1, 3)
    left.plot(x, 1 + sum(pieces), color=viz.COLORS["learned"], lw=3,
              label=viz.text("红线 = 常数 + 蓝线之和", "red = constant + blue ones"))
    left.axhline(1, color=viz.COLORS["data"], lw=1, ls=":", label=viz.text("常数 1", "constant 1"))
    for i, piece in enumerate(pieces):
        left.plot(x, piece, color=viz.COLORS["data"], lw=1.2,
                  label=viz.text("蓝线：hard sigmoid", "blue: hard sigmoids") if i == 0 else None)
    left.set(title=viz.text("分段线性 = 常数 + hard sigmoid", "Piecewise linear = constant + hard sigmoids",
                            sep="\n"), xlabel="x₁", ylabel="y", ylim=(-2, 5.8))
    left.legend(loc="upper left", fontsize=8)
    for w, b, c, style in ((1, -5, 1, "-"), (4, -20, 1, "--"), (1, -3, 0.5, ":")):
        middle.plot(x, c / (1 + np.exp(-(b + w * x))), ls=style, color=viz.COLORS["data"],
                    label=f"{c}·σ({b} + {w}·x₁)")
    middle.plot(x, hard(x, 3.5, 6.5, 1.0), color=viz.COLORS["learned"], lw=1, alpha=0.6, label="hard sigmoid")
    middle.set(title=viz.text("sigmoid：w 改斜率，b 平移，c 改高度", "Sigmoids: w slope, b shift, c height",
                              sep="\n"), xlabel="x₁", ylabel="y")
    middle.legend(fontsize=8)
    relu_a, relu_b = np.maximum(0, x - 3.5) / 3, np.maximum(0, x - 6.5) / 3
    right.plot(x, relu_a, color=viz.COLORS["data"], ls="--", label="max(0, (x₁ − 3.5)/3)")
    right.plot(x, -relu_b, color=viz.COLORS["search"], ls="--", label="−max(0, (x₁ − 6.5)/3)")
    right.plot(x, relu_a - relu_b, color=viz.COLORS["learned"], lw=2.5, label=viz.text("两者之和", "their sum"))
    right.set(title=viz.text("两个 ReLU = 一个 hard sigmoid", "Two ReLUs make a hard sigmoid", sep="\n"),
              xlabel="x₁", ylabel="y")
    right.legend(fontsize=8)
    return fig


def plot_surface(ws, bs, surface, path, best):
    fig = viz.figure(figsize=(7.2, 5.4))
    ax = fig.subplots()
    levels = np.quantile(surface, np.linspace(0, 1, 25) ** 2)  # dense near the bottom
    filled = ax.contourf(ws, bs, surface, levels=levels, cmap="RdYlBu_r")
    ax.contour(ws, bs, surface, levels=levels, colors="white", linewidths=0.3)
    fig.colorbar(filled, ax=ax, label=viz.text("损失 L（千）", "loss L (thousands)"), format="%.2f")
    ax.plot(path[:, 0], path[:, 1], ".-", color="k", ms=2, lw=0.8,
            label=viz.text(f"梯度下降（η = {GD_LR}，{len(path) - 1} 步）",
                           f"gradient descent (η = {GD_LR}, {len(path) - 1} steps)"))
    ax.plot(*path[0, :2], "o", color="k", ms=6)
    ax.plot(*best, "*", color="white", mec="k", ms=15, label=viz.text("网格上的最低点", "lowest grid point"))
    ax.set(title=viz.text("误差曲面 L(w, b) 与下降路径", "Error surface L(w, b) and the descent path"),
           xlabel="w", ylabel="b")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(False)
    return fig


def plot_losses(rows):
    fig = viz.figure(figsize=(11, 4.4))
    ax = fig.subplots()
    positions = np.arange(len(rows))
    ax.bar(positions - 0.2, [r["train"] for r in rows], 0.4, color=viz.COLORS["data"],
           label=viz.text("训练集", "train"))
    ax.bar(positions + 0.2, [r["test"] for r in rows], 0.4, color=viz.COLORS["learned"],
           label=viz.text("测试年", "test year"))
    best = min(r["test"] for r in rows)
    ax.axhline(best, color="k", ls=":", lw=0.8,
               label=viz.text(f"最低的测试误差 {best:.3f}", f"lowest test error {best:.3f}"))
    ax.set_xticks(positions)
    ax.set_xticklabels([viz.text(r["zh"], r["en"], sep="\n") for r in rows], fontsize=8.5)
    ax.set(title=viz.text("模型越灵活，训练损失越低；太深则测试损失上升",
                          "More flexible: lower training loss; too deep: higher test loss"),
           xlabel=viz.text("模型", "model"), ylabel=viz.text("平均绝对误差（千）", "mean absolute error (thousands)"))
    ax.legend()
    return fig


def plot_predictions(views, shown, days=120):
    """The first `days` of the test year: true views and some models' predictions (Lee's red
    and blue lines); the MAE in the legend is over the whole test year."""
    first = len(views) - views.test_days
    dates = views.dates[first:first + days]
    fig = viz.figure(figsize=(11, 4))
    ax = fig.subplots()
    ax.plot(dates, views.views[first:first + days], color="0.2", lw=1.8, label=viz.text("真实", "true"))
    colors = (viz.COLORS["search"], viz.COLORS["data"], viz.COLORS["learned"])
    for (label, prediction, loss), color in zip(shown, colors):
        ax.plot(dates, prediction[:days], color=color, lw=1, label=f"{label} (MAE {loss:.3f})")
    ax.set(title=viz.text(f"测试年前 {days} 天的预测", f"Predictions for the first {days} days of the test year"),
           xlabel=viz.text("日期", "date"), ylabel=viz.text("观看量（千）", "views (thousands)"))
    fig.legend(loc="outside lower center", ncol=2, fontsize=8.5)  # below: the series fill the axes
    fig.set_figheight(4.6)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch02.principle", zh="深度学习原理：三个步骤找函数",
        en="How deep learning works: finding a function in three steps")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    views = load_views(ctx.seed)
    (x1, y1), _ = windows(views, 1)
    ctx.log(f"{len(views)} days of views from {views.dates[0]}; the last {views.test_days} are the "
            f"test year; {len(y1)} training days are predicted (each from up to {WINDOW} days before)")

    # Lee's three steps on y = b + w·x₁, by hand
    ctx.log("\nstep 1, the model:  y = b + w·x₁  (x₁: yesterday's views, in thousands)")
    guess = mae(0.5 + 1.0 * x1[:, 0], y1)
    ctx.log(f"step 2, the loss:   L(w = 1, b = 0.5) = mean |ŷ − y| = {guess:.4f} thousand views")
    path = gradient_descent(x1[:, 0], y1, settings["gd_steps"], GD_LR)
    ws, bs = np.linspace(-0.2, 1.4, settings["grid"]), np.linspace(-1.0, 4.0, settings["grid"])
    surface = loss_surface(x1[:, 0], y1, ws, bs)
    i, j = np.unravel_index(np.argmin(surface), surface.shape)
    ctx.log(f"step 3, descend:    from (w, b) = (0, 0), η = {GD_LR}: after {len(path) - 1} steps "
            f"w = {path[-1, 0]:.3f}, b = {path[-1, 1]:.3f}, L = {path[-1, 2]:.4f} "
            f"(lowest on the grid: L = {surface[i, j]:.4f} at w = {ws[j]:.3f}, b = {bs[i]:.3f})")

    # batch, epoch, update
    lee = updates_per_epoch(LEE_EXAMPLE["n"], LEE_EXAMPLE["batch"])
    ours = updates_per_epoch(len(y1), BATCH)
    ctx.log(f"\nbatches: Lee's N = {LEE_EXAMPLE['n']}, B = {LEE_EXAMPLE['batch']} gives {lee} updates per epoch; "
            f"here N = {len(y1)}, B = {BATCH}: {ours} updates per epoch, {EPOCHS} epochs = "
            f"{ours * EPOCHS} updates per model")
    ctx.record(guess_loss=guess, gd_final_w=path[-1, 0], gd_final_b=path[-1, 1], gd_final_loss=path[-1, 2],
               grid_min_loss=surface[i, j], lee_updates_per_epoch=lee, train_examples=len(y1),
               batch_size=BATCH, updates_per_epoch=ours, epochs=EPOCHS)

    # more flexible models: the table
    rows, predictions = [], {}
    for key, zh, en, days, layers, activation in ctx.progress(MODELS, "models"):
        (x, y), (x_test, y_test) = windows(views, days)
        model, predict = fit_model(days, layers, activation, x, y, ctx.rng(len(rows)))
        predictions[key] = predict(x_test)
        rows.append(dict(key=key, zh=zh, en=en, params=sum(p.numel() for p in model.parameters()),
                         train=mae(predict(x), y), test=mae(predictions[key], y_test)))
        ctx.record(**{f"{key}_train_mae": rows[-1]["train"], f"{key}_test_mae": rows[-1]["test"]})
    ctx.log(f"\n{'model':<22}{'params':>8}{'train MAE':>11}{'test MAE':>10}   (thousands of views)")
    for r in rows:
        ctx.log(f"{r['en']:<22}{r['params']:>8,}{r['train']:>11.3f}{r['test']:>10.3f}")

    loss = {r["key"]: r for r in rows}
    linear = [loss[f"linear_{d}d"]["train"] for d in (1, 7, 28, 56)]
    deep = [loss[f"relu_{n}layer"] for n in (1, 2, 3, 4)]
    ctx.check("more days or more layers: lower training loss",
              all(a > b for a, b in zip(linear, linear[1:]))
              and all(a["train"] > b["train"] for a, b in zip(deep, deep[1:])))
    ctx.check("too deep: the 4-layer network's test loss is above a shallower one's",
              deep[-1]["test"] > min(r["test"] for r in deep[:-1]))
    ctx.check("gradient descent reaches the bottom of the error surface (within 1 %)",
              path[-1, 2] <= 1.01 * surface[i, j])

    # figures
    ctx.save_figure(plot_views(views), "views.png")
    ctx.save_figure(plot_surface(ws, bs, surface, path, (ws[j], bs[i])), "loss_surface.png")
    ctx.save_figure(plot_blocks(), "sigmoid_relu.png")
    ctx.save_figure(plot_losses(rows), "loss_table.png")
    shown = [(viz.text(loss[k]["zh"], loss[k]["en"]), predictions[k], loss[k]["test"])
             for k in ("linear_1d", "linear_56d", "relu_4layer")]
    ctx.save_figure(plot_predictions(views, shown), "predictions.png")
