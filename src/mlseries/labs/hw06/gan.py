"""hw06.gan — 图像生成：DCGAN、WGAN、WGAN-GP / HW06 image generation: DCGAN → WGAN → WGAN-GP.

**The original lab.** Train a generative adversarial network (生成对抗网络, GAN) on 71 314
anime faces of 96×96 pixels and hand in 1 000 generated faces; the leaderboard scores them
with FID (the Fréchet Inception Distance, lower is better) and a face detector. The TA's sample
code is a DCGAN (深度卷积 GAN): a generator of transposed convolutions with batch norm, a
convolutional discriminator, binary cross-entropy, Adam. The lab then asks for the
Wasserstein GAN (WGAN) and its gradient-penalty version (WGAN-GP) as the way to a better score.

**The substitute.** Fashion-MNIST's 28×28 clothes instead of the faces (offline, and small
enough to train three GANs on a CPU), scored with this project's Fréchet distance (FD, 弗雷歇
距离, `course/fd.py` as in chapter 10): the same formula as FID, on the features of a small
CNN trained on Fashion-MNIST instead of Inception v3. It keeps what the lab is about: the
three losses and how each one trains the same networks, and a distance between the real and
the generated images' feature statistics that punishes both blur and sameness (mode collapse).
It loses the colour, the 96×96 detail and the face detector; the numbers are comparable with
each other, not with the leaderboard's FIDs (printed beside the table for context only).

**The networks** are chapter 10's `make_dcgan` (`course/ch10/gans.py`), the same for every
rung, so that only the loss and its optimiser change: G maps 64 random numbers through a linear
layer and two 4×4 transposed convolutions (batch norm, ReLU) to a 28×28 image in [−1, 1]; D has
two strided 4×4 convolutions with LeakyReLU and a linear score, and no batch norm (WGAN-GP's
penalty is per image).

**The rungs** (each trained for the same number of generator updates, from the same seed):

1. *DCGAN (the TA's sample)* — D is a classifier, real → 1, fake → 0 (binary cross-entropy), and
   G is trained to make D say "real" (the non-saturating loss −log D(G(z))). When D wins easily
   its gradients for G are weak or point all samples the same way: training can oscillate, and
   some kinds of clothes can stop being drawn (mode collapse, 模式崩溃).
2. *WGAN (weight clipping)* — D becomes a critic (评论家) with an unbounded score, trained to
   maximise E[D(real)] − E[D(fake)], an estimate of the Wasserstein (earth-mover, 推土机) distance
   when D is 1-Lipschitz; G minimises −E[D(G(z))]. The distance keeps a useful gradient even when
   the two distributions do not overlap. Lipschitz-ness is forced crudely by clipping every
   weight to ±0.01 after each critic step (5 critic steps per G step, RMSprop), which limits what
   the critic can express and makes its training sensitive to the clipping bound.
3. *WGAN-GP (gradient penalty)* — the clipping replaced by a penalty 10·E[(‖∇ₓD(x̂)‖ − 1)²] on
   images x̂ between real and fake ones: the critic is free to use its weights and is only asked
   to keep its slope near 1 where it matters. This is the rung the lab's strong baselines used.

All three use the same learning rate, 1e-3 (Adam for DCGAN and WGAN-GP, RMSprop for WGAN as its
paper recommends, since momentum and clipping fight): with the papers' rates (2e-4, 5e-5) a CPU
budget of a thousand generator steps is too short for any of them; the DCGAN sample too learns
faster at 1e-3 than at 2e-4 here, so the higher rate does not handicap it. WGAN and
WGAN-GP take five critic steps per generator step, as in their papers, so a rung costs about
3–4× a DCGAN rung: the table's seconds say so.

**Target:** WGAN-GP's FD below the DCGAN's (the issue's target, on the substitute).

**--data PATH**: the course's `faces/` folder (`labs/hw06/faces.py` says what is assumed). The
faces are read in greyscale at 28×28, the three rungs trained on them, FD measured against the
faces themselves in the same Fashion-MNIST classifier's features (a rough measure: that network
never saw a face), and the best rung's 1 000 samples written to `submission/1.png … 1000.png`
at 96×96.

    mlseries run hw06 [--quick] [--data path/to/faces]
"""
import numpy as np

import mlseries as ms
from mlseries import viz

from ...course import fd as fd_measure
from ...course.ch10.gans import generate, make_dcgan, train_gan
from ...course.registry import lesson
from ..ladder import Ladder
from .faces import read_faces, write_submission

# train: training images; steps: generator updates per rung; every: FD measured every so many steps;
# samples: generated images per FD; test: real test images in the FD; faces: --data images read at most
FULL = dict(train=20000, steps=1000, every=125, samples=2000, test=2000, fd_kind="full", faces=20000)
QUICK = dict(train=4000, steps=60, every=15, samples=1000, test=1000, fd_kind="quick", faces=2000)
MODEL = dict(latent=64, width=16, batch=64)
SUBMISSION = 1000              # images the course's submission held
# (rung, loss, zh, en, settings): the same learning rate for all; the rest is each paper's recipe
RUNGS = (
    ("dcgan", "gan", "DCGAN（样例）", "DCGAN (sample)", dict(lr=1e-3)),
    ("wgan", "wgan", "WGAN（权重裁剪）", "WGAN (clipping)", dict(lr=1e-3)),
    ("wgan_gp", "wgan-gp", "WGAN-GP（梯度惩罚）", "WGAN-GP (penalty)", dict(lr=1e-3)),
)

CAPTIONS = {
    "samples.png": ("同一组随机向量 z 经三个生成器：比较衣物的轮廓和种类；FD 低的生成器样本更清楚、更多样。",
                    "The same random vectors z through each generator: compare the outlines and the variety of "
                    "clothes; the generators with lower FD draw sharper, more varied samples."),
    "fd_curve.png": ("训练中每隔一段测一次 FD（对数轴）：三条曲线都下降，WGAN-GP 比 DCGAN 低；虚线是真实对真实的下限。",
                     "FD measured during training (log axis): all three fall, WGAN-GP below DCGAN; the dashed "
                     "line is the real-vs-real floor no generator can beat."),
    "critic.png": ("图像变好时 DCGAN 判别器的损失几乎不变，说明不了质量；WGAN 与 WGAN-GP 的评论家估计的 Wasserstein 距离随之下降（两者尺度不同：裁剪后的评论家只能输出很小的数）。",
                   "While the images improve, the DCGAN discriminator's loss hardly moves and says little about "
                   "quality; the WGAN and WGAN-GP critics' Wasserstein estimates fall with it (on different "
                   "scales: a clipped critic can only output small numbers)."),
    "ladder.png": ("三个台阶最后的 FD（越低越好）。",
                   "Each rung's final FD (lower is better)."),
}


# ---------------------------------------------------------------- data and the measure

def fashion_images(cfg):
    """Fashion-MNIST training images (N, 1, 28, 28) in [0, 1], `train` evenly spaced ones."""
    x, _ = fd_measure.load_images("fashion", train=True)
    return x[np.arange(cfg["train"]) * (len(x) // cfg["train"])]


class FacesFD:
    """FD against a set of real images (the --data faces) in the Fashion-MNIST classifier's features;
    called like course.fd.FD, with the same `floor` (two random halves of the real set)."""

    def __init__(self, real, kind, log=None):
        self.model = fd_measure.classifier("fashion", kind, log=log)
        feats = fd_measure.features(self.model, real)                      # (N, 64)
        self.real = fd_measure.gaussian(feats)
        order = np.random.default_rng(0).permutation(len(feats))
        half = len(feats) // 2
        self.floor = fd_measure.frechet_distance(*fd_measure.gaussian(feats[order[:half]]),
                                                 *fd_measure.gaussian(feats[order[half:2 * half]]))

    def __call__(self, images):
        return fd_measure.frechet_distance(*self.real, *fd_measure.gaussian(fd_measure.features(self.model, images)))


# ---------------------------------------------------------------- one rung

def train_rung(ctx, images, loss, settings, fd, z, cfg, stream):
    """Train a fresh DCGAN pair with `loss` on images (N, 1, 28, 28) in [0, 1]; returns
    (G, history, curve): curve is [(generator step, FD of G(z))] every cfg["every"] steps."""
    ms.manual_seed(ctx.seed + stream)
    G, D = make_dcgan(MODEL["latent"], MODEL["width"])
    curve = []

    def measure(step):
        curve.append((step, fd(generate(G, z))))

    # train_gan draws real batches without replacement and fake ones of `batch` rows: a --data folder
    # of fewer images than a batch would pair a short real batch with a full fake one
    batch = min(MODEL["batch"], len(images))
    G, history = train_gan(ctx, G, D, images * 2 - 1, loss=loss, steps=cfg["steps"], batch=batch,
                           seed=ctx.seed + stream, every=cfg["every"], on_measure=measure,
                           desc=f"hw06 {loss}", **settings)
    return G, history, curve


# ---------------------------------------------------------------- figures

def tile(images, cols):
    """A (rows·28, cols·28) mosaic of images (N, 1, 28, 28), a 1-pixel gap between them."""
    n, _, h, w = images.shape
    rows = int(np.ceil(n / cols))
    out = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = image[0]
    return out


def plot_samples(real, samples, titles, real_title):
    """Four mosaics side by side: real images, then each rung's samples of the same z."""
    fig = viz.figure(figsize=(12.0, 3.9), layout="constrained")
    axes = fig.subplots(1, len(samples) + 1)
    for ax, images, (zh, en) in zip(axes, [real] + samples, [real_title] + titles):
        ax.imshow(tile(images, 6), cmap="gray", vmin=0, vmax=1)
        ax.set_title(viz.text(zh, en, sep="\n"), fontsize=9.5)
        ax.set_axis_off()
    fig.suptitle(viz.text("真实图像与三个生成器的样本（同一组 z）", "Real images and each generator's samples (the same z)"))
    return fig


def plot_fd_curves(curves, titles, floor):
    fig = viz.figure(figsize=(9.0, 4.4))
    ax = fig.add_subplot()
    for (rung, curve), (zh, en) in zip(curves.items(), titles):
        steps, values = zip(*curve)
        ax.plot(steps, values, marker="o", ms=3.5, label=viz.text(zh, en))
    ax.axhline(floor, ls="--", color=viz.COLORS["reference"], lw=1,
               label=viz.text("真实对真实（下限）", "real vs real (floor)"))
    ax.set_yscale("log")
    ax.set(title=viz.text("训练中的 FD", "FD during training"),
           xlabel=viz.text("生成器更新步数", "generator updates"), ylabel=viz.text("FD（对数轴）", "FD (log scale)"))
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def smooth(values, width):
    """Moving average over `width` steps (the per-step losses are noisy)."""
    values = np.asarray(values, dtype=np.float64)
    width = max(1, min(width, len(values)))
    return np.convolve(values, np.ones(width) / width, mode="valid")


def plot_critic(histories, titles):
    """One panel per rung: −(critic loss) of WGAN and WGAN-GP, their Wasserstein estimates (on very
    different scales: the clipped critic can only output small numbers), and DCGAN's D loss."""
    fig = viz.figure(figsize=(12.0, 3.8))
    axes = fig.subplots(1, 3)
    width = max(1, len(histories["dcgan"]["d_loss"]) // 20)
    panels = (("dcgan", 1, viz.text("交叉熵（真 + 假）", "cross-entropy (real + fake)", sep="\n")),
              ("wgan", -1, viz.text("E[D(真)] − E[D(假)]", "E[D(real)] − E[D(fake)]", sep="\n")),
              ("wgan_gp", -1, viz.text("E[D(真)] − E[D(假)]", "E[D(real)] − E[D(fake)]", sep="\n")))
    for ax, (rung, sign, ylabel), (zh, en), color in zip(axes, panels, titles, ("#dd8452", "#4c72b0", "#c44e52")):
        values = smooth(sign * np.asarray(histories[rung]["d_loss"]), width)
        ax.plot(np.arange(len(values)) + width, values, color=color)
        ax.set(title=viz.text(zh, en, sep="\n"), xlabel=viz.text("生成器更新步数", "generator updates"), ylabel=ylabel)
    fig.suptitle(viz.text("判别器的损失与评论家估计的 Wasserstein 距离（滑动平均）",
                          "The discriminator's loss and the critics' Wasserstein estimates (moving average)"))
    return fig


# ---------------------------------------------------------------- the lab

@lesson("hw06.gan", "HW06 图像生成：DCGAN、WGAN、WGAN-GP", "HW06 image generation: DCGAN, WGAN, WGAN-GP",
        data="the course's faces/ folder of 96×96 anime-face JPEGs (or the folder holding faces/)")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    if ctx.data is None:
        images = fashion_images(cfg)
        fd = fd_measure.FD("fashion", cfg["fd_kind"], test=cfg["test"], log=ctx.log)
        real_title = ("真实 Fashion-MNIST", "real Fashion-MNIST")
        ctx.log(f"Fashion-MNIST: {len(images)} training images; FD against {fd.test_size} test images")
    else:
        images = read_faces(ctx.data, size=28, limit=cfg["faces"])
        fd = FacesFD(images, cfg["fd_kind"], log=ctx.log)
        real_title = ("真实人脸（灰度 28×28）", "real faces (grey, 28×28)")
        ctx.log(f"{ctx.data}: {len(images)} faces read in greyscale at 28×28; FD against them")
    ctx.log(f"FD floor (real vs real): {fd.floor:.2f}")
    ctx.record(fd_floor=fd.floor, train_images=len(images))
    z = ctx.rng(1).standard_normal((cfg["samples"], MODEL["latent"])).astype(np.float32)   # (S, 64) for every rung

    ladder = Ladder(ctx, "hw06")
    generators, histories, curves, titles = {}, {}, {}, []
    for stream, (rung_name, loss, zh, en, settings) in enumerate(RUNGS):
        with ladder.rung(rung_name, zh, en) as rung:
            G, history, curve = train_rung(ctx, images, loss, settings, fd, z, cfg, stream)
            rung.score = curve[-1][1]
        generators[rung_name], histories[rung_name], curves[rung_name] = G, history, curve
        titles.append((zh, en))
    best = ladder.finish()

    fds = {name: curve[-1][1] for name, curve in curves.items()}
    ctx.record(**{f"fd_curve_{name}": [round(v, 2) for _, v in curve] for name, curve in curves.items()})
    show = z[:36]
    samples = [generate(generators[name], show) for name, *_ in RUNGS]              # each (36, 1, 28, 28)
    ctx.save_figure(plot_samples(images[:36], samples, titles, real_title), "samples.png")
    ctx.save_figure(plot_fd_curves(curves, titles, fd.floor), "fd_curve.png")
    ctx.save_figure(plot_critic(histories, titles), "critic.png")

    if ctx.data is None:
        ctx.check("WGAN-GP FD < DCGAN FD", fds["wgan_gp"] < fds["dcgan"])
    else:
        # the course's submission: 1 000 samples of the best generator, 1.png … 1000.png
        extra = ctx.rng(2).standard_normal((SUBMISSION, MODEL["latent"])).astype(np.float32)
        folder = ctx.path("submission")
        written = write_submission(folder, generate(generators[best.name], extra))
        ctx.log(f"submission/: {written} generated faces of the {best.technique_en} rung, 1.png … {written}.png")
        ctx.record(submission_images=written)
        ctx.check("1 000 generated images written to submission/", written == SUBMISSION)
