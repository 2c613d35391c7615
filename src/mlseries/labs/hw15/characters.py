"""Rendered characters, an offline stand-in for Omniglot: every character of several scripts is a
class, and its examples are the character drawn in each of matplotlib's bundled fonts with a small
random affine warp (rotation, scale, shift), as Omniglot's examples are one character drawn by
twenty people.

    bank = character_bank(per_class=20, seed=0)      # CharacterBank: images (C, 20, 28, 28)
    train, test = bank.split(test_fraction=0.3, seed=0)
    xs, ys, xq, yq = test.task(rng, n_way=5, k_shot=1, n_query=5)

Only matplotlib's own fonts are used (DejaVu Sans / Serif / Mono and STIX General with their bold and
italic faces), not the system's: they install with matplotlib, so the classes and images are the
same on every machine. Characters that look alike once size is normalised away (Latin "A", Greek
"Α", Cyrillic "А"; "o" and "O") are one class: the later ones are dropped (`_distinct`).
"""
import os
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageDraw, ImageFont

SIZE = 28                  # Omniglot as the MAML paper uses it: 28×28 grey
CANVAS = 96                # the glyph is drawn big first, then cropped and shrunk
BOX = 20                   # the glyph's longer side in the 28×28 image, before the warp
MIN_FONTS = 8              # a character needs this many fonts to have varied examples
WARP = dict(degrees=12.0, scale=(0.85, 1.1), shift=2.0)

# (script, first, last code point): digits and letters of the scripts matplotlib's fonts cover
SCRIPTS = (
    ("digits", 0x30, 0x39),
    ("Latin", 0x41, 0x5A), ("Latin", 0x61, 0x7A),
    ("Greek", 0x391, 0x3A9), ("Greek", 0x3B1, 0x3C9),
    ("Cyrillic", 0x410, 0x44F),
    ("Armenian", 0x531, 0x556), ("Armenian", 0x561, 0x586),
    ("Georgian", 0x10D0, 0x10F0),
)
FONT_PREFIXES = ("DejaVuSans", "DejaVuSerif", "STIXGeneral")   # DejaVuSansMono starts with DejaVuSans


def font_paths():
    """matplotlib's bundled fonts with letters in them (not its maths-symbol and "Display" faces)."""
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if name.startswith(FONT_PREFIXES) and "Display" not in name and name.endswith(".ttf")]


def render(char, font, rng=None):
    """One 28×28 float32 image in [0, 1] (ink = 1) of `char` in the PIL `font`: the glyph cropped to
    its ink, its longer side scaled to BOX pixels, centred, then (with `rng`) warped by a random
    rotation, scale and shift."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(canvas).text((CANVAS // 4, CANVAS // 8), char, fill=255, font=font)
    box = canvas.getbbox()
    if box is None:
        return None
    glyph = canvas.crop(box)
    w, h = glyph.size
    f = BOX / max(w, h)
    glyph = glyph.resize((max(1, round(w * f)), max(1, round(h * f))), Image.LANCZOS)
    image = Image.new("L", (SIZE, SIZE), 0)
    image.paste(glyph, ((SIZE - glyph.size[0]) // 2, (SIZE - glyph.size[1]) // 2))
    if rng is not None:
        image = warp(image, rng)
    return np.asarray(image, np.float32) / 255.0


def warp(image, rng):
    """A random affine map about the centre: rotation ±degrees, scale, shift ±shift pixels."""
    angle = np.deg2rad(rng.uniform(-WARP["degrees"], WARP["degrees"]))
    scale = rng.uniform(*WARP["scale"])
    dx, dy = rng.uniform(-WARP["shift"], WARP["shift"], size=2)
    c = (SIZE - 1) / 2
    # PIL maps each output pixel back to the input: the inverse of "scale, rotate, then shift"
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    a, b = cos, sin
    d, e = -sin, cos
    ox, oy = c + dx, c + dy
    coeffs = (a, b, c - a * ox - b * oy, d, e, c - d * ox - e * oy)
    return image.transform((SIZE, SIZE), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=0)


def _covered(faces, code):
    return [p for p, face in faces.items() if face.get_char_index(code) != 0]


def _distinct(chars, reference, threshold=0.85):
    """Drop characters whose plain rendering (in `reference`, size normalised) correlates above
    `threshold` with one kept before them: "Α" after "A", "о" after "o", "o" after "O"."""
    kept, images = [], []
    for ch in chars:
        img = render(ch, reference)
        if img is None:
            continue
        v = (img - img.mean()).ravel()
        v /= np.linalg.norm(v) + 1e-8
        if all(float(v @ u) < threshold for u in images):
            kept.append(ch)
            images.append(v)
    return kept


@dataclass
class CharacterBank:
    images: np.ndarray       # (classes, per_class, 28, 28) float32
    chars: list              # the character of each class
    scripts: list            # its script

    def __len__(self):
        return len(self.chars)

    def subset(self, classes):
        classes = list(classes)
        return CharacterBank(self.images[classes], [self.chars[c] for c in classes],
                             [self.scripts[c] for c in classes])

    def split(self, test_fraction, seed=0):
        """Disjoint meta-train and meta-test classes (characters), drawn at random."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = int(round(test_fraction * len(self)))
        return self.subset(sorted(order[n_test:])), self.subset(sorted(order[:n_test]))

    def task(self, rng, n_way=5, k_shot=1, n_query=5):
        """One N-way K-shot task: n_way classes drawn at random, relabelled 0..n_way-1 in a random
        order, k_shot support and n_query query examples of each (all different examples).
        Returns xs (n_way·k_shot, 1, 28, 28), ys, xq (n_way·n_query, 1, 28, 28), yq, and the classes."""
        classes = rng.choice(len(self), n_way, replace=False)
        xs, xq = [], []
        for c in classes:
            picks = rng.choice(self.images.shape[1], k_shot + n_query, replace=False)
            xs.append(self.images[c, picks[:k_shot]])
            xq.append(self.images[c, picks[k_shot:]])
        ys = np.repeat(np.arange(n_way), k_shot)
        yq = np.repeat(np.arange(n_way), n_query)
        return (np.concatenate(xs)[:, None], ys, np.concatenate(xq)[:, None], yq, classes)


def character_bank(per_class=20, seed=0, size=40):
    """Every distinct character covered by at least MIN_FONTS fonts, `per_class` examples each:
    example i is the character in font i mod (its fonts), warped at random."""
    paths = font_paths()
    fonts = {p: ImageFont.truetype(p, size) for p in paths}
    reference = fonts[next(p for p in paths if p.endswith("DejaVuSans.ttf"))]
    faces = {p: FT2Font(p) for p in paths}
    candidates, script_of, fonts_of = [], {}, {}
    for script, first, last in SCRIPTS:
        for code in range(first, last + 1):
            covered = _covered(faces, code)
            if len(covered) >= MIN_FONTS and chr(code) not in script_of:
                candidates.append(chr(code))
                script_of[chr(code)] = script
                fonts_of[chr(code)] = covered
    chars = _distinct(candidates, reference)
    rng = np.random.default_rng(seed)
    images = np.zeros((len(chars), per_class, SIZE, SIZE), np.float32)
    for c, ch in enumerate(chars):
        own = fonts_of[ch]
        order = rng.permutation(len(own))
        for i in range(per_class):
            images[c, i] = render(ch, fonts[own[order[i % len(own)]]], rng)
    return CharacterBank(images, chars, [script_of[ch] for ch in chars])
