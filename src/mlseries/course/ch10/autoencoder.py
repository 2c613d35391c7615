"""ch10.autoencoder — 自编码器与变分自编码器 / Auto-encoders and the VAE.

A generative model (生成式模型) learns where the data lives, so that it can make new examples.
This lesson builds the two oldest neural ones on MNIST digits and Fashion-MNIST clothes.

**The auto-encoder (自编码器, AE).** An encoder squeezes each 784-pixel image into a few numbers,
its *code* or latent vector z (潜在向量), and a decoder rebuilds the image from z alone. Trained
to reproduce its input through this bottleneck (瓶颈), the network has to keep what matters
about an image and drop the rest. With a 2-D code we can draw every test image as a point: the
same classes gather together, though nobody told the network the labels. But an AE is not yet
a generator: its codes lie wherever training happened to put them, in odd-shaped clumps with
empty gaps between, so a random z decodes to nothing in particular.

**The variational auto-encoder (变分自编码器, VAE).** The encoder now gives a *distribution* for
z, a Gaussian with mean μ and log-variance log σ², and training pulls every such Gaussian
towards the standard normal N(0, I) with a KL-divergence term (KL 散度):

    KL = −½ Σ (1 + log σ² − μ² − σ²)

To train through the random draw, write it as z = μ + σ·ε with ε ~ N(0, I) — the
reparameterisation trick (重参数化技巧): the randomness sits in ε, and gradients flow into μ and σ.
The decoder gives, for every pixel, the probability p that it is "on"; the pixel's value x in
[0, 1] is scored with the Bernoulli log-likelihood x log p + (1 − x) log(1 − p) (binary cross-
entropy). Reconstruction loss plus KL is the negative ELBO (证据下界, evidence lower bound), an upper
bound on −log p(x): measured in nats per image on the test set, lower is better. Our baseline is
the best model that ignores the image: every pixel independently "on" with its average
probability over the training set.

Because training kept the codes near N(0, I), sampling z ~ N(0, I) and decoding it now gives
new images, and walking in a straight line between two images' codes (插值, interpolation) passes
through plausible images all the way.

**Measuring samples.** How good are the samples? The figures show them, and a number says so:
the Fréchet distance (FD, `mlseries.course.fd`) between the features that a small classifier of
the project's own computes for real test images and for generated ones. Two halves of the real
test set are the floor (the best possible); uniform noise images are the ceiling.

We train three models per data set, each for the same number of epochs with Adam: an AE and a
VAE with a 2-D code (to draw the latent space), and a VAE with a 16-D code (better samples and
ELBO). All are small fully connected networks (784 → 400 → z → 400 → 784).

**What to expect.** In the full run (15 epochs on all 60 000 images) the 16-D VAE reaches a test
−ELBO of about 105 nats per MNIST digit against 206 for the pixel-mean baseline (243 against 385
on Fashion-MNIST), and its reconstructions are sharp while the 2-D models keep only the rough
shape. Its samples are recognisable but blurry: their FD falls quickly in the first epochs and
then levels off far above the floor. The AE decoding random codes scores far worse than the VAE
with the same 2-D code — the KL term is what makes a VAE a generator. Sharper samples need other
ideas: the adversarial loss of ch10.gan, or the step-by-step denoising of ch11.diffusion.

    mlseries run ch10.autoencoder [--quick]
"""
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from .. import fd as fd_measure
from ..registry import lesson
from ..training import fashion_names

FULL = dict(train=None, test=None, epochs=15, fd_samples=5000, fd_kind="full")
# quick: a sixth of the images for five epochs; the tiny FD classifier (seconds to train)
QUICK = dict(train=10000, test=2000, epochs=5, fd_samples=1000, fd_kind="quick")
MODEL = dict(hidden=400, lr=2e-3, batch=64)
DATASETS = (("mnist", "MNIST", "MNIST"), ("fashion", "Fashion-MNIST", "Fashion-MNIST"))
KINDS = (("ae2", "AE 2-D", "AE 2 维"), ("vae2", "VAE 2-D", "VAE 2 维"), ("vae16", "VAE 16-D", "VAE 16 维"))

# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "reconstructions.png": ("原图与三种模型的重建：16 维 VAE 最清楚，2 维的模型只保留了大致形状。",
                            "Test images and their reconstructions: the 16-D VAE keeps most detail; the 2-D models keep only the rough shape."),
    "latent_space.png": ("2 维编码按类别着色：同类聚在一起；VAE 的编码集中在原点附近，AE 的则散成不规则的团。",
                         "The 2-D codes coloured by class: classes gather; the VAE's codes crowd round the origin, the AE's spread in irregular clumps."),
    "samples.png": ("从 N(0, I) 采样并由 16 维 VAE 解码的新图像：像数字和衣物，但偏模糊。",
                    "New images: z drawn from N(0, I), decoded by the 16-D VAE. Digit- and clothes-like, but blurry."),
    "manifold.png": ("2 维 VAE 的解码网格：相邻的编码给出相近的图像，类别之间平滑过渡。",
                     "The 2-D VAE decoding a grid of codes: neighbouring codes give similar images, and classes blend smoothly."),
    "interpolations.png": ("两个测试图像的编码之间的直线插值：中间的每一步也是合理的图像。",
                           "Walking in a straight line between two test images' codes: every step on the way is a plausible image."),
    "training.png": ("测试集负 ELBO 逐轮下降并远低于像素均值基线；样本的 FD 下降，接近但高于真实数据的下限。",
                     "The test negative ELBO falls each epoch, far below the pixel-mean baseline; the samples' FD falls towards (not to) the real-data floor."),
    "samples_over_training.gif": ("固定噪声下 16 维 VAE 的样本随训练的变化：从灰色一团到数字与衣物。",
                                  "The 16-D VAE's samples at fixed noise over training: from grey blobs to digits and clothes."),
}


# ---------------------------------------------------------------- 1. the models

class AutoEncoder(nn.Module):
    """784 → hidden → latent (the code) → hidden → 784 logits (one Bernoulli per pixel)."""

    def __init__(self, latent, hidden=MODEL["hidden"]):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def encode(self, x):
        return self.encoder(x)                         # (B, latent)

    def forward(self, x):
        return self.decoder(self.encoder(x))           # (B, 784) logits


class VAE(nn.Module):
    """The encoder gives μ and log σ² (2·latent numbers); z = μ + σ·ε; the decoder as in the AE."""

    def __init__(self, latent, hidden=MODEL["hidden"]):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def encode(self, x):
        h = self.encoder(x)                            # (B, 2·latent)
        return h[:, :self.latent], h[:, self.latent:]  # μ, log σ²: (B, latent) each

    def forward(self, x):
        mu, logvar = self.encode(x)
        eps = ms.randn_like(mu)                        # the only randomness: gradients skip it
        z = mu + ms.exp(0.5 * logvar) * eps            # reparameterisation: (B, latent)
        return self.decoder(z), mu, logvar


def kl_divergence(mu, logvar):
    """KL(N(μ, σ²) ‖ N(0, I)) of each row, summed over the latent dimensions: (B,)."""
    return -0.5 * (1 + logvar - mu ** 2 - ms.exp(logvar)).sum(dim=1)


def bernoulli_nll(logits, x):
    """−log p(x | z) of each image under independent Bernoulli pixels, in nats: (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def loss_terms(model, x):
    """(reconstruction, KL) per image as (B,) tensors; KL is zero for the plain auto-encoder."""
    if isinstance(model, VAE):
        logits, mu, logvar = model(x)
        return bernoulli_nll(logits, x), kl_divergence(mu, logvar)
    return bernoulli_nll(model(x), x), ms.zeros(len(x))


def make_model(kind):
    return AutoEncoder(2) if kind == "ae2" else VAE(int(kind[3:]))


# ---------------------------------------------------------------- 2. training and measuring

def evaluate(model, x, batch=1000):
    """Mean reconstruction and KL (nats per image) on x, one z per image; −ELBO is their sum."""
    model.eval()
    rec = kl = 0.0
    with ms.no_grad():
        for i in range(0, len(x), batch):
            r, k = loss_terms(model, ms.tensor(x[i:i + batch]))
            rec += r.sum().item()
            kl += k.sum().item()
    return rec / len(x), kl / len(x)


def decode(model, z):
    """Pixel probabilities (N, 784) for codes z (N, latent)."""
    model.eval()
    with ms.no_grad():
        return F.sigmoid(model.decoder(ms.tensor(z.astype(np.float32)))).numpy()


def encode(model, x, batch=1000):
    """The code of each image (N, latent): z for the AE, the mean μ for a VAE."""
    model.eval()
    with ms.no_grad():
        out = [model.encode(ms.tensor(x[i:i + batch])) for i in range(0, len(x), batch)]
    return np.concatenate([(o[0] if isinstance(o, tuple) else o).numpy() for o in out])


def reconstruct(model, x):
    """Decoded codes (the mean for a VAE, no noise): pixel probabilities (N, 784)."""
    return decode(model, encode(model, x))


def sample(model, z):
    return decode(model, z)


def train(ctx, model, x, epochs, desc, on_epoch=None):
    """Adam on mini-batches of the mean (reconstruction + KL) per image; `on_epoch(epoch)` after each."""
    optimizer = ms.optim.Adam(model.parameters(), lr=MODEL["lr"])
    rng = ctx.rng(len(desc))
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(x))
        starts = range(0, len(x), MODEL["batch"])
        for start in ctx.progress(starts, f"{desc}, epoch {epoch}"):
            xb = ms.tensor(x[order[start:start + MODEL["batch"]]])   # (B, 784)
            rec, kl = loss_terms(model, xb)
            loss = (rec + kl).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch)


def mean_image_nll(train_x, x):
    """The baseline: −log p(x) per image when each pixel is "on" with its training-set mean probability."""
    p = np.clip(train_x.mean(axis=0), 1e-4, 1 - 1e-4)                # (784,)
    return float(-(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1).mean())


def mse(a, b):
    return float(np.mean((a - b) ** 2))


# ---------------------------------------------------------------- 3. figures

def tile(images, cols):
    """Images (N, 784) as one (rows·29 − 1, cols·29 − 1) picture with 1-pixel white gaps (0 under gray_r)."""
    n = len(images)
    rows = -(-n // cols)
    sheet = np.zeros((rows * 29 - 1, cols * 29 - 1))   # 0 = white under gray_r
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        sheet[r * 29:r * 29 + 28, c * 29:c * 29 + 28] = image.reshape(28, 28)
    return sheet


def show(ax, picture, title):
    ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def plot_reconstructions(rows_by_data, count):
    fig = viz.figure(figsize=(11, 5))
    axes = fig.subplots(4, 2)
    labels = [viz.text("原图", "test images")] + [viz.text(zh, en) for _, en, zh in KINDS]
    for col, (name, rows) in enumerate(rows_by_data.items()):
        for row, images in enumerate(rows):
            show(axes[row, col], tile(images[:count], count), f"{name}: {labels[row]}")
    fig.suptitle(viz.text("重建：原图与三种模型的输出", "Reconstructions: test images and what each model rebuilds"))
    return fig


def plot_latent(codes, labels, class_names):
    """2×2: (MNIST, Fashion) × (AE, VAE), each test image's 2-D code as a dot in its class colour."""
    fig = viz.figure(figsize=(11, 9))
    axes = fig.subplots(2, 2)
    for row, (data, per_model) in enumerate(codes.items()):
        for col, (model_name, z) in enumerate(per_model.items()):
            ax = axes[row, col]
            for c in range(10):
                pts = z[labels[data] == c]
                ax.scatter(pts[:, 0], pts[:, 1], s=3, color=f"C{c}", alpha=0.6,
                           label=class_names[data][c], rasterized=True)
            ax.set(title=f"{data}: {model_name}", xlabel="z₁", ylabel="z₂")
        handles = axes[row, 1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), markerscale=4,
                                      fontsize=8, frameon=False)
        handles.set_title(viz.text("类别", "class"))
    fig.suptitle(viz.text("2 维潜在空间（测试集，按类别着色）", "The 2-D latent space (test images, coloured by class)"))
    return fig


def plot_samples(grids, title, cols=8):
    fig = viz.figure(figsize=(10, 5.4))
    axes = fig.subplots(1, len(grids))
    for ax, (name, images) in zip(np.atleast_1d(axes), grids.items()):
        show(ax, tile(images, cols), name)
    fig.suptitle(title)
    return fig


def plot_interpolations(rows_by_data):
    fig = viz.figure(figsize=(10, 5.2))
    axes = fig.subplots(len(rows_by_data), 1)
    for ax, (name, rows) in zip(axes, rows_by_data.items()):
        show(ax, tile(np.concatenate(rows), len(rows[0])), name)
    fig.suptitle(viz.text("16 维 VAE：两张测试图的编码之间的直线插值（左 → 右）",
                          "16-D VAE: straight lines between two test images' codes (left → right)", sep="\n"))
    return fig


def plot_training(history, baselines, floors, noise_fd):
    fig = viz.figure(figsize=(13, 5.6))
    axes = fig.subplots(1, 3)
    for ax, (data, per_model) in zip(axes[:2], history.items()):
        for (kind, en, zh), color in zip(KINDS[1:], ("C0", "C1")):   # the two VAEs (the AE has no ELBO)
            h = per_model[kind]
            ax.plot(h["epoch"], h["neg_elbo"], "o-", color=color, ms=3, label=viz.text(zh, en))
        ax.axhline(baselines[data], color=viz.COLORS["reference"], ls="--", lw=1,
                   label=viz.text("像素均值基线", "pixel-mean baseline"))
        ax.set(title=viz.text(f"{data}：测试集负 ELBO", f"{data}: test −ELBO", sep="\n"),
               xlabel=viz.text("轮数", "epoch"), ylabel=viz.text("奈特 / 图", "nats per image"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    ax = axes[2]
    for (data, per_model), color in zip(history.items(), ("C1", "C2")):
        h = per_model["vae16"]
        ax.plot(h["epoch"], h["fd"], "o-", color=color, ms=3, label=viz.text(f"{data} 样本", f"{data} samples"))
        ax.axhline(floors[data], color=color, ls=":", lw=1.2,
                   label=viz.text(f"{data} 下限（真实 vs 真实）", f"{data} floor (real vs real)"))
    ax.set(title=viz.text("16 维 VAE 样本的 FD", "FD of the 16-D VAE's samples", sep="\n"), yscale="log",
           xlabel=viz.text("轮数", "epoch"), ylabel=viz.text("FD（对数）", "FD (log scale)"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
    fig.suptitle(viz.text(f"训练过程（噪声图像的 FD：{min(noise_fd.values()):.0f} 以上）",
                          f"Training (FD of noise images: {min(noise_fd.values()):.0f} and above)"))
    return fig


def write_gif(ctx, frames, epochs):
    """frames: {data: [(64, 784) samples at epoch 0, 1, …]} at the same fixed noise."""
    fig = viz.figure(figsize=(8, 4.6))
    axes = fig.subplots(1, len(frames))
    images = [ax.imshow(tile(f[0], 8), cmap="gray_r", vmin=0, vmax=1) for ax, f in zip(axes, frames.values())]
    for ax, name in zip(axes, frames):
        ax.set_title(name)
        ax.set_axis_off()
    title = fig.suptitle("")
    with ctx.gif("samples_over_training.gif", fps=2, hold_last=2.5) as gif:
        for epoch in range(epochs + 1):
            for image, f in zip(images, frames.values()):
                image.set_data(tile(f[epoch], 8))
            title.set_text(viz.text(f"16 维 VAE 的样本（固定噪声），第 {epoch} 轮",
                                    f"16-D VAE samples at fixed noise, epoch {epoch}"))
            gif.add(fig)


# ---------------------------------------------------------------- the lesson

def subset(x, y, n):
    """n examples evenly spaced through (x, y), or all when n is None."""
    if n is None or n >= len(x):
        return x, y
    index = np.arange(n) * (len(x) // n)
    return x[index], y[index]


@lesson("ch10.autoencoder", zh="自编码器与变分自编码器", en="Auto-encoders and the VAE")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    ms.manual_seed(ctx.seed)                    # the VAEs' ε and the initial weights
    rng = ctx.rng()
    epochs = settings["epochs"]
    fixed_noise = rng.standard_normal((64, 16)).astype(np.float32)   # the GIF's z, the same every epoch
    class_names = {"MNIST": [str(d) for d in range(10)], "Fashion-MNIST": fashion_names(" ")}
    recon_rows, codes, labels, samples, manifolds, interps = {}, {}, {}, {}, {}, {}
    history, baselines, floors, noise_fd, gif_frames = {}, {}, {}, {}, {}

    for data, name, _ in DATASETS:
        # 1. data: pixels in [0, 1] as (N, 784), the Bernoulli likelihood's range
        x, y = subset(*fd_measure.load_images(data, train=True), settings["train"])
        xt, yt = subset(*fd_measure.load_images(data, train=False), settings["test"])
        x, xt = x.reshape(len(x), 784), xt.reshape(len(xt), 784)
        ctx.log(f"{name}: train {x.shape}, test {xt.shape}")

        # 2. the measure: the FD classifier (trained once, then cached) and the real-vs-real floor
        fd = fd_measure.FD(data, settings["fd_kind"], test=settings["test"], log=ctx.log)
        floors[name] = fd.floor
        noise_fd[name] = fd(rng.random((settings["fd_samples"], 784)).astype(np.float32))
        baselines[name] = mean_image_nll(x, xt)
        ctx.log(f"{name}: FD floor (two halves of the test set) {fd.floor:.2f}, FD of uniform noise "
                f"{noise_fd[name]:.1f}; pixel-mean baseline {baselines[name]:.1f} nats per image")

        # 3. three models, each trained for the same epochs; the VAEs measured after every epoch
        models, history[name] = {}, {}
        sample_noise = rng.standard_normal((settings["fd_samples"], 16)).astype(np.float32)
        gif_frames[name] = []
        for kind, label, _ in KINDS:
            model = models[kind] = make_model(kind)
            h = history[name][kind] = {"epoch": [], "neg_elbo": [], "fd": []}

            def measure(epoch, model=model, kind=kind, h=h):
                rec, kl = evaluate(model, xt)
                h["epoch"].append(epoch)
                h["neg_elbo"].append(rec + kl)
                if kind == "vae16":   # the sampling model: FD over training, and the GIF's frames
                    h["fd"].append(fd(sample(model, sample_noise)))
                    gif_frames[name].append(sample(model, fixed_noise))

            if kind != "ae2":
                measure(0)
            start = time.perf_counter()
            train(ctx, model, x, epochs, f"{name} {label}", on_epoch=None if kind == "ae2" else measure)
            rec, kl = evaluate(model, xt)
            ctx.log(f"{name} {label}: test reconstruction {rec:.1f} + KL {kl:.1f} = {rec + kl:.1f} nats "
                    f"per image ({time.perf_counter() - start:.0f} s)")

        # 4. results: −ELBO, reconstruction error, FD of samples and of reconstructions
        vae16, vae2, ae2 = models["vae16"], models["vae2"], models["ae2"]
        recon = {kind: reconstruct(m, xt) for kind, m in models.items()}
        mean_mse = mse(x.mean(axis=0)[None], xt)
        z_prior = rng.standard_normal((settings["fd_samples"], 2)).astype(np.float32)
        results = {
            "neg_elbo": history[name]["vae16"]["neg_elbo"][-1],
            "neg_elbo_vae2": history[name]["vae2"]["neg_elbo"][-1],
            "baseline_nll": baselines[name],
            "mse_mean_image": mean_mse,
            **{f"mse_{kind}": mse(r, xt) for kind, r in recon.items()},
            "fd_floor": fd.floor, "fd_noise": noise_fd[name],
            "fd_vae16_samples": history[name]["vae16"]["fd"][-1],
            "fd_vae16_samples_epoch1": history[name]["vae16"]["fd"][1],
            "fd_vae16_samples_per_epoch": history[name]["vae16"]["fd"],
            "fd_vae2_samples": fd(sample(vae2, z_prior)),
            "fd_ae2_decoded_noise": fd(sample(ae2, z_prior)),
            "fd_vae16_reconstructions": fd(recon["vae16"]),
            "fd_ae2_reconstructions": fd(recon["ae2"]),
        }
        ctx.record(**{f"{data}_{k}": v for k, v in results.items()})
        ctx.log(f"{name}: 16-D VAE test −ELBO {results['neg_elbo']:.1f} nats (2-D {results['neg_elbo_vae2']:.1f}, "
                f"baseline {baselines[name]:.1f}); MSE mean image {mean_mse:.4f}, AE-2 {results['mse_ae2']:.4f}, "
                f"VAE-16 {results['mse_vae16']:.4f}")
        ctx.log(f"{name}: FD floor {fd.floor:.2f} | VAE-16 samples {results['fd_vae16_samples']:.2f} "
                f"(epoch 1: {results['fd_vae16_samples_epoch1']:.2f}) | VAE-2 samples {results['fd_vae2_samples']:.2f} "
                f"| AE-2 decoding N(0, I) {results['fd_ae2_decoded_noise']:.2f} | reconstructions: "
                f"VAE-16 {results['fd_vae16_reconstructions']:.2f}, AE-2 {results['fd_ae2_reconstructions']:.2f} "
                f"| noise {noise_fd[name]:.1f}")

        ctx.check(f"{name}: 16-D VAE's test −ELBO below the pixel-mean baseline by ≥ 25 %",
                  results["neg_elbo"] <= 0.75 * baselines[name])
        ctx.check(f"{name}: every reconstruction closer than the mean image (MSE ≤ 0.8 × mean's)",
                  all(results[f"mse_{k}"] <= 0.8 * mean_mse for k in recon))
        ctx.check(f"{name}: the 16-D VAE reconstructs better than the 2-D models",
                  results["mse_vae16"] < min(results["mse_ae2"], results["mse_vae2"]))
        ctx.check(f"{name}: FD of VAE samples below half of noise's, above the floor",
                  fd.floor < results["fd_vae16_samples"] < 0.5 * noise_fd[name])
        ctx.check(f"{name}: FD of the 16-D VAE's samples falls over training (last < after epoch 1)",
                  results["fd_vae16_samples"] < results["fd_vae16_samples_epoch1"])
        ctx.check(f"{name}: sampling needs the VAE (FD of VAE-2 samples < AE-2 decoding N(0, I))",
                  results["fd_vae2_samples"] < results["fd_ae2_decoded_noise"])

        # what the figures need from this data set
        recon_rows[name] = [xt[:10]] + [recon[k][:10] for k, _, _ in KINDS]
        labels[name] = yt[:3000]
        codes[name] = {viz.text(z, e): encode(models[k], xt[:3000]) for k, e, z in KINDS[:2]}
        samples[name] = sample(vae16, fixed_noise)
        grid = np.linspace(-2.2, 2.2, 12).astype(np.float32)          # quantiles of N(0, 1) in the middle 97 %
        z_grid = np.array([(z1, z2) for z2 in grid[::-1] for z1 in grid], dtype=np.float32)  # rows: z₂ high → low
        manifolds[name] = sample(vae2, z_grid)
        mu = encode(vae16, xt[:6])
        steps = np.linspace(0, 1, 10)[:, None]
        interps[name] = [sample(vae16, (1 - steps) * mu[2 * i] + steps * mu[2 * i + 1]) for i in range(3)]

    # 5. figures
    ctx.save_figure(plot_reconstructions(recon_rows, 10), "reconstructions.png")
    ctx.save_figure(plot_latent(codes, labels, class_names), "latent_space.png")
    ctx.save_figure(plot_samples(samples, viz.text("16 维 VAE 的新样本（z ~ N(0, I)）",
                                                   "New samples from the 16-D VAE (z ~ N(0, I))")), "samples.png")
    ctx.save_figure(plot_samples(manifolds, viz.text("2 维 VAE 解码的网格：z₁ 从左到右、z₂ 从下到上取 −2.2 … 2.2",
                                                     "The 2-D VAE decoding a grid: z₁ left → right, z₂ bottom → top, −2.2 … 2.2",
                                                     sep="\n"), cols=12), "manifold.png")
    ctx.save_figure(plot_interpolations(interps), "interpolations.png")
    ctx.save_figure(plot_training(history, baselines, floors, noise_fd), "training.png")
    write_gif(ctx, gif_frames, epochs)
