"""ch07.alexnet — AlexNet 的思想 / The ideas of AlexNet, one at a time.

"ImageNet Classification with Deep Convolutional Neural Networks" (Krizhevsky, Sutskever &
Hinton, 2012) won ImageNet by a wide margin with five convolution layers and three dense
ones, and a handful of ideas that the paper argues for one by one:

- ReLU instead of tanh: non-saturating units train several times faster (its Figure 1);
- dropout in the dense layers: "substantially" less overfitting;
- overlapping pooling (3×3 windows, stride 2): a little lower error, a little harder to overfit;
- data augmentation (random crops, horizontal flips): a bigger training set for free;
- local response normalisation (LRN): each activation divided by the activity of its
  neighbouring channels, "brightness normalisation".

This lesson builds a scaled-down AlexNet for 28×28 Fashion-MNIST images (same layer pattern,
far fewer channels) and trains it with all five ideas, then again with each idea taken away,
on 1 000 training images (100 per class: scarce data, where overfitting is the enemy) so
that a run takes about a minute. A second run of the full recipe from another seed shows how
much two runs differ by chance alone. The ablation table reports what each idea did *here*;
on a small problem some of them do little or nothing, and the table says so.

    mlseries run ch07.alexnet [--quick]
"""
import numpy as np

import mlseries as ms
from mlseries import nn, viz
from mlseries.datasets import transforms

from ..training import accuracy, count_parameters, fashion_mnist, train_epoch
from ..registry import lesson

FULL = dict(train=1000, test=10000, epochs=40, widths=(16, 32, 48, 48, 32), hidden=256)
# quick: the same network on fewer images and epochs. Narrower nets (widths 8-16, hidden 64)
# were tried and taught the wrong thing: with dropout they sat at chance (0.09) while tanh
# learned, so the ablation ranked ideas by who survived, not by what they do.
QUICK = dict(train=800, test=1000, epochs=8, widths=FULL["widths"], hidden=FULL["hidden"])
TRAIN = dict(lr=1e-3, batch=32)
LRN = dict(size=5, alpha=1e-4, beta=0.75, k=2.0)  # the paper's constants


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "ablation.png": ("每行去掉一个思想；和虚线（全部思想）比较，差距小于两个随机种子之间的差就是偶然。",
                     "Each row takes one idea away; compare with the dashed line (all ideas): differences smaller than the two seeds' gap are chance."),
    "relu_vs_tanh.png": ("ReLU 与 tanh 的训练损失下降速度（其余完全相同）；两者都要离开 ln 10 的瞎猜水平。",
                         "How fast the training loss falls with ReLU against tanh, all else equal; both must leave ln 10, the guessing level."),
}


# ---------------------------------------------------------------- 1. local response normalisation

def local_response_norm(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """b_c = a_c / (k + α/n · Σ a_j²)^β, the sum over the n = `size` channels centred on c.

    Written with engine ops (square, zero-pad along channels, add shifted copies), so autograd
    differentiates it; it equals torch.nn.functional.local_response_norm.
    """
    channels = x.shape[1]
    squared = x * x                                                  # (B, C, H, W)
    padded = nn.functional.pad(squared, (0, 0, 0, 0, size // 2, (size - 1) // 2))  # (B, C + n − 1, H, W)
    neighbours = padded[:, 0:channels]
    for shift in range(1, size):
        neighbours = neighbours + padded[:, shift:shift + channels]  # Σ over the n-channel window
    return x / (k + alpha / size * neighbours) ** beta


class LocalResponseNorm(nn.Module):
    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)


# ---------------------------------------------------------------- 2. a small AlexNet

class MiniAlexNet(nn.Module):
    """AlexNet's shape for 28×28: conv5-pool-conv5-pool-conv3-conv3-conv3-pool, then 3 dense layers.

    The switches are the ablation: activation ("relu"/"tanh"), lrn, overlapping pooling and
    dropout. Overlapping 3×3/2 pools get padding 1 so both poolings give the same sizes
    (28 → 14 → 7 → 3), as in the paper's comparison.
    """

    def __init__(self, widths=(24, 48, 64, 64, 48), hidden=256, activation="relu", lrn=True,
                 overlap=True, dropout=0.5, classes=10):
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        norm = (lambda: LocalResponseNorm(**LRN)) if lrn else nn.Identity

        def pool(last=False):
            return nn.MaxPool2d(3, 2, padding=0 if last else 1) if overlap else nn.MaxPool2d(2, 2)

        w1, w2, w3, w4, w5 = widths
        self.features = nn.Sequential(
            nn.Conv2d(1, w1, 5, padding=2), act(), norm(), pool(),       # (B, w1, 14, 14)
            nn.Conv2d(w1, w2, 5, padding=2), act(), norm(), pool(),      # (B, w2, 7, 7)
            nn.Conv2d(w2, w3, 3, padding=1), act(),
            nn.Conv2d(w3, w4, 3, padding=1), act(),
            nn.Conv2d(w4, w5, 3, padding=1), act(), pool(last=True),     # (B, w5, 3, 3)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(w5 * 9, hidden), act(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), act(),
            nn.Linear(hidden, classes),
        )
        # He initialisation for every variant (tanh too, so that only the activation differs):
        # with PyTorch's default, smaller weights, eight layers without normalisation start
        # so quietly that a minute of training is not enough for any of them.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(self.features(x))


# One row per run: the full recipe, then each idea taken away (or swapped for the older one).
ABLATIONS = [
    ("all", viz.text("全部思想", "all ideas"), {}),
    ("all_seed1", viz.text("全部思想（另一随机种子）", "all ideas (another seed)"), {"seed": 1}),
    ("tanh", viz.text("tanh 代替 ReLU", "tanh instead of ReLU"), {"activation": "tanh"}),
    ("no_dropout", viz.text("去掉 dropout", "no dropout"), {"dropout": 0.0}),
    ("no_overlap", viz.text("不重叠池化 2×2", "non-overlapping 2×2 pooling"), {"overlap": False}),
    ("no_augment", viz.text("不做数据增强", "no augmentation"), {"augment": False}),
    ("no_lrn", viz.text("去掉 LRN", "no LRN"), {"lrn": False}),
]


def make_augment(rng):
    """AlexNet's augmentation at this scale: shift by up to 2 pixels (a random 28×28 crop of the
    image padded to 32×32) and mirror half of the images."""
    crop = transforms.RandomCrop(28, padding=2, generator=rng)
    flip = transforms.RandomHorizontalFlip(0.5, generator=rng)
    return lambda xb: flip.batch(crop.batch(xb))


def train_variant(ctx, key, options, data, settings):
    """Train one ablation row from the same initial seed; returns its measurements."""
    (x, y), (xt, yt) = data
    options = dict(options)
    seed = ctx.seed + options.pop("seed", 0)
    augment_rng = np.random.default_rng([seed, 2])
    augment = make_augment(augment_rng) if options.pop("augment", True) else None
    ms.manual_seed(seed)
    model = MiniAlexNet(settings["widths"], settings["hidden"], **options)
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    rng = np.random.default_rng([seed, 1])
    # resumable: `mlseries run ch07.alexnet --resume` continues an interrupted run from its last checkpoint
    state = ctx.resumable(key, model=model, optimizer=optimizer, rng=rng, augment_rng=augment_rng)
    step_losses = state.vars.setdefault("step_losses", [])
    history = state.vars.setdefault("history", [])
    for epoch in range(len(history) + 1, settings["epochs"] + 1):
        loss, train_acc = train_epoch(model, optimizer, x, y, TRAIN["batch"], rng, augment=augment,
                                      step_losses=step_losses, state=state, desc=f"{key} epoch {epoch}",
                                      progress=lambda it: ctx.progress(it, f"{key} {epoch}/{settings['epochs']}"))
        history.append([loss, train_acc])
    state.finish()
    clean_train_acc, _ = accuracy(model, x, y)   # without dropout or augmentation
    test_acc, _ = accuracy(model, xt, yt)
    return {"test_acc": test_acc, "train_acc": clean_train_acc, "gap": clean_train_acc - test_acc,
            "final_loss": history[-1][0], "step_losses": np.array(step_losses),
            "parameters": count_parameters(model)}


def steps_to_reach(step_losses, level, window=20):
    """First step at which the running mean of the training loss falls below `level` (or None)."""
    if len(step_losses) < window:
        return None
    running = np.convolve(step_losses, np.ones(window) / window, mode="valid")
    below = np.flatnonzero(running < level)
    return int(below[0]) + window if len(below) else None


# ---------------------------------------------------------------- 3. figures

def plot_relu_vs_tanh(results, labels):
    """The paper's Figure 1 at this scale: training loss per step, ReLU against tanh."""
    fig = viz.figure()
    ax = fig.subplots()
    for key, color in (("all", viz.COLORS["learned"]), ("tanh", viz.COLORS["data"])):
        losses = results[key]["step_losses"]
        window = min(20, len(losses))
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(losses) + 1), smooth, color=color,
                label="ReLU" if key == "all" else "tanh")
    ax.axhline(np.log(10), color="0.5", ls=":", lw=1, label=viz.text("ln 10：瞎猜", "ln 10: guessing"))
    ax.set(title=viz.text("ReLU 与 tanh 的训练速度（其余相同）", "Training speed: ReLU vs tanh (all else equal)",
                          sep="\n"),
           xlabel=viz.text("步数", "step"), ylabel=viz.text("训练损失（20 步平均）", "training loss, mean of 20 steps",
                                                         sep="\n"))
    ax.legend()
    return fig


def plot_ablation(results, labels):
    fig = viz.figure(figsize=(8.5, 4.8))
    ax = fig.subplots()
    keys = list(results)
    ypos = np.arange(len(keys))[::-1]
    test = [results[k]["test_acc"] for k in keys]
    train = [results[k]["train_acc"] for k in keys]
    ax.barh(ypos + 0.2, train, 0.4, color=viz.COLORS["search"], label=viz.text("训练准确率", "train accuracy"))
    ax.barh(ypos - 0.2, test, 0.4, color=viz.COLORS["data"], label=viz.text("测试准确率", "test accuracy"))
    for y, t in zip(ypos, test):
        ax.text(t + 0.002, y - 0.2, f"{t:.3f}", va="center", fontsize=8)
    ax.axvline(results["all"]["test_acc"], color=viz.COLORS["reference"], ls="--", lw=1,
               label=viz.text("全部思想的测试准确率", "test accuracy with all ideas"))
    ax.set_yticks(ypos, [labels[k] for k in keys])
    low, high = min(min(test), min(train)), max(max(test), max(train))
    ax.set(xlim=(max(0.0, low - 0.05), min(1.0, high + 0.05)), title=viz.text("消融实验：每次去掉一个思想", "Ablation: one idea taken away at a time", sep="\n"),
           xlabel=viz.text("准确率", "accuracy"), ylabel=viz.text("配置", "configuration"))
    fig.legend(loc="outside lower center", ncol=3, fontsize=8.5)  # below the figure: never on a bar
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch07.alexnet", zh="AlexNet：ReLU、dropout、重叠池化、数据增强、LRN 的消融",
        en="AlexNet's ideas: an ablation of ReLU, dropout, overlapping pooling, augmentation and LRN")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. data: the first 1 000 Fashion-MNIST training images, small enough to overfit
    (x, y), (xt, yt) = fashion_mnist(settings["train"], settings["test"])
    ctx.log(f"Fashion-MNIST: {len(x)} training images ({np.bincount(y).min()}–{np.bincount(y).max()} "
            f"per class), {len(xt)} test images")

    # 2. LRN from engine ops, and how much it changes activations of this size
    probe = MiniAlexNet(settings["widths"], settings["hidden"])
    with ms.no_grad():
        a = probe.features[1](probe.features[0](ms.tensor(x[:64])))    # first conv + ReLU
        b = probe.features[2](a)
    ratio = (b.numpy() / np.where(a.numpy() == 0, np.nan, a.numpy()))
    lrn_spread = float(np.nanmax(ratio) / np.nanmin(ratio))
    ctx.log(f"LRN with the paper's constants divides these activations by {1 / np.nanmax(ratio):.3f}"
            f"–{1 / np.nanmin(ratio):.3f} (max/min {lrn_spread:.4f}): almost a constant scale here")

    # 3. the ablation: every run starts from the same seed and sees batches in the same order
    labels = {key: label for key, label, _ in ABLATIONS}
    results = {}
    for key, label, options in ABLATIONS:
        results[key] = train_variant(ctx, key, options, ((x, y), (xt, yt)), settings)
        r = results[key]
        ctx.log(f"{label}: test {r['test_acc']:.4f}, train {r['train_acc']:.4f}, gap {r['gap']:+.4f}")

    # 4. results: the table, ReLU's head start, and what each idea did against the seed noise
    level = 1.0 if ctx.quick else 0.6   # a loss the quick run's 200 steps reach too
    relu_steps, tanh_steps = (steps_to_reach(results[k]["step_losses"], level) for k in ("all", "tanh"))
    speedup = tanh_steps / relu_steps if relu_steps and tanh_steps else None
    ctx.log(f"steps until the training loss (mean of 20 steps) falls below {level}: ReLU {relu_steps}, "
            f"tanh {tanh_steps}" + (f": ReLU {speedup:.2f}× as fast (the paper: about 6×)" if speedup else ""))
    base = results["all"]
    noise = abs(base["test_acc"] - results["all_seed1"]["test_acc"])
    ctx.log(f"the same recipe from another seed differs by {noise:.4f} in test accuracy: "
            "smaller effects below are chance")
    ctx.log("\n" + ablation_table(results, labels))
    for key, _, _ in ABLATIONS[2:]:
        effect = base["test_acc"] - results[key]["test_acc"]  # what the idea added
        verdict = ("within the seed noise" if abs(effect) <= noise else
                   "helped" if effect > 0 else "hurt")
        ctx.log(f"  {labels[key]}: the idea changed test accuracy by {effect:+.4f} ({verdict}), "
                f"the train − test gap by {base['gap'] - results[key]['gap']:+.4f}")
    ctx.record(train_size=len(x), test_size=len(xt), epochs=settings["epochs"],
               parameters=base["parameters"], lrn_scale_spread=lrn_spread, seed_noise=noise,
               relu_steps_to_loss=relu_steps, tanh_steps_to_loss=tanh_steps, loss_level=level,
               relu_speedup=speedup,
               **{f"{k}_test_acc": r["test_acc"] for k, r in results.items()},
               **{f"{k}_train_acc": r["train_acc"] for k, r in results.items()})
    # a variant that did not learn would make the ablation rank survivors, not ideas
    floor = 0.6 if ctx.quick else 0.7
    ctx.check(f"every variant learns (test accuracy ≥ {floor}; chance is 0.1)",
              min(r["test_acc"] for r in results.values()) >= floor)

    ctx.save_figure(plot_ablation(results, labels), "ablation.png")
    ctx.save_figure(plot_relu_vs_tanh(results, labels), "relu_vs_tanh.png")


def ablation_table(results, labels):
    """The ablation as a Markdown table (it goes into the docs as printed)."""
    base = results["all"]["test_acc"]
    rows = [f"| {labels[k]} | {r['test_acc']:.4f} | {r['train_acc']:.4f} | {r['gap']:+.4f} | "
            f"{r['test_acc'] - base:+.4f} |" for k, r in results.items()]
    return ("| configuration | test acc | train acc | train − test | test vs all ideas |\n"
            "| --- | --- | --- | --- | --- |\n" + "\n".join(rows))
