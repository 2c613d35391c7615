"""Image transforms with torchvision's names, in NumPy, every random one seeded.

Layout rule (torchvision's, with NumPy arrays in the place of PIL images): a NumPy array is an
image as files give it, (H, W) or (H, W, C); a Tensor is (..., C, H, W), as `ToTensor` makes it.
Random transforms draw from a `np.random.Generator` passed as `generator=` (or made from
`seed=`; 0 when neither is given), never from global state, so a run is repeatable. To keep
several random transforms independent, hand them one shared generator.

Each random transform also has `.batch(x)`: x is (N, ..., H, W) (array or Tensor), and every
sample gets its own parameters, drawn and applied in one vectorised step, because the lessons
augment whole mini-batches rather than looping over items.
"""

import numbers

import numpy as np

from ._convert import to_numpy, to_tensor


def _is_tensor(x):
    return not isinstance(x, np.ndarray) and hasattr(x, "numpy")


def _channels_first(x):
    """(array with H, W as the last two axes, function that restores the input's layout/type)."""
    if _is_tensor(x):
        return x.numpy(), to_tensor
    x = np.asarray(x)
    if x.ndim == 2:
        return x, lambda y: y
    if x.ndim == 3:
        return x.transpose(2, 0, 1), lambda y: np.ascontiguousarray(y.transpose(1, 2, 0))
    raise ValueError(f"expected an image array of shape (H, W) or (H, W, C), got {x.shape}")


def _batch_view(x):
    """(array (N, C, H, W), function that restores the input's shape and type)."""
    wrap = to_tensor if _is_tensor(x) else (lambda y: y)
    a = to_numpy(x)
    if a.ndim < 3:
        raise ValueError(f"batch: expected (N, H, W) or (N, C, H, W), got shape {a.shape}")
    shape = a.shape
    a = a.reshape(shape[0], -1, shape[-2], shape[-1])
    return a, lambda y: wrap(np.ascontiguousarray(y.reshape(shape[:-2] + y.shape[-2:])))


def _rng(generator, seed):
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is not None:
        raise TypeError(f"generator must be a numpy.random.Generator, got {type(generator).__name__}")
    return np.random.default_rng(0 if seed is None else seed)


def _pair(size, name):
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) != 2:
        raise ValueError(f"{name} must be an int or a pair (h, w), got {size!r}")
    return int(size[0]), int(size[1])


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def __repr__(self):
        return f"Lambda({getattr(self.fn, '__name__', self.fn)!r})"


class ToTensor:
    """(H, W) or (H, W, C) array -> float32 Tensor (C, H, W); uint8 values are scaled to [0, 1].

    Other dtypes keep their values, as in torchvision, so a float image is not divided twice.
    """

    def __call__(self, img):
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[None]
        elif a.ndim == 3:
            a = a.transpose(2, 0, 1)
        else:
            raise ValueError(f"ToTensor: expected (H, W) or (H, W, C), got shape {a.shape}")
        scale = a.dtype == np.uint8
        a = a.astype(np.float32)
        if scale:
            a /= 255.0
        return to_tensor(a)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean) / std per channel; channels are axis -3 of a Tensor, the last axis of an array."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {std}")

    def __call__(self, x):
        if _is_tensor(x):
            a = x.numpy()
            shape = (-1, 1, 1)
            wrap = to_tensor
        else:
            a = np.asarray(x)
            shape = (-1,) if a.ndim == 3 else ()
            wrap = lambda y: y  # noqa: E731
        mean = self.mean.reshape(shape) if self.mean.size > 1 else self.mean[0]
        std = self.std.reshape(shape) if self.std.size > 1 else self.std[0]
        return wrap(((a.astype(np.float32) - mean) / std).astype(np.float32))

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def resize(x, size):
    """Bilinear resize of the last two axes (half-pixel centres, as PyTorch's
    `interpolate(mode='bilinear', align_corners=False)`); float32 out.

    Written as two small interpolation matrices, rows then columns, so any number of leading
    axes is resized at once.
    """
    out_h, out_w = _pair(size, "size")
    a = np.asarray(to_numpy(x), dtype=np.float32)
    rows = _interpolation_matrix(a.shape[-2], out_h)  # (out_h, H)
    cols = _interpolation_matrix(a.shape[-1], out_w)  # (out_w, W)
    return np.matmul(np.matmul(rows, a), cols.T)      # (..., out_h, out_w)


def _interpolation_matrix(n_in, n_out):
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (src - lo).astype(np.float32)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    np.add.at(m, (np.arange(n_out), lo), 1 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return m


class Resize:
    """Bilinear resize to `size` (int or (h, w)); keeps the input's layout and, for uint8, its dtype."""

    def __init__(self, size):
        self.size = _pair(size, "size")

    def __call__(self, x):
        a, restore = _channels_first(x)
        out = resize(a, self.size)
        if a.dtype == np.uint8:
            out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return restore(out)

    def __repr__(self):
        return f"Resize(size={self.size})"


def _crop(a, size, padding, fill, oy, ox):
    """Crop (N, C, H, W) at per-sample offsets oy, ox (after padding) to `size`."""
    h, w = size
    if padding:
        a = np.pad(a, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    rows = oy[:, None] + np.arange(h)  # (N, h)
    cols = ox[:, None] + np.arange(w)  # (N, w)
    n = np.arange(a.shape[0])[:, None, None]
    out = a.transpose(0, 2, 3, 1)[n, rows[:, :, None], cols[:, None, :]]  # (N, h, w, C)
    return out.transpose(0, 3, 1, 2)


class RandomCrop:
    """Pad each side by `padding` (with `fill`), then cut a random `size` window."""

    def __init__(self, size, padding=0, fill=0, generator=None, seed=None):
        self.size = _pair(size, "size")
        self.padding = int(padding or 0)
        self.fill = fill
        self.generator = _rng(generator, seed)

    def _offsets(self, n, height, width):
        free_h = height + 2 * self.padding - self.size[0]
        free_w = width + 2 * self.padding - self.size[1]
        if free_h < 0 or free_w < 0:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image "
                             f"({height + 2 * self.padding}, {width + 2 * self.padding})")
        return (self.generator.integers(0, free_h + 1, size=n),
                self.generator.integers(0, free_w + 1, size=n))

    def __call__(self, x):
        a, restore = _channels_first(x)
        a4 = a.reshape(1, -1, *a.shape[-2:])
        oy, ox = self._offsets(1, *a.shape[-2:])
        out = _crop(a4, self.size, self.padding, self.fill, oy, ox)
        return restore(out.reshape(a.shape[:-2] + self.size))

    def batch(self, x):
        a, restore = _batch_view(x)
        oy, ox = self._offsets(a.shape[0], *a.shape[-2:])
        return restore(_crop(a, self.size, self.padding, self.fill, oy, ox))

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability p."""

    def __init__(self, p=0.5, generator=None, seed=None):
        self.p = float(p)
        self.generator = _rng(generator, seed)

    def __call__(self, x):
        a, restore = _channels_first(x)
        if self.generator.random() < self.p:
            a = a[..., ::-1]
        return restore(np.ascontiguousarray(a))

    def batch(self, x):
        a, restore = _batch_view(x)
        flip = self.generator.random(a.shape[0]) < self.p
        out = a.copy()
        out[flip] = out[flip][..., ::-1]
        return restore(out)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def rotate(x, angles, interpolation="nearest", fill=0):
    """Rotate (N, C, H, W) about the image centre by `angles` (degrees, one per sample,
    counter-clockwise as torchvision); pixels that come from outside get `fill`.

    Each output pixel looks up where it came from (the inverse rotation), so no holes appear.
    """
    a = np.asarray(x)
    n, _, h, w = a.shape
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64)).reshape(n, 1, 1)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    u, v = j - cx, cy - i  # x right, y up: the usual sense of "counter-clockwise"
    cos, sin = np.cos(theta), np.sin(theta)
    src_x = cos * u + sin * v + cx     # (N, H, W)
    src_y = cy - (-sin * u + cos * v)  # (N, H, W)
    batch = np.arange(n)[:, None, None]
    hwc = a.transpose(0, 2, 3, 1)      # gather pixels as (N, H, W, C)

    def sample(yy, xx):
        inside = (yy >= 0) & (yy <= h - 1) & (xx >= 0) & (xx <= w - 1)
        vals = hwc[batch, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)].astype(np.float32)
        return np.where(inside[..., None], vals, np.float32(fill))

    if interpolation == "nearest":
        out = sample(np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64))
    elif interpolation == "bilinear":
        y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
        fy, fx = (src_y - y0)[..., None], (src_x - x0)[..., None]
        out = ((1 - fy) * (1 - fx) * sample(y0, x0) + (1 - fy) * fx * sample(y0, x0 + 1)
               + fy * (1 - fx) * sample(y0 + 1, x0) + fy * fx * sample(y0 + 1, x0 + 1))
    else:
        raise ValueError(f"rotate: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    out = out.transpose(0, 3, 1, 2)
    if a.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(a.dtype if a.dtype.kind == "f" else np.float32)


class RandomRotation:
    """Rotate by an angle drawn uniformly from (-degrees, degrees) (or from a given (lo, hi))."""

    def __init__(self, degrees, interpolation="nearest", fill=0, generator=None, seed=None):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: degrees must be non-negative, got {degrees}")
            degrees = (-degrees, degrees)
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation = interpolation
        self.fill = fill
        self.generator = _rng(generator, seed)

    def __call__(self, x):
        a, restore = _channels_first(x)
        angle = self.generator.uniform(*self.degrees, size=1)
        a4 = a.reshape(1, -1, *a.shape[-2:])
        return restore(rotate(a4, angle, self.interpolation, self.fill).reshape(a.shape))

    def batch(self, x):
        a, restore = _batch_view(x)
        angles = self.generator.uniform(*self.degrees, size=a.shape[0])
        return restore(rotate(a, angles, self.interpolation, self.fill))

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees})"


__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "Resize", "resize", "RandomCrop",
           "RandomHorizontalFlip", "RandomRotation", "rotate"]
