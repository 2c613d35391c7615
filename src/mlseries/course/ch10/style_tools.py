"""The parts of ch10.style that are not the lesson's story: the two feature extractors, the
Gram matrix and the two losses, the optimisation loops (style transfer and DeepDream), the
procedural style painting and a texture measure that neither network chose.

Images travel as NumPy arrays (H, W, 3) float32 in [0, 1] between the steps, and as engine
tensors (1, 3, H, W) inside them.
"""
import numpy as np
import scipy.ndimage
from PIL import Image, ImageDraw

import mlseries as ms
from mlseries import models

from .. import fd as fd_measure


# ---------------------------------------------------------------- feature extractors
class VGGFeatures:
    """VGG16-BN's features with CRAFT's weights (mlseries.models): ImageNet-normalised RGB in,
    the ReLUs Gatys et al. read out. Content: relu4_2; style: relu1_1 … relu5_1."""

    name_en, name_zh = "VGG16-BN (CRAFT)", "VGG16-BN（CRAFT 权重）"
    content_layer = "relu4_2"
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    dream_layer = "relu4_1"

    def __init__(self):
        self.model = models.vgg16_bn(pretrained="craft")          # eval mode: batch norm is fixed
        for p in self.model.parameters():
            p.requires_grad_(False)                                 # we optimise the image, not the net
        self.mean = ms.tensor(np.array(models.IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1))
        self.std = ms.tensor(np.array(models.IMAGENET_STD, np.float32).reshape(1, 3, 1, 1))

    def __call__(self, x, layers):
        """{layer: activation (1, C, h, w)} for x (1, 3, H, W) in [0, 1]."""
        wanted = {name: models.STYLE_LAYERS[name] for name in layers}
        return models.feature_maps(self.model, (x - self.mean) / self.std, wanted)


class SmallNetFeatures:
    """The project's own CNN: the Fashion-MNIST classifier that the Fréchet distance uses
    (mlseries.course.fd; conv 1→16 → pool → conv 16→32, trained on 28×28 grey clothes).
    It sees one grey channel, so each colour channel goes through it on its own and the three
    channels' feature maps are stacked: (1, 3, H, W) → (3, 1, H, W) → (1, 3·C, h, w).
    Content: its second ReLU; style: both ReLUs."""

    name_en, name_zh = "small CNN (Fashion-MNIST)", "小 CNN（Fashion-MNIST）"
    content_layer = "relu2"
    style_layers = ("relu1", "relu2")
    dream_layer = "relu2"
    INDEX = {"relu1": 1, "relu2": 4}        # positions in the classifier's Sequential

    def __init__(self, kind="full", log=None):
        self.model = fd_measure.classifier("fashion", kind, log=log)
        for p in self.model.parameters():
            p.requires_grad_(False)

    def __call__(self, x, layers):
        _, _, h, w = x.shape
        h_ = x.reshape(3, 1, h, w)                                   # colour channels as a batch
        wanted = {self.INDEX[name]: name for name in layers}
        out = {}
        for index, layer in enumerate(self.model):
            h_ = layer(h_)                                           # (3, C, h', w')
            if index in wanted:
                c, hh, ww = h_.shape[1:]
                out[wanted[index]] = h_.reshape(1, 3 * c, hh, ww)    # (1, 3C, h', w')
            if index == max(wanted):
                break
        return out


# ---------------------------------------------------------------- Gram matrix and losses
def gram(features):
    """G = F Fᵀ / (h·w) for features (1, C, h, w): (C, C), how often channels fire together,
    averaged over positions — *where* things are is summed away, *what* co-occurs stays."""
    _, c, h, w = features.shape
    flat = features.reshape(c, h * w)                                # (C, hw)
    return flat @ flat.T / (h * w)                                   # (C, C)


def content_loss(features, target):
    """Relative squared error ‖F − F_c‖² / ‖F_c‖²: 0 for the content image, 1 for all zeros."""
    return ((features - target) ** 2).sum() / (target ** 2).sum()


def style_loss(feature_maps, target_grams):
    """Mean over the style layers of ‖G − G_s‖² / ‖G_s‖² (relative Gram error): dimensionless,
    so the same weight means the same trade-off for any network."""
    terms = [((gram(feature_maps[name]) - g) ** 2).sum() / (g ** 2).sum()
             for name, g in target_grams.items()]
    return sum(terms[1:], terms[0]) / len(terms)


def to_tensor(image):
    """(H, W, 3) array → (1, 3, H, W) tensor."""
    return ms.tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32))


def to_image(x):
    """(1, 3, H, W) tensor → (H, W, 3) array in [0, 1]."""
    return np.clip(x.detach().numpy()[0].transpose(1, 2, 0), 0, 1)


# ---------------------------------------------------------------- style transfer
def transfer(net, content, style, steps, lr, style_weight, frames=0, on_step=None):
    """Gatys et al.'s style transfer: start from the content image and change its pixels with
    Adam to lower content_loss + style_weight · style_loss. Returns (image, history, frames),
    history = {"content": [...], "style": [...]} per step (before the step), frames = images
    at evenly spaced steps (for a GIF)."""
    layers = (net.content_layer,) + net.style_layers
    with ms.no_grad():
        content_target = net(to_tensor(content), (net.content_layer,))[net.content_layer]
        style_grams = {name: gram(f) for name, f in net(to_tensor(style), net.style_layers).items()}
    x = to_tensor(content).requires_grad_(True)                      # (1, 3, H, W): the parameters
    optimizer = ms.optim.Adam([x], lr=lr)
    history, snapshots = {"content": [], "style": []}, []
    keep = set(np.linspace(0, steps, frames).round().astype(int)) if frames else set()
    for step in range(steps + 1):
        maps = net(x, layers)
        lc = content_loss(maps[net.content_layer], content_target)
        ls = style_loss(maps, style_grams)
        history["content"].append(lc.item())
        history["style"].append(ls.item())
        if step in keep:
            snapshots.append(to_image(x))
        if step == steps:                                            # the last pass only measures
            break
        optimizer.zero_grad()
        (lc + style_weight * ls).backward()
        optimizer.step()
        with ms.no_grad():
            x.clamp_(0, 1)                                           # stay a valid picture
        if on_step is not None:
            on_step()
    return to_image(x), history, snapshots


# ---------------------------------------------------------------- DeepDream
def activation(net, image, layer):
    """Mean squared activation of `layer` for an (H, W, 3) image: what DeepDream raises."""
    with ms.no_grad():
        return (net(to_tensor(image), (layer,))[layer] ** 2).mean().item()


def resize(image, shape):
    """(H, W, 3) → (h, w, 3), bilinear."""
    zoom = (shape[0] / image.shape[0], shape[1] / image.shape[1], 1)
    return scipy.ndimage.zoom(image, zoom, order=1)


def dream(net, image, layer, octaves, scale, steps, lr, jitter, rng, on_step=None):
    """Gradient *ascent* on the mean squared activation of `layer`, over a pyramid of scales
    (octaves, 八度): dream on a small copy first, so patterns grow large, then carry the added
    detail up to the next size. Each step shifts the image by a random jitter (and back), so
    the patterns do not lock onto the pixel grid, and scales the gradient to a mean step of
    `lr` (the gradient's size varies by orders of magnitude between layers and nets)."""
    h, w = image.shape[:2]
    shapes = [(round(h / scale ** k), round(w / scale ** k)) for k in range(octaves)][::-1]
    detail = np.zeros((*shapes[0], 3), np.float32)
    for shape in shapes:
        base = resize(image, shape)
        detail = resize(detail, shape)
        current = np.clip(base + detail, 0, 1)
        for _ in range(steps):
            dy, dx = rng.integers(-jitter, jitter + 1, size=2)
            x = to_tensor(np.roll(current, (dy, dx), axis=(0, 1))).requires_grad_(True)
            (net(x, (layer,))[layer] ** 2).mean().backward()
            g = np.roll(x.grad.numpy()[0].transpose(1, 2, 0), (-dy, -dx), axis=(0, 1))
            current = np.clip(current + lr * g / (np.abs(g).mean() + 1e-12), 0, 1)
            if on_step is not None:
                on_step()
        detail = current - base
    return current.astype(np.float32)


# ---------------------------------------------------------------- the style painting
PALETTE = np.array([[0.09, 0.16, 0.42], [0.16, 0.36, 0.70], [0.36, 0.62, 0.86],
                    [0.95, 0.80, 0.25], [0.98, 0.62, 0.12], [0.90, 0.93, 0.96],
                    [0.05, 0.07, 0.15]], np.float32)           # night blues, yellows, white


def painting(size, seed=0):
    """A procedural painting (程序生成的画) of `size` (h, w): thousands of short, thick
    brushstrokes in a blue-and-yellow palette, each laid along a swirling flow field, on a
    dark blue ground — generated here, so no artwork is downloaded. (H, W, 3) float32."""
    rng = np.random.default_rng(seed)
    h, w = size
    big = 2                                                    # draw at 2× and shrink: smooth edges
    canvas = Image.new("RGB", (w * big, h * big), tuple(int(255 * c) for c in PALETTE[0]))
    draw = ImageDraw.Draw(canvas)
    centres = rng.uniform(0, 1, (4, 2)) * (w, h)               # the swirls' eyes
    spin = rng.choice((-1.0, 1.0), 4)
    length = 0.06 * min(h, w)
    n = int(3.0 * h * w / length ** 1.2)
    for _ in range(n):
        px, py = rng.uniform(0, w), rng.uniform(0, h)
        angle = 0.6 * np.sin(py / h * 5.0) + 0.4 * np.cos(px / w * 4.0)   # a gentle wave ...
        for (cx, cy), s in zip(centres, spin):                 # ... bent round each swirl
            dx, dy = px - cx, py - cy
            r2 = (dx * dx + dy * dy) / (0.2 * min(h, w)) ** 2
            angle += s * np.exp(-r2) * (np.arctan2(dy, dx) + np.pi / 2)
        # near a swirl: yellows and white; elsewhere mostly blues
        near = max(np.exp(-((px - cx) ** 2 + (py - cy) ** 2) / (0.25 * min(h, w)) ** 2) for cx, cy in centres)
        colour = PALETTE[rng.choice([3, 4, 5]) if rng.random() < 0.15 + 0.8 * near else rng.choice([0, 1, 2, 6])]
        colour = np.clip(colour + rng.normal(0, 0.05, 3), 0, 1)
        ln = length * rng.uniform(0.6, 1.4)
        x0, y0 = px - 0.5 * ln * np.cos(angle), py - 0.5 * ln * np.sin(angle)
        x1, y1 = px + 0.5 * ln * np.cos(angle), py + 0.5 * ln * np.sin(angle)
        draw.line([(x0 * big, y0 * big), (x1 * big, y1 * big)], fill=tuple(int(255 * c) for c in colour),
                  width=max(2, int(0.012 * min(h, w) * big * rng.uniform(0.7, 1.3))))
    canvas = canvas.resize((w, h), Image.LANCZOS)
    return np.asarray(canvas, dtype=np.float32) / 255


# ---------------------------------------------------------------- a neutral texture measure
def texture_stats(image):
    """Second moments of a fixed filter bank, at three scales: per pixel the three colours and
    their horizontal and vertical differences (9 numbers), averaged outer products (9×9) at
    scales 1, 1/2, 1/4. Hand-made, so neither network's judgement is in it."""
    stats, img = [], image.astype(np.float64)
    for _ in range(3):
        dx = np.diff(img, axis=1)[:-1]                           # (H−1, W−1, 3)
        dy = np.diff(img, axis=0)[:, :-1]
        v = np.concatenate([img[:-1, :-1], 4 * dx, 4 * dy], axis=2).reshape(-1, 9)
        stats.append(v.T @ v / len(v))                           # (9, 9)
        h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2      # 2×2 block means: the next scale
        img = img[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    return stats


def texture_distance(image, style):
    """Mean over the three scales of ‖S(image) − S(style)‖ / ‖S(style)‖ (Frobenius), S the
    filter-bank moments above: 0 when the two have the same colours and stroke statistics."""
    return float(np.mean([np.linalg.norm(a - b) / np.linalg.norm(b)
                          for a, b in zip(texture_stats(image), texture_stats(style))]))
