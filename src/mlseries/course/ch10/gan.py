"""ch10.gan — 生成对抗网络：GAN、DCGAN 与 WGAN-GP / Generative adversarial networks: GAN, DCGAN and WGAN-GP.

The VAE of ch10.autoencoder writes down a likelihood and its samples come out blurry: where it
is unsure, it averages. A generative adversarial network (生成对抗网络, GAN) has no likelihood at
all. Two networks play a game:

* the **generator** (生成器) G turns random noise z ~ N(0, I) into an image G(z);
* the **discriminator** (判别器) D looks at an image and says how likely it is to be real.

D is trained to tell training images from G's images (binary cross-entropy: real → 1, fake → 0),
and G is trained to make D say "real". A blurry average fools nobody, so G is pushed towards
sharp, plausible images. G never sees a training image: everything it learns comes through D's
gradients. We train G with the *non-saturating* loss −log D(G(z)) rather than the minimax
log(1 − D(G(z))): at the start D rejects every fake easily, and the minimax loss is then flat,
while −log D(G(z)) is steep exactly there.

**Three GANs on MNIST digits**, batch 64, each with the same number of discriminator updates
(3 000 in the full run; WGAN-GP's critic takes 5 of them per generator step, so its generator
takes 600 steps):

1. **A fully connected GAN** (全连接 GAN), as in the first GAN paper: G and D are multilayer
   perceptrons (z → 256 → 512 → 784 and back). D sees 784 unrelated numbers, not a picture.
2. **DCGAN** (深度卷积 GAN): G grows the image with transposed convolutions (转置卷积,
   7×7 → 14×14 → 28×28) with batch norm and ReLU; D is a small strided CNN with LeakyReLU. The
   convolutions build in what images are made of, local strokes that look the same anywhere, so
   both players learn faster and G's images are sharper.
3. **WGAN-GP**: the same two networks, but D becomes a *critic* (评论家) that outputs a score,
   not a probability, and the game becomes estimating the Wasserstein distance (Wasserstein 距离,
   "earth mover's distance") between real and generated images:
   critic loss = E[D(fake)] − E[D(real)]. That estimate is only valid if D is 1-Lipschitz (its
   gradient never longer than 1). The original WGAN clipped D's weights to ±0.01 (crude: it
   wastes capacity); WGAN-GP adds a **gradient penalty** (梯度惩罚) λ·E[(‖∇ₓD(x̂)‖ − 1)²] at random
   points x̂ between real and fake images. The penalty contains a gradient, so training it
   needs the gradient of a gradient: the engine computes ∇ₓD with
   `ms.autograd.grad(..., create_graph=True)` and backpropagates through that (a second
   derivative, 二阶导数). The critic takes 5 steps per generator step. Its loss means something:
   −(critic loss) estimates the distance; it climbs while the critic first learns to tell the
   two sets apart, then falls as the samples improve, where a GAN's D and G losses just trade
   places.

**Measuring samples.** As in ch10.autoencoder, the Fréchet distance (FD, `mlseries.course.fd`)
between the project's classifier's features of real test digits and of 5 000 generated ones,
measured at several points during training, with two halves of the test set as the floor. The
same classifier also says which digit each sample is: a GAN can win its game by producing only
a few kinds of image that D has not learned to reject — **mode collapse** (模式崩溃) — and then the
histogram of predicted classes is lopsided (few classes covered) where real digits have all ten
in equal shares.

**What to expect.** In the full run (3 000 D updates per model on all 60 000 digits, about
7 minutes on one core) the DCGAN's digits are clean strokes and its FD is the lowest (≈ 65),
the fully connected GAN's digits are speckled and broken (FD ≈ 165), and WGAN-GP (≈ 82) is close
to the DCGAN although its generator took only a fifth of the steps. Every model's FD falls over
training, with the biggest drop in the first sixth. WGAN-GP's Wasserstein estimate climbs at
first, then falls as its samples improve. No model collapses outright in the full run (every
digit appears, though 3s are too common and 6s too rare); in the short quick run the fully
connected GAN does collapse onto a few digits, and the class histogram shows which are missing.
Only MNIST is used: a second data set would double the run time; `dcgan_baseline(ctx,
"fashion", quick)` trains the same DCGAN on Fashion-MNIST for the ch11.diffusion lesson.

Reusable pieces (`ch10/gans.py`, re-exported here): `make_fc_gan`, `make_dcgan(latent, width)`
→ (G, D), `train_gan(ctx, G, D, images, loss="gan" | "wgan" | "wgan-gp", steps, …)` → (G, history),
`gradient_penalty`, `generate`, and `dcgan_baseline(ctx, dataset, quick)` → FD.

    mlseries run ch10.gan [--quick]
"""
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
from mlseries import viz

from .. import fd as fd_measure
from ..registry import lesson
from .autoencoder import show, tile
from .gans import (LOSSES, critic_loss, gan_d_loss, gan_g_loss, generate, gradient_penalty,  # noqa: F401
                   make_dcgan, make_fc_gan, to_unit, train_gan)

# steps: generator updates (batch 64; WGAN-GP: ×5 critic updates); measures: FD + GIF frame this many times
FULL = dict(data="mnist", train=None, test=None, fd_samples=5000, fd_kind="full", lr=5e-4,
            steps={"fc": 3000, "dcgan": 3000, "wgan_gp": 600}, width=32, measures=6)
# quick: 10 000 images, a narrower DCGAN, a few hundred steps at a higher learning rate; tiny FD classifier
QUICK = dict(data="mnist", train=10000, test=2000, fd_samples=1000, fd_kind="quick", lr=1e-3,
             steps={"fc": 500, "dcgan": 250, "wgan_gp": 80}, width=16, measures=5)
LATENT = 64
MODELS = (("fc", "gan", "FC GAN", "全连接 GAN"), ("dcgan", "gan", "DCGAN", "DCGAN"),
          ("wgan_gp", "wgan-gp", "WGAN-GP", "WGAN-GP"))

CAPTIONS = {
    "samples.png": ("真实数字与三种 GAN 在固定噪声下的最终样本：DCGAN 与 WGAN-GP 的笔画清晰，全连接 GAN 的有噪点、笔画断裂。",
                    "Real digits and each GAN's final samples at fixed noise: DCGAN's and WGAN-GP's strokes are "
                    "clean, the fully connected GAN's speckled and broken."),
    "training.png": ("左：GAN 的判别器与生成器损失只是来回摆动；WGAN-GP 的 Wasserstein 距离估计随样本变好而下降。右：样本的 FD 随训练下降，点线为真实数据的下限。",
                     "Left: a GAN's D and G losses only trade places; WGAN-GP's Wasserstein estimate falls as "
                     "its samples improve. Right: the samples' FD falls over training; dotted: the real-data floor."),
    "classes.png": ("分类器认出的样本类别：真实数据每类约 10 %；缺失的类别或极不均匀的分布就是模式崩溃（训练不足的快速模式中全连接 GAN 缺了几个数字）。",
                    "Which digit the classifier sees in each model's samples: real digits are ~10 % each; missing "
                    "or rare classes are mode collapse (the short quick run's fully connected GAN misses several digits)."),
    "samples_over_training_fc.gif": ("全连接 GAN 在固定噪声下的样本随训练的变化。",
                                     "The fully connected GAN's samples at fixed noise over training."),
    "samples_over_training_dcgan.gif": ("DCGAN 在固定噪声下的样本随训练的变化：从噪声到数字。",
                                        "DCGAN's samples at fixed noise over training: from noise to digits."),
    "samples_over_training_wgan_gp.gif": ("WGAN-GP 在固定噪声下的样本随训练的变化。",
                                          "WGAN-GP's samples at fixed noise over training."),
}


# ---------------------------------------------------------------- 1. data and models

def load_data(dataset, n_train):
    """Training images (N, 1, 28, 28) scaled to [-1, 1], the range of G's tanh; n_train evenly spaced (None: all)."""
    x, _ = fd_measure.load_images(dataset, train=True)
    if n_train is not None and n_train < len(x):
        x = x[np.arange(n_train) * (len(x) // n_train)]
    return x * 2 - 1


def make_model(key, settings, seed=0):
    ms.manual_seed(seed)   # initial weights from the run's seed, whatever ran before
    return make_fc_gan(LATENT) if key == "fc" else make_dcgan(LATENT, width=settings["width"])


def class_shares(fd, images):
    """Share of images the FD classifier puts in each class (10,), and exp(entropy): the effective
    number of classes covered (10 for a perfectly even spread, 1 when every image is one digit)."""
    model = fd.model
    model.eval()
    with ms.no_grad():
        pred = np.concatenate([model(ms.tensor(images[i:i + 1000])).numpy().argmax(axis=1)
                               for i in range(0, len(images), 1000)])
    shares = np.bincount(pred, minlength=10) / len(pred)
    nz = shares[shares > 0]
    return shares, float(np.exp(-(nz * np.log(nz)).sum()))


# ---------------------------------------------------------------- 2. training with measurements

def train_and_measure(ctx, key, loss, x, fd, settings, fixed_z, fd_z, label=None):
    """Train one model as this lesson does; return (G, history) where history also holds the FD
    ("fd_step", "fd") and the GIF's frames (64 samples at fixed_z) at each measurement."""
    G, D = make_model(key, settings, ctx.seed)
    steps = settings["steps"][key]
    every = max(1, steps // settings["measures"])
    frames, fd_steps, fds = [], [], []

    def measure(step):
        fd_steps.append(step)
        fds.append(fd(generate(G, fd_z)))
        frames.append(generate(G, fixed_z))

    start = time.perf_counter()
    G, history = train_gan(ctx, G, D, x, loss=loss, steps=steps, seed=ctx.seed, every=every,
                           on_measure=measure, desc=label or key, lr=settings["lr"])
    history.update(fd_step=fd_steps, fd=fds, frames=frames, seconds=time.perf_counter() - start)
    return G, history


def dcgan_baseline(ctx, dataset, quick, samples=None):
    """The DCGAN of ch10.gan, trained exactly as the lesson trains it (same network, steps,
    learning rate, seed; QUICK settings when `quick`) on `dataset` ("mnist" or "fashion"), and its
    FD against that data set's test images: 5 000 samples and the full FD classifier (quick: 1 000
    samples against 2 000 test images, the quick classifier). Lower is better; ch11.diffusion
    compares its DDPM with this number. Takes ≈ 4 min on one core (230 s in the recorded MNIST
    run; quick: ≈ 10 s of CPU).

    samples: measure FD on this many samples instead. An FD from fewer samples is larger (the
    fitted covariance is noisier), so two models are compared on the same number."""
    settings = {**(QUICK if quick else FULL), "data": dataset}
    if samples is not None:
        settings["fd_samples"] = int(samples)
    fd = fd_measure.FD(dataset, settings["fd_kind"], test=settings["test"], log=ctx.log)
    rng = ctx.rng(7)
    fixed_z = rng.standard_normal((64, LATENT)).astype(np.float32)
    fd_z = rng.standard_normal((settings["fd_samples"], LATENT)).astype(np.float32)
    _, history = train_and_measure(ctx, "dcgan", "gan", load_data(dataset, settings["train"]), fd, settings,
                                   fixed_z, fd_z, label=f"DCGAN on {dataset}")
    return history["fd"][-1]


# ---------------------------------------------------------------- 3. figures

def smooth(values, width):
    """Moving average over `width` steps (valid part only)."""
    values = np.asarray(values, dtype=float)
    width = max(1, min(width, len(values)))
    return np.convolve(values, np.ones(width) / width, mode="valid")


def plot_samples(real, finals):
    fig = viz.figure(figsize=(13, 4.2))
    axes = fig.subplots(1, 1 + len(finals))
    show(axes[0], tile(real.reshape(-1, 784), 8), viz.text("真实数字", "real digits"))
    for ax, (name, images) in zip(axes[1:], finals.items()):
        show(ax, tile(images.reshape(-1, 784), 8), name)
    fig.suptitle(viz.text("最终样本（固定噪声 z）", "Final samples (fixed noise z)"))
    return fig


def plot_training(histories, names, floor):
    fig = viz.figure(figsize=(15, 4.8))
    axes = fig.subplots(1, len(histories) + 1, gridspec_kw=dict(width_ratios=[1, 1, 1, 1.3]))
    for ax, (key, h) in zip(axes, histories.items()):
        width = max(1, len(h["d_loss"]) // 50)
        steps = np.arange(width, len(h["d_loss"]) + 1)     # a moving average is placed at its last step
        if key == "wgan_gp":   # −(critic loss) estimates the Wasserstein distance: it should fall
            ax.plot(steps, -smooth(h["d_loss"], width), color="C0")
            ax.set(ylabel=viz.text("Wasserstein 距离估计", "Wasserstein estimate", sep="\n"))
            ax.text(0.97, 0.95, viz.text("−评论家损失", "−critic loss"), transform=ax.transAxes, ha="right", va="top")
        else:                  # a GAN's two losses just trade places: no sign of progress
            ax.plot(steps, smooth(h["d_loss"], width), color="C0", label=viz.text("D 损失", "D loss"))
            ax.plot(steps, smooth(h["g_loss"], width), color="C1", label=viz.text("G 损失", "G loss"))
            ax.set(ylabel=viz.text("损失", "loss"))
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
        ax.set(title=names[key], xlabel=viz.text("生成器步数", "generator step"))
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax = axes[-1]
    for (key, h), color in zip(histories.items(), ("C2", "C3", "C4")):
        fraction = np.asarray(h["fd_step"]) / max(h["fd_step"][-1], 1)
        ax.plot(fraction, h["fd"], "o-", ms=3, color=color, label=names[key])
    ax.axhline(floor, color=viz.COLORS["reference"], ls=":", lw=1.2, label=viz.text("下限（真实 vs 真实）", "floor (real vs real)"))
    ax.set(title=viz.text("样本的 FD", "FD of samples"), yscale="log",
           xlabel=viz.text("训练进度", "fraction of training"), ylabel=viz.text("FD（对数）", "FD (log scale)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
    fig.suptitle(viz.text("训练过程（损失为滑动平均）", "Training (losses as moving averages)"))
    return fig


def plot_classes(shares, effective):
    fig = viz.figure(figsize=(11, 4.4))
    ax = fig.subplots()
    names = list(shares)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(np.arange(10) + (i - (len(names) - 1) / 2) * width, 100 * shares[name], width,
               color=f"C{i}", label=f"{name} ({viz.text('有效类别数', 'effective classes')} {effective[name]:.1f})")
    ax.axhline(10, color=viz.COLORS["reference"], ls=":", lw=1)
    ax.set(xticks=range(10), xlabel=viz.text("分类器认出的数字", "digit the classifier sees"),
           ylabel=viz.text("样本占比（%）", "share of samples (%)"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.suptitle(viz.text("样本覆盖了哪些类别（模式崩溃 = 少数类别占多数）",
                          "Which classes the samples cover (mode collapse = a few classes dominate)"))
    return fig


def write_gif(ctx, key, name, history):
    fig = viz.figure(figsize=(4.8, 5.2))
    ax = fig.subplots()
    image = ax.imshow(tile(history["frames"][0].reshape(-1, 784), 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    title = ax.set_title("")
    with ctx.gif(f"samples_over_training_{key}.gif", fps=1.5, hold_last=2.0) as gif:
        for step, frame in zip(history["fd_step"], history["frames"]):
            image.set_data(tile(frame.reshape(-1, 784), 8))
            title.set_text(viz.text(f"{name}：第 {step} 步", f"{name}: step {step}", sep="\n"))
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch10.gan", zh="生成对抗网络：GAN、DCGAN 与 WGAN-GP", en="GANs: fully connected, DCGAN and WGAN-GP")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    data = settings["data"]
    rng = ctx.rng()
    fixed_z = rng.standard_normal((64, LATENT)).astype(np.float32)                        # the pictures' z
    fd_z = rng.standard_normal((settings["fd_samples"], LATENT)).astype(np.float32)       # the FD's z

    # 1. data and the measure (the FD classifier is trained once, then cached)
    x = load_data(data, settings["train"])
    ctx.log(f"{data}: {len(x)} training images {x.shape[1:]}, pixels in [-1, 1]")
    fd = fd_measure.FD(data, settings["fd_kind"], test=settings["test"], log=ctx.log)
    real_test, _ = fd_measure.load_images(data, train=False)
    noise_fd = fd(rng.random((settings["fd_samples"], 1, 28, 28)).astype(np.float32))
    real_shares, real_effective = class_shares(fd, real_test)
    ctx.log(f"FD floor (two halves of the test set) {fd.floor:.2f}; uniform noise {noise_fd:.1f}")

    # 2. train the three models, measuring FD as they learn
    histories, finals, shares, effective, names = {}, {}, {}, {}, {}
    for key, loss, en, zh in MODELS:
        names[key] = viz.text(zh, en) if zh != en else en
        G, h = train_and_measure(ctx, key, loss, x, fd, settings, fixed_z, fd_z, label=en)
        histories[key] = h
        finals[names[key]] = generate(G, fixed_z)
        shares[names[key]], effective[names[key]] = class_shares(fd, generate(G, fd_z))
        ctx.log(f"{en}: {settings['steps'][key]} steps in {h['seconds']:.0f} s; FD " +
                ", ".join(f"{f:.1f}" for f in h["fd"]) + f" (steps {h['fd_step']}); "
                f"effective classes {effective[names[key]]:.1f}")

    # 3. results
    fds = {key: h["fd"][-1] for key, h in histories.items()}
    # WGAN-GP's Wasserstein estimate: it climbs while the critic first learns, then falls as G improves
    critic = np.asarray(histories["wgan_gp"]["d_loss"])
    tail = max(1, len(critic) // 20)
    w_peak, w_last = float(smooth(-critic, tail).max()), float(-critic[-tail:].mean())
    ctx.record(fd_floor=fd.floor, fd_noise=noise_fd, real_effective_classes=real_effective,
               **{f"{key}_fd": fds[key] for key in fds},
               **{f"{key}_fd_first": h["fd"][1] for key, h in histories.items()},
               **{f"{key}_fd_over_training": h["fd"] for key, h in histories.items()},
               **{f"{key}_fd_steps": h["fd_step"] for key, h in histories.items()},
               **{f"{key}_effective_classes": effective[names[key]] for key in histories},
               **{f"{key}_class_shares": shares[names[key]].round(4).tolist() for key in histories},
               **{f"{key}_seconds": round(h["seconds"], 1) for key, h in histories.items()},
               wgan_gp_wasserstein_peak=w_peak, wgan_gp_wasserstein_last=w_last)
    ctx.log("FD: " + ", ".join(f"{key} {v:.1f}" for key, v in fds.items()) + f" | floor {fd.floor:.2f}, noise {noise_fd:.0f}")

    ctx.check("DCGAN's FD below the fully connected GAN's", fds["dcgan"] < fds["fc"])
    for key, _, en, _ in MODELS:
        h = histories[key]
        ctx.check(f"{en}: FD falls over training (last < first measurement after training starts)",
                  h["fd"][-1] < h["fd"][1])
    ctx.check("DCGAN's and WGAN-GP's final FD between the floor and half of noise's",
              all(fd.floor < fds[key] < 0.5 * noise_fd for key in ("dcgan", "wgan_gp")))
    ctx.check("WGAN-GP's Wasserstein estimate (−critic loss) falls after its peak: last 5 % of steps ≤ 0.7 × peak",
              w_last <= 0.7 * w_peak)

    # 4. figures
    ctx.save_figure(plot_samples(real_test[:64], finals), "samples.png")
    ctx.save_figure(plot_training(histories, names, fd.floor), "training.png")
    ctx.save_figure(plot_classes({viz.text("真实测试集", "real test set"): real_shares, **shares},
                                 {viz.text("真实测试集", "real test set"): real_effective, **effective}), "classes.png")
    for key, _, en, _ in MODELS:
        write_gif(ctx, key, names[key], histories[key])
