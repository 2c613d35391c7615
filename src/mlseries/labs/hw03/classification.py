"""hw03.classification — HW3 图像分类：Food-11 / Image classification: Food-11, one technique at a time.

**The original lab.** HW3 of ML 2022 Spring asks for a convolutional network (卷积神经网络, CNN)
that sorts photos of food into 11 classes (bread, dairy, dessert, ..., vegetable/fruit), scored by
accuracy on Kaggle. Food-11 is small for a CNN (about 10 000 training photos), so the lab is about
getting more out of little data: data augmentation (数据增强), mixup, test-time augmentation
(测试时增强, TTA), ensembling (集成) and a residual network (残差网络).

**The offline substitute.** Fashion-MNIST, with a small training set: 3 000 of its 28 × 28
grey images of clothes in 10 classes (300 per class, the same scarcity per class as Food-11's
smaller classes), scored on 2 000 test images. Kept: a CNN trained from scratch on too little data,
where each of the lab's techniques has room to help. Lost: colour, photographs' clutter and
scale, and 11 → 10 classes; the leaderboard's thresholds were set on Food-11 and are printed
for context only.

**The ladder (阶梯).** Each rung keeps the one before and adds one thing.

1. *sample* — the TA's model, smaller: three blocks of 3 × 3 convolution, BatchNorm, ReLU and
   2 × 2 max pooling (16, 32, 64 channels), then `Linear → ReLU → Linear` to the classes, Adam,
   no augmentation, and 4 epochs: what the TA's sample code trains on Food-11.
2. *longer* — the same, trained for many more epochs (the TA's first hint). From here on every
   model decays its learning rate to 0 along a cosine, so each is scored where it settled.
3. *augment* — every training batch is shifted at random by up to a pixel each way (pad and
   crop), so the network sees a slightly different image each epoch and must learn what does not
   depend on position. (No mirror images: every shoe in Fashion-MNIST points left, so a mirrored
   shoe is a picture the test set never shows. For Food-11's photos, flips are added.)
4. *mixup* — each batch is blended with a shuffled copy of itself, x = λ·x₁ + (1 − λ)·x₂ with
   λ ~ Beta(0.2, 0.2), and the loss is blended the same way, λ·CE(y₁) + (1 − λ)·CE(y₂): the
   network is taught to be less certain between classes, a regulariser (正则化) for little data.
5. *TTA* — no retraining: at test time the prediction is the average of the softmax over the
   image and four copies shifted by a pixel, so one unlucky view counts less.
6. *ensemble* — three CNNs trained with the same recipe from different random starts, their
   TTA probabilities averaged: their mistakes differ, so the average makes fewer.
7. *residual* — a residual network (ch07.resnet's `Net`: stages of two-convolution blocks
   with identity shortcuts, global average pooling) with augmentation, mixup and TTA, alone.

**With the course's files** (`--data FOLDER` holding Food-11's `training/`, `validation/` and
`test/`, see `food.py`): the photos are read with Pillow and resized to 32 × 32 colour, the same
ladder runs (scored on `validation/`), and the best rung predicts `test/` into `pred.csv`
(`Id,Category`), the file Kaggle took.

**What to expect.** The TA's four epochs leave the sample short of what the network can do, and
training longer is the largest single step (as in the original lab, where it is the first hint).
Trained longer, the network fits its few training images almost perfectly while its test
accuracy stalls: overfitting (过拟合). Augmentation and mixup make training harder (lower training
accuracy) in exchange for a smaller gap, TTA and the ensemble add a little each: in the full run
(3 000 images, 25 epochs) every rung up to the ensemble climbs, from 0.839 to 0.8975, 3 points of
it beyond training longer. The small residual net does not beat the CNN in as many epochs. In the
quick run (500 images, 12 epochs) augmentation and mixup still cost accuracy: they pay off only
with more training. The target is best ≥ sample + 3 points.

    mlseries run hw03 [--quick]
    mlseries run hw03 --data path/to/food11    # training/ validation/ test/ → pred.csv
"""
import time

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from ...course.ch07.resnet import Net
from ...course.registry import lesson
from ...course.training import (accuracy, check_loss, confusion_matrix, fashion_mnist, fashion_names,
                                outputs, plot_confusion)
from ..ladder import Ladder
from .food import read_food11, write_prediction

# sample_epochs: the TA's sample code trains Food-11 for 4 epochs; "train longer" is the next rung
FULL = dict(train=3000, test=2000, sample_epochs=4, epochs=25, models=3)
QUICK = dict(train=500, test=1000, sample_epochs=4, epochs=12, models=2)
TRAIN = dict(lr=1e-3, weight_decay=1e-5, batch=64, shift=1, alpha=0.2, food_size=32)
RESNET = dict(n=1, widths=(8, 16, 32), lr=3e-3)

CAPTIONS = {
    "ladder.png": ("每一级加入一个技巧后的测试准确率：训练更久是最大的一步；其余各级在这么少的数据上有得有失。",
                   "Test accuracy after each technique: training longer is the largest step; on this little "
                   "data the other rungs win or lose a little."),
    "curves.png": ("实线是测试、虚线是训练准确率：只训练更久时训练准确率冲向 100% 而测试停住（过拟合）；"
                   "加了增强和 mixup 后训练变难，两者的差距小得多。",
                   "Solid: test, dashed: training accuracy. Trained longer alone, training accuracy heads for 100 % "
                   "while test accuracy stalls (overfitting); with augmentation and mixup training is harder and "
                   "the gap much smaller."),
    "augment.png": ("同一批训练图像：原图、随机翻转与平移、以及 mixup 混合后的样子。",
                    "The same training images: as they are, randomly flipped and shifted, and blended by mixup."),
    "confusion.png": ("最佳模型的混淆矩阵：错误集中在衬衫、T 恤、套衫与外套之间。",
                      "The best model's confusion matrix: the mistakes are among shirts, T-shirts, pullovers and coats."),
}


# ---------------------------------------------------------------- models

class SampleCNN(nn.Module):
    """The TA's sample network, smaller: 3 × (conv 3×3 → BatchNorm → ReLU → max pool 2), then
    Linear → ReLU → Linear. LazyLinear finds the flattened size from the first batch, so the
    same class takes 28 × 28 grey images and 32 × 32 colour photos."""

    def __init__(self, channels, classes, widths=(16, 32, 64), hidden=128):
        super().__init__()
        layers, c = [], channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x):                 # x (B, C, H, W)
        return self.head(self.features(x))   # (B, classes)


def residual_net(channels, classes):
    """ch07.resnet's residual Net (one block per stage). Its stem is built for one grey channel;
    for colour photos we swap in a stem convolution with `channels` inputs (Net takes no argument
    for it, and copying the class here would duplicate ch07's code)."""
    net = Net(RESNET["n"], residual=True, widths=RESNET["widths"], classes=classes)
    if channels != 1:
        net.stem[0] = nn.Conv2d(channels, RESNET["widths"][0], 3, padding=1, bias=False)
    return net


# ---------------------------------------------------------------- augmentation, mixup, TTA

def shift(x, rng, pixels, flip=False):
    """Each image moved by up to `pixels` pixels in each direction (edge-padded, then cropped back
    to size), and with `flip` mirrored left–right with probability ½. x (B, C, H, W) → same shape.
    Fashion-MNIST's shoes all point left, so a mirror image is not a picture the test set holds:
    flips are for the Food-11 photos only."""
    b, _, h, w = x.shape
    if flip:
        mirrored = rng.random(b) < 0.5
        x = np.where(mirrored[:, None, None, None], x[..., ::-1], x)
    padded = np.pad(x, ((0, 0), (0, 0), (pixels, pixels), (pixels, pixels)), mode="edge")
    dy, dx = rng.integers(0, 2 * pixels + 1, size=(2, b))
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])


def mix(x, y, rng, alpha):
    """Mixup of a batch with a shuffled copy: (mixed x, y, y of the partner, λ)."""
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(len(x))
    return (lam * x + (1 - lam) * x[partner]).astype(np.float32), y, y[partner], lam


def tta_views(x, shift, flip=False):
    """The image, four copies shifted by `shift` pixels (up, down, left, right), and with `flip`
    its mirror."""
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)), mode="edge")
    h, w = x.shape[2:]
    views = [x] + ([x[..., ::-1]] if flip else [])
    for dy, dx in ((0, shift), (2 * shift, shift), (shift, 0), (shift, 2 * shift)):
        views.append(padded[:, :, dy:dy + h, dx:dx + w])
    return [np.ascontiguousarray(v) for v in views]


def softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def probabilities(model, x, tta=False, flip=False):
    """Class probabilities (N, classes), averaged over the TTA views when `tta`."""
    views = tta_views(x, TRAIN["shift"], flip) if tta else [x]
    return np.mean([softmax(outputs(model, v)) for v in views], axis=0)


# ---------------------------------------------------------------- training

def train(ctx, model, x, y, epochs, rng, augment=False, mixup=False, lr=None, valid=None, desc="training",
          flip=False):
    """Adam on mini-batches of cross-entropy, with shift (and `flip`) augmentation and mixup when asked.
    Returns the history: training loss, training-batch accuracy and `valid` accuracy per epoch."""
    optimizer = ms.optim.Adam(model.parameters(), lr=lr or TRAIN["lr"], weight_decay=TRAIN["weight_decay"])
    # every rung decays the rate to 0 along a cosine, so each model is scored where its training
    # settled, not at a random point of a noisy last epoch (the same for all rungs: a fair control)
    steps = epochs * -(-len(x) // TRAIN["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    history = dict(train_acc=[], valid_acc=[], loss=[])
    for epoch in range(epochs):
        model.train()
        order, total, correct = rng.permutation(len(x)), 0.0, 0.0
        for start in ctx.progress(range(0, len(x), TRAIN["batch"]), f"{desc} {epoch + 1}/{epochs}"):
            idx = order[start:start + TRAIN["batch"]]
            xb, yb = x[idx], y[idx]
            if augment:
                xb = shift(xb, rng, TRAIN["shift"], flip)
            if mixup:
                xb, ya, yb2, lam = mix(xb, yb, rng, TRAIN["alpha"])
                logits = model(ms.tensor(xb))                                       # (B, classes)
                loss = (lam * F.cross_entropy(logits, ms.tensor(ya))
                        + (1 - lam) * F.cross_entropy(logits, ms.tensor(yb2)))
                yb = ya if lam >= 0.5 else yb2          # "right" = the label with the larger share
            else:
                logits = model(ms.tensor(np.ascontiguousarray(xb)))
                loss = F.cross_entropy(logits, ms.tensor(yb))
            total += check_loss(loss.item(), f"{desc}, epoch {epoch + 1}") * len(idx)
            correct += float(np.sum(logits.detach().numpy().argmax(axis=1) == yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        history["loss"].append(total / len(x))
        history["train_acc"].append(correct / len(x))
        if valid is not None:
            history["valid_acc"].append(accuracy(model, *valid)[0])
    return history


# ---------------------------------------------------------------- figures

def plot_curves(histories):
    fig = viz.figure(figsize=(9.5, 4.4))
    ax = fig.add_subplot()
    for (label, history), color in zip(histories, (viz.COLORS["data"], viz.COLORS["learned"])):
        epochs = np.arange(1, len(history["train_acc"]) + 1)
        ax.plot(epochs, history["train_acc"], "--", color=color, label=viz.text(f"{label[0]}：训练", f"{label[1]}: train"))
        ax.plot(epochs, history["valid_acc"], "-", color=color, label=viz.text(f"{label[0]}：测试", f"{label[1]}: test"))
    ax.set(title=viz.text("训练与测试准确率", "Training and test accuracy"),
           xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("准确率", "accuracy"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig


def plot_augmentation(x, y, rng, flip):
    """Rows: original, shifted (and flipped), mixup of the shifted batch (λ in the title)."""
    n = 8
    shown = x[:n]
    moved = shift(shown, rng, TRAIN["shift"], flip)
    mixed, _, _, lam = mix(moved, y[:n], rng, TRAIN["alpha"])
    rows = [(viz.text("原图", "original"), shown), (viz.text("随机平移", "randomly shifted"), moved),
            (viz.text(f"mixup（λ = {lam:.2f}）", f"mixup (λ = {lam:.2f})"), mixed)]
    fig = viz.figure(figsize=(8.0, 4.6))
    for r, (label, images) in enumerate(rows):
        ax = fig.add_subplot(3, 1, r + 1)
        pictures = images.transpose(0, 2, 3, 1)                                   # (n, H, W, C)
        pictures = (pictures - pictures.min()) / (np.ptp(pictures) or 1.0)
        gap = np.ones((pictures.shape[1], 2, pictures.shape[3]))
        strip = np.concatenate([p for picture in pictures for p in (picture, gap)][:-1], axis=1)
        ax.imshow(strip[..., 0] if strip.shape[2] == 1 else strip, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=10)
        ax.set_axis_off()
    fig.suptitle(viz.text("训练时网络看到的图像", "What the network sees while training"))
    return fig


# ---------------------------------------------------------------- the lab

def load(ctx, cfg):
    """(x, y, x_test, y_test, class names, test images to predict or None) for the run."""
    if ctx.data is None:
        (x, y), (xt, yt) = fashion_mnist(60000, cfg["test"])
        pick = np.concatenate([np.flatnonzero(y == c)[:cfg["train"] // 10] for c in range(10)])
        ctx.log(f"substitute: Fashion-MNIST, {len(pick)} training images ({cfg['train'] // 10} per class), "
                f"{len(xt)} test images")
        return x[pick], y[pick], xt, yt, fashion_names(), None
    food = read_food11(ctx.data, TRAIN["food_size"])
    mean = food["x"].mean(axis=(0, 2, 3), keepdims=True)
    std = food["x"].std(axis=(0, 2, 3), keepdims=True) + 1e-6
    norm = lambda a: ((a - mean) / std).astype(np.float32)                       # noqa: E731
    ctx.log(f"{ctx.data}: {len(food['x'])} training, {len(food['x_valid'])} validation, "
            f"{len(food['x_test'])} test photos at {TRAIN['food_size']}×{TRAIN['food_size']}")
    classes = int(max(food["y"].max(), food["y_valid"].max())) + 1
    return (norm(food["x"]), food["y"], norm(food["x_valid"]), food["y_valid"],
            [str(c) for c in range(classes)], norm(food["x_test"]))


@lesson("hw03.classification", "HW3 图像分类：Food-11", "HW3 image classification: Food-11",
        data="the course's Food-11 folder (training/, validation/, test/ of <label>_<n>.jpg)")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    x, y, xt, yt, names, x_predict = load(ctx, cfg)
    channels, classes, epochs = x.shape[1], len(names), cfg["epochs"]
    flip = ctx.data is not None          # mirrored photos are still food; mirrored shoes are not in the test set
    ladder = Ladder(ctx, "hw03")
    predict = {}      # rung -> function(images) -> probabilities, for the prediction file and the confusions

    def cnn(seed):
        ms.manual_seed(seed)
        model = SampleCNN(channels, classes)
        model(ms.tensor(x[:2]))             # materialise LazyLinear before the optimiser sees it
        return model

    def fit(model, n_epochs, stream, desc, **kw):
        return train(ctx, model, x, y, n_epochs, ctx.rng(stream), desc=desc, flip=flip, **kw)

    def rung(name, zh, en, models, tta=False):
        """Score the average probabilities of `models` on the test set; keep the predictor."""
        predict[name] = lambda a: np.mean([probabilities(m, a, tta, flip) for m in models], axis=0)
        with ladder.rung(name, zh, en) as r:
            r.score = float(np.mean(predict[name](xt).argmax(axis=1) == yt))

    start = time.perf_counter()
    sample = cnn(ctx.seed)
    fit(sample, cfg["sample_epochs"], 1, "sample")
    rung("sample", "TA 样例 CNN", "TA's sample CNN", [sample])
    ladder.rungs[-1].seconds += time.perf_counter() - start

    start = time.perf_counter()
    longer = cnn(ctx.seed)
    h_longer = fit(longer, epochs, 2, "longer", valid=(xt, yt))
    rung("longer", "训练更久", "train longer", [longer])
    ladder.rungs[-1].seconds += time.perf_counter() - start

    start = time.perf_counter()
    augmented = cnn(ctx.seed)
    fit(augmented, epochs, 3, "augment", augment=True)
    rung("augment", "数据增强", "augmentation", [augmented])
    ladder.rungs[-1].seconds += time.perf_counter() - start

    start = time.perf_counter()
    mixed = cnn(ctx.seed)
    h_mixed = fit(mixed, epochs, 4, "mixup", augment=True, mixup=True, valid=(xt, yt))
    rung("mixup", "mixup", "mixup", [mixed])
    ladder.rungs[-1].seconds += time.perf_counter() - start

    rung("tta", "测试时增强", "test-time augmentation", [mixed], tta=True)

    start = time.perf_counter()
    members = [mixed]
    for m in range(1, cfg["models"]):
        members.append(cnn(ctx.seed + 100 * m))
        fit(members[-1], epochs, 10 + m, f"member {m + 1}", augment=True, mixup=True)
    rung("ensemble", "集成", "ensemble", members, tta=True)
    ladder.rungs[-1].seconds += time.perf_counter() - start

    start = time.perf_counter()
    ms.manual_seed(ctx.seed)
    resnet = residual_net(channels, classes)
    fit(resnet, epochs, 5, "residual", augment=True, mixup=True, lr=RESNET["lr"])
    rung("residual", "残差网络", "residual net", [resnet], tta=True)
    ladder.rungs[-1].seconds += time.perf_counter() - start

    best = ladder.finish()
    scores = {r.name: r.score for r in ladder.rungs}
    ctx.record(gain_points=100 * ladder.gain(), gain_beyond_longer_points=100 * (best.score - scores["longer"]))
    ctx.log(f"best rung {best.name}: {100 * ladder.gain():+.1f} points over the sample, "
            f"{100 * (best.score - scores['longer']):+.1f} of them beyond training longer")
    if ctx.data is None:
        ctx.check("best accuracy ≥ sample + 3 points", ladder.gain() >= 0.03)
    ctx.save_figure(plot_curves([(("训练更久", "train longer"), h_longer), (("增强+mixup", "augment + mixup"), h_mixed)]),
                    "curves.png")
    ctx.save_figure(plot_augmentation(x, y, ctx.rng(6), flip), "augment.png")
    pred = predict[best.name](xt).argmax(axis=1)
    ctx.save_figure(plot_confusion(confusion_matrix(yt, pred, classes), names,
                                   viz.text(f"最佳一级（{best.name}）的混淆矩阵", f"Confusions of the best rung ({best.name})")),
                    "confusion.png")
    if x_predict is not None:
        categories = predict[best.name](x_predict).argmax(axis=1)
        write_prediction(ctx.path("pred.csv"), categories)
        ctx.log(f"pred.csv: {len(categories)} predictions from the best rung ({best.name}) for Kaggle")
