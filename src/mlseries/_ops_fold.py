"""im2col and col2im as PyTorch lays them out (`F.unfold` / `F.fold`): an adjoint pair.

`Unfold` copies every kernel-sized patch of (N, C, H, W) into a column of (N, C·kh·kw, L), rows
ordered channel, then kernel row, then kernel column; L counts the patches row by row.
`Fold` adds such columns back into an image (overlaps add up). Each is the other's transpose, so
each one's backward is the other one, and second derivatives come for free. Both loop over the
kh·kw kernel taps, each a strided slice copy; the geometry (padding, stride, dilation) is the
convolution's (`_ops_conv.Geometry`).
"""
import numpy as np

from ._tensor import Function


def _pad_nchw(x, geom):
    pt, pb, pl, pr = geom.pads
    if not (pt or pb or pl or pr):
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


class Unfold(Function):
    """(N, C, H, W) -> (N, C·kh·kw, Ho·Wo): the patches as columns."""

    uses_input_values = False

    def forward(self, x, geom):
        self.geom = geom
        n, c = x.shape[:2]
        (kh, kw), (ho, wo) = geom.kernel, geom.out_hw
        xp = _pad_nchw(x, geom)
        cols = np.empty((n, c, kh, kw, ho, wo), x.dtype)
        for (i, j), (rows, columns) in geom.taps():
            cols[:, :, i, j] = xp[:, :, rows, columns]
        return cols.reshape(n, c * kh * kw, ho * wo)

    def backward(self, g):
        return (Fold.apply(g, geom=self.geom),)


class Fold(Function):
    """(N, C·kh·kw, Ho·Wo) -> (N, C, H, W): each column added back where its patch came from."""

    uses_input_values = False

    def forward(self, cols, geom):
        self.geom = geom
        n = cols.shape[0]
        (kh, kw), (ho, wo), (h, w) = geom.kernel, geom.out_hw, geom.in_hw
        c = cols.shape[1] // (kh * kw)
        blocks = cols.reshape(n, c, kh, kw, ho, wo)
        hp, wp = geom.padded_hw
        out = np.zeros((n, c, hp, wp), cols.dtype)
        for (i, j), (rows, columns) in geom.taps():
            out[:, :, rows, columns] += blocks[:, :, i, j]
        pt, pl = geom.pads[0], geom.pads[2]
        return np.ascontiguousarray(out[:, :, pt:pt + h, pl:pl + w])

    def backward(self, g):
        return (Unfold.apply(g, geom=self.geom),)
