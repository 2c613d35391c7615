"""ch07.resnet — 残差学习 / Residual learning: plain against residual networks as they deepen.

"Deep Residual Learning for Image Recognition" (He, Zhang, Ren & Sun, 2015) starts from a
surprise: stacking more layers onto a working network made it *worse* — not only on test
data (that would be overfitting) but on the training data too. A deeper network could copy
the shallower one and set the extra layers to the identity, so the problem is optimisation:
plain stacks of layers find it hard to learn even the identity.

The fix is one addition. A residual block computes F(x) + x: its layers learn only the
change F(x) = H(x) − x to what they are given, and doing nothing means F = 0, which is easy.
Gradients also flow back through the "+ x" shortcut undiminished.

This lesson repeats the paper's CIFAR experiment (its Figure 6) at small scale on
Fashion-MNIST shrunk to 14×14: networks of 6n + 2 layers (three stages of n blocks of two
3×3 convolutions, widths doubling as the maps halve, BatchNorm everywhere, parameter-free
shortcuts), once plain and once residual, at depths 8, 20 and 44, trained identically. The
paper's plot is the training error of each: plain nets get worse as they deepen, residual
nets do not. As in the paper, the gradient reaching the first layer is checked too: with
BatchNorm it does not vanish in the plain nets (here it even grows with depth), so vanishing
gradients are not the cause.

    mlseries run ch07.resnet [--quick]
"""
import numpy as np
from matplotlib import colormaps
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from ..training import count_parameters, fashion_mnist, fit
from ..registry import lesson

FULL = dict(train=10000, test=5000, epochs=6, blocks=(1, 3, 7), widths=(8, 16, 32), batch=128)
# quick: smaller batches, so that 4 epochs of 1000 images are 128 steps (BatchNorm's running
# statistics, used at test time, need a few dozen steps to settle) and the curves have a shape
QUICK = dict(train=1000, test=1000, epochs=4, blocks=(1, 3), widths=(4, 8, 16), batch=32)
TRAIN = dict(lr=0.05, momentum=0.9, weight_decay=1e-4)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "plain_vs_residual.png": ("左：越深的普通网络训练误差越高；右：残差网络越深不会更差。",
                              "Left: the deeper plain network trains worse; right: deeper residual networks do not."),
    "error_vs_depth.png": ("左：训练结束时的训练误差随深度的变化（与左图曲线的终点相同）；右：到达第一层的梯度并没有消失。",
                           "Left: final training error against depth (the curves' end points); right: the gradient reaching the first layer does not vanish."),
}


# ---------------------------------------------------------------- 1. the blocks

class Block(nn.Module):
    """Two 3×3 conv + BatchNorm layers. Residual: relu(F(x) + shortcut(x)); plain: relu(F(x)).

    When a block halves the map and doubles the channels, the shortcut takes every second
    pixel and appends zero channels: the paper's option A, with no parameters, so the plain
    and residual networks have exactly the same weights.
    """

    def __init__(self, c_in, c_out, stride, residual):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.residual = residual
        self.stride, self.extra_channels = stride, c_out - c_in

    def shortcut(self, x):                                       # x (B, C_in, H, W)
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]            # (B, C_in, H/2, W/2)
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))   # (B, C_out, H/2, W/2)
        return x

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))                              # F(x)
        if self.residual:
            h = h + self.shortcut(x)                             # F(x) + x
        return F.relu(h)


class Net(nn.Module):
    """6n + 2 layers: a 3×3 conv, three stages of n blocks, global average pooling, a dense layer."""

    def __init__(self, n, residual, widths=(8, 16, 32), classes=10):
        super().__init__()
        self.depth = 6 * n + 2
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, c = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(n):
                blocks.append(Block(c, width, 2 if stage > 0 and b == 0 else 1, residual))
                c = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):                          # x (B, 1, 14, 14)
        h = self.blocks(self.stem(x))              # (B, C, 4, 4)
        return self.fc(h.mean(dim=(2, 3)))         # (B, classes)


# ---------------------------------------------------------------- 2. training one network

def halve(images):
    """(N, C, 28, 28) -> (N, C, 14, 14), each output pixel the mean of a 2×2 block."""
    n, c, h, w = images.shape
    return images.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def train_net(ctx, n, residual, data, settings):
    (x, y), (xt, yt) = data
    ms.manual_seed(ctx.seed)
    model = Net(n, residual, settings["widths"])
    optimizer = ms.optim.SGD(model.parameters(), lr=TRAIN["lr"], momentum=TRAIN["momentum"],
                             weight_decay=TRAIN["weight_decay"])
    steps = settings["epochs"] * -(-len(x) // settings["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    name = f"{'residual' if residual else 'plain'}-{model.depth}"
    # the training error is measured after every epoch in eval mode, like the test error, so
    # the curves end exactly at the numbers in the depth figure and the table
    rng = ctx.rng(1)
    # resumable: `mlseries run ch07.resnet --resume` continues an interrupted run from its last checkpoint
    state = ctx.resumable(name, model=model, optimizer=optimizer, scheduler=scheduler, rng=rng)
    history = dict(fit(model, optimizer, (x, y), (xt, yt), settings["epochs"], settings["batch"], rng,
                       scheduler=scheduler, progress=ctx.progress, desc=name, log=ctx.log, state=state,
                       eval_train=True))
    train_acc = history["train_acc_eval"][-1]
    history.update(name=name, depth=model.depth, parameters=count_parameters(model),
                   final_train_error=1 - train_acc, final_test_error=1 - history["test_acc"][-1])
    return history


def first_layer_gradient(n, residual, x, y, widths, seed):
    """Size of the loss gradient reaching the first convolution, at initialisation."""
    ms.manual_seed(seed)
    model = Net(n, residual, widths)
    loss = F.cross_entropy(model(ms.tensor(x)), ms.tensor(y))
    loss.backward()
    return float(np.linalg.norm(model.stem[0].weight.grad.numpy()))


# ---------------------------------------------------------------- 3. figures

def plot_curves(runs):
    """The paper's Figure 6: training error (solid) and test error (dashed) per epoch, plain
    networks on the left, residual on the right, deeper = darker."""
    fig = viz.figure(figsize=(11, 4.4))
    axes = fig.subplots(1, 2, sharey=True)
    depths = sorted({r["depth"] for r in runs})
    for ax, residual, cmap in ((axes[0], False, "Blues"), (axes[1], True, "Reds")):
        colors = [colormaps[cmap](v) for v in np.linspace(0.45, 1.0, len(depths))]  # deeper = darker
        for run_ in runs:
            if run_["name"].startswith("residual") != residual:
                continue
            color = colors[depths.index(run_["depth"])]
            epochs = np.arange(1, len(run_["train_acc"]) + 1)
            ax.plot(epochs, 100 * (1 - np.array(run_["train_acc_eval"])), "-", color=color, lw=2,
                    label=f"{run_['name']} {viz.text('训练', 'train')}")
            ax.plot(epochs, 100 * (1 - np.array(run_["test_acc"])), "--", color=color, lw=1,
                    label=f"{run_['name']} {viz.text('测试', 'test')}")
        ax.set(title=viz.text("残差网络", "residual networks") if residual else viz.text("普通网络", "plain networks"),
               xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("错误率 (%)", "error (%)"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8.5, ncol=2, loc="upper right")
    fig.suptitle(viz.text("越深的普通网络训练误差越高，残差网络则不然（每轮结束后以评估模式测量）",
                          "Deeper plain networks train worse; residual networks do not "
                          "(measured after each epoch, in eval mode)", sep="\n"))
    return fig


def plot_depth(runs, gradients):
    """Final training error against depth, plain and residual, and the gradient at the first layer."""
    fig = viz.figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    for residual, color, label in ((False, viz.COLORS["data"], viz.text("普通", "plain")),
                                   (True, viz.COLORS["learned"], viz.text("残差", "residual"))):
        chosen = [r for r in runs if r["name"].startswith("residual") == residual]
        depths = [r["depth"] for r in chosen]
        left.plot(depths, [100 * r["final_train_error"] for r in chosen], "o-", color=color, label=label)
        right.semilogy(depths, [gradients[(residual, d)] for d in depths], "o-", color=color, label=label)
    left.set(title=viz.text("训练结束时的训练误差", "Training error at the end", sep="\n"),
             xlabel=viz.text("层数", "layers"), ylabel=viz.text("训练错误率 (%)", "training error (%)"))
    right.set(title=viz.text("初始化时到达第一层的梯度：并未消失", "Gradient at the first layer at init: not vanishing",
                             sep="\n"), xlabel=viz.text("层数", "layers"), ylabel="‖∂L/∂W₁‖")
    left.legend()
    right.legend()
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch07.resnet", zh="ResNet：普通网络与残差网络随深度的对比",
        en="ResNet: plain against residual networks of growing depth")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. data: a slice of Fashion-MNIST, each image averaged down to 14×14 (a quarter of the
    #    pixels, so a quarter of the work, and the clothes are still recognisable)
    (x, y), (xt, yt) = fashion_mnist(settings["train"], settings["test"])
    data = ((halve(x), y), (halve(xt), yt))
    ctx.log(f"Fashion-MNIST at 14×14: {len(x)} training and {len(xt)} test images; "
            f"depths {[6 * n + 2 for n in settings['blocks']]}, widths {settings['widths']}")

    # 2. is the trouble vanishing gradients? The gradient that reaches the first layer at init
    gradients = {}
    for n in settings["blocks"]:
        for residual in (False, True):
            gradients[(residual, 6 * n + 2)] = first_layer_gradient(n, residual, data[0][0][:128], y[:128],
                                                                    settings["widths"], ctx.seed)
    for n in settings["blocks"]:
        d = 6 * n + 2
        ctx.log(f"depth {d:>2}: ‖gradient at the first layer‖ plain {gradients[(False, d)]:.3e}, "
                f"residual {gradients[(True, d)]:.3e}")

    # 3. train every depth, plain and residual, identically
    runs = []
    for n in settings["blocks"]:
        for residual in (False, True):
            r = train_net(ctx, n, residual, data, settings)
            runs.append(r)
            ctx.log(f"{r['name']:<12} {r['parameters']:>7,} parameters: training error "
                    f"{r['final_train_error']:.4f}, test error {r['final_test_error']:.4f} "
                    f"({r['seconds'][-1]:.0f} s)")

    # 4. results
    by_name = {r["name"]: r for r in runs}
    deepest = 6 * settings["blocks"][-1] + 2
    shallowest = 6 * settings["blocks"][0] + 2
    plain_deep, res_deep = by_name[f"plain-{deepest}"], by_name[f"residual-{deepest}"]
    plain_shallow = by_name[f"plain-{shallowest}"]
    ctx.record(train_size=settings["train"], test_size=settings["test"], epochs=settings["epochs"],
               **{f"{r['name']}_train_error": r["final_train_error"] for r in runs},
               **{f"{r['name']}_test_error": r["final_test_error"] for r in runs},
               **{f"grad_{'residual' if res else 'plain'}_{d}": g for (res, d), g in gradients.items()})
    rows = [f"| {d} | {100 * by_name[f'plain-{d}']['final_train_error']:.2f} | "
            f"{100 * by_name[f'residual-{d}']['final_train_error']:.2f} | "
            f"{100 * by_name[f'plain-{d}']['final_test_error']:.2f} | "
            f"{100 * by_name[f'residual-{d}']['final_test_error']:.2f} |"
            for d in (6 * n + 2 for n in settings["blocks"])]
    ctx.log("\n| layers | plain train err % | residual train err % | plain test err % | residual test err % |\n"
            "| --- | --- | --- | --- | --- |\n" + "\n".join(rows))
    ctx.check(f"residual ≥ plain at the largest depth ({deepest} layers, training and test accuracy)",
              res_deep["final_test_error"] <= plain_deep["final_test_error"]
              and res_deep["final_train_error"] <= plain_deep["final_train_error"])
    # The paper's observation, reported as measured rather than asserted
    degrades = plain_deep["final_train_error"] > plain_shallow["final_train_error"]
    ctx.log(f"plain-{deepest} vs plain-{shallowest} training error: {plain_deep['final_train_error']:.4f} vs "
            f"{plain_shallow['final_train_error']:.4f}: the deeper plain net trains "
            f"{'worse (the degradation problem)' if degrades else 'no worse here'}")
    ctx.record(plain_degrades=degrades)

    ctx.save_figure(plot_curves(runs), "plain_vs_residual.png")
    ctx.save_figure(plot_depth(runs, gradients), "error_vs_depth.png")
