"""ch11.diffusion — 扩散模型 / Diffusion models from the ground up.

A diffusion model (扩散模型) learns to undo noise. Take data, add a little Gaussian noise, then a
little more, for T steps, until nothing is left but noise: that is the *forward process* (前向
过程), and it needs no learning. Then train a network to take one step back. Starting from
pure noise and stepping back T times makes a new sample: the *reverse process* (反向过程).
This lesson builds it in five stages, from formulas you can check by hand to digits.

**1. Forward noising (前向加噪) of a Gaussian mixture.** With a schedule β_1 … β_T (small, rising
variances), each step shrinks x a little and adds noise: x_t = √(1−β_t) x_{t−1} + √β_t ε. The
steps compose into one jump, q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with ᾱ_t = Π(1 − β_s), so
any x_t is drawn directly from x_0. For a Gaussian mixture the noised marginal q(x_t) is again a
mixture, with means √ᾱ_t μ_k and variances ᾱ_t σ_k² + 1 − ᾱ_t: the figure draws it over
histograms of noised samples, in 1-D and 2-D, as the modes blur into one standard normal.

**2. The score (分数) and Langevin dynamics (朗之万动力学).** The score of a density is ∇_x log p(x),
the direction in which the data gets more likely; for a mixture it is Σ_k r_k(x)(μ_k − x)/σ_k²,
each component pulling towards its mean, weighted by its responsibility r_k(x). Langevin
dynamics samples from p knowing only its score: x ← x + (α/2) ∇ log p(x) + √α z. A network
learns the score from samples alone by *denoising score matching* (去噪分数匹配): noise a point,
x̃ = x + σε, and regress s_θ(x̃, σ) onto −ε/σ. With one small σ, Langevin started far away
finds the modes but not their weights (the learned score is poor where no data was, and the
chains cannot cross between modes); *annealed* Langevin (退火朗之万), from large σ down to small,
gets the weights right (Song & Ermon 2019).

**3. DDPM (去噪扩散概率模型, Ho et al. 2020).** On MNIST digits scaled to [−1, 1], a small U-Net
(`unet.py`: two resolutions, residual blocks, a sinusoidal embedding of t) learns ε-prediction
(预测噪声): draw t and ε, form x_t in one jump, minimise ‖ε − ε_θ(x_t, t)‖² (each step's term
weighted by min(SNR_t, 5)/SNR_t, the "min-SNR" weighting that spends less effort on nearly
clean images: on a CPU budget it reaches good samples in several times fewer steps). Sampling runs the
T steps backwards: guess x̂_0 = (x_t − √(1−ᾱ_t) ε_θ)/√ᾱ_t, then draw x_{t−1} from the Gaussian
posterior q(x_{t−1} | x_t, x̂_0) (`sampling.py`). The GIF shows the steps from noise to digits.
We use T = 100 steps, not the paper's 1 000, so that sampling fits on a CPU; the schedule is
the paper's scaled to end in the same pure noise.

**4. DDIM (去噪扩散隐式模型, Song et al. 2021).** The same trained network, sampled
deterministically: from x̂_0 and ε̂, jump straight to an earlier step s,
x_s = √ᾱ_s x̂_0 + √(1−ᾱ_s) ε̂, skipping the steps between. With 10–20 model calls instead of T
the samples keep their shapes (the same x_T gives the same digit at every step count), at some
cost in FD for a network this briefly trained: the figure plots FD against the number of steps.

**5. Classifier-free guidance (无分类器引导, Ho & Salimans 2021).** The U-Net is also told the
class y, and during training the label is dropped (replaced by a "no label" token) 20 % of the
time, so one network is both conditional ε(x, y) and unconditional ε(x, ∅). Sampling with
ε̃ = (1 + w) ε(x, y) − w ε(x, ∅) pushes along the direction the label adds: larger w gives
digits that are more clearly the asked class, and less varied. The FD classifier judges whether
each guided digit is the class we asked for.

**Measuring.** FD is the Fréchet distance on the project's own classifier (`course/fd.py`), the
same measure as ch10, so the DDPM is compared with ch10.gan's DCGAN trained on the same digits
(`dcgan_baseline`). The unconditional samples (the DDPM and DDIM rows) use the same network
with the "no label" token.

**What to expect.** Annealed Langevin puts about 0.6 / 0.3 / 0.1 of its samples in the modes
weighted 0.6 / 0.3 / 0.1, where plain Langevin at one small σ gets about a third each. The DDPM,
trained for about twelve minutes on a CPU, draws recognisable digits; in the full run its FD
ends below the DCGAN's (measured on the same number of samples: an FD from fewer samples comes
out larger), and the same network asked for a class, with a little guidance, beats it clearly;
DDIM with 10–20 steps gives the same digits at a fifth to a tenth of the cost but a higher FD
(5 steps is visibly worse); guidance raises the share of digits of the asked class towards 1 as w grows,
while the FD eventually rises (less variety). The numbers of the full run are in docs/course.md.

    mlseries run ch11.diffusion [--quick]
"""
import time

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F

from .. import fd as fd_measure
from ..registry import lesson
from ..ch10.gan import dcgan_baseline
from . import figures
from .sampling import Schedule, ddim_sample, ddpm_sample, guided_eps
from .toy import Mixture, ScoreNet, langevin, mode_fractions, score_fn, train_score
from .unet import UNet

FULL = dict(toy_points=20000, score_steps=3000, chains=2000, langevin_steps=50,
            T=100, channels=32, train_steps=5600, batch=32, lr=2e-3, ema=0.995,
            track_every=800, track_samples=500, fd_kind="full", fd_test=None, fd_samples=1000,
            ddim_steps=(5, 10, 20), guidance=(0.0, 1.0, 2.0, 4.0), guide_w=2.0, guide_steps=20,
            per_class=20, accuracy_target=0.9)
# quick: the same stages, small: fewer (and smaller) training batches, fewer samples, the tiny FD
# classifier against 2 000 test images (as ch10.gan's quick DCGAN); the guided-accuracy target is
# lowered to 0.3, three times chance (10 %), at this scale — the full run checks the real 0.9
QUICK = dict(toy_points=5000, score_steps=1000, chains=1000, langevin_steps=30,
             T=50, channels=32, train_steps=700, batch=16, lr=2e-3, ema=0.95,
             track_every=350, track_samples=100, fd_kind="quick", fd_test=2000, fd_samples=200,
             ddim_steps=(5, 10), guidance=(0.0, 2.0, 4.0), guide_w=4.0, guide_steps=10,
             per_class=5, accuracy_target=0.3)
P_UNCOND = 0.2                 # how often training drops the label (classifier-free guidance)
NO_LABEL = 10                  # the U-Net's extra class index: "no label"
MIX_1D = dict(weights=[0.7, 0.3], means=[-1.5, 1.5], stds=[0.3, 0.5])
MIX_2D = dict(weights=[0.6, 0.3, 0.1], means=[(-3, -2), (3, -2), (0, 3)], stds=[0.5, 0.5, 0.5])
SIGMAS = np.geomspace(6.0, 0.1, 10)   # the score's noise levels: from wider than the data to finer than a mode
MIN_SNR = 5.0                          # the loss weight min(SNR_t, 5) / SNR_t (see train_ddpm)

CAPTIONS = {
    "forward_noising.png": ("上：一维混合分布加噪后的直方图与闭式密度（黑线）一致；下：二维混合的样本逐步模糊为一个标准正态。",
                            "Top: histograms of the noised 1-D mixture match the closed-form density (black); bottom: the 2-D mixture's samples blur into one standard normal."),
    "score_langevin.png": ("左：学到的分数场（箭头）指向各个模式；中：单一小噪声的朗之万采样找到模式但比例错误；右：退火朗之万的比例与混合权重一致。",
                           "Left: the learned score field (arrows) points to the modes; middle: plain Langevin at one small σ finds the modes but not their weights; right: annealed Langevin gets the weights right."),
    "training.png": ("左：噪声预测损失随训练下降；右：样本的 FD（DDIM 10 步）随训练下降，与 DCGAN 和真实数据下限对比。",
                     "Left: the noise-prediction loss falls; right: the samples' FD (DDIM, 10 steps) falls over training, against the DCGAN and the real-data floor."),
    "samples.png": ("DDPM 完整反向过程生成的数字（无标签），旁边是真实测试图像。",
                    "Digits from the DDPM's full reverse process (no label), beside real test images."),
    "ddim.png": ("左：DDIM 的 FD 随步数的变化（DDPM 为完整的 T 步）；右：同一初始噪声下不同步数的 DDIM 样本。",
                 "Left: DDIM's FD against the number of steps (DDPM uses all T); right: DDIM samples from the same starting noise with different step counts."),
    "guidance.png": ("左、中：每行要求一个类别，无引导（w=0）与有引导的样本；右：分类器判为所要求类别的比例，以及 FD，随引导强度变化。",
                     "Left, middle: each row asks for one class, without guidance (w = 0) and with it; right: how often the classifier sees the asked class, and the FD, against the guidance weight."),
    "sampling.gif": ("从纯噪声到数字：DDPM 的反向过程逐步进行（左：x_t，右：模型当前对 x_0 的猜测）。",
                     "From pure noise to digits: DDPM's reverse process step by step (left: x_t; right: the model's current guess of x_0)."),
    "samples_over_training.gif": ("固定噪声下的样本（DDIM 10 步）随训练的变化。",
                                  "Samples at fixed noise (DDIM, 10 steps) over training."),
}


# ---------------------------------------------------------------- 1. forward noising of a mixture

def mixture_moments(mixture, scale, sigma):
    """Mean and variance of the 1-D mixture's law after x ↦ scale · x + sigma · ε (closed form)."""
    noised = mixture.noised(scale, sigma)
    mean = float(noised.weights @ noised.means[:, 0])
    second = float(noised.weights @ (noised.stds ** 2 + noised.means[:, 0] ** 2))
    return mean, second - mean ** 2


def forward_noising(ctx, settings, schedule, rng):
    """Noise samples of both mixtures in one jump at a few steps; compare with the closed form."""
    mix1, mix2 = Mixture(**MIX_1D), Mixture(**MIX_2D)
    steps = np.unique((np.array([0.0, 0.1, 0.25, 0.5, 1.0]) * (schedule.T - 1)).round().astype(int))
    x1, _ = mix1.sample(settings["toy_points"], rng)                         # (N, 1)
    x2, k2 = mix2.sample(settings["toy_points"], rng)                        # (N, 2)
    # the 2-D mixture is wider than the data DDPM sees; scaled to unit size it noises alike
    x2 = x2 / 3.0
    panels, worst = [], 0.0
    for t in steps:
        scale, std = schedule.q_mean_std(t)
        n1 = schedule.add_noise(x1, np.full(len(x1), t), rng.standard_normal(x1.shape))
        n2 = schedule.add_noise(x2, np.full(len(x2), t), rng.standard_normal(x2.shape))
        mean, var = mixture_moments(mix1, scale, std)
        worst = max(worst, abs(n1.mean() - mean) / np.sqrt(var), abs(n1.var() / var - 1))
        panels.append(dict(t=int(t), scale=float(scale), std=float(std), x1=n1[:, 0], x2=n2,
                           k2=k2, density=mix1.noised(scale, std)))
    ctx.log(f"forward noising: T = {schedule.T}, √ᾱ_T = {np.sqrt(schedule.alpha_bars[-1]):.4f}; sample mean "
            f"and variance of x_t against the closed form: worst relative error {worst:.3f}")
    ctx.record(forward_worst_moment_error=worst, sqrt_alpha_bar_T=float(np.sqrt(schedule.alpha_bars[-1])))
    ctx.check("forward noising: x_t's sample mean and variance match q(x_t) in closed form (error ≤ 5 %)",
              worst <= 0.05)
    return panels


# ---------------------------------------------------------------- 2. a learned score and Langevin

def score_and_langevin(ctx, settings, rng):
    mix = Mixture(**MIX_2D)
    data, _ = mix.sample(settings["toy_points"], rng)
    model = ScoreNet()
    start = time.perf_counter()
    losses = train_score(model, data, SIGMAS, settings["score_steps"], 256, 2e-3, rng,
                         progress=lambda it: ctx.progress(it, "score matching"))
    score = score_fn(model)
    # how close is the learned score to the noised mixture's exact one, at every σ?
    cosines = []
    for sigma in SIGMAS:
        pts, _ = mix.noised(1.0, sigma).sample(1000, rng)
        true, learned = mix.noised(1.0, sigma).score(pts), score(pts, sigma)
        cosines.append(float(np.mean((true * learned).sum(1) / (np.linalg.norm(true, axis=1) *
                                                                np.linalg.norm(learned, axis=1)))))
    cosine, sigma = float(np.mean(cosines)), SIGMAS[-1]
    # Langevin from uniform noise over the whole box: one small σ, then annealed over all σ
    start_points = rng.uniform(-6, 6, (settings["chains"], 2))
    step = 0.5 * SIGMAS[-1] ** 2
    plain = langevin(score, start_points, SIGMAS[-1:], settings["langevin_steps"] * len(SIGMAS), step, rng)
    annealed = langevin(score, start_points, SIGMAS, settings["langevin_steps"], step, rng)
    tv = {name: 0.5 * float(np.abs(mode_fractions(p, mix) - mix.weights).sum())
          for name, p in (("plain", plain), ("annealed", annealed))}
    ctx.log(f"score matching: {settings['score_steps']} steps ({time.perf_counter() - start:.1f} s), loss "
            f"{np.mean(losses[:50]):.3f} → {np.mean(losses[-50:]):.3f}; mean cosine to the exact score "
            f"{cosine:.3f} (σ = 6 … 0.1: {' '.join(f'{c:.2f}' for c in cosines)})")
    ctx.log(f"Langevin: mode shares plain {np.round(mode_fractions(plain, mix), 3).tolist()}, annealed "
            f"{np.round(mode_fractions(annealed, mix), 3).tolist()}, weights {mix.weights.tolist()}; "
            f"total variation plain {tv['plain']:.3f}, annealed {tv['annealed']:.3f}")
    ctx.record(score_cosine=cosine, score_cosine_per_sigma=cosines, langevin_tv_plain=tv["plain"], langevin_tv_annealed=tv["annealed"],
               langevin_shares_annealed=mode_fractions(annealed, mix).tolist())
    ctx.check("learned score points the exact way (cosine ≥ 0.9, mean over the noise levels)", cosine >= 0.9)
    ctx.check("annealed Langevin recovers the mixture weights (total variation ≤ 0.1, below plain Langevin's)",
              tv["annealed"] <= 0.1 and tv["annealed"] < tv["plain"])
    return dict(mixture=mix, data=data, score=score, plain=plain, annealed=annealed, sigma=sigma)


# ---------------------------------------------------------------- 3. DDPM on MNIST

def eps_function(model, label=NO_LABEL):
    """A NumPy ε̂(x, t) for the samplers; label: one int, or an array (B,) of labels."""
    def eps(x, t):
        labels = np.broadcast_to(np.asarray(label), (len(x),))
        with ms.no_grad():
            return model(ms.tensor(x), np.full(len(x), t), labels).numpy()
    return eps


def guided_function(model, labels, w):
    """ε̃ = (1 + w) ε(x, y) − w ε(x, ∅), both halves in one batch."""
    def eps(x, t):
        with ms.no_grad():
            both = model(ms.tensor(np.concatenate([x, x])), np.full(2 * len(x), t),
                         np.concatenate([labels, np.full(len(x), NO_LABEL)])).numpy()   # (2B, 1, 28, 28)
        return guided_eps(both[:len(x)], both[len(x):], w)
    return eps


def to_images(x):
    """[−1, 1] model space → [0, 1] pixels, (N, 1, 28, 28)."""
    return np.clip((x + 1) / 2, 0, 1).astype(np.float32)


def train_ddpm(ctx, settings, schedule, x, y, rng, on_track):
    """Adam on ε-prediction; labels dropped with probability P_UNCOND; an exponential moving
    average (EMA, 指数滑动平均) of the weights is the model we sample from (less noisy than the last
    step's). `on_track(step, ema_model)` every `track_every` steps and at the end."""
    model, ema = UNet(settings["channels"], classes=10), UNet(settings["channels"], classes=10)
    optimizer = ms.optim.Adam(model.parameters(), lr=settings["lr"])
    averaged = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    # min-SNR weighting (Hang et al. 2023): SNR_t = ᾱ_t / (1 − ᾱ_t) is large for nearly clean
    # images, where ε is hard to see and matters little to the sample; capping its weight at
    # min(SNR, 5) / SNR lets the noisy steps, which shape the digit, dominate — several times
    # fewer steps for the same samples, which is what a CPU needs
    snr = schedule.alpha_bars / (1 - schedule.alpha_bars)
    weights = (np.minimum(snr, MIN_SNR) / snr).astype(np.float32)             # (T,)
    losses = []
    for step in ctx.progress(range(1, settings["train_steps"] + 1), "DDPM training"):
        idx = rng.integers(0, len(x), settings["batch"])
        x0 = x[idx]                                                           # (B, 1, 28, 28) in [−1, 1]
        t = rng.integers(0, schedule.T, settings["batch"])                    # (B,) a step per image
        eps = rng.standard_normal(x0.shape).astype(np.float32)               # (B, 1, 28, 28)
        labels = np.where(rng.random(settings["batch"]) < P_UNCOND, NO_LABEL, y[idx])
        err = (model(ms.tensor(schedule.add_noise(x0, t, eps)), t, labels) - ms.tensor(eps)) ** 2
        loss = (err.mean(dim=(1, 2, 3)) * ms.tensor(weights[t])).mean()     # weighted ‖ε − ε̂‖²
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        decay = min(settings["ema"], (1 + step) / (10 + step))                # short memory at first
        for k, v in model.state_dict().items():
            averaged[k] = decay * averaged[k] + (1 - decay) * v.numpy()
        if step % settings["track_every"] == 0 or step == settings["train_steps"]:
            ema.load_state_dict({k: ms.tensor(v) for k, v in averaged.items()})
            ema.eval()
            on_track(step, ema)
    return ema, losses


def dcgan_fd(ctx, quick, samples):
    """The DCGAN's FD on MNIST, trained now by ch10.gan's `dcgan_baseline` and measured on the
    same number of samples as the DDPM (FD from fewer samples comes out larger)."""
    start = time.perf_counter()
    value = float(dcgan_baseline(ctx, "mnist", quick, samples=samples))
    ctx.log(f"DCGAN (ch10.gan's dcgan_baseline, trained now): FD {value:.2f} on {samples} samples "
            f"({time.perf_counter() - start:.0f} s)")
    return value


# ---------------------------------------------------------------- the lesson

@lesson("ch11.diffusion", zh="扩散模型", en="Diffusion models")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    ms.manual_seed(ctx.seed)
    rng = ctx.rng()
    schedule = Schedule(settings["T"])
    timings = {}

    # 1–2. the toy stages: closed forms to check against
    start = time.perf_counter()
    panels = forward_noising(ctx, settings, schedule, ctx.rng(1))
    toy = score_and_langevin(ctx, settings, ctx.rng(2))
    timings["toy"] = time.perf_counter() - start

    # 3. data and the measure
    x, y = fd_measure.load_images("mnist", train=True)
    x = x * 2 - 1                                                          # (60000, 1, 28, 28) in [−1, 1]
    test_x, test_y = fd_measure.load_images("mnist", train=False)
    fd = fd_measure.FD("mnist", settings["fd_kind"], test=settings["fd_test"], log=ctx.log)
    classifier_accuracy = float(np.mean(classify(fd.model, test_x) == test_y))
    ctx.log(f"MNIST: train {x.shape}; FD classifier ({settings['fd_kind']}) test accuracy "
            f"{classifier_accuracy:.4f}; FD floor (two halves of the test set) {fd.floor:.2f}")
    dcgan = dcgan_fd(ctx, ctx.quick, settings["fd_samples"])

    # DDPM training, with FD (DDIM, 10 steps, fixed noise) along the way
    track_noise = rng.standard_normal((settings["track_samples"], 1, 28, 28)).astype(np.float32)
    track = {"step": [], "fd": [], "frames": []}

    def on_track(step, model):
        samples = ddim_sample(schedule, eps_function(model), track_noise, 10)
        track["step"].append(step)
        track["fd"].append(fd(to_images(samples)))
        track["frames"].append(to_images(samples[:36]))
        ctx.log(f"DDPM step {step}: FD (DDIM 10 steps, {len(track_noise)} samples) {track['fd'][-1]:.2f}")

    start = time.perf_counter()
    model, losses = train_ddpm(ctx, settings, schedule, x, y, ctx.rng(3), on_track)
    timings["train"] = time.perf_counter() - start

    # ancestral sampling with all T steps; keep the first 36 chains' path for the GIF
    n = settings["fd_samples"]
    noise = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    frames = []
    keep = set(np.unique(np.geomspace(1, schedule.T, 24).round().astype(int) - 1).tolist())

    def on_step(t, xt, x0):
        if t in keep:
            frames.append((t, to_images(xt[:36]), to_images(x0[:36])))

    start = time.perf_counter()
    ddpm = ddpm_sample(schedule, eps_function(model), noise, ctx.rng(4), on_step)
    timings["ddpm_sampling"] = time.perf_counter() - start
    fd_ddpm = fd(to_images(ddpm))
    ctx.log(f"DDPM ({schedule.T} steps, {n} samples, {timings['ddpm_sampling']:.0f} s): FD {fd_ddpm:.2f} | "
            f"DCGAN {dcgan:.2f} | floor {fd.floor:.2f}")

    # 4. DDIM from the same starting noise with fewer steps
    ddim = {}
    for steps in settings["ddim_steps"]:
        start = time.perf_counter()
        samples = ddim_sample(schedule, eps_function(model), noise, steps)
        ddim[steps] = dict(fd=fd(to_images(samples)), seconds=time.perf_counter() - start,
                           images=to_images(samples[:8]))
        ctx.log(f"DDIM {steps:>3} steps: FD {ddim[steps]['fd']:.2f} ({ddim[steps]['seconds']:.1f} s)")

    # 5. classifier-free guidance: each class asked for per_class times, at each weight
    labels = np.repeat(np.arange(10), settings["per_class"])                   # (10·per_class,)
    guide_noise = rng.standard_normal((len(labels), 1, 28, 28)).astype(np.float32)
    guided = {}
    for w in settings["guidance"]:
        images = to_images(ddim_sample(schedule, guided_function(model, labels, w), guide_noise,
                                       settings["guide_steps"]))
        guided[w] = dict(accuracy=float(np.mean(classify(fd.model, images) == labels)), fd=fd(images),
                         images=images)
        ctx.log(f"guidance w = {w:g}: classified as the asked class {guided[w]['accuracy']:.3f}, "
                f"FD {guided[w]['fd']:.2f}")

    # results
    ctx.record(T=schedule.T, train_steps=settings["train_steps"], final_loss=float(np.mean(losses[-50:])),
               fd_floor=fd.floor, fd_ddpm=fd_ddpm, fd_dcgan=dcgan,
               fd_over_training=track["fd"], fd_ddim={str(k): v["fd"] for k, v in ddim.items()},
               guided_accuracy={f"{w:g}": g["accuracy"] for w, g in guided.items()},
               guided_fd={f"{w:g}": g["fd"] for w, g in guided.items()},
               classifier_accuracy=classifier_accuracy, fd_samples=n,
               seconds={k: round(v, 1) for k, v in timings.items()})
    ctx.check(f"DDPM's FD below the DCGAN's on MNIST ({fd_ddpm:.2f} < {dcgan:.2f})", fd_ddpm < dcgan)
    ctx.check("the samples' FD falls over training (last < first measurement)", track["fd"][-1] < track["fd"][0])
    accuracy = guided[settings["guide_w"]]["accuracy"]
    ctx.record(guided_accuracy_at_w=accuracy, guide_w=settings["guide_w"])
    ctx.check(f"guided samples (w = {settings['guide_w']:g}) are the asked class ≥ "
              f"{settings['accuracy_target']:.0%} of the time ({accuracy:.3f})", accuracy >= settings["accuracy_target"])

    # figures
    ctx.save_figure(figures.forward(panels, MIX_2D), "forward_noising.png")
    ctx.save_figure(figures.score_langevin(toy), "score_langevin.png")
    ctx.save_figure(figures.training(losses, track, dcgan, fd.floor), "training.png")
    ctx.save_figure(figures.samples(to_images(ddpm[:64]), test_x[:64], fd_ddpm), "samples.png")
    ctx.save_figure(figures.ddim(ddim, fd_ddpm, schedule.T, dcgan, fd.floor), "ddim.png")
    ctx.save_figure(figures.guidance(guided, settings["per_class"], settings["guide_w"]), "guidance.png")
    figures.sampling_gif(ctx, frames, schedule.T)
    figures.training_gif(ctx, track)


def classify(model, images, batch=500):
    """The FD classifier's predicted class for images (N, 1, 28, 28) in [0, 1]."""
    model.eval()
    with ms.no_grad():
        return np.concatenate([model(ms.tensor(images[i:i + batch])).numpy().argmax(axis=1)
                               for i in range(0, len(images), batch)])
