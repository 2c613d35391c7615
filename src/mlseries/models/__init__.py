"""Network architectures built from `mlseries.nn`, with torchvision's names, and the one set of
pretrained weights that installs with the project (see vgg.py)."""

from .vgg import (CRAFT_LAYERS, IMAGENET_MEAN, IMAGENET_STD, STYLE_LAYERS, VGG, craft_state_dict,
                  feature_maps, vgg16_bn)

__all__ = ["VGG", "vgg16_bn", "craft_state_dict", "feature_maps", "STYLE_LAYERS", "CRAFT_LAYERS",
           "IMAGENET_MEAN", "IMAGENET_STD"]
