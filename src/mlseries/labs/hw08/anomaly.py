"""hw08.anomaly — HW8 异常检测 / Anomaly detection with auto-encoders, one model at a time.

**The original lab.** HW8 of ML 2022 Spring trains only on normal data — 64 × 64 photos of human
faces — and asks for a score per test image that is larger for anomalies (异常), the images that
are not like the training faces. There are no anomaly labels to learn from, so the idea is an
auto-encoder (自编码器): trained to rebuild normal images through a narrow bottleneck, it rebuilds
them well and anything unlike them badly, so the reconstruction error (重建误差) is the anomaly
score. The leaderboard used ROC AUC (the probability that a random anomaly scores above a random
normal image; 0.5 is guessing, 1 is perfect). The TA's sample code has three models to try: a
fully connected auto-encoder, a convolutional one and a variational one (VAE, 变分自编码器).

**The offline substitute.** Fashion-MNIST split by class: the six clothing classes (T-shirt,
trouser, pullover, dress, coat, shirt) are "normal" and the only ones trained on; the test set
holds all ten classes, and sandals, sneakers, bags and ankle boots — classes the model never saw —
are the anomalies.
Images are padded from 28 × 28 to 32 × 32 so the same convolutional shapes as the TA's halve
three times. Kept: training on normal data only, unseen kinds of image as anomalies, scoring by
reconstruction and ROC AUC. Lost: colour and faces (the original anomalies were faces of other
kinds, e.g. with odd lighting or in another style); the course published no thresholds.

**The ladder (阶梯)**, each a model the TA's code offers, trained on normal images alone with Adam
on the mean squared reconstruction error (pixels in [−1, 1], Tanh output):

1. *fc* — the sample: a fully connected auto-encoder, pixels → 128 → 64 → 12 → 64 → 128 →
   pixels; the 12-number code must describe a whole image, and the dense layers ignore that
   neighbouring pixels belong together.
2. *cnn* — a convolutional auto-encoder: three 4 × 4 convolutions with stride 2 (12, 24, 48
   channels) down to a 4 × 4 map, and three transposed convolutions (转置卷积) back up; it keeps
   where things are and rebuilds normal shapes sharply, so unseen shapes stand out more.
3. *vae* — a convolutional VAE (the TA's layout): the encoder gives a mean and a log-variance
   map, z = μ + σ·ε is decoded, and a KL term (KL 散度) keeps the codes near N(0, I); at test time
   the mean μ is decoded and the reconstruction error is the score. The KL term keeps the
   code from memorising anything it is given, so unseen classes are rebuilt as something normal.
4. *elbo* — the same VAE, scored by its whole loss (reconstruction + KL, the negative ELBO 证据下界):
   an image whose code lies far from where normal codes lie is suspicious too, even when it is
   rebuilt well.

**A second view, with faces** (for context, no target): scikit-image's small LFW subset — 25 × 25
grey faces and as many background patches that are not faces. The FC and CNN auto-encoders train
on 80 faces and score the 20 held-out faces against the 100 non-faces: the same idea on data much
closer to the original's, with far too few images (full run: ROC AUC 0.823 for the FC
auto-encoder, 0.306 — worse than chance — for the convolutional one, which rebuilds the smooth
background patches better than the faces it was trained on).

**With the course's files** (`--data FOLDER` holding `trainingset.npy` and `testingset.npy`, see
`faces.py`): each model trains on 90 % of the training faces; with no anomaly labels in the test
set, the ladder's score is the ROC AUC between the 10 % held-out training faces (all normal) and
the test set (normal and anomalous), which rises above 0.5 as the model singles out the test
set's anomalies. The best rung's scores of the test images go to `prediction.csv` (`ID,score`).

**What to expect.** The ladder here does not climb, and that is its lesson. The fully connected
sample, squeezing each image through 12 numbers, is the best detector (full run: ROC AUC 0.977):
it can only rebuild the kind of picture it was trained on. The convolutional auto-encoder rebuilds
*everything* better, anomalies included — its 256-number code map keeps where each stroke is, so
shoes come back as shoes and the error tells less (0.9047). The VAE's KL term narrows its code
again and it lands between them (0.9165; in the quick run's few epochs it has barely learned);
scoring it by the whole −ELBO does not help (0.8989). A better reconstruction is not a better
anomaly score: the bottleneck must be narrow enough that what was not seen cannot pass. The
target (best ROC AUC ≥ 0.9 on the class split) is met. (The class split: every clothing class is
normal, shoes and bags are the anomalies; with half the clothing classes unseen instead — shirts
among the anomalies — no model here reached 0.9 in a quick trial: 0.85 for the best.)

    mlseries run hw08 [--quick]
    mlseries run hw08 --data path/to/folder    # trainingset.npy + testingset.npy → prediction.csv
"""
import time

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

import mlseries as ms
from mlseries import datasets, nn, viz

from ...course.ch10.autoencoder import kl_divergence
from ...course.registry import lesson
from ...course.training import FASHION_ZH, check_loss
from ..ladder import Ladder
from .faces import read_faces, write_prediction

FULL = dict(train=12000, test=4000, epochs=15, face_epochs=300)
QUICK = dict(train=2000, test=1000, epochs=6, face_epochs=80)
NORMAL = (0, 1, 2, 3, 4, 6)   # the clothes: T-shirt, trouser, pullover, dress, coat, shirt; shoes and bags are anomalies
TRAIN = dict(lr=1e-3, batch=128, kl_weight=1.0, held_out=0.1)

CAPTIONS = {
    "ladder.png": ("每个模型的 ROC AUC（越高越好）：瓶颈最窄的全连接样例模型最好，重建得更好的模型反而更差。",
                   "Each model's ROC AUC (higher is better): the fully connected sample, with the narrowest "
                   "bottleneck, is best; the models that rebuild better detect worse."),
    "roc.png": ("各模型的 ROC 曲线：越靠近左上角，越能在误报很少时抓住异常。",
                "Each model's ROC curve: the closer to the top-left corner, the more anomalies caught for few false alarms."),
    "scores.png": ("最佳模型的异常分数：正常类别（训练时见过）集中在低处，没见过的鞋和包更高。",
                   "The best model's anomaly scores: the normal (seen) classes sit low, the unseen shoes and bags higher."),
    "reconstructions.png": ("测试图像（上）与最佳模型的重建（下）：正常的衣服大致重建出来，鞋和包被重建成模糊的、像衣服的形状。",
                            "Test images (top) and the best model's reconstructions (bottom): normal clothes come back "
                            "roughly; shoes and bags come back as blurred, clothes-like shapes."),
}


# ---------------------------------------------------------------- models

class FCAutoEncoder(nn.Module):
    """The TA's fully connected auto-encoder, on C·S·S pixels: → 128 → 64 → 12 → 64 → 128 → pixels."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape
        d = int(np.prod(shape))
        self.encoder = nn.Sequential(nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 12))
        self.decoder = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(),
                                     nn.Linear(128, d), nn.Tanh())

    def forward(self, x):                                   # x (B, C, S, S)
        out = self.decoder(self.encoder(x.reshape(len(x), -1)))
        return out.reshape(len(x), *self.shape)             # (B, C, S, S)


def code_channels(c):
    """The code's channels: 48 for colour as in the TA's code (a code map 4 times smaller than the
    image), 16 for grey images, keeping that ratio (48 would let the code copy the image)."""
    return 16 * c


def _down(c):
    """The TA's encoder: three 4×4 stride-2 convolutions, S → S/8 (the last one left to the caller)."""
    return [nn.Conv2d(c, 12, 4, stride=2, padding=1), nn.ReLU(), nn.Conv2d(12, 24, 4, stride=2, padding=1), nn.ReLU()]


def _up(c):
    """The TA's decoder: three 4×4 stride-2 transposed convolutions, S/8 → S, Tanh to [−1, 1]."""
    return nn.Sequential(nn.ConvTranspose2d(code_channels(c), 24, 4, stride=2, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(24, 12, 4, stride=2, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(12, c, 4, stride=2, padding=1), nn.Tanh())


class ConvAutoEncoder(nn.Module):
    def __init__(self, shape):
        super().__init__()
        c = shape[0]
        self.encoder = nn.Sequential(*_down(c), nn.Conv2d(24, code_channels(c), 4, stride=2, padding=1), nn.ReLU())
        self.decoder = _up(c)

    def forward(self, x):                                   # x (B, C, S, S)
        return self.decoder(self.encoder(x))                # code (B, 48, S/8, S/8) → (B, C, S, S)


class ConvVAE(nn.Module):
    """The TA's VAE: a shared encoder, then one convolution for μ and one for log σ² (maps of
    48 × S/8 × S/8), z = μ + σ·ε, and the convolutional decoder."""

    def __init__(self, shape):
        super().__init__()
        c = shape[0]
        self.encoder = nn.Sequential(*_down(c))
        self.to_mu = nn.Conv2d(24, code_channels(c), 4, stride=2, padding=1)
        self.to_logvar = nn.Conv2d(24, code_channels(c), 4, stride=2, padding=1)
        self.decoder = _up(c)

    def forward(self, x):                                   # x (B, C, S, S)
        h = self.encoder(x)                                 # (B, 24, S/4, S/4)
        mu, logvar = self.to_mu(h), self.to_logvar(h)       # (B, 48, S/8, S/8) each
        z = mu + ms.exp(0.5 * logvar) * ms.randn_like(mu) if self.training else mu
        return self.decoder(z), mu, logvar


# ---------------------------------------------------------------- training and scores

def losses(model, xb):
    """(squared reconstruction error summed over pixels, KL) per image: (B,) tensors."""
    if isinstance(model, ConvVAE):
        out, mu, logvar = model(xb)
        kl = kl_divergence(mu.reshape(len(xb), -1), logvar.reshape(len(xb), -1))
    else:
        out, kl = model(xb), ms.zeros(len(xb))
    return ((out - xb) ** 2).reshape(len(xb), -1).sum(dim=1), kl


def train(ctx, model, x, epochs, rng, desc):
    """Adam on the mean per-image loss (squared error + KL for the VAE)."""
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        for start in ctx.progress(range(0, len(x), TRAIN["batch"]), f"{desc} {epoch + 1}/{epochs}"):
            rec, kl = losses(model, ms.tensor(x[order[start:start + TRAIN["batch"]]]))
            loss = (rec + TRAIN["kl_weight"] * kl).mean()
            check_loss(loss.item(), f"{desc}, epoch {epoch + 1}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def scores(model, x, elbo=False, batch=500):
    """Anomaly score per image: mean squared reconstruction error per pixel (VAE: decoding μ), or
    with `elbo` the VAE's whole loss per pixel (reconstruction + KL)."""
    model.eval()
    out = []
    with ms.no_grad():
        for start in range(0, len(x), batch):
            rec, kl = losses(model, ms.tensor(x[start:start + batch]))
            out.append((rec + (TRAIN["kl_weight"] * kl if elbo else 0)).numpy())
    return np.concatenate(out) / np.prod(x.shape[1:])


def reconstruct(model, x):
    model.eval()
    with ms.no_grad():
        out = model(ms.tensor(x))
    return (out[0] if isinstance(out, tuple) else out).numpy()


# ---------------------------------------------------------------- data

def fashion_split(cfg, rng):
    """Normal training images, test images with labels and is-anomaly flags; (N, 1, 32, 32) in [−1, 1]."""
    train = datasets.FashionMNIST(train=True).as_arrays()
    test = datasets.FashionMNIST(train=False).as_arrays()

    def prepare(x):
        x = x * 2.0 - 1.0                                                  # [0, 1] → [−1, 1]
        return np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1.0).astype(np.float32)

    x, y = train
    normal = rng.permutation(np.flatnonzero(np.isin(y, NORMAL)))[:cfg["train"]]
    xt, yt = test
    pick = rng.permutation(len(xt))[:cfg["test"]]
    return prepare(x[normal]), prepare(xt[pick]), yt[pick], ~np.isin(yt[pick], NORMAL)


def faces_view(rng):
    """The second view, closer to the original: scikit-image's LFW subset. Train on 80 faces; test
    on the 20 held-out faces (normal) and all 100 non-faces (background patches, never trained on).
    25 × 25 grey, edge-padded to 32 × 32, in [−1, 1]. Returns x, x_test, is-anomaly flags."""
    train, test = datasets.LFWSubset("train"), datasets.LFWSubset("test")

    def prepare(images):
        x = images[:, None] * 2.0 - 1.0                                           # (N, 1, 25, 25)
        return np.pad(x, ((0, 0), (0, 0), (3, 4), (3, 4)), mode="edge").astype(np.float32)

    x = prepare(train.images[train.labels == 1])
    x_test = prepare(np.concatenate([test.images[test.labels == 1], train.images[train.labels == 0],
                                     test.images[test.labels == 0]]))
    n_faces = int((test.labels == 1).sum())
    anomaly = np.arange(len(x_test)) >= n_faces                                  # faces first
    return x, x_test, anomaly


# ---------------------------------------------------------------- figures

def plot_roc(curves):
    fig = viz.figure(figsize=(8.6, 4.8))
    ax = fig.add_subplot()
    for label, (fpr, tpr, auc) in curves:
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color=viz.COLORS["reference"], label=viz.text("瞎猜", "guessing"))
    ax.set(title=viz.text("ROC 曲线", "ROC curves"), xlabel=viz.text("误报率", "false-positive rate"),
           ylabel=viz.text("检出率", "true-positive rate"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    return fig


def plot_scores(s, labels, title):
    """One box per class of the test set, normal classes first."""
    order = list(NORMAL) + [c for c in range(10) if c not in NORMAL]
    fig = viz.figure(figsize=(9.0, 4.4))
    ax = fig.add_subplot()
    boxes = ax.boxplot([s[labels == c] for c in order], showfliers=False, patch_artist=True)
    for c, patch in zip(order, boxes["boxes"]):
        patch.set_facecolor(viz.COLORS["data"] if c in NORMAL else viz.COLORS["learned"])
    names = [viz.text(FASHION_ZH[c], datasets.FashionMNIST.classes[c].split("/")[0], sep="\n") for c in order]
    ax.set_xticks(np.arange(1, 11), names, fontsize=8)
    ax.set(title=title, xlabel=viz.text("类别（蓝：正常，红：异常）", "class (blue: normal, red: anomaly)"),
           ylabel=viz.text("异常分数", "anomaly score"))
    return fig


def plot_reconstructions(x, rec, labels, count=10):
    """Top row: test images (5 normal, 5 anomalies); bottom: their reconstructions."""
    seen = np.isin(labels, NORMAL)
    idx = np.concatenate([np.flatnonzero(seen)[:count // 2], np.flatnonzero(~seen)[:count // 2]])
    fig = viz.figure(figsize=(9.0, 2.6))
    for row, (images, title) in enumerate([(x[idx], viz.text("测试图像（左 5 个正常，右 5 个异常）",
                                                             "test images (left 5 normal, right 5 anomalies)")),
                                           (rec[idx], viz.text("重建", "reconstructions"))]):
        ax = fig.add_subplot(2, 1, row + 1)
        pictures = (images.transpose(0, 2, 3, 1) + 1) / 2                        # (n, S, S, C) in [0, 1]
        gap = np.ones((pictures.shape[1], 2, pictures.shape[3]))
        strip = np.concatenate([p for picture in pictures for p in (picture, gap)][:-1], axis=1)
        ax.imshow(np.clip(strip[..., 0] if strip.shape[2] == 1 else strip, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.suptitle(viz.text("最佳模型的重建", "The best model's reconstructions"))
    return fig


# ---------------------------------------------------------------- the lab

RUNGS = [("fc", "TA 样例：全连接 AE", "TA's sample: FC AE"),
         ("cnn", "卷积 AE", "CNN AE"),
         ("vae", "VAE，重建误差", "VAE, reconstruction"),
         ("elbo", "VAE，负 ELBO", "VAE, negative ELBO")]


@lesson("hw08.anomaly", "HW8 异常检测：自编码器", "HW8 anomaly detection: auto-encoders",
        data="a folder with the course's trainingset.npy and testingset.npy")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    rng = ctx.rng(1)
    if ctx.data is None:
        x, x_test, y_test, anomaly = fashion_split(cfg, rng)
        ctx.log(f"substitute: Fashion-MNIST, {len(x)} training images of the normal classes "
                f"{', '.join(datasets.FashionMNIST.classes[c] for c in NORMAL)}; {len(x_test)} test images, "
                f"{int(anomaly.sum())} of them anomalies (the classes not trained on)")
        x_score, truth = x_test, anomaly
    else:
        faces = read_faces(ctx.data)
        order = rng.permutation(len(faces["train"]))
        n_held = max(1, int(round(TRAIN["held_out"] * len(order))))
        held, x = faces["train"][order[:n_held]], faces["train"][order[n_held:]]
        x_test = faces["test"]
        x_score = np.concatenate([held, x_test])
        truth = np.r_[np.zeros(len(held), bool), np.ones(len(x_test), bool)]   # held-out normal vs test set
        ctx.log(f"{ctx.data}: {len(x)} training faces, {len(held)} held out, {len(x_test)} test images "
                f"of shape {x_test.shape[1:]}; the score is held-out normal faces vs the test set")
    shape = x.shape[1:]
    ladder = Ladder(ctx, "hw08")
    models, all_scores = {}, {}
    for name, zh, en in RUNGS:
        start = time.perf_counter()
        if name != "elbo":
            ms.manual_seed(ctx.seed)
            models[name] = {"fc": FCAutoEncoder, "cnn": ConvAutoEncoder, "vae": ConvVAE}[name](shape)
            train(ctx, models[name], x, cfg["epochs"], ctx.rng(10 + len(models)), name)
        model = models["vae" if name == "elbo" else name]
        all_scores[name] = scores(model, x_score, elbo=name == "elbo")
        ladder.add(name, zh, en, roc_auc_score(truth, all_scores[name]), time.perf_counter() - start)
    best = ladder.finish()
    if ctx.data is None:
        ctx.check("best ROC AUC ≥ 0.9 on the class split", best.score >= 0.9)
        labels = {n: viz.text(zh, en) for n, zh, en in RUNGS}
        ctx.save_figure(plot_roc([(labels[n], (*roc_curve(truth, s)[:2], roc_auc_score(truth, s)))
                                  for n, s in all_scores.items()]), "roc.png")
        ctx.save_figure(plot_scores(all_scores[best.name], y_test,
                                    viz.text(f"各类别的异常分数（{best.technique_zh}）",
                                             f"Anomaly score by class ({best.technique_en})")), "scores.png")
        best_model = models["vae" if best.name == "elbo" else best.name]
        ctx.save_figure(plot_reconstructions(x_test, reconstruct(best_model, x_test[:500]), y_test[:500]),
                        "reconstructions.png")
        # a second view, for context (no target): faces normal, non-faces anomalies
        xf, xf_test, f_anomaly = faces_view(rng)
        for name, make in (("fc", FCAutoEncoder), ("cnn", ConvAutoEncoder)):
            ms.manual_seed(ctx.seed)
            model = make(xf.shape[1:])
            train(ctx, model, xf, cfg["face_epochs"], ctx.rng(30), f"faces {name}")
            ctx.record(**{f"faces_auc_{name}": roc_auc_score(f_anomaly, scores(model, xf_test))})
        ctx.log(f"second view, scikit-image's faces ({len(xf)} training faces) vs non-faces: ROC AUC "
                f"FC AE {ctx.metrics['faces_auc_fc']:.3f}, CNN AE {ctx.metrics['faces_auc_cnn']:.3f}")
    else:
        test_scores = all_scores[best.name][-len(x_test):]
        write_prediction(ctx.path("prediction.csv"), test_scores)
        ctx.log(f"prediction.csv: {len(test_scores)} anomaly scores from the best rung ({best.name}) for Kaggle")
