"""ch07.conv — 卷积与池化 / Convolution and pooling by hand.

A convolution layer slides a small grid of weights (the kernel) over an image; at every
position it multiplies the kernel with the patch under it, element by element, and adds the
products up. One kernel gives one output image, a "feature map", bright where the patch looks
like the kernel. A pooling layer then shrinks each map by keeping the largest (or the mean)
value of every small window.

This lesson writes both with plain Python loops, exactly as the definitions read, and checks
them against the engine's `F.conv2d`, `F.max_pool2d` and `F.avg_pool2d`; then the gradients
by loops against the engine's autograd. It runs classic hand-made kernels (Sobel, Laplacian,
blur, sharpen) over a photograph and a handwritten digit, and shows why frameworks do not use
loops: im2col turns every window into one row of a matrix, so the whole convolution becomes a
single matrix multiplication.

(Deep-learning "convolution" is strictly a cross-correlation: the kernel is not flipped. A
learned kernel does not care, and every framework, this one included, does the same.)

    mlseries run ch07.conv [--quick]
"""
import time

import numpy as np
from matplotlib.patches import Rectangle
from numpy.lib.stride_tricks import sliding_window_view

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, viz

from ..registry import lesson

FULL = dict(photo=(214, 320), timing=(8, 8, 16, 28), slide_every=1)
QUICK = dict(photo=(80, 120), timing=(2, 4, 8, 16), slide_every=2)  # every other row and column
TOLERANCE = 1e-6

# Hand-made kernels, each a question asked of every 3×3 patch.
KERNELS = {
    # "is it brighter on the right than on the left?" -> vertical edges
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    # the same question, top against bottom -> horizontal edges
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    # "does the centre differ from its neighbours?" -> edges in every direction, thin lines
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    # the mean of the patch -> smoothing
    "blur": np.full((3, 3), 1 / 9),
    # the centre plus its difference from the neighbours -> crisper edges
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
}
KERNEL_NAMES = {
    "sobel_x": ("Sobel x：竖直边缘", "Sobel x: vertical edges"),
    "sobel_y": ("Sobel y：水平边缘", "Sobel y: horizontal edges"),
    "laplacian": ("拉普拉斯", "Laplacian"),
    "blur": ("均值模糊", "box blur"),
    "sharpen": ("锐化", "sharpen"),
}


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "edge_kernels.png": ("每个卷积核只回答一个问题：Sobel 找竖直或水平边缘，拉普拉斯找所有方向的边缘。",
                         "Each kernel asks one question: Sobel finds vertical or horizontal edges, the Laplacian edges in every direction."),
    "digit_feature_maps.png": ("同样的核作用在手写数字上：红色与蓝色是边缘的两侧。",
                               "The same kernels on a handwritten digit: red and blue are the two sides of an edge."),
    "pooling.png": ("最大池化保留每个窗口的最大值，平均池化保留平均值。",
                    "Max pooling keeps each window's largest value, average pooling its mean."),
    "im2col.png": ("im2col 把每个窗口摊平成矩阵的一行，整个卷积就变成一次矩阵乘法。",
                   "im2col lays each window out as a row, so the whole convolution becomes one matrix multiply."),
    "kernel_sliding.gif": ("红框一行一行滑过图像，每一步的乘积之和填进右边输出的一格。",
                           "The red window slides row by row over the image; each step's sum of products fills one cell of the output."),
}


# ---------------------------------------------------------------- 1. convolution with loops

def _output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _pad(x, padding, value=0.0):
    """Pad the last two axes of (N, C, H, W) by `padding` on every side."""
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=value)


def conv2d_loops(x, weight, bias=None, stride=1, padding=0):
    """The definition of a 2-D convolution layer, one output number at a time.

    x (N, C, H, W), weight (O, C, KH, KW), bias (O,) -> (N, O, H', W') with
    H' = (H + 2·padding − KH) // stride + 1. Output (n, o, i, j) is the sum over c, u, v of
    x[n, c, i·stride + u, j·stride + v] · weight[o, c, u, v], plus bias[o]: every input
    channel is looked at through its own slice of the kernel, and the results are added.
    """
    n_batch, channels, height, width = x.shape
    n_out, k_channels, kh, kw = weight.shape
    if k_channels != channels:
        raise ValueError(f"conv2d_loops: the kernel expects {k_channels} input channels, "
                         f"the input has {channels}")
    xp = _pad(x, padding)
    out_h, out_w = _output_size(height, kh, stride, padding), _output_size(width, kw, stride, padding)
    out = np.zeros((n_batch, n_out, out_h, out_w), dtype=np.result_type(x, weight))
    for n in range(n_batch):
        for o in range(n_out):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = i * stride, j * stride
                    patch = xp[n, :, top:top + kh, left:left + kw]  # (C, KH, KW)
                    out[n, o, i, j] = np.sum(patch * weight[o])
            if bias is not None:
                out[n, o] += bias[o]
    return out


def conv2d_backward_loops(x, weight, grad_out, stride=1, padding=0):
    """Gradients of a convolution, by the same loops run backwards.

    Output (n, o, i, j) was patch · weight[o] + bias[o], so its gradient g flows
    to weight[o] as g · patch, to the patch as g · weight[o], and to bias[o] as g. Patches
    overlap, so a pixel collects gradient from every window it sat in (the `+=`).
    Returns (grad_x, grad_weight, grad_bias).
    """
    xp = _pad(x, padding)
    grad_xp = np.zeros_like(xp)
    grad_w = np.zeros_like(weight)
    n_batch, n_out, out_h, out_w = grad_out.shape
    kh, kw = weight.shape[2:]
    for n in range(n_batch):
        for o in range(n_out):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = i * stride, j * stride
                    g = grad_out[n, o, i, j]
                    grad_w[o] += g * xp[n, :, top:top + kh, left:left + kw]
                    grad_xp[n, :, top:top + kh, left:left + kw] += g * weight[o]
    height, width = x.shape[2:]
    grad_x = grad_xp[:, :, padding:padding + height, padding:padding + width]
    return grad_x, grad_w, grad_out.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------- 2. pooling with loops

def pool2d_loops(x, kernel_size, stride=None, padding=0, mode="max"):
    """Max or average pooling of x (N, C, H, W), each channel on its own.

    Windows of kernel_size × kernel_size step by `stride` (default: the kernel size, so windows
    do not overlap; AlexNet's "overlapping pooling" uses 3 with stride 2). Padding counts as
    −∞ for max (it never wins) and as 0 for the average, which divides by the full window
    (PyTorch's default, count_include_pad=True).
    """
    stride = kernel_size if stride is None else stride
    fill = -np.inf if mode == "max" else 0.0
    xp = _pad(x, padding, fill)
    n_batch, channels, height, width = x.shape
    out_h = _output_size(height, kernel_size, stride, padding)
    out_w = _output_size(width, kernel_size, stride, padding)
    out = np.zeros((n_batch, channels, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = xp[:, :, top:top + kernel_size, left:left + kernel_size]  # (N, C, k, k)
            out[:, :, i, j] = window.max(axis=(2, 3)) if mode == "max" else window.mean(axis=(2, 3))
    return out


def max_pool2d_backward_loops(x, grad_out, kernel_size, stride=None):
    """Max pooling passes each window's gradient to the one input that won the window;
    the others did not affect the output, so they get nothing."""
    stride = kernel_size if stride is None else stride
    grad_x = np.zeros_like(x)
    n_batch, channels, out_h, out_w = grad_out.shape
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = i * stride, j * stride
                    window = x[n, c, top:top + kernel_size, left:left + kernel_size]
                    u, v = np.unravel_index(np.argmax(window), window.shape)
                    grad_x[n, c, top + u, left + v] += grad_out[n, c, i, j]
    return grad_x


# ---------------------------------------------------------------- 3. im2col: convolution as one matmul

def im2col(x, kh, kw, stride=1, padding=0):
    """Every kh × kw window of x (N, C, H, W) laid out as one row: (N·H'·W', C·KH·KW).

    sliding_window_view gives all windows as a view (no copy); the reshape at the end copies
    them into the matrix. Rows run over (n, i, j), columns over (c, u, v).
    """
    xp = _pad(x, padding)
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))        # (N, C, Hp−kh+1, Wp−kw+1, kh, kw)
    windows = windows[:, :, ::stride, ::stride]                     # (N, C, H', W', kh, kw)
    n_batch, channels, out_h, out_w = windows.shape[:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n_batch * out_h * out_w, channels * kh * kw)
    return cols, (n_batch, out_h, out_w)


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0):
    """The same convolution as conv2d_loops, as (windows matrix) @ (kernels matrix)."""
    n_out, _, kh, kw = weight.shape
    cols, (n_batch, out_h, out_w) = im2col(x, kh, kw, stride, padding)  # (N·H'·W', C·KH·KW)
    out = cols @ weight.reshape(n_out, -1).T                            # (N·H'·W', O)
    if bias is not None:
        out = out + bias
    return out.reshape(n_batch, out_h, out_w, n_out).transpose(0, 3, 1, 2)  # (N, O, H', W')


# ---------------------------------------------------------------- 4. checks against the engine

def _engine(x):
    return ms.tensor(x, dtype=ms.float64)


def check_forward(rng):
    """Largest |loops − engine| over several shapes, strides and paddings (float64)."""
    errors = {"conv": 0.0, "im2col": 0.0, "max_pool": 0.0, "avg_pool": 0.0}
    for n, c, o, h, w, k, stride, padding in [(2, 3, 4, 9, 11, 3, 1, 0), (2, 3, 4, 9, 11, 3, 1, 1),
                                              (1, 2, 3, 10, 8, 5, 2, 2), (3, 1, 2, 7, 7, 2, 2, 0)]:
        x = rng.normal(size=(n, c, h, w))
        weight, bias = rng.normal(size=(o, c, k, k)), rng.normal(size=o)
        by_hand = conv2d_loops(x, weight, bias, stride, padding)
        engine = F.conv2d(_engine(x), _engine(weight), _engine(bias), stride=stride,
                          padding=padding).numpy()
        errors["conv"] = max(errors["conv"], np.abs(by_hand - engine).max())
        errors["im2col"] = max(errors["im2col"],
                               np.abs(conv2d_im2col(x, weight, bias, stride, padding) - by_hand).max())
    for kernel, stride, padding in [(2, 2, 0), (3, 2, 0), (3, 2, 1), (3, 1, 1)]:
        x = rng.normal(size=(2, 3, 9, 10))
        for mode, op in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
            by_hand = pool2d_loops(x, kernel, stride, padding, mode)
            engine = op(_engine(x), kernel, stride, padding).numpy()
            errors[f"{mode}_pool"] = max(errors[f"{mode}_pool"], np.abs(by_hand - engine).max())
    return errors


def check_backward(rng):
    """Largest |loops − autograd| for the gradients of conv (x, weight, bias) and of max pooling."""
    x = rng.normal(size=(2, 3, 8, 9))
    weight, bias = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    grad_out = rng.normal(size=(2, 4, 4, 5))  # the output shape for stride 2, padding 1
    tx, tw, tb = (_engine(a).requires_grad_() for a in (x, weight, bias))
    F.conv2d(tx, tw, tb, stride=2, padding=1).backward(_engine(grad_out))
    by_hand = conv2d_backward_loops(x, weight, grad_out, stride=2, padding=1)
    conv_err = max(np.abs(h - t.grad.numpy()).max() for h, t in zip(by_hand, (tx, tw, tb)))

    x = rng.normal(size=(2, 3, 9, 9))
    grad_out = rng.normal(size=(2, 3, 4, 4))  # 3×3 windows, stride 2: they overlap
    tx = _engine(x).requires_grad_()
    F.max_pool2d(tx, 3, 2).backward(_engine(grad_out))
    pool_err = np.abs(max_pool2d_backward_loops(x, grad_out, 3, 2) - tx.grad.numpy()).max()
    return {"conv_grad": conv_err, "max_pool_grad": pool_err}


def time_methods(shape, repeat=3):
    """Seconds per forward convolution (3×3, padding 1) by loops, by im2col and by the engine."""
    n, c, o, size = shape
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, c, size, size)).astype(np.float32)
    weight = rng.normal(size=(o, c, 3, 3)).astype(np.float32)
    tx, tw = ms.tensor(x), ms.tensor(weight)

    def best(fn, times):
        seconds = []
        for _ in range(times):
            start = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - start)
        return min(seconds)

    return {"loops": best(lambda: conv2d_loops(x, weight, padding=1), 1),
            "im2col": best(lambda: conv2d_im2col(x, weight, padding=1), repeat),
            "engine": best(lambda: F.conv2d(tx, tw, padding=1), repeat)}


# ---------------------------------------------------------------- 5. figures

def show_image(ax, image, title, **imshow):
    """An image panel: pixels only, no axes (an image's rows and columns need no scale)."""
    ax.imshow(image, **imshow)
    ax.set_title(title, fontsize=9.5)
    ax.set_axis_off()


def _ink(image, value):
    """Black or white text, whichever reads better on the cell's colour."""
    if np.isnan(value):
        return "black"
    r, g, b, _ = image.cmap(image.norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def draw_numbers(ax, values, cmap="Greys", fmt="{:g}", vmin=None, vmax=None, fontsize=9):
    """A matrix as coloured cells with each value written in it; NaN cells stay blank.

    Returns the image and a dict (i, j) -> Text, so an animation can fill cells in later."""
    values = np.asarray(values, dtype=np.float64)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    texts = {}
    for (i, j), v in np.ndenumerate(values):
        texts[i, j] = ax.text(j, i, "" if np.isnan(v) else fmt.format(v), ha="center",
                              va="center", fontsize=fontsize, color=_ink(image, v))
    rows, cols = values.shape
    ax.hlines(np.arange(rows + 1) - 0.5, -0.5, cols - 0.5, color="0.6", lw=0.5)
    ax.vlines(np.arange(cols + 1) - 0.5, -0.5, rows - 0.5, color="0.6", lw=0.5)
    ax.set_axis_off()
    return image, texts


def _signed(ax, fmap, title):
    """A feature map with signed values: red where the patch matches the kernel, blue where it
    matches its opposite, white where nothing happens."""
    limit = np.percentile(np.abs(fmap), 99.5) or 1.0
    show_image(ax, fmap, title, cmap="RdBu_r", vmin=-limit, vmax=limit)


def plot_edges(photo, maps):
    """The photo and each kernel's feature map (top), the kernels themselves (bottom)."""
    names = list(maps)
    fig = viz.figure(figsize=(2.5 * (len(names) + 1), 4.4))
    axes = fig.subplots(2, len(names) + 1, gridspec_kw=dict(height_ratios=[2.2, 1]))
    show_image(axes[0, 0], photo, viz.text("原图（灰度）", "photo (grey)", sep="\n"), cmap="gray")
    show_image(axes[1, 0], np.hypot(maps["sobel_x"], maps["sobel_y"]),
               viz.text("边缘强度", "edge strength", sep="\n"), cmap="gray")
    for col, name in enumerate(names, start=1):
        title = viz.text(*KERNEL_NAMES[name], sep="\n")
        if name in ("blur", "sharpen"):  # these keep the picture: show it as one
            show_image(axes[0, col], maps[name], title, cmap="gray", vmin=0, vmax=1)
        else:
            _signed(axes[0, col], maps[name], title)
        draw_numbers(axes[1, col], KERNELS[name], cmap="RdBu_r", fmt="{:.2g}", vmin=-2.5, vmax=2.5)
    fig.suptitle(viz.text("手工卷积核在照片上的特征图（下排：3×3 核）",
                          "Feature maps of hand-made kernels on a photo (bottom: the 3×3 kernels)"))
    return fig


def plot_digit_pipeline(digit, names):
    """conv → ReLU → 2×2 max pool on one digit, one row per kernel: a CNN's first layer by hand."""
    fig = viz.figure(figsize=(8.4, 2.2 * len(names)))
    axes = fig.subplots(len(names), 4)
    for row, name in enumerate(names):
        fmap = conv2d_loops(digit[None, None], KERNELS[name][None, None], padding=1)[0, 0]
        relu = np.maximum(fmap, 0)
        pooled = pool2d_loops(relu[None, None], 2)[0, 0]
        limit = np.abs(fmap).max()
        show_image(axes[row, 0], digit, viz.text(*KERNEL_NAMES[name], sep="\n"), cmap="gray")
        _signed(axes[row, 1], fmap, viz.text("卷积", "conv") + f" {fmap.shape[0]}×{fmap.shape[1]}")
        show_image(axes[row, 2], relu, f"ReLU {relu.shape[0]}×{relu.shape[1]}", cmap="magma",
                   vmin=0, vmax=limit)
        show_image(axes[row, 3], pooled, viz.text("最大池化", "max pool") +
                   f" {pooled.shape[0]}×{pooled.shape[1]}", cmap="magma", vmin=0, vmax=limit)
    fig.suptitle(viz.text("一个数字经过 卷积 → ReLU → 2×2 池化", "A digit through conv → ReLU → 2×2 pool"))
    return fig


def plot_pooling(x):
    """A 4×4 example with max and average pooling (2×2, stride 2) written out."""
    fig = viz.figure(figsize=(7.6, 3.1))
    axes = fig.subplots(1, 3, gridspec_kw=dict(width_ratios=[2, 1, 1]))
    top = x.max() * 1.4
    draw_numbers(axes[0], x, cmap="Blues", vmin=0, vmax=top, fontsize=11)
    for r in (0, 2):
        for c in (0, 2):
            axes[0].add_patch(Rectangle((c - 0.5, r - 0.5), 2, 2, fill=False, lw=2.5, color="#c44e52"))
    axes[0].set_title(viz.text("输入 4×4，2×2 窗口", "input 4×4, 2×2 windows", sep="\n"))
    for ax, mode, title in ((axes[1], "max", viz.text("最大池化", "max pool", sep="\n")),
                            (axes[2], "avg", viz.text("平均池化", "average pool", sep="\n"))):
        pooled = pool2d_loops(x[None, None].astype(np.float64), 2, mode=mode)[0, 0]
        draw_numbers(ax, pooled, cmap="Blues", fmt="{:.3g}", vmin=0, vmax=top, fontsize=12)
        ax.set_title(title)
    fig.suptitle(viz.text("池化：每个窗口留下一个数", "Pooling: one number per window"))
    return fig


def plot_im2col(x, kernel):
    """The im2col matrix of a 4×4 input and a 3×3 kernel: each window becomes one row, so the
    convolution is (4 × 9 matrix) @ (9 kernel weights) = the 4 outputs."""
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    cols, _ = im2col(x[None, None], 3, 3)  # (4, 9)
    out = cols @ kernel.ravel()            # (4,)
    fig = viz.figure(figsize=(13, 4.4))
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[4, 9, 1.3, 1.3, 2.4]))
    draw_numbers(axes[0], x, vmin=0, vmax=x.max() * 3, fontsize=11)
    for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        inset = 0.08 + 0.07 * k  # nested outlines, so overlapping windows stay distinguishable
        axes[0].add_patch(Rectangle((j - 0.5 + inset, i - 0.5 + inset), 3 - 2 * inset,
                                    3 - 2 * inset, fill=False, lw=2, color=colors[k]))
    axes[0].set_title(viz.text("输入 4×4\n四个 3×3 窗口", "input 4×4\nfour 3×3 windows"), fontsize=10)
    draw_numbers(axes[1], cols, vmin=0, vmax=x.max() * 3, fontsize=11)
    for k in range(4):
        axes[1].add_patch(Rectangle((-0.5, k - 0.5), 9, 1, fill=False, lw=2.5, color=colors[k]))
    for v in range(9):  # which window position each column holds
        axes[1].text(v, 3.85, f"({v // 3},{v % 3})", ha="center", va="center", fontsize=8, color="0.35")
    axes[1].set_title(viz.text("im2col 矩阵 4×9：每行是一个窗口\n列 = 窗口内位置 (u,v)",
                               "im2col matrix 4×9: one window per row\ncolumn = position (u,v) in the window"),
                      fontsize=10)
    draw_numbers(axes[2], kernel.reshape(9, 1), cmap="RdBu_r", vmin=-2.5, vmax=2.5)
    axes[2].set_title(viz.text("@ 核", "@ kernel", sep="\n"), fontsize=10)
    draw_numbers(axes[3], out.reshape(4, 1), vmin=0, vmax=np.abs(out).max() * 3)
    for k in range(4):
        axes[3].add_patch(Rectangle((-0.5, k - 0.5), 1, 1, fill=False, lw=2.5, color=colors[k]))
    axes[3].set_title(viz.text("= 输出", "= output", sep="\n"), fontsize=10)
    draw_numbers(axes[4], out.reshape(2, 2), vmin=0, vmax=np.abs(out).max() * 3)
    axes[4].set_title(viz.text("排回 2×2", "folded\nto 2×2", sep="\n"), fontsize=10)
    fig.suptitle(viz.text("im2col：卷积变成一次矩阵乘法", "im2col: a convolution becomes one matrix multiply"))
    return fig


def animate_sliding(ctx, digit, kernel, name, every=1):
    """GIF: the 3×3 kernel sliding over an 8×8 digit (padding 1), the output filling in.

    `every` = 2 (quick mode) draws a frame at every other row and column, so the kernel still
    visits the whole image, row by row, in a quarter of the frames."""
    padded = np.pad(digit, 1)
    out = conv2d_loops(digit[None, None], kernel[None, None], padding=1)[0, 0]
    limit = np.abs(out).max()
    fig = viz.figure(figsize=(10, 4.6), dpi=96)
    ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw=dict(width_ratios=[10, 3.2, 8]))
    draw_numbers(ax_in, padded, vmin=0, vmax=24, fontsize=8)
    ax_in.add_patch(Rectangle((-0.5, -0.5), 10, 10, fill=False, ls=":", color="0.5"))
    ax_in.set_title(viz.text("输入 8×8（外圈补 0）", "input 8×8 (zero padding 1)"), fontsize=10)
    window = Rectangle((-0.5, -0.5), 3, 3, fill=False, lw=3, color="#c44e52")
    ax_in.add_patch(window)
    draw_numbers(ax_k, kernel, cmap="RdBu_r", vmin=-3, vmax=3, fontsize=10)
    ax_k.set_title(viz.text(*KERNEL_NAMES[name], sep="\n"), fontsize=10)
    image, texts = draw_numbers(ax_out, np.full(out.shape, np.nan), cmap="RdBu_r", fmt="{:.0f}",
                                vmin=-limit, vmax=limit, fontsize=8)
    cell = Rectangle((-0.5, -0.5), 1, 1, fill=False, lw=3, color="#c44e52")
    ax_out.add_patch(cell)
    ax_out.set_title(viz.text("输出特征图 8×8", "output feature map 8×8"), fontsize=10)
    caption = ax_k.text(0.5, -0.12, "", transform=ax_k.transAxes, ha="center", va="top",
                        family="monospace", fontsize=11)
    fig.suptitle(viz.text("卷积核滑过图像：每一步 窗口 ⊙ 核 再求和",
                          "The kernel sliding over the image: window ⊙ kernel, summed"))
    shown = np.full(out.shape, np.nan)
    positions = list(np.ndindex(*out.shape))
    with ctx.gif("kernel_sliding.gif", fps=4 / every, hold_last=2.5) as gif:
        for k, (i, j) in enumerate(positions):
            window.set_xy((j - 0.5, i - 0.5))
            cell.set_xy((j - 0.5, i - 0.5))
            shown[i, j] = out[i, j]
            texts[i, j].set_text(f"{out[i, j]:.0f}")
            texts[i, j].set_color(_ink(image, out[i, j]))
            if (i % every == 0 and j % every == 0) or k == len(positions) - 1:
                image.set_data(shown)
                caption.set_text(f"out[{i},{j}]\n= Σ window ⊙ kernel\n= {out[i, j]:.0f}")
                gif.add(fig)


# ---------------------------------------------------------------- the lesson

@lesson("ch07.conv", zh="卷积与池化：手写循环、边缘检测与 im2col",
        en="Convolution and pooling by hand: loops, edge kernels and im2col")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. data: a photograph (grey, in [0, 1]) and handwritten digits
    photo = datasets.sample_image("china.jpg", gray=True, size=settings["photo"]).astype(np.float64) / 255
    mnist_images, mnist_labels = datasets.MNIST(train=False).as_arrays()
    digit28 = mnist_images[np.flatnonzero(mnist_labels == 2)[0], 0].astype(np.float64)  # (28, 28), a "2"
    digits8 = datasets.Digits(train=False)
    digit8 = np.rint(digits8.as_arrays()[0][0, 0] * 16)  # (8, 8), back on the original 0..16 scale
    ctx.log(f"photo {photo.shape}, MNIST digit {digit28.shape}, 8×8 digit (label {digits8[0][1]})")

    # 2. a worked example: a 5×5 input, the Sobel x kernel, one output number at a time
    small = np.arange(25, dtype=np.float64).reshape(5, 5) % 7
    worked = conv2d_loops(small[None, None], KERNELS["sobel_x"][None, None])[0, 0]
    ctx.log("5×5 input (values i mod 7):\n" + np.array2string(small, precision=0))
    ctx.log("Sobel x kernel:\n" + np.array2string(KERNELS["sobel_x"], precision=0))
    ctx.log(f"output 3×3 (out[0,0] = Σ input[0:3, 0:3] ⊙ kernel = {worked[0, 0]:g}):\n"
            + np.array2string(worked, precision=0))

    # 3. loops against the engine: forward, then gradients
    forward = check_forward(rng)
    backward = check_backward(rng)
    for name, err in {**forward, **backward}.items():
        ctx.log(f"max |by hand − engine| {name:<14} {err:.2e}")
    ctx.record(**{f"max_err_{k}": v for k, v in {**forward, **backward}.items()})
    ctx.check("conv by loops equals engine F.conv2d (≤ 1e-6)", forward["conv"] <= TOLERANCE)
    ctx.check("max/avg pooling by loops equal engine (≤ 1e-6)",
              max(forward["max_pool"], forward["avg_pool"]) <= TOLERANCE)
    ctx.check("im2col convolution equals loops (≤ 1e-6)", forward["im2col"] <= TOLERANCE)
    ctx.check("conv and max-pool gradients by loops equal autograd (≤ 1e-6)",
              max(backward.values()) <= TOLERANCE)

    # 4. edge kernels on the photo, by loops, and the same maps from the engine
    maps = {name: conv2d_loops(photo[None, None], k[None, None], padding=1)[0, 0]
            for name, k in ctx.progress(KERNELS.items(), "kernels on the photo")}
    engine_maps = F.conv2d(_engine(photo[None, None]),
                           _engine(np.stack(list(KERNELS.values()))[:, None]), padding=1).numpy()[0]
    photo_err = max(np.abs(maps[n] - m).max() for n, m in zip(KERNELS, engine_maps))
    ctx.record(photo_shape=list(photo.shape), max_err_photo=photo_err)
    ctx.log(f"edge maps on the {photo.shape[0]}×{photo.shape[1]} photo: loops vs engine {photo_err:.2e}")
    ctx.save_figure(plot_edges(photo, maps), "edge_kernels.png")
    ctx.save_figure(plot_digit_pipeline(digit28, ["sobel_x", "sobel_y", "laplacian"]),
                    "digit_feature_maps.png")
    ctx.save_figure(plot_pooling(np.array([[1, 3, 2, 0], [4, 6, 1, 1], [0, 2, 9, 4], [1, 1, 3, 8]])),
                    "pooling.png")

    # 5. im2col, and why it matters: seconds per convolution by each method
    edge = np.array([[1, 1, 6, 6], [1, 2, 6, 5], [0, 1, 5, 6], [1, 1, 6, 6]], dtype=np.float64)
    ctx.save_figure(plot_im2col(edge, KERNELS["sobel_x"]), "im2col.png")
    n, c, o, size = settings["timing"]
    seconds = time_methods(settings["timing"])
    ctx.log(f"one 3×3 convolution, batch {n}, {c}→{o} channels, {size}×{size}:")
    for name, s in seconds.items():
        speedup = "" if name == "loops" else f"  ({seconds['loops'] / s:.0f}× faster than loops)"
        ctx.log(f"  {name:<7} {s * 1e3:9.2f} ms{speedup}")
    ctx.record(**{f"ms_{name}": s * 1e3 for name, s in seconds.items()})

    # 6. the kernel sliding, frame by frame
    animate_sliding(ctx, digit8, KERNELS["sobel_x"], "sobel_x", settings["slide_every"])
