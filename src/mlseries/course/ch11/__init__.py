"""Chapter 11: 扩散模型 / Diffusion models.

One module per lesson (each registers itself with `@lesson`); the lesson's pieces sit beside it:
`unet.py` (the denoiser), `sampling.py` (schedule, DDPM, DDIM, guidance), `toy.py` (mixtures,
score matching, Langevin), `figures.py`."""
from . import diffusion  # noqa: F401
