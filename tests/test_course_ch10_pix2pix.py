"""ch10.pix2pix: the U-Net's shapes and skip connections, the PatchGAN's grid, the domains, the
cycle and identity losses, and the lesson's quick run with its numbers."""
import numpy as np
import pytest

import mlseries as ms
from mlseries.course.ch10 import pix2pix as lesson
from mlseries.course.ch10.pix2pix_models import (RECEPTIVE_FIELD, PatchGAN, UNet, blocky, cycle_loss, identity_loss,
                                                 thicken)
from mlseries import nn

from lesson_checks import quick_run_suite

runs, test_quick_run_reaches_its_targets = quick_run_suite(("ch10.pix2pix",))


def test_unet_keeps_the_image_size_and_range():
    ms.manual_seed(0)
    x = ms.tensor(np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32))
    y = UNet(width=4)(x)
    assert tuple(y.shape) == (3, 1, 28, 28)
    assert 0 <= y.numpy().min() and y.numpy().max() <= 1


def test_unet_skip_connections_carry_the_fine_detail():
    """With the bottleneck's decoder level zeroed, only the skips reach the decoder: the output still
    depends on the input pixel by pixel (a plain encoder-decoder would give the same image)."""
    ms.manual_seed(0)
    net = UNet(width=4)
    net.eval()
    assert net.up2[0].in_channels == 2 * 2 * 4      # decoder level 2 reads its own maps + encoder level 2's
    assert net.out.in_channels == 2 * 4             # the output conv reads decoder level 1 + encoder level 1
    with ms.no_grad():
        for p in net.up3.parameters():              # cut the path through the 7×7 bottleneck
            nn.init.zeros_(p)
        rng = np.random.default_rng(1)
        a, b = (ms.tensor(rng.random((1, 1, 28, 28)).astype(np.float32)) for _ in range(2))
        assert np.abs(net(a).numpy() - net(b).numpy()).max() > 1e-3


def test_patchgan_gives_a_grid_of_patch_scores():
    ms.manual_seed(0)
    x = ms.zeros((2, 1, 28, 28))
    assert tuple(PatchGAN(width=4, c_in=2)(x, x).shape) == (2, 1, 7, 7)
    assert tuple(PatchGAN(width=4, c_in=1)(x).shape) == (2, 1, 7, 7)
    assert RECEPTIVE_FIELD == 18


def test_patchgan_scores_only_see_their_patch():
    """Changing a pixel in the top-left corner moves the top-left scores, not the far corner's."""
    ms.manual_seed(0)
    d = PatchGAN(width=4, c_in=1)
    d.eval()
    x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    x2 = x.copy()
    x2[0, 0, 0, 0] = 1.0
    with ms.no_grad():
        diff = np.abs(d(ms.tensor(x)).numpy() - d(ms.tensor(x2)).numpy())[0, 0]   # (7, 7)
    assert diff[0, 0] > 0 and diff[-1, -1] == 0


def test_cycle_and_identity_losses_of_identity_generators_are_zero():
    x = ms.tensor(np.random.default_rng(0).random((4, 1, 28, 28)).astype(np.float32))
    same = nn.Identity()
    assert cycle_loss(same, same, x, x).item() == 0.0
    assert identity_loss(same, same, x, x).item() == 0.0
    double = lambda t: t * 2                        # noqa: E731  (a generator that does not undo itself)
    assert cycle_loss(double, same, x, x).item() > 0


def test_domains():
    x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    x[0, 0, 10, 10] = 1.0
    thick = thicken(x)
    assert thick.sum() == 9 and thick[0, 0, 9:12, 9:12].min() == 1      # one pixel becomes a 3×3 square
    mosaic = blocky(x, 7)
    assert mosaic.shape == x.shape and np.allclose(mosaic[0, 0, 7:14, 7:14], 1 / 49)
    assert np.allclose(mosaic.sum(), x.sum())                            # block means keep the total ink


def test_quick_numbers(runs):
    _, _, record, _ = runs("ch10.pix2pix")
    m = record["metrics"]
    assert m["pix_fd_pix2pix"] < m["pix_fd_l1"] < 0.5 * m["pix_fd_mosaic"]
    assert m["pix_grey_l1"] > m["pix_grey_pix2pix"]
    assert m["cyclegan_cycle_mae_a"] < 0.25 * m["cyclegan_mae_mean_image"] < m["cyclegan_cycle_mae_untrained"]
    assert m["cyclegan_agree_b2a"] >= 0.8
    assert m["cyclegan_fd_b2a"] < m["cyclegan_fd_thick"]    # thinned digits look more like MNIST than thick ones
    assert len(m["pix_fd_l1_per_snapshot"]) == lesson.QUICK["frames"] + 1


@pytest.mark.parametrize("steps, frames", [(300, 5), (7, 5), (1500, 10)])
def test_snapshot_steps_start_untrained_and_end_at_the_last_step(steps, frames):
    snaps = lesson.snapshot_steps(steps, frames)
    assert snaps[0] == 0 and snaps[-1] == steps and snaps == sorted(set(snaps))
