"""hw11.adapt — 领域自适应：只用源域标签，在目标域上识别 / HW11 domain adaptation.

**The original lab.** 5 000 labelled real photographs of ten kinds of object (the source domain,
源域) and 100 000 unlabelled line drawings of the same ten kinds (the target domain, 目标域): train
on the photos' labels and classify the drawings. A network trained on photos alone does poorly on
drawings (the leaderboard's simple baseline, 0.446): what it learned to look at — colour, texture —
is not there. Domain adaptation (领域自适应) uses the unlabelled target images too, so that the
features the classifier relies on look the same in both domains.

**The substitute.** MNIST digits, white strokes on black, labelled (10 000 in the full run) are the
source; other MNIST digits in another style are the target, unlabelled (10 000): each is laid over a
random 28×28 crop of one of scikit-image's sample photographs and textures, and the pixel becomes
|background − digit| (MNIST-M's recipe, in grey; `domains.py`), so strokes are dark on bright
patches and bright on dark ones, among the photo's own edges. It keeps the lab's setting — same
classes, labels only in one domain, a shift in style that a source-trained network does not
survive — and the method; it loses the photographs-to-drawings gap itself (a larger one: the
objects' shapes differ too, where here only the style does). The score is the accuracy on
held-out target-domain images (MNIST test digits in the target style), whose labels training
never sees.

**The rungs** (the TA's kind of network, smaller — conv-BN-ReLU-pool ×3 with 32/48/64 channels as
the feature extractor, two linear layers as the label predictor; Adam; `dann.py`):

1. *Source only (the TA's sample)* — trained on the labelled source images alone. It is nearly
   perfect on the source and poor on the target: nothing asked its features to ignore the style.
2. *DANN* (域对抗训练, Ganin & Lempitsky 2015) — a domain classifier (域分类器) reads the same
   features through a gradient-reversal layer (梯度反转层): it learns to tell source from target,
   and the reversed gradient teaches the feature extractor to make them indistinguishable, while
   the label loss on the source keeps the features useful for digits. λ, the weight of the
   reversed gradient, rises as 2/(1+e^(−10p)) − 1 over training progress p (times a maximum,
   `TRAIN["lambda_max"]`), so the label predictor first finds features worth aligning.
3. *DANN + pseudo-labels* (伪标签) — the DANN model labels the target training images; those it is
   confident about (softmax ≥ `TRAIN["threshold"]`) join the labelled data for a second phase of
   DANN training, re-chosen every epoch: the target domain now contributes labels of its own, and
   as the model improves more images pass the threshold.

For context, not a rung: the same network trained on *labelled* target images (an upper bound a
real lab never has), recorded as `target_oracle`.

**Target:** DANN ≥ source-only + 15 points of target-domain accuracy (issue 16).

**What to expect** (full run, docs/labs.md): the source-only network is nearly perfect on MNIST
(0.9915) and gets under a third of the target digits right (0.311); DANN lifts that to 0.6645
(+35.4 points) and pseudo-labels to 0.671, while a network given the target's labels reaches
0.9315 — a good part of the gap is still there. The t-SNE picture shows why: DANN's alignment is
partial, most target images still form a region of their own; the domain classifier, a small
network chased by the features, is fooled well before the two domains' features are alike.

**With the course's files** (`--data FOLDER`, `real_or_drawing/` with `train_data/<class>/<n>.bmp`
and `test_data/0/<n>.bmp`, see `drawings.py`): the photos and drawings are read grey at 28×28, the
ladder's best rung (DANN + pseudo-labels) is trained on them, and `submission.csv` (`id,label`) is
written. No target labels: no ladder, only the prediction file.

    mlseries run hw11 [--quick]
    mlseries run hw11 --data path/to/real_or_drawing     # → submission.csv
"""
import time

import numpy as np
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

import mlseries as ms
from mlseries import viz

from ...course.registry import lesson
from ...course.training import accuracy, outputs
from ..ladder import Ladder
from .dann import DomainNet, features, pseudo_labels, train
from .domains import digit_domains
from .drawings import read_real_or_drawing, write_submission

# images per domain; the target test set is held out (MNIST's test digits in the target style)
FULL = dict(source=6000, target=6000, test=2000, epochs=5, pseudo_epochs=2, tsne=600)
QUICK = dict(source=2000, target=2000, test=1000, epochs=4, pseudo_epochs=2, tsne=300)
TRAIN = dict(optimizer="sgd", lr=0.01, batch=64, lambda_max=0.3, threshold=0.9)

CAPTIONS = {
    "ladder.png": ("每个台阶在目标域测试图像上的准确率：只用源域训练的样例最差，DANN 让两个域的特征对齐后大幅提升。",
                   "Each rung's accuracy on held-out target-domain images: the source-only sample is worst; DANN, "
                   "aligning the two domains' features, gains the most."),
    "domains.png": ("两个域：上面是有标签的源域（MNIST），下面是没有标签的目标域（同样的数字叠在照片和纹理上，取差的绝对值）。",
                    "The two domains: labelled source digits (MNIST, top) and unlabelled target digits (the same "
                    "kind of digit over photographs and textures, |background − digit|, bottom)."),
    "features.png": ("特征的 t-SNE 图，按域着色（左：只用源域，右：DANN）。DANN 之后大多数目标域图像仍自成一片："
                     "域分类器是个被特征追着跑的小网络，在特征真正相同之前就被骗过了；混合度（每个目标点的 10 个最近邻中源域点的比例，"
                     "完全混合时为 0.5）只略有上升。DANN 的对齐在这里是部分的。",
                     "t-SNE of the features, coloured by domain (left: source only, right: DANN). After DANN most "
                     "target images still form a region of their own: the domain classifier, a small network chased "
                     "by the features, is fooled well before the features are alike, and the mixing (the share of "
                     "source points among each target point's 10 nearest neighbours, 0.5 when fully mixed) rises "
                     "only a little. DANN's alignment here is partial."),
    "dann_training.png": ("DANN 训练中：λ 按 2/(1+e^(−10p))−1 上升；域分类器的准确率随双方轮流占上风而起伏——它学会分辨两个域（约 0.9），"
                          "反转的梯度改变特征，直到它差得多（0.5–0.7），如此往复。",
                          "During DANN: λ rises as 2/(1+e^(−10p))−1; the domain classifier's accuracy swings as the two "
                          "sides take turns: it learns to tell the domains apart (about 0.9), the reversed gradient "
                          "changes the features until it does much worse (0.5–0.7), and again."),
}


# ---------------------------------------------------------------- figures

def plot_domains(source, target, count=10):
    fig = viz.figure(figsize=(9.0, 2.5))
    for row, (images, title) in enumerate([(source[:count], viz.text("源域：有标签的 MNIST", "source: labelled MNIST")),
                                           (target[:count], viz.text("目标域：无标签，风格不同",
                                                                     "target: unlabelled, another style"))]):
        ax = fig.add_subplot(2, 1, row + 1)
        gap = np.ones((images.shape[2], 2))
        strip = np.concatenate([p for image in images for p in (image[0], gap)][:-1], axis=1)
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.suptitle(viz.text("两个域的例子", "Examples of the two domains"))
    return fig


def mixing(feats, n_source, k=10):
    """How mixed the domains are in feature space: the mean share of source points among each
    target point's k nearest neighbours (the other points, Euclidean). 0: the domains apart;
    n_source / (N − 1) ≈ 0.5 with equal counts: fully mixed."""
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(feats).kneighbors(feats[n_source:])
    return float(np.mean(idx[:, 1:] < n_source))


def plot_features(embeddings, n_source, accuracies):
    """One t-SNE panel per model: source points blue, target points red."""
    fig = viz.figure(figsize=(10.0, 5.2))
    for i, ((title, points, mix), acc) in enumerate(zip(embeddings, accuracies)):
        ax = fig.add_subplot(1, len(embeddings), i + 1)
        ax.scatter(*points[:n_source].T, s=6, alpha=0.6, color=viz.COLORS["data"], label=viz.text("源域", "source"))
        ax.scatter(*points[n_source:].T, s=6, alpha=0.6, color=viz.COLORS["learned"], label=viz.text("目标域", "target"))
        ax.set_title(f"{title}\n" + viz.text(f"目标域准确率 {acc:.3f}，混合度 {mix:.2f}",
                                             f"target accuracy {acc:.3f}, mixing {mix:.2f}"), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, markerscale=3)
    fig.suptitle(viz.text("特征提取器的输出（t-SNE），按域着色", "The feature extractor's output (t-SNE), coloured by domain"))
    return fig


def plot_dann_training(history, steps_per_epoch):
    step, lambd, acc = np.array(history).T
    fig = viz.figure(figsize=(8.6, 4.6))
    ax = fig.add_subplot()
    epoch = step / steps_per_epoch
    # the classifier's accuracy on one batch is noisy: a running mean over 5 readings
    smooth = np.convolve(acc, np.ones(5) / 5, mode="valid")
    ax.plot(epoch, acc, color=viz.COLORS["grid"], lw=1)
    ax.plot(epoch[2:-2], smooth, color=viz.COLORS["learned"], label=viz.text("域分类器准确率（平滑）",
                                                                        "domain classifier accuracy (smoothed)"))
    ax.plot(epoch, lambd / TRAIN["lambda_max"], color=viz.COLORS["data"],
            label=f"λ / {TRAIN['lambda_max']:g}")
    ax.axhline(0.5, ls=":", color=viz.COLORS["reference"], lw=1, label=viz.text("分不出（0.5）", "indistinguishable (0.5)"))
    fig.suptitle(viz.text("DANN 的对抗：域分类器与特征提取器", "DANN's contest: the domain classifier against the features"))
    ax.set(xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("准确率 / 相对 λ", "accuracy / relative λ"), ylim=(0, 1.05))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8)
    return fig


# ---------------------------------------------------------------- the lab

def dann_then_pseudo(ctx, model, source, x_target, train_cfg, rng, hidden=None):
    """Rung 3's second phase on a DANN-trained model: pseudo-label the confident target images,
    train on them with the source (DANN still on, λ at its end value), re-choosing them each epoch.
    `hidden` (the target's true labels, never trained on) only reports how right the pseudo-labels are."""
    for epoch in range(train_cfg["pseudo_epochs"]):
        keep, labels = pseudo_labels(model, x_target, TRAIN["threshold"])
        right = f", {np.mean(labels == hidden[keep]):.1%} of them right" if hidden is not None and len(keep) else ""
        ctx.log(f"pseudo-labels, epoch {epoch + 1}: {len(keep)} of {len(x_target)} target images "
                f"≥ {TRAIN['threshold']}{right}")
        if len(keep) == 0:
            break
        train(ctx, model, source, x_target, dict(train_cfg, pseudo_epochs=1), rng, "pseudo-labels",
              pseudo=(x_target[keep], labels), lambdas=(1.0, 1.0))
    return len(keep)


@lesson("hw11.adapt", "HW11 领域自适应：DANN 与伪标签", "HW11 domain adaptation: DANN and pseudo-labels",
        data="the course's real_or_drawing folder (train_data/<class>/<n>.bmp, test_data/0/<n>.bmp)")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    if ctx.data is not None:
        return run_on_files(ctx, cfg)
    rng = ctx.rng(1)
    (xs, ys), (xt, yt_hidden), (x_test, y_test) = digit_domains(cfg["source"], cfg["target"], cfg["test"], rng)
    ctx.log(f"source: {len(xs)} labelled MNIST digits; target: {len(xt)} unlabelled digits in the target style; "
            f"target test set: {len(x_test)} held-out images")
    train_cfg = dict(TRAIN, epochs=cfg["epochs"], pseudo_epochs=cfg["pseudo_epochs"])
    source = (xs, ys)
    ladder = Ladder(ctx, "hw11")
    models = {}

    ms.manual_seed(ctx.seed)
    models["source"] = DomainNet()
    with ladder.rung("source", "只用源域（样例）", "source only (sample)") as rung:
        train(ctx, models["source"], source, xt, train_cfg, ctx.rng(2), "source only", adapt=False)
        rung.score = accuracy(models["source"], x_test, y_test)[0]
    ctx.record(source_on_source=accuracy(models["source"], xs[:2000], ys[:2000])[0])

    ms.manual_seed(ctx.seed)
    models["dann"] = DomainNet()
    with ladder.rung("dann", "DANN（梯度反转）", "DANN (gradient reversal)") as rung:
        history = train(ctx, models["dann"], source, xt, train_cfg, ctx.rng(3), "DANN")
        rung.score = accuracy(models["dann"], x_test, y_test)[0]
    n = cfg["tsne"]                                                          # before phase two changes it:
    dann_features = np.concatenate([features(models["dann"], xs[:n]), features(models["dann"], x_test[:n])])
    dann_acc = rung.score

    with ladder.rung("pseudo", "DANN + 伪标签", "DANN + pseudo-labels") as rung:
        kept = dann_then_pseudo(ctx, models["dann"], source, xt, train_cfg, ctx.rng(4), hidden=yt_hidden)
        rung.score = accuracy(models["dann"], x_test, y_test)[0]
    ctx.record(pseudo_kept=kept)

    # for context: the same network trained on labelled target images (a lab never has them)
    ms.manual_seed(ctx.seed)
    oracle = DomainNet()
    start = time.perf_counter()
    train(ctx, oracle, (xt, yt_hidden), xt, train_cfg, ctx.rng(5), "target labels (upper bound)", adapt=False)
    ctx.record(target_oracle=accuracy(oracle, x_test, y_test)[0])
    ctx.log(f"upper bound, trained on the target's labels: {ctx.metrics['target_oracle']:.4f} "
            f"({time.perf_counter() - start:.0f} s)")

    ladder.finish()
    scores = {r.name: r.score for r in ladder.rungs}
    ctx.log(f"DANN − source only: {100 * (scores['dann'] - scores['source']):+.1f} points on the target domain")

    ctx.save_figure(plot_domains(xs, xt), "domains.png")
    embeddings = []
    for (key, title), feats in ((("source", viz.text("只用源域", "source only")),
                          np.concatenate([features(models["source"], xs[:n]), features(models["source"], x_test[:n])])),
                         (("dann", "DANN"), dann_features)):
        ctx.record(**{f"mixing_{key}": mixing(feats, n)})
        embeddings.append((title, TSNE(init="pca", perplexity=30, random_state=0).fit_transform(feats),
                           ctx.metrics[f"mixing_{key}"]))
    ctx.save_figure(plot_features(embeddings, n, [scores["source"], dann_acc]), "features.png")
    ctx.save_figure(plot_dann_training(history, cfg["source"] // TRAIN["batch"]), "dann_training.png")

    ctx.check("DANN ≥ source only + 15 points on the target domain", scores["dann"] >= scores["source"] + 0.15)


def run_on_files(ctx, cfg):
    """--data: the course's photos (source) and drawings (target); the best rung, DANN then
    pseudo-labels, trained on all of them; submission.csv for the drawings."""
    files = read_real_or_drawing(ctx.data)
    xs, ys, xt = files["x"], files["y"], files["x_target"]
    ctx.log(f"{ctx.data}: {len(xs)} labelled photos in {len(set(ys.tolist()))} classes, {len(xt)} unlabelled "
            f"drawings; all grey at 28×28")
    train_cfg = dict(TRAIN, epochs=cfg["epochs"], pseudo_epochs=cfg["pseudo_epochs"],
                     batch=min(TRAIN["batch"], len(xs), len(xt)))
    ms.manual_seed(ctx.seed)
    model = DomainNet()
    train(ctx, model, (xs, ys), xt, train_cfg, ctx.rng(3), "DANN")
    ctx.record(source_accuracy=accuracy(model, xs, ys)[0])
    dann_then_pseudo(ctx, model, (xs, ys), xt, train_cfg, ctx.rng(4))
    labels = outputs(model, xt).argmax(axis=1)
    write_submission(ctx.path("submission.csv"), labels)
    ctx.save_figure(plot_domains(xs, xt), "domains.png")
    ctx.log(f"submission.csv: {len(labels)} predicted labels (id in test_data/0's file-name order)")
