"""ch10.pix2pix — 图像到图像的翻译：Pix2Pix 与 CycleGAN / Image-to-image translation: Pix2Pix and CycleGAN.

Many tasks turn one picture into another: a sketch into a photo, a map into an aerial view, a
low-resolution image into a sharp one. This is image-to-image translation (图像到图像翻译). The
lesson builds its two classic GAN recipes on MNIST digits, small enough for a CPU.

**Paired data: Pix2Pix (配对数据).** Every training example is a pair (input, target). Here the
input is the digit seen through a coarse mosaic (马赛克): each 7×7 block of the 28×28 image replaced
by its mean brightness, so only a 4×4 grid of grey squares is left. The target is the original
digit. The mosaic keeps roughly where the ink is, not which strokes made it: many digits fit one
mosaic, and the generator has to choose. (Why not edges → digits, the classic demo? An edge map
of a digit pins the digit down almost completely: the U-Net trained with L1 alone already drew
digits whose FD was at the real-data floor, so there was nothing left for a GAN to add. The
adversarial loss earns its keep where the input leaves the answer open.)

The generator is a U-Net (as in ch07.unet): an encoder halves the size twice (28 → 14 → 7), a
decoder doubles it back, and skip connections (跳跃连接) hand each encoder level's maps to the
decoder level of the same size. The obvious way to train it is to minimise the mean absolute
error (L1 loss) to the target. But when several outputs are plausible, the output that
minimises the expected L1 error is their per-pixel *median*: an average-looking compromise,
blurry and grey where the answer is uncertain. L1 alone gives safe, blurry digits.

Pix2Pix (Isola et al., 2017) adds a discriminator. Its PatchGAN (块判别器) looks at the input and
the output side by side and answers "real pair or generated?" not once per image but for every
18×18-pixel patch (a 7×7 grid of answers), so it judges local texture — are these sharp pen
strokes? — and leaves the global layout to the L1 term. The generator's loss is

    L_G = BCE(D(x, G(x)), real) + λ · |G(x) − y|₁          (λ = 100 in the paper; 20 here)

and the discriminator learns to tell (x, y) from (x, G(x)). The adversarial term punishes
blur, because blur is easy for D to spot; the L1 term keeps the output close to its target.
For a fair comparison the L1-only U-Net starts from the same weights, sees the same batches and
uses the same Adam settings (step 1e-3, β₁ = 0.5, held for the first half of training and then
decayed linearly to 0, the papers' schedule); the only difference is the adversarial term.

**Unpaired data: CycleGAN (非配对数据).** Often no pairs exist: horse photos and zebra photos, but
no photo of the same horse as a zebra. CycleGAN (Zhu et al., 2017) learns two generators,
G: A → B and F: B → A, each with a discriminator for its target domain (D_B asks "does this look
like a B?"). Adversarial losses alone would let G map every input to any convincing B. The
cycle-consistency loss (循环一致性损失) ties each translation to its input: a round trip must come
back, F(G(a)) ≈ a and G(F(b)) ≈ b, measured with L1. An identity loss (恒等损失) asks G to leave
an image already in B unchanged (G(b) ≈ b), which keeps it from changing what needs no change.
The adversarial losses are least squares (LSGAN), as in the paper: steadier than cross-entropy.

Our domains: A = MNIST digits as written; B = digits written with a thicker pen (a 3×3 dilation,
膨胀). B's images are made from *other* training digits than A's, so the model never sees one digit
in both styles: it has to find the translation from the two piles alone.

**How we measure (评估).**
- Pix2Pix vs L1 alone: the Fréchet distance (FD, `mlseries.course.fd`) between the outputs for
  test mosaics and real test digits, on the project's own classifier. Blurry or grey digits move
  the classifier's features away from real ones. Two halves of the test set give the floor.
- CycleGAN's round trip: the cycle error, the mean absolute error of F(G(a)) against a on test
  digits, compared with the error of the best input-blind guess (the mean training digit), and
  with the untrained networks' round trip.
- Does a translation keep the digit? The FD classifier was trained on ordinary MNIST, so it can
  read domain A. For B → A we classify F(b), the thick test digit translated back to thin, and
  compare with b's true label (target ≥ 0.8). For A → B we classify G(a) directly and compare
  with the classifier's accuracy on the real thick test digits, its own limit in domain B.

**What to expect.** In the full run (about 8 minutes on one core) the L1-only U-Net draws
recognisable digits with soft, grey edges; Pix2Pix draws crisp strokes, and its FD is 17.3
against 43.8 for L1 alone (floor 1.7) — lower at every measurement during training, although its
mean absolute error is slightly higher (L1 alone minimises exactly that error, by hedging).
Sharp strokes in a slightly wrong place look more like handwriting than blur in the right place.
The CycleGAN learns to thicken and to thin without ever seeing a pair: its round trip misses
the input by 0.016 per pixel (the mean digit: 0.151), and the classifier reads 97 % of the
thinned digits as their true class. Numbers are in docs/course.md.

    mlseries run ch10.pix2pix [--quick]
"""
import time

import numpy as np

import mlseries as ms

from .. import fd as fd_measure
from ..registry import lesson
from . import pix2pix_figures as figures
from .autoencoder import subset
from .pix2pix_models import PatchGAN, UNet, bce_logits, blocky, identity_loss, least_squares, thicken, translate

FULL = dict(train=20000, test=None, pix_steps=1500, cycle_steps=1000, batch=32, cycle_batch=32, width=16,
            fd_samples=2000, fd_kind="full", frames=10)
# quick: a fifth of the steps (CycleGAN's at half the batch) with narrower networks and the tiny
# FD classifier; still long enough for the adversarial term to sharpen the strokes and the cycle to close
QUICK = dict(train=4000, test=2000, pix_steps=300, cycle_steps=200, batch=32, cycle_batch=16, width=8,
             fd_samples=500, fd_kind="quick", frames=5)
BLOCK = 7            # mosaic block: 28 / 7 = a 4×4 grid of grey squares
# Adam with β₁ = 0.5 as in the papers, the same step for G with and without the GAN (a fair
# comparison) and for D; λ weighs L1 against the adversarial term (paper: 100; 20 here, not tuned)
PIX = dict(lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), lam=20.0)
# CycleGAN: cycle weight λ = 10 and identity weight λ/2, the paper's; its discriminators step at half the rate
CYCLE = dict(lr_g=1e-3, lr_d=5e-4, betas=(0.5, 0.999), lam=10.0, lam_id=5.0)
SHOW = 8             # test examples drawn in the figures and the GIF

# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "pix2pix_results.png": ("输入马赛克、只用 L1 训练的 U-Net、Pix2Pix、真实数字：L1 的数字模糊发灰，Pix2Pix 画出清晰的笔画。",
                            "Input mosaic, the U-Net trained with L1 alone, Pix2Pix, and the real digit: L1's digits are smeared and grey, Pix2Pix draws crisp strokes."),
    "pixel_values.png": ("输出像素值的分布：真实数字的像素几乎全是黑或白；L1 输出有大量中间灰度（模糊），Pix2Pix 更接近真实。",
                         "Output pixel values: a real digit's pixels are almost all black or white; L1's outputs have many in-between greys (blur), Pix2Pix's are closer to real."),
    "cyclegan.png": ("CycleGAN 的往返：A → G(A) → F(G(A)) 和 B → F(B) → G(F(B))；往返后的图像与输入几乎相同。",
                     "CycleGAN round trips: A → G(A) → F(G(A)) and B → F(B) → G(F(B)); each round trip returns (almost) its input."),
    "training.png": ("训练曲线：Pix2Pix 的 FD 低于只用 L1 的 U-Net；CycleGAN 的循环误差下降，判别器与生成器的损失保持拉锯。",
                     "Training: Pix2Pix's FD ends below the L1-only U-Net's; CycleGAN's cycle error falls while the discriminators' and generators' losses stay in a tug of war."),
    "translations_over_training.gif": ("固定测试输入的翻译随训练的变化：L1、Pix2Pix、CycleGAN 的两个方向。",
                                       "Translations of fixed test inputs over training: L1 alone, Pix2Pix, and CycleGAN's two directions."),
}


# ---------------------------------------------------------------- 1. training

def adam(models, lr, cfg, steps):
    """Adam over the models' parameters, with the papers' schedule: the full step for the first
    half of training, then decaying linearly to 0 (late GAN updates only wobble the output)."""
    params = [p for m in models for p in m.parameters()]
    optimizer = ms.optim.Adam(params, lr=lr, betas=cfg["betas"])
    schedule = ms.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, 2.0 * (1 - step / steps)))
    return optimizer, schedule


def snapshot_steps(steps, frames):
    """The steps after which the GIF gets a frame and the FD is measured: 0 (untrained) … steps."""
    return sorted(set(np.linspace(0, steps, frames + 1).round().astype(int).tolist()))


def train_pix2pix(ctx, inputs, targets, settings, adversarial, on_snapshot):
    """The U-Net on (mosaic, digit) pairs: L1 alone, or L1 + PatchGAN (Pix2Pix). Returns the
    generator and its loss history; `on_snapshot(step, G)` at each snapshot step."""
    ms.manual_seed(ctx.seed)                        # both runs start from the same generator
    rng = ctx.rng(1)                                # and see the same batches
    G, D = UNet(settings["width"]), PatchGAN(settings["width"], c_in=2)
    steps = settings["pix_steps"]
    opt_g, sched_g = adam([G], PIX["lr_g"], PIX, steps)
    opt_d, sched_d = adam([D], PIX["lr_d"], PIX, steps) if adversarial else (None, None)
    history = {"step": [], "l1": [], "adv": [], "d": []}
    snaps = snapshot_steps(settings["pix_steps"], settings["frames"])
    on_snapshot(0, G)
    name = "Pix2Pix" if adversarial else "L1 only"
    for step in ctx.progress(range(1, settings["pix_steps"] + 1), name):
        idx = rng.integers(0, len(inputs), settings["batch"])
        x, y = ms.tensor(inputs[idx]), ms.tensor(targets[idx])          # (B, 1, 28, 28) each
        fake = G(x)                                                     # (B, 1, 28, 28)
        l1 = (fake - y).abs().mean()
        if adversarial:
            # the discriminator: real pairs → 1, generated pairs → 0 (fake detached: D's step only)
            d_loss = 0.5 * (bce_logits(D(x, y), True) + bce_logits(D(x, fake.detach()), False))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            adv = bce_logits(D(x, fake), True)                          # G wants D to say "real"
            g_loss = adv + PIX["lam"] * l1
        else:
            g_loss = l1
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        sched_g.step()
        if adversarial:
            sched_d.step()
        if step % 10 == 0:
            history["step"].append(step)
            history["l1"].append(l1.item())
            history["adv"].append(adv.item() if adversarial else np.nan)
            history["d"].append(d_loss.item() if adversarial else np.nan)
        if step in snaps:
            on_snapshot(step, G)
    return G, history


def train_cyclegan(ctx, domain_a, domain_b, settings, on_snapshot):
    """G: A → B and F: B → A with discriminators D_A, D_B, on unpaired batches of each domain."""
    ms.manual_seed(ctx.seed + 1)
    rng = ctx.rng(2)
    w = settings["width"]
    G, F = UNet(w), UNet(w)
    D_a, D_b = PatchGAN(w, c_in=1), PatchGAN(w, c_in=1)
    steps = settings["cycle_steps"]
    opt_g, sched_g = adam([G, F], CYCLE["lr_g"], CYCLE, steps)           # both generators, one optimiser
    opt_d, sched_d = adam([D_a, D_b], CYCLE["lr_d"], CYCLE, steps)
    history = {"step": [], "adv": [], "cycle": [], "identity": [], "d": []}
    snaps = snapshot_steps(settings["cycle_steps"], settings["frames"])
    on_snapshot(0, G, F)
    for step in ctx.progress(range(1, settings["cycle_steps"] + 1), "CycleGAN"):
        a = ms.tensor(domain_a[rng.integers(0, len(domain_a), settings["cycle_batch"])])   # (B, 1, 28, 28)
        b = ms.tensor(domain_b[rng.integers(0, len(domain_b), settings["cycle_batch"])])   # unrelated digits
        fake_b, fake_a = G(a), F(b)
        # generators: fool both discriminators, close both cycles, leave in-domain images alone
        adv = least_squares(D_b(fake_b), True) + least_squares(D_a(fake_a), True)
        cyc = (F(fake_b) - a).abs().mean() + (G(fake_a) - b).abs().mean()   # = cycle_loss, reusing G(a), F(b)
        ident = identity_loss(G, F, a, b)
        g_loss = adv + CYCLE["lam"] * cyc + CYCLE["lam_id"] * ident
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        # discriminators: real images of their domain → 1, the generators' (detached) → 0
        d_loss = 0.5 * (least_squares(D_b(b), True) + least_squares(D_b(fake_b.detach()), False)
                        + least_squares(D_a(a), True) + least_squares(D_a(fake_a.detach()), False))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        sched_g.step()
        sched_d.step()
        if step % 10 == 0:
            for key, value in (("adv", adv), ("cycle", cyc), ("identity", ident), ("d", d_loss)):
                history[key].append(value.item())
            history["step"].append(step)
        if step in snaps:
            on_snapshot(step, G, F)
    return G, F, history


# ---------------------------------------------------------------- 2. measures

def mae(a, b):
    return float(np.abs(a - b).mean())


def predict(fd, images):
    """The FD classifier's digit for each image (N, 1, 28, 28)."""
    model = fd.model
    model.eval()
    with ms.no_grad():
        return np.concatenate([model(ms.tensor(images[i:i + 500])).numpy().argmax(axis=1)
                               for i in range(0, len(images), 500)])


def grey_fraction(images):
    """Share of pixels neither clearly ink nor clearly paper (0.1 < value < 0.9): how blurry."""
    return float(((images > 0.1) & (images < 0.9)).mean())


# ---------------------------------------------------------------- the lesson

@lesson("ch10.pix2pix", zh="Pix2Pix 与 CycleGAN", en="Pix2Pix and CycleGAN")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. data: MNIST digits in [0, 1]; mosaics for Pix2Pix, thin/thick domains for CycleGAN
    x, _ = subset(*fd_measure.load_images("mnist", train=True), settings["train"])
    xt, yt = subset(*fd_measure.load_images("mnist", train=False), settings["test"])
    mosaic, mosaic_t = blocky(x, BLOCK), blocky(xt, BLOCK)
    half = len(x) // 2
    domain_a, domain_b = x[:half], thicken(x[half:])      # different digits in each domain: unpaired
    thick_t = thicken(xt)
    ev = np.arange(settings["fd_samples"]) * (len(xt) // settings["fd_samples"])   # the test images measured
    show = ev[:SHOW]
    ctx.log(f"MNIST: {len(x)} training digits ({half} per CycleGAN domain), {len(xt)} test; "
            f"mosaic {28 // BLOCK}×{28 // BLOCK} blocks of {BLOCK}×{BLOCK}")

    fd = fd_measure.FD("mnist", settings["fd_kind"], test=settings["test"], log=ctx.log)
    fd_mosaic = fd(mosaic_t[ev])
    fd_thick = fd(thick_t[ev])
    ctx.log(f"FD floor (two halves of the test set) {fd.floor:.2f}; FD of the mosaics themselves {fd_mosaic:.1f}, "
            f"of thick digits {fd_thick:.1f}")

    # 2. Pix2Pix and its L1-only twin: same U-Net, same start, same batches
    frames = {"l1": [], "pix2pix": [], "a2b": [], "b2a": []}
    fd_curves = {"l1": [], "pix2pix": []}
    models, histories, seconds = {}, {}, {}
    for key, adversarial in (("l1", False), ("pix2pix", True)):
        def snapshot(step, G, key=key):
            out = translate(G, mosaic_t[ev])
            fd_curves[key].append((step, fd(out)))
            frames[key].append(out[:SHOW])

        start = time.perf_counter()
        models[key], histories[key] = train_pix2pix(ctx, mosaic, x, settings, adversarial, snapshot)
        seconds[key] = time.perf_counter() - start
        ctx.log(f"{key}: FD {fd_curves[key][-1][1]:.2f} after {settings['pix_steps']} steps ({seconds[key]:.0f} s)")

    outputs = {key: translate(models[key], mosaic_t[ev]) for key in ("l1", "pix2pix")}
    pix = {
        "fd_floor": fd.floor, "fd_mosaic": fd_mosaic,
        "fd_l1": fd_curves["l1"][-1][1], "fd_pix2pix": fd_curves["pix2pix"][-1][1],
        "fd_l1_per_snapshot": [v for _, v in fd_curves["l1"]],
        "fd_pix2pix_per_snapshot": [v for _, v in fd_curves["pix2pix"]],
        "mae_l1": mae(outputs["l1"], xt[ev]), "mae_pix2pix": mae(outputs["pix2pix"], xt[ev]),
        "grey_real": grey_fraction(xt[ev]), "grey_l1": grey_fraction(outputs["l1"]),
        "grey_pix2pix": grey_fraction(outputs["pix2pix"]),
    }
    ctx.record(**{f"pix_{k}": v for k, v in pix.items()})
    ctx.log(f"Pix2Pix FD {pix['fd_pix2pix']:.2f} vs L1 alone {pix['fd_l1']:.2f} (floor {fd.floor:.2f}, mosaics "
            f"{fd_mosaic:.1f}); test MAE {pix['mae_pix2pix']:.4f} vs {pix['mae_l1']:.4f}; grey pixels "
            f"{pix['grey_pix2pix']:.3f} vs {pix['grey_l1']:.3f} (real {pix['grey_real']:.3f})")
    ctx.check("Pix2Pix beats L1 alone on FD", pix["fd_pix2pix"] < pix["fd_l1"])
    ctx.check("both translate: FD of each output below half the mosaics' FD",
              max(pix["fd_pix2pix"], pix["fd_l1"]) < 0.5 * fd_mosaic)
    ctx.check("L1 alone is the blurrier: more grey pixels than Pix2Pix", pix["grey_l1"] > pix["grey_pix2pix"])

    # 3. CycleGAN between thin (A) and thick (B) digits, unpaired
    def cycle_snapshot(step, G, F):
        frames["a2b"].append(translate(G, xt[show]))
        frames["b2a"].append(translate(F, thick_t[show]))
        if step == 0:   # the untrained round trip: the reference for the cycle error
            untrained.append(mae(translate(F, translate(G, xt[ev])), xt[ev]))

    untrained = []
    start = time.perf_counter()
    G, F, histories["cycle"] = train_cyclegan(ctx, domain_a, domain_b, settings, cycle_snapshot)
    seconds["cycle"] = time.perf_counter() - start
    a, b, labels = xt[ev], thick_t[ev], yt[ev]
    g_a, f_b = translate(G, a), translate(F, b)              # A → B, B → A
    f_g_a, g_f_b = translate(F, g_a), translate(G, f_b)      # round trips
    cyc = {
        "cycle_mae_a": mae(f_g_a, a), "cycle_mae_b": mae(g_f_b, b),
        "cycle_mae_untrained": untrained[0],
        "mae_mean_image": mae(x.mean(axis=0, keepdims=True), a),
        "translation_mae_a2b": mae(g_a, b), "translation_mae_b2a": mae(f_b, a),
        "copy_mae": mae(a, b),                               # what "no translation" scores
        "agree_b2a": float((predict(fd, f_b) == labels).mean()),
        "agree_a2b": float((predict(fd, g_a) == labels).mean()),
        "agree_real_thick": float((predict(fd, b) == labels).mean()),
        "agree_real": float((predict(fd, a) == labels).mean()),
        "fd_b2a": fd(f_b), "fd_thick": fd_thick,
        "seconds": seconds,
    }
    ctx.record(**{f"cyclegan_{k}": v for k, v in cyc.items()})
    ctx.log(f"CycleGAN ({seconds['cycle']:.0f} s): cycle error A→B→A {cyc['cycle_mae_a']:.4f}, B→A→B "
            f"{cyc['cycle_mae_b']:.4f} (untrained {cyc['cycle_mae_untrained']:.4f}, mean image "
            f"{cyc['mae_mean_image']:.4f}); translation vs the true thick/thin digit: "
            f"A→B {cyc['translation_mae_a2b']:.4f}, "
            f"B→A {cyc['translation_mae_b2a']:.4f} (copying the input {cyc['copy_mae']:.4f})")
    ctx.log(f"classifier agrees with the label: F(thick) {cyc['agree_b2a']:.3f}, G(thin) {cyc['agree_a2b']:.3f} "
            f"(real thin {cyc['agree_real']:.3f}, real thick {cyc['agree_real_thick']:.3f}); FD of F(thick) "
            f"{cyc['fd_b2a']:.2f} vs thick digits {fd_thick:.2f}")
    ctx.check("CycleGAN's round trip reconstructs its input: cycle error ≤ ¼ of the mean image's, both ways",
              max(cyc["cycle_mae_a"], cyc["cycle_mae_b"]) <= 0.25 * cyc["mae_mean_image"])
    ctx.check("CycleGAN translates (not copies): each direction closer to the true other-style digit than the input is",
              max(cyc["translation_mae_a2b"], cyc["translation_mae_b2a"]) < cyc["copy_mae"])
    ctx.check("translated digits keep their class: the classifier agrees with F(thick) ≥ 0.8",
              cyc["agree_b2a"] >= 0.8)

    # 4. figures
    ctx.save_figure(figures.plot_results(mosaic_t[show], outputs["l1"][:SHOW], outputs["pix2pix"][:SHOW],
                                         xt[show], pix), "pix2pix_results.png")
    ctx.save_figure(figures.plot_pixel_values(xt[ev], outputs, pix), "pixel_values.png")
    ctx.save_figure(figures.plot_cycle(a[:SHOW], g_a[:SHOW], f_g_a[:SHOW], b[:SHOW], f_b[:SHOW], g_f_b[:SHOW], cyc),
                    "cyclegan.png")
    ctx.save_figure(figures.plot_training(histories, fd_curves, fd.floor, cyc), "training.png")
    figures.write_gif(ctx, mosaic_t[show], xt[show], thick_t[show], frames, settings)
