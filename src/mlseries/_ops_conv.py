"""Image primitives and their derivatives: convolution, pooling, batch normalisation.

Layout. Tensors are (N, C, H, W) as in PyTorch, but these operations compute in channels-last
memory (N, H, W, C): im2col then copies whole channel vectors per kernel tap, a matrix multiply
per block of images does the convolution, and its result is already channels-last. Outputs are those arrays *viewed*
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

Batch normalisation is one fused node: forward keeps x̂ and 1/σ, backward is the closed form.

Every loop below runs over kernel taps (k·k vectorised slice copies) or blocks of images, never
over pixels.
"""
from typing import NamedTuple

import numpy as np

from . import _parallel
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

    @property
    def disjoint(self):
        """Whether no input position is read by two taps (each window ends before the next begins)."""
        return all(s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation, self.kernel))

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


# im2col columns are built a block of images at a time, about this many bytes per block: small
# enough to stay in cache between being written and being multiplied, and the columns need not be
# kept for the backward pass. Measured on the 2-core machines (cnn and resblock training steps):
# with one BLAS thread 1-4 MiB blocks run 1.3x faster than whole-batch columns; with two BLAS
# threads on a busy machine every extra matrix multiply costs a thread hand-off, so larger blocks
# win there. 4 MiB is as fast as the best in the first case and half-way in the second.
_BLOCK_BYTES = 4 << 20


def _blocks(n, geom, channels, itemsize):
    """Slices of the batch, each with about _BLOCK_BYTES of im2col columns."""
    (ho, wo), (kh, kw) = geom.out_hw, geom.kernel
    step = max(1, _BLOCK_BYTES // (ho * wo * kh * kw * channels * itemsize))
    return [slice(s, min(n, s + step)) for s in range(0, n, step)]


def _padded_groups(x, geom):
    """(N, C, H, W) -> padded channels-last (N, Hp, Wp, G, C/G) (splitting C is always a view)."""
    xp = _pad(_nhwc(x), geom)
    return xp.reshape(xp.shape[:3] + (geom.groups, x.shape[1] // geom.groups))


def _im2col(xp5, geom):
    """Padded (N, Hp, Wp, G, C/G) -> per block of images, (block, columns (B, Ho, Wo, G, kh, kw, C/G)):
    for each output pixel and group, the kernel-sized patch it sees, channels innermost. The
    columns buffer is reused from block to block."""
    n, _, _, g, cg = xp5.shape
    (ho, wo), (kh, kw) = geom.out_hw, geom.kernel
    blocks = _blocks(n, geom, g * cg, xp5.itemsize)
    buffer = np.empty((blocks[0].stop, ho, wo, g, kh, kw, cg), xp5.dtype)
    for block in blocks:
        cols = buffer[:block.stop - block.start]
        for (i, j), (rows, columns) in geom.taps():
            cols[:, :, :, :, i, j] = xp5[block, rows, columns]
        yield block, cols


def _spread(geom, xp, value_at):
    """Add `value_at(t, (i, j), out)` into the padded input `xp` (N, Hp, Wp, ...) at the positions
    tap t reads, for every tap: the adjoint of reading them. When no two taps share a position,
    value_at writes straight into its place (`out`); otherwise out is None and it returns the value."""
    disjoint = geom.disjoint
    for t, (ij, (rows, columns)) in enumerate(geom.taps()):
        if disjoint:
            value_at(t, ij, xp[:, rows, columns])
        else:
            xp[:, rows, columns] += value_at(t, ij, None)


def _copy_into(value, out):
    if out is None:
        return value
    np.copyto(out, value)
    return out


def _padded_zeros(n, geom, channels, dtype):
    return np.zeros((n,) + tuple(geom.padded_hw) + tuple(channels), dtype)


def _unpad(xp, geom):
    """Padded (N, Hp, Wp, ...) channels-last -> the (N, C, H, W) view of its interior."""
    return _nchw(_crop(xp.reshape(xp.shape[:3] + (-1,)), geom))


def _weight_matrix(w, groups):
    """(O, C/G, kh, kw) -> (G, kh·kw·C/G, O/G), rows ordered like the im2col columns."""
    o, cg, kh, kw = w.shape
    return w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, o // groups)


def _weight_from_matrix(m, kernel, cg):
    """The inverse of _weight_matrix: (G, kh·kw·C/G, O/G) -> (O, C/G, kh, kw)."""
    g, _, og = m.shape
    return m.reshape(g, kernel[0], kernel[1], cg, og).transpose(0, 4, 3, 1, 2).reshape(g * og, cg, *kernel)


def _grouped_matmul(a, b, out):
    """out (M, G, P) = a (M, G, K) times b (G, K, P), group by group."""
    if a.shape[1] == 1:
        np.matmul(a.reshape(a.shape[0], a.shape[2]), b[0], out=out.reshape(out.shape[0], out.shape[2]))
    else:
        np.matmul(a.transpose(1, 0, 2), b, out=out.transpose(1, 0, 2))
    return out


def _rows(a, groups):
    """(N, C, H, W) -> (N·H·W, G, C/G): pixels as rows (a view when the memory is channels-last)."""
    n, c, h, w = a.shape
    return _nhwc(a).reshape(n * h * w, groups, c // groups)


def _channel_sum(g):
    return Sum.apply(g, dim=(0, 2, 3), keepdim=False)


# ---- convolution ------------------------------------------------------------------------------
def _convolve(x, w, geom):
    """conv2d without bias -> channels-last (N, Ho, Wo, O), contiguous. Parts of the batch go to
    different threads when cores are idle (`_parallel`)."""
    groups, (ho, wo) = geom.groups, geom.out_hw
    wm = _weight_matrix(w, groups)  # (G, K, O/G)
    y = np.empty((x.shape[0], ho, wo, w.shape[0]), np.result_type(x, w))

    def part(rows):
        yr = y[rows]
        for block, cols in _im2col(_padded_groups(x[rows], geom), geom):
            m = cols.shape[0] * ho * wo
            _grouped_matmul(cols.reshape(m, groups, -1), wm, yr[block].reshape(m, groups, -1))

    _parallel.over_batch(x.shape[0], part)
    return y


def _as_convolution(geom, w):
    """With stride 1, the transposed convolution is itself a convolution: of the (more) padded
    output with the kernel flipped and its channel roles swapped. Returns (geometry, weight), or
    None where that does not hold (strides, or padding beyond the kernel's reach)."""
    (kh, kw), (dh, dw), (pt, pb, pl, pr) = geom.kernel, geom.dilation, geom.pads
    pads = (dh * (kh - 1) - pt, dh * (kh - 1) - pb, dw * (kw - 1) - pl, dw * (kw - 1) - pr)
    if geom.stride != (1, 1) or min(pads) < 0:
        return None
    o, cg = w.shape[:2]
    g = geom.groups
    flipped = w.reshape(g, o // g, cg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(g * cg, o // g, kh, kw)[:, :, ::-1, ::-1]
    return geom._replace(pads=pads, in_hw=geom.out_hw, out_hw=geom.in_hw), flipped


class Conv2d(Function):
    """y = conv2d(x, w) + b (cross-correlation, as in PyTorch): im2col and a matrix multiply per
    block of images, written straight into the channels-last output."""

    def forward(self, x, w, b=None, geom=None):
        self.geom = geom
        y = _convolve(x, w, geom)
        if b is not None:
            y += b
        return _nchw(y)

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        needs, geom = self.needs_input_grad, self.geom
        gx = ConvTranspose2d.apply(g, w, geom=geom) if needs[0] else None
        gw = Conv2dWeightGrad.apply(x, g, geom=geom) if needs[1] else None
        gb = _channel_sum(g) if len(needs) > 2 and needs[2] else None
        return (gx, gw, gb)[:len(needs)]


class ConvTranspose2d(Function):
    """x = conv_transpose2d(y, w) + b: the gradient of conv2d with respect to its input, as an
    operation of its own (`geom` describes the convolution it transposes). With stride 1 it is a
    convolution with the flipped kernel; otherwise, per block of images, one matrix multiply to
    columns and col2im (the adjoint of im2col) adds them into place."""

    def forward(self, y, w, b=None, geom=None):
        self.geom = geom
        as_conv = _as_convolution(geom, w)
        x = _nchw(_convolve(y, as_conv[1], as_conv[0])) if as_conv else self._col2im(y, w, geom)
        if b is not None:
            x = x + b[:, None, None]
        return x

    @staticmethod
    def _col2im(y, w, geom):
        groups, (ho, wo), (kh, kw), cg = geom.groups, geom.out_hw, geom.kernel, w.shape[1]
        wt = _weight_matrix(w, groups).transpose(0, 2, 1)  # (G, O/G, K)
        n = y.shape[0]
        xp = _padded_zeros(n, geom, (groups, cg), np.result_type(y, w))  # (N, Hp, Wp, G, C/G)
        blocks = _blocks(n, geom, groups * cg, xp.itemsize)
        buffer = np.empty((blocks[0].stop * ho * wo, groups, kh * kw * cg), xp.dtype)
        for block in blocks:
            rows = _rows(y[block], groups)  # (M, G, O/G)
            cols = _grouped_matmul(rows, wt, buffer[:rows.shape[0]]).reshape(-1, ho, wo, groups, kh, kw, cg)
            _spread(geom, xp[block], lambda t, ij, out: _copy_into(cols[:, :, :, :, ij[0], ij[1]], out))
        return _unpad(xp, geom)

    def backward(self, gg):
        y, w = self.inputs[0], self.inputs[1]
        needs, geom = self.needs_input_grad, self.geom
        gy = Conv2d.apply(gg, w, geom=geom) if needs[0] else None
        gw = Conv2dWeightGrad.apply(gg, y, geom=geom) if needs[1] else None
        gb = _channel_sum(gg) if len(needs) > 2 and needs[2] else None
        return (gy, gw, gb)[:len(needs)]


class Conv2dWeightGrad(Function):
    """w = the gradient of conv2d with respect to its weight, from the input x and the output
    gradient y: the im2col columns times y, summed over blocks of images."""

    def forward(self, x, y, geom=None):
        self.geom = geom
        groups, (ho, wo) = geom.groups, geom.out_hw

        def part(rows):
            m, yr = 0, y[rows]
            for block, cols in _im2col(_padded_groups(x[rows], geom), geom):
                c3 = cols.reshape(cols.shape[0] * ho * wo, groups, -1)  # (M, G, K)
                y3 = _rows(yr[block], groups)  # (M, G, O/G)
                m = m + np.matmul(c3.transpose(1, 2, 0), y3.transpose(1, 0, 2))  # (G, K, O/G)
            return m

        m = sum(_parallel.over_batch(x.shape[0], part))
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
    to the first tap, as in PyTorch. Plain maximum/compare/add passes: NumPy's masked copies
    (copyto with where=, np.where) are ten times slower here."""
    n, c = x.shape[:2]
    ho, wo = geom.out_hw
    best = np.empty((n, ho, wo, c), x.dtype)
    argmax = np.zeros(best.shape, np.uint8 if len(geom.taps()) < 256 else np.int32)

    def part(rows):
        xp = _pad(_nhwc(x[rows]), geom, value=-np.inf)
        windows = [xp[:, r, col] for _, (r, col) in geom.taps()]
        top, arg = best[rows], argmax[rows]
        np.copyto(top, windows[0])
        for window in windows[1:]:
            np.maximum(top, window, out=top)
        claimed = windows[0] == top
        hit, step = np.empty(top.shape, bool), np.empty(top.shape, arg.dtype)
        for t, window in enumerate(windows[1:], 1):
            np.equal(window, top, out=hit)
            np.greater(hit, claimed, out=hit)  # a maximum here and at no earlier tap
            claimed |= hit
            np.multiply(hit, arg.dtype.type(t), out=step)
            arg += step

    _parallel.over_batch(n, part)
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
        dx = _padded_zeros(g.shape[0], geom, g.shape[1:2], g.dtype)

        def part(rows):
            gr, ar = gh[rows], argmax[rows]
            picked = np.empty(ar.shape, g.dtype)
            _spread(geom, dx[rows], lambda t, ij, out: np.multiply(gr, ar == t, out=picked if out is None else out))

        _parallel.over_batch(g.shape[0], part)
        return _unpad(dx, geom)

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
        dx = _padded_zeros(g.shape[0], geom, g.shape[1:2], g.dtype)
        _spread(geom, dx, lambda t, ij, out: _copy_into(gs, out))
        return _unpad(dx, geom)

    def backward(self, gg):
        return (AvgPool2d.apply(gg, geom=self.geom, scale=self.scale),)


# ---- batch normalisation ----------------------------------------------------------------------
def _reduce_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(v, ndim):
    """(C,) -> a shape that broadcasts over (N, C, *)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_sum_of(*arrays):
    """Σ over every dimension but 1 of the product of `arrays` (N, C, *), as a (C,) vector.
    einsum follows the memory order, so channels-last input costs no more than ordinary."""
    letters = "nc" + "hwdl"[:arrays[0].ndim - 2]
    return np.einsum(",".join([letters] * len(arrays)) + "->c", *arrays)


class BatchNorm(Function):
    """Training-mode batch normalisation over every dimension but the channel one (1):
    y = (x − mean) / √(var + eps) · weight + bias with the batch's mean and biased variance,
    which it also leaves in the dict `stats` (the caller moves the running averages with them).
    Forward keeps x̂ and 1/σ; backward is the closed form, in Tensor operations."""

    def forward(self, x, *affine, eps=1e-5, has_weight=False, has_bias=False, stats=None):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        count = x.size // x.shape[1]
        mean = _channel_sum_of(x) / x.dtype.type(count)
        xhat = x - _per_channel(mean, x.ndim)  # centred for now
        var = _channel_sum_of(xhat, xhat) / x.dtype.type(count)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat *= _per_channel(invstd, x.ndim)
        self.xhat, self.invstd = xhat, invstd
        if stats is not None:
            stats.update(mean=mean, var=var, count=count)
        weight = affine[0] if has_weight else None
        bias = affine[-1] if has_bias else None
        if weight is None:
            out = xhat.copy() if bias is None else xhat + _per_channel(bias, x.ndim)
        else:
            out = xhat * _per_channel(weight, x.ndim)
            if bias is not None:
                out += _per_channel(bias, x.ndim)
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
            gb, gw = g.sum(axes), (g * xhat).sum(axes)
        else:
            xhat, invstd = _const(self.xhat), _const(_per_channel(self.invstd, nd))
            gb, gw = _const(_channel_sum_of(g._data)), _const(_channel_sum_of(g._data, self.xhat))
        scale = invstd * _per_channel(self.inputs[1], nd) if self.has_weight else invstd  # (1, C, 1, 1)
        # dx = w/σ · (g − mean(g) − x̂·mean(g·x̂)), where the two means are gb/count and gw/count;
        # the per-channel factors are combined first so the big arrays see four passes.
        gx = (g - _per_channel(gb, nd) * (1.0 / count)) * scale - xhat * (_per_channel(gw, nd) * scale * (1.0 / count))
        grads = [gx]
        if self.has_weight:
            grads.append(gw)
        if self.has_bias:
            grads.append(gb)
        return tuple(grads)
