"""Image primitives and their derivatives: convolution, pooling, batch normalisation.

Layout. Tensors are (N, C, H, W) as in PyTorch, but these operations compute in channels-last
memory (N, H, W, C): im2col then copies whole channel vectors per kernel tap, one matrix multiply
does the convolution, and its result is already channels-last. Outputs are those arrays *viewed*
as (N, C, H, W) (a transpose, no copy); NumPy's elementwise operations keep the memory order of
their inputs, so relu, the next convolution or pool find their input channels-last again and
take it without copying. Nothing depends on the layout for correctness: an input in ordinary
(N, C, H, W) memory is read through the same view, only more slowly.

Adjoint pairs. Convolution is bilinear in (input, weight), so its three linear maps —
`Conv2d` (x, w -> y), `ConvTranspose2d` (y, w -> x: the input gradient) and `Conv2dWeightGrad`
(x, y -> w) — are each other's derivatives, and their backward rules call one another. Pooling
likewise: max pool gathers at the argmax and its gradient scatters there (`MaxPool2dScatter` /
`MaxPool2dGather`), average pool sums taps and its gradient spreads them (`AvgPool2d` /
`AvgPool2dSpread`). So `create_graph=True` gives second derivatives through all of them
(WGAN-GP needs that through conv2d).

Every loop below runs over kernel taps (k·k vectorised slice copies), never over pixels.
"""
from typing import NamedTuple

import numpy as np

from ._grad_mode import _enabled
from ._ops import Sum
from ._tensor import Function, Tensor


class Geometry(NamedTuple):
    """Where a sliding kernel reads: enough to run a convolution or a pool in either direction.

    `in_hw` is the unpadded input side, `out_hw` the output side; both are explicit so that the
    transposed direction (output_padding, uneven strides) needs no guessing.
    """

    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple  # (top, bottom, left, right)
    in_hw: tuple
    out_hw: tuple
    groups: int = 1

    @property
    def padded_hw(self):
        pt, pb, pl, pr = self.pads
        return self.in_hw[0] + pt + pb, self.in_hw[1] + pl + pr

    def taps(self):
        """((i, j), (row slice, column slice)) of the padded input read by each kernel tap."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = self.kernel, self.stride, self.dilation, self.out_hw
        return [((i, j), (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)))
                for i in range(kh) for j in range(kw)]


def _const(array):
    return Tensor._make(array)


def _nhwc(a):
    """(N, C, H, W) -> a (N, H, W, C) view (no copy)."""
    return a.transpose(0, 2, 3, 1)


def _nchw(a):
    """(N, H, W, C) -> a (N, C, H, W) view (no copy)."""
    return a.transpose(0, 3, 1, 2)


def _pad(xh, geom, value=0):
    """(N, H, W, C) -> (N, Hp, Wp, C), filled with `value` around; only the border is written twice."""
    pt, pb, pl, pr = geom.pads
    if not (pt or pb or pl or pr):
        return xh
    n, h, w, c = xh.shape
    xp = np.empty((n, h + pt + pb, w + pl + pr, c), xh.dtype)
    xp[:, :pt] = value
    xp[:, pt + h:] = value
    xp[:, pt:pt + h, :pl] = value
    xp[:, pt:pt + h, pl + w:] = value
    xp[:, pt:pt + h, pl:pl + w] = xh
    return xp


def _crop(xp, geom):
    pt, _, pl, _ = geom.pads
    h, w = geom.in_hw
    return xp[:, pt:pt + h, pl:pl + w]


def _im2col(x, geom):
    """(N, C, H, W) -> columns (N, Ho, Wo, G, kh, kw, C/G): for each output pixel and group,
    the kernel-sized patch it sees, channels innermost."""
    xp = _pad(_nhwc(x), geom)
    n, c, g = x.shape[0], x.shape[1], geom.groups
    (ho, wo), (kh, kw) = geom.out_hw, geom.kernel
    cols = np.empty((n, ho, wo, g, kh, kw, c // g), x.dtype)
    xp5 = xp.reshape(xp.shape[:3] + (g, c // g))  # splitting the channel axis is always a view
    for (i, j), (rows, columns) in geom.taps():
        cols[:, :, :, :, i, j] = xp5[:, rows, columns]
    return cols


def _spread(geom, n, channels, dtype, value_at):
    """Add `value_at(t, (i, j))` into the padded input at the positions tap t reads, for every
    tap (the adjoint of reading them); return the unpadded result as (N, C, H, W).
    `channels` is the trailing shape of the values: (C,) or (G, C/G)."""
    hp, wp = geom.padded_hw
    xp = np.zeros((n, hp, wp) + tuple(channels), dtype)
    for t, (ij, (rows, columns)) in enumerate(geom.taps()):
        xp[:, rows, columns] += value_at(t, ij)
    return _nchw(_crop(xp.reshape(n, hp, wp, -1), geom))


def _col2im(cols, geom):
    """The adjoint of _im2col: (N, Ho, Wo, G, kh, kw, C/G) -> (N, C, H, W)."""
    n, _, _, g, _, _, cg = cols.shape
    return _spread(geom, n, (g, cg), cols.dtype, lambda t, ij: cols[:, :, :, :, ij[0], ij[1]])


def _weight_matrix(w, groups):
    """(O, C/G, kh, kw) -> (G, kh·kw·C/G, O/G), rows ordered like the im2col columns."""
    o, cg, kh, kw = w.shape
    return w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, o // groups)


def _weight_from_matrix(m, kernel, cg):
    """The inverse of _weight_matrix: (G, kh·kw·C/G, O/G) -> (O, C/G, kh, kw)."""
    g, _, og = m.shape
    return m.reshape(g, kernel[0], kernel[1], cg, og).transpose(0, 4, 3, 1, 2).reshape(g * og, cg, *kernel)


def _grouped_matmul(a, b):
    """a (M, G, K) times b (G, K, P) per group -> (M, G, P), contiguous."""
    if a.shape[1] == 1:
        return np.matmul(a.reshape(a.shape[0], a.shape[2]), b[0]).reshape(a.shape[0], 1, b.shape[2])
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), np.result_type(a, b))
    np.matmul(a.transpose(1, 0, 2), b, out=out.transpose(1, 0, 2))
    return out


def _rows(a, groups):
    """(N, C, H, W) -> (N·H·W, G, C/G): pixels as rows (a view when the memory is channels-last)."""
    n, c, h, w = a.shape
    return _nhwc(a).reshape(n * h * w, groups, c // groups)


def _channel_sum(g):
    return Sum.apply(g, dim=(0, 2, 3), keepdim=False)


# ---- convolution ------------------------------------------------------------------------------
class Conv2d(Function):
    """y = conv2d(x, w) + b (cross-correlation, as in PyTorch): im2col and one matrix multiply."""

    def forward(self, x, w, b=None, geom=None):
        self.geom = geom
        cols = _im2col(x, geom)  # (N, Ho, Wo, G, kh, kw, C/G)
        self.cols = cols
        n, ho, wo, g = cols.shape[:4]
        y = _grouped_matmul(cols.reshape(n * ho * wo, g, -1), _weight_matrix(w, g))  # (N·Ho·Wo, G, O/G)
        y = y.reshape(n, ho, wo, w.shape[0])
        if b is not None:
            y += b
        return _nchw(y)

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        needs, geom = self.needs_input_grad, self.geom
        gx = ConvTranspose2d.apply(g, w, geom=geom) if needs[0] else None
        gw = Conv2dWeightGrad.apply(x, g, geom=geom, cols=self.cols) if needs[1] else None
        gb = _channel_sum(g) if len(needs) > 2 and needs[2] else None
        return (gx, gw, gb)[:len(needs)]


class ConvTranspose2d(Function):
    """x = conv_transpose2d(y, w) + b: the gradient of conv2d with respect to its input, as an
    operation of its own (`geom` describes the convolution it transposes)."""

    def forward(self, y, w, b=None, geom=None):
        self.geom = geom
        groups = geom.groups
        cols = _grouped_matmul(_rows(y, groups), _weight_matrix(w, groups).transpose(0, 2, 1))  # (M, G, K)
        n, (ho, wo), (kh, kw) = y.shape[0], geom.out_hw, geom.kernel
        x = _col2im(cols.reshape(n, ho, wo, groups, kh, kw, w.shape[1]), geom)
        if b is not None:
            x = x + b[:, None, None]
        return x

    def backward(self, gg):
        y, w = self.inputs[0], self.inputs[1]
        needs, geom = self.needs_input_grad, self.geom
        gy = Conv2d.apply(gg, w, geom=geom) if needs[0] else None
        gw = Conv2dWeightGrad.apply(gg, y, geom=geom) if needs[1] else None
        gb = _channel_sum(gg) if len(needs) > 2 and needs[2] else None
        return (gy, gw, gb)[:len(needs)]


class Conv2dWeightGrad(Function):
    """w = the gradient of conv2d with respect to its weight, from the input x and the output
    gradient y: one matrix product of the im2col columns with y."""

    def forward(self, x, y, geom=None, cols=None):
        self.geom = geom
        groups = geom.groups
        if cols is None:
            cols = _im2col(x, geom)
        n, ho, wo = cols.shape[:3]
        c3 = cols.reshape(n * ho * wo, groups, -1)  # (M, G, K)
        y3 = _rows(y, groups)  # (M, G, O/G)
        m = np.matmul(c3.transpose(1, 2, 0), y3.transpose(1, 0, 2))  # (G, K, O/G)
        return _weight_from_matrix(m, geom.kernel, x.shape[1] // groups)

    def backward(self, gw):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        gx = ConvTranspose2d.apply(y, gw, geom=self.geom) if nx else None
        gy = Conv2d.apply(x, gw, geom=self.geom) if ny else None
        return gx, gy


# ---- pooling ----------------------------------------------------------------------------------
class MaxPool2dGather(Function):
    """Pick, in each window, the element at a given tap (the argmax found by MaxPool2d)."""

    uses_input_values = False

    def forward(self, x, geom=None, argmax=None):
        self.geom, self.argmax = geom, argmax
        xp = _pad(_nhwc(x), geom)
        out = np.zeros(argmax.shape, x.dtype)
        for t, (_, (rows, columns)) in enumerate(geom.taps()):
            np.copyto(out, xp[:, rows, columns], where=argmax == t)
        return _nchw(out)

    def backward(self, g):
        return (MaxPool2dScatter.apply(g, geom=self.geom, argmax=self.argmax),)


def max_and_argmax(x, geom):
    """Max over each window of (N, C, H, W) and the tap that holds it (N, Ho, Wo, C); ties go
    to the first tap, as in PyTorch."""
    xp = _pad(_nhwc(x), geom, value=-np.inf)
    taps = geom.taps()
    n, c = x.shape[:2]
    best = np.empty((n,) + tuple(geom.out_hw) + (c,), x.dtype)
    argmax = np.zeros(best.shape, np.uint8 if len(taps) < 256 else np.int32)
    better = np.empty(best.shape, bool)
    for t, (_, (rows, columns)) in enumerate(taps):
        window = xp[:, rows, columns]
        if t == 0:
            best[...] = window
            continue
        np.greater(window, best, out=better)
        np.copyto(best, window, where=better)
        np.copyto(argmax, t, where=better)
    return best, argmax


class MaxPool2d(MaxPool2dGather):
    """Max over each window, keeping the winning tap of every window for the backward pass."""

    def forward(self, x, geom=None):
        self.geom = geom
        best, self.argmax = max_and_argmax(x, geom)
        return _nchw(best)


class MaxPool2dScatter(Function):
    """Put each window's gradient on its argmax (adding where windows overlap): the adjoint of
    MaxPool2dGather."""

    uses_input_values = False

    def forward(self, g, geom=None, argmax=None):
        self.geom, self.argmax = geom, argmax
        gh = _nhwc(g)
        picked = np.empty(argmax.shape, g.dtype)

        def value_at(t, ij):
            return np.multiply(gh, argmax == t, out=picked)
        return _spread(geom, g.shape[0], (g.shape[1],), g.dtype, value_at)

    def backward(self, gg):
        return (MaxPool2dGather.apply(gg, geom=self.geom, argmax=self.argmax),)


class AvgPool2d(Function):
    """Sum of each window times `scale` (1/divisor per output position, shape (Ho, Wo, 1))."""

    uses_input_values = False

    def forward(self, x, geom=None, scale=None):
        self.geom, self.scale = geom, scale
        xp = _pad(_nhwc(x), geom)
        taps = geom.taps()
        out = xp[:, taps[0][1][0], taps[0][1][1]].copy()
        for _, (rows, columns) in taps[1:]:
            out += xp[:, rows, columns]
        out *= scale
        return _nchw(out)

    def backward(self, g):
        return (AvgPool2dSpread.apply(g, geom=self.geom, scale=self.scale),)


class AvgPool2dSpread(Function):
    """The adjoint of AvgPool2d: each output's gradient, times its scale, to every tap."""

    uses_input_values = False

    def forward(self, g, geom=None, scale=None):
        self.geom, self.scale = geom, scale
        gs = _nhwc(g) * scale
        return _spread(geom, g.shape[0], (g.shape[1],), g.dtype, lambda t, ij: gs)

    def backward(self, gg):
        return (AvgPool2d.apply(gg, geom=self.geom, scale=self.scale),)


# ---- batch normalisation ----------------------------------------------------------------------
def _reduce_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(v, ndim):
    """(C,) -> a shape that broadcasts over (N, C, *)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


class BatchNorm(Function):
    """Training-mode batch normalisation over every dimension but the channel one (1):
    y = (x − mean) / √(var + eps) · weight + bias, with the batch mean and biased variance given
    (the caller computed them to update the running statistics too)."""

    def forward(self, x, *affine, mean=None, var=None, eps=1e-5, has_weight=False, has_bias=False):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        shape = (1, -1) + (1,) * (x.ndim - 2)
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = x - mean.reshape(shape)
        xhat *= invstd.reshape(shape)
        self.xhat, self.invstd = xhat, invstd.astype(x.dtype, copy=False)
        if not affine:
            return xhat.copy()
        out = xhat * affine[0].reshape(shape) if has_weight else xhat.copy()
        if has_bias:
            out += affine[-1].reshape(shape)
        return out

    def backward(self, g):
        x = self.inputs[0]
        nd = x._data.ndim
        axes = _reduce_axes(nd)
        count = x._data.size // x._data.shape[1]
        if _enabled[0]:
            # create_graph: rebuild the normalisation from x with Tensor operations, so the
            # gradient below is itself differentiable with respect to x.
            centred = x - x.mean(axes, keepdim=True)
            invstd = ((centred * centred).mean(axes, keepdim=True) + self.eps) ** -0.5
            xhat = centred * invstd
        else:
            xhat, invstd = _const(self.xhat), _const(_per_channel(self.invstd, nd))
        gb = g.sum(axes)  # (C,)
        gw = (g * xhat).sum(axes)  # (C,)
        scale = invstd * _per_channel(self.inputs[1], nd) if self.has_weight else invstd
        # dx = w/σ · (g − mean(g) − x̂·mean(g·x̂)): the two means are gb/count and gw/count.
        gx = (g - _per_channel(gb, nd) * (1.0 / count) - xhat * _per_channel(gw, nd) * (1.0 / count)) * scale
        grads = [gx]
        if self.has_weight:
            grads.append(gw)
        if self.has_bias:
            grads.append(gb)
        return tuple(grads)
