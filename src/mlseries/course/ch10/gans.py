"""GAN building blocks shared by ch10.gan and the labs: the generators and discriminators, the three
losses (non-saturating GAN, WGAN with weight clipping, WGAN-GP) and one training loop for all.

    G, D = make_dcgan(latent=64)
    G, history = train_gan(ctx, G, D, images, loss="wgan-gp", steps=2000)

Images are (N, 1, 28, 28) float32 in [-1, 1] (the generators end in tanh); `to_unit` maps them
back to [0, 1] for pictures and the FD.
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn

LOSSES = ("gan", "wgan", "wgan-gp")

# the optimiser settings each loss was published with (DCGAN paper; WGAN paper; WGAN-GP paper)
DEFAULTS = {
    "gan": dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.999), n_critic=1),
    "wgan": dict(optimizer="rmsprop", lr=5e-5, n_critic=5, clip=0.01),
    "wgan-gp": dict(optimizer="adam", lr=2e-4, betas=(0.5, 0.9), n_critic=5, gp_weight=10.0),
}


# ---------------------------------------------------------------- the networks

def make_fc_gan(latent=64, hidden=256):
    """A fully connected GAN: G z → hidden → 2·hidden → 784 (tanh); D 784 → 2·hidden → hidden → 1 logit."""
    G = nn.Sequential(
        nn.Linear(latent, hidden), nn.LeakyReLU(0.2),               # (B, hidden)
        nn.Linear(hidden, 2 * hidden), nn.LeakyReLU(0.2),           # (B, 2·hidden)
        nn.Linear(2 * hidden, 784), nn.Tanh(),                      # (B, 784)
        nn.Unflatten(1, (1, 28, 28)),                               # (B, 1, 28, 28)
    )
    D = nn.Sequential(
        nn.Flatten(),                                               # (B, 784): every pixel to every unit
        nn.Linear(784, 2 * hidden), nn.LeakyReLU(0.2),
        nn.Linear(2 * hidden, hidden), nn.LeakyReLU(0.2),
        nn.Linear(hidden, 1),                                       # (B, 1) logit / critic score
    )
    G.latent = latent
    return G, D


def make_dcgan(latent=64, width=32):
    """A small DCGAN for 28×28 images.

    G: z → Linear → (2w, 7, 7) → ConvTranspose 4×4 stride 2 → (w, 14, 14) → ConvTranspose → (1, 28, 28),
    batch norm and ReLU between, tanh at the end (the DCGAN paper's recipe).
    D: Conv 4×4 stride 2 → (w, 14, 14) → Conv → (2w, 7, 7) → Linear → 1, LeakyReLU(0.2) between and
    no batch norm, so that the same D can be a WGAN-GP critic (the gradient penalty is per image;
    batch norm would mix the images of a batch)."""
    w = width
    G = nn.Sequential(
        nn.Linear(latent, 2 * w * 7 * 7), nn.BatchNorm1d(2 * w * 7 * 7), nn.ReLU(),   # (B, 2w·49)
        nn.Unflatten(1, (2 * w, 7, 7)),                                               # (B, 2w, 7, 7)
        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU(),  # (B, w, 14, 14)
        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1), nn.Tanh(),                  # (B, 1, 28, 28)
    )
    D = nn.Sequential(
        nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                   # (B, w, 14, 14)
        nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),               # (B, 2w, 7, 7)
        nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1),                                    # (B, 1)
    )
    G.latent = latent
    return G, D


def to_unit(images):
    """Generator output in [-1, 1] → [0, 1] (NumPy)."""
    return np.clip((np.asarray(images) + 1) / 2, 0, 1).astype(np.float32)


def generate(G, z, batch=500):
    """Images (N, 1, 28, 28) in [0, 1] for latent vectors z (N, latent), G in eval mode (batch norm
    uses its running statistics, so a sample does not depend on the others in its batch)."""
    G.eval()
    with ms.no_grad():
        out = np.concatenate([G(ms.tensor(z[i:i + batch].astype(np.float32))).numpy()
                              for i in range(0, len(z), batch)])
    G.train()
    return to_unit(out)


# ---------------------------------------------------------------- the losses

def gan_d_loss(real_logits, fake_logits):
    """The discriminator's binary cross-entropy: real → 1, fake → 0 (summed over the two halves)."""
    return (F.binary_cross_entropy_with_logits(real_logits, ms.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, ms.zeros_like(fake_logits)))


def gan_g_loss(fake_logits):
    """The non-saturating generator loss −log D(G(z)): strong gradients while D still wins easily
    (the minimax form log(1 − D(G(z))) is flat exactly then)."""
    return F.binary_cross_entropy_with_logits(fake_logits, ms.ones_like(fake_logits))


def critic_loss(real_scores, fake_scores):
    """The WGAN critic maximises E[D(real)] − E[D(fake)] (an estimate of the Wasserstein distance);
    as a loss to minimise: E[D(fake)] − E[D(real)]."""
    return fake_scores.mean() - real_scores.mean()


def gradient_penalty(D, real, fake, alpha=None):
    """WGAN-GP's penalty E[(‖∇ₓ D(x̂)‖₂ − 1)²] at points x̂ = α·real + (1 − α)·fake on straight lines
    between real and fake images (α ~ U(0, 1) per image unless given, shape (B, 1, 1, 1)).

    The gradient ∇ₓ D(x̂) is computed with create_graph=True, so the penalty is itself a function
    of D's weights that backward() can differentiate: a second derivative."""
    B = real.shape[0]
    if alpha is None:
        alpha = ms.rand(B, *([1] * (real.ndim - 1)))                  # (B, 1, 1, 1)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).detach()
    x_hat.requires_grad = True                                       # a leaf we differentiate by
    scores = D(x_hat)                                                # (B, 1)
    grad, = ms.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, 1, 28, 28): each row's own ∇
    norms = (grad.reshape(B, -1) ** 2).sum(dim=1).add(1e-12).sqrt()  # (B,); ε: √ has no gradient at 0
    return ((norms - 1) ** 2).mean()


# ---------------------------------------------------------------- training

def _optimizer(params, settings):
    if settings["optimizer"] == "rmsprop":
        return ms.optim.RMSprop(params, lr=settings["lr"])
    return ms.optim.Adam(params, lr=settings["lr"], betas=settings["betas"])


def train_gan(ctx, G, D, images, loss="gan", steps=1000, batch=64, seed=0, every=None, on_measure=None,
              desc=None, **overrides):
    """Train generator G against D on `images` (N, 1, 28, 28) in [-1, 1] for `steps` generator updates.

    loss: "gan" (binary cross-entropy, non-saturating G loss, Adam 2e-4, β₁ 0.5), "wgan" (critic
    loss, weights clipped to ±0.01 after each critic step, RMSprop 5e-5, 5 critic steps per G step)
    or "wgan-gp" (critic loss + 10 × gradient penalty, Adam 2e-4 with β = (0.5, 0.9), 5 critic steps).
    `overrides` replace any of those settings (lr, betas, n_critic, clip, gp_weight, optimizer).
    `on_measure(step)` is called at step 0 and every `every` generator steps (and at the end).

    Returns (G, history): history holds per generator step "d_loss" (D's or the critic's loss, for
    WGAN-GP without the penalty, so that −d_loss estimates the Wasserstein distance), "g_loss", and
    for WGAN-GP "gp"."""
    if loss not in LOSSES:
        raise ValueError(f"train_gan: loss must be one of {LOSSES}, not {loss!r}")
    if len(images) == 0:
        raise ValueError("train_gan: no training images")
    batch = min(batch, len(images))   # real and fake batches must match (the penalty mixes them)
    settings = {**DEFAULTS[loss], **overrides}
    opt_g, opt_d = _optimizer(G.parameters(), settings), _optimizer(D.parameters(), settings)
    rng = np.random.default_rng(seed)
    latent = G.latent
    history = {"d_loss": [], "g_loss": [], "gp": []}
    order, cursor = rng.permutation(len(images)), 0

    def real_batch():
        nonlocal order, cursor
        if cursor + batch > len(images):                              # a new epoch: reshuffle
            order, cursor = rng.permutation(len(images)), 0
        idx = order[cursor:cursor + batch]
        cursor += batch
        return ms.tensor(images[idx])                                 # (B, 1, 28, 28)

    def noise():
        return ms.tensor(rng.standard_normal((batch, latent)).astype(np.float32))   # (B, latent)

    G.train()
    D.train()
    if on_measure is not None:
        on_measure(0)
    for step in ctx.progress(range(1, steps + 1), desc or f"{loss} training"):
        # 1. the discriminator / critic: n_critic updates with G fixed (fake images detached)
        for _ in range(settings["n_critic"]):
            real = real_batch()
            fake = G(noise()).detach()                                # (B, 1, 28, 28)
            real_out, fake_out = D(real), D(fake)                     # (B, 1) each
            if loss == "gan":
                d_loss = total = gan_d_loss(real_out, fake_out)
            else:
                d_loss = total = critic_loss(real_out, fake_out)
                if loss == "wgan-gp":
                    gp = gradient_penalty(D, real, fake)
                    total = d_loss + settings["gp_weight"] * gp
            opt_d.zero_grad()
            total.backward()
            opt_d.step()
            if loss == "wgan":                                        # keep D (roughly) 1-Lipschitz
                with ms.no_grad():
                    for p in D.parameters():
                        p.data = p.data.clamp(-settings["clip"], settings["clip"])
        # 2. the generator: one update through D (D's gradients computed but not applied)
        fake_out = D(G(noise()))
        g_loss = gan_g_loss(fake_out) if loss == "gan" else -fake_out.mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if loss == "wgan-gp":
            history["gp"].append(gp.item())
        if on_measure is not None and every and (step % every == 0 or step == steps):
            on_measure(step)
    return G, history
