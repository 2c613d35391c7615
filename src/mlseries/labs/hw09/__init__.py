"""HW09 可解释 AI / explainable AI: saliency, SmoothGrad, IG, filters, LIME on a CNN; attention in a Transformer."""
from . import explain  # noqa: F401
