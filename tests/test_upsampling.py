"""interpolate / Upsample and the F.pad modes a U-Net uses, against PyTorch (forward and
gradients, float64 1e-8 and float32 1e-4), plus finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check, make_inputs

torch.set_num_threads(1)

CASES = [
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 3, 4), dict(scale_factor=(3, 2), mode="nearest")),
    ((1, 2, 5, 7), dict(size=(8, 3), mode="nearest")),  # up in one axis, down in the other
    ((1, 2, 5, 7), dict(scale_factor=1.5, mode="nearest")),
    ((1, 2, 5, 7), dict(size=(9, 10), mode="nearest-exact")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 2, 5, 7), dict(size=(8, 3), mode="bilinear")),
    ((1, 2, 5, 7), dict(size=(8, 3), mode="bilinear", align_corners=True)),
    ((1, 2, 6, 6), dict(scale_factor=0.5, mode="bilinear")),
    ((1, 2, 5, 5), dict(scale_factor=1.7, mode="bilinear")),
    ((1, 2, 5, 5), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5), dict(scale_factor=2, mode="linear")),
    ((2, 3, 5), dict(size=7, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(size=8, mode="nearest")),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,kw", CASES, ids=[f"{s}-{k}" for s, k in CASES])
def test_interpolate_matches_torch(shape, kw, dtype):
    x = make_inputs([shape], np.random.default_rng(sum(shape)))[0]
    compare(lambda t: F.interpolate(t, **kw), [x], dtype=dtype, torch_fn=lambda t: TF.interpolate(t, **kw),
            name=f"interpolate {kw}")


def test_interpolate_finite_differences():
    x = make_inputs([(1, 2, 3, 4)], np.random.default_rng(0))[0]
    finite_difference_check(lambda t: F.interpolate(t, size=(5, 6), mode="bilinear"), [x], name="bilinear")
    finite_difference_check(lambda t: F.interpolate(t, size=(5, 6)), [x], name="nearest")


def test_upsample_layers():
    x = make_inputs([(1, 2, 3, 4)], np.random.default_rng(1))[0]
    for ours, theirs in [(ms.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                         (ms.nn.Upsample(size=(5, 7), mode="bilinear"), torch.nn.Upsample(size=(5, 7), mode="bilinear")),
                         (ms.nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
                         (ms.nn.UpsamplingNearest2d(size=6), torch.nn.UpsamplingNearest2d(size=6))]:
        assert repr(ours) == repr(theirs)
        compare(ours, [x], torch_fn=theirs, name=repr(ours))


PAD_CASES = [
    ((1, 2, 4, 5), (1, 1, 1, 1), "constant"),
    ((1, 2, 4, 5), (0, 1, 2, 0), "constant"),  # uneven, as U-Net does to match a skip connection
    ((1, 2, 6, 7), (-1, 0, -1, -2), "constant"),  # negative: a crop
    ((1, 2, 4, 5), (2, 1, 1, 3), "reflect"),
    ((1, 2, 4, 5), (2, 1, 1, 3), "replicate"),
    ((1, 2, 4, 5), (2, 1, 1, 3), "circular"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape,pad,mode", PAD_CASES, ids=[f"{m}-{p}" for _, p, m in PAD_CASES])
def test_pad_modes_on_images_match_torch(shape, pad, mode, dtype):
    x = make_inputs([shape], np.random.default_rng(2))[0]
    compare(lambda t: F.pad(t, pad, mode=mode), [x], dtype=dtype, torch_fn=lambda t: TF.pad(t, pad, mode=mode),
            name=f"pad {mode} {pad}")


def test_interpolate_errors():
    x = ms.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="4-D"):
        F.interpolate(ms.randn(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(x, scale_factor=2, align_corners=True)
