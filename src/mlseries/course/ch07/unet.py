"""ch07.unet — U-Net：编码器-解码器与跳跃连接 / U-Net: segmentation with skips.

Classification gives one label per image; segmentation gives one label per pixel. U-Net
(Ronneberger, Fischer & Brox, 2015) does it with two symmetric halves:

- the encoder (contracting path) is an ordinary CNN: convolutions and pooling halve the size
  and double the channels, so deeper layers see more of the image and know *what* is there;
- the decoder (expanding path) upsamples back to full size with transposed convolutions;
- skip connections copy each encoder level's maps across and concatenate them to the decoder
  at the same size, so the fine detail of *where* (lost by pooling) comes back.

The paper's convolutions are unpadded and the skips are cropped to fit; here they are padded
(3×3, padding 1), so sizes match without cropping, and BatchNorm follows each convolution.

The data are generated images with circles, squares and triangles on noise, with their exact
per-pixel labels. Shapes are brighter than the background, so a fixed brightness threshold
already finds most of the foreground: it is the baseline to beat. The U-Net also has to say
which shape each pixel belongs to, which no threshold can.

    mlseries run ch07.unet [--quick]
"""
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, nn, viz

from .conv import show_image
from ..training import count_parameters, outputs, train_epoch
from ..registry import lesson

FULL = dict(train=2000, test=500, epochs=8, width=16)
# quick: enough steps (190) for the half-width net to tell the three shapes apart, which is the
# lesson; 4 epochs of 400 images found only the foreground and called every shape a circle
QUICK = dict(train=1000, test=200, epochs=6, width=8)
TRAIN = dict(lr=1e-2, batch=32)  # BatchNorm makes a large Adam step safe; 3e-3 learns 3× slower
CLASSES = datasets.Shapes.classes  # background, circle, square, triangle
CLASS_ZH = ("背景", "圆", "正方形", "三角形")


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "unet_masks.png": ("第三行是 U-Net 的预测：颜色要和第二行一致（圆蓝、方橙、三角绿），第四行红色是分错的像素。",
                       "Row three is the U-Net's answer: its colours must match row two (circle blue, square orange, triangle green); row four shows wrong pixels in red."),
    "unet_training.png": ("前景 IoU 很快超过亮度阈值（虚线）；各形状的平均 IoU 随后才上升——这才是阈值做不到的部分。",
                          "Foreground IoU soon passes the brightness threshold (dashed); the mean shape IoU rises later, and that is the part no threshold can do."),
}


# ---------------------------------------------------------------- 1. the model

class DoubleConv(nn.Sequential):
    """(3×3 conv → BatchNorm → ReLU) twice: the unit every U-Net level is built from."""

    def __init__(self, c_in, c_out):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    """A three-level U-Net: widths w, 2w, 4w down, a 8w bottleneck, and back up."""

    def __init__(self, in_channels=1, classes=4, width=16):
        super().__init__()
        w = width
        self.down1, self.down2, self.down3 = DoubleConv(in_channels, w), DoubleConv(w, 2 * w), DoubleConv(2 * w, 4 * w)
        self.bottom = DoubleConv(4 * w, 8 * w)
        self.up3, self.dec3 = nn.ConvTranspose2d(8 * w, 4 * w, 2, stride=2), DoubleConv(8 * w, 4 * w)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), DoubleConv(4 * w, 2 * w)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), DoubleConv(2 * w, w)
        self.head = nn.Conv2d(w, classes, 1)   # a 1×1 convolution: per-pixel class scores

    def forward(self, x):                                    # x (B, 1, 32, 32)
        s1 = self.down1(x)                                   # (B, w, 32, 32)
        s2 = self.down2(F.max_pool2d(s1, 2))                 # (B, 2w, 16, 16)
        s3 = self.down3(F.max_pool2d(s2, 2))                 # (B, 4w, 8, 8)
        h = self.bottom(F.max_pool2d(s3, 2))                 # (B, 8w, 4, 4)
        h = self.dec3(ms.cat([self.up3(h), s3], dim=1))      # (B, 4w, 8, 8): up, then the skip beside it
        h = self.dec2(ms.cat([self.up2(h), s2], dim=1))      # (B, 2w, 16, 16)
        h = self.dec1(ms.cat([self.up1(h), s1], dim=1))      # (B, w, 32, 32)
        return self.head(h)                                  # (B, classes, 32, 32) logits


# ---------------------------------------------------------------- 2. measuring a segmentation

def iou(pred, true):
    """Intersection over union of two boolean masks: 1 is perfect, 0 is no overlap."""
    union = np.logical_or(pred, true).sum()
    return float(np.logical_and(pred, true).sum() / union) if union else 1.0


def scores(labels_pred, labels_true):
    """Foreground IoU (any shape vs background), IoU per shape class, and pixel accuracy."""
    per_class = [iou(labels_pred == c, labels_true == c) for c in range(1, len(CLASSES))]
    return {"foreground_iou": iou(labels_pred > 0, labels_true > 0),
            "class_iou": per_class, "mean_class_iou": float(np.mean(per_class)),
            "pixel_acc": float(np.mean(labels_pred == labels_true))}


def best_threshold(images, masks):
    """The brightness threshold with the best foreground IoU on the training images."""
    candidates = np.linspace(0.2, 0.8, 61)
    ious = [iou(images > t, masks > 0.5) for t in candidates]
    return float(candidates[int(np.argmax(ious))])


# ---------------------------------------------------------------- 3. figures

def plot_predictions(images, labels_true, labels_pred, count=6):
    """Rows: image, true labels, U-Net's labels, and where they differ: the first count/2 test
    images, then the count/2 the U-Net got most wrong (a fair sample hides the failures)."""
    errors = (labels_true != labels_pred).mean(axis=(1, 2))
    worst = [i for i in np.argsort(-errors, kind="stable") if i >= count // 2][:count - count // 2]
    chosen = list(range(count // 2)) + worst
    palette = ListedColormap(["#202020", "#4c72b0", "#dd8452", "#55a868"])
    fig = viz.figure(figsize=(1.7 * count, 7.4))
    axes = fig.subplots(4, count)
    rows = (viz.text("图像", "image", sep="\n"), viz.text("真实掩码", "true mask", sep="\n"),
            viz.text("U-Net 预测", "U-Net prediction", sep="\n"), viz.text("错误像素", "wrong pixels", sep="\n"))
    for k, i in enumerate(chosen):
        wrong = labels_true[i] != labels_pred[i]
        head = viz.text("最差", "worst", sep=" ") if k == count // 2 else ""
        show_image(axes[0, k], images[i, 0], rows[0] if k == 0 else head, cmap="gray", vmin=0, vmax=1)
        show_image(axes[1, k], labels_true[i], rows[1] if k == 0 else "", cmap=palette, vmin=0, vmax=3)
        show_image(axes[2, k], labels_pred[i], rows[2] if k == 0 else "", cmap=palette, vmin=0, vmax=3)
        show_image(axes[3, k], wrong, (rows[3] + " " if k == 0 else "") + f"{wrong.mean():.1%}",
                   cmap="Reds", vmin=0, vmax=1)
    legend = "  ".join(f"{viz.text(zh, en)}" for zh, en in zip(CLASS_ZH[1:], CLASSES[1:]))
    fig.suptitle(viz.text("U-Net 分割测试图像：前 3 张与错得最多的 3 张",
                          "U-Net segmenting test images: the first 3 and the 3 worst") +
                 f"\n({viz.text('蓝/橙/绿', 'blue/orange/green')}: {legend})")
    return fig


def plot_training(history):
    fig = viz.figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    left.plot(epochs, history["loss"], "o-", ms=3, color=viz.COLORS["learned"])
    left.set(title=viz.text("训练损失（逐像素交叉熵）", "Training loss (per-pixel cross-entropy)", sep="\n"),
             xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("损失", "loss"), ylim=(0, None))
    right.plot(epochs, history["foreground_iou"], "o-", ms=3, label=viz.text("前景 IoU", "foreground IoU"))
    right.plot(epochs, history["mean_class_iou"], "s-", ms=3, label=viz.text("各形状平均 IoU", "mean IoU of shapes"))
    right.axhline(history["threshold_iou"], color=viz.COLORS["reference"], ls="--", lw=1,
                  label=viz.text("亮度阈值（前景）", "brightness threshold (foreground)"))
    right.axhline(0.8, color="0.6", ls=":", lw=1, label=viz.text("目标 0.8", "target 0.8"))
    right.set(title=viz.text("测试集 IoU", "Test IoU"), xlabel=viz.text("轮次", "epoch"), ylabel="IoU",
              ylim=(0, 1))
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, fontsize=8)  # below: the curves cross the whole axes
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


# ---------------------------------------------------------------- the lesson

def predict_labels(model, images):
    return outputs(model, images, batch_size=100).argmax(axis=1)  # (N, H, W)


@lesson("ch07.unet", zh="U-Net：对称编码-解码与跳跃连接的分割", en="U-Net: segmentation with an encoder, a decoder and skips")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. data: generated shapes with exact per-pixel labels; train and test from different seeds
    train, test = datasets.Shapes(n=settings["train"], seed=ctx.seed), datasets.Shapes(n=settings["test"], seed=ctx.seed + 1000)
    ctx.log(f"shapes: train {train.images.shape}, test {test.images.shape}; classes {CLASSES}; "
            f"foreground {train.masks.mean():.1%} of pixels")

    # 2. the baseline: one brightness threshold, fitted on the training images
    threshold = best_threshold(train.images, train.masks)
    threshold_iou = iou(test.images[:, 0] > threshold, test.labels > 0)
    ctx.log(f"brightness threshold {threshold:.2f}: test foreground IoU {threshold_iou:.4f} "
            "(and it cannot tell a circle from a square)")

    # 3. the U-Net, trained on per-pixel cross-entropy with Adam
    model = UNet(width=settings["width"])
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    steps = settings["epochs"] * -(-len(train) // TRAIN["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    ctx.log(f"U-Net width {settings['width']}: {count_parameters(model):,} parameters")
    rng = ctx.rng(1)
    # resumable: `mlseries run ch07.unet --resume` continues an interrupted run from its last checkpoint
    state = ctx.resumable("U-Net", model=model, optimizer=optimizer, scheduler=scheduler, rng=rng)
    history = state.vars.setdefault("history", {"loss": [], "foreground_iou": [], "mean_class_iou": []})
    for epoch in range(len(history["loss"]) + 1, settings["epochs"] + 1):
        loss, _ = train_epoch(model, optimizer, train.images, train.labels, TRAIN["batch"], rng,
                              scheduler=scheduler, state=state, desc=f"U-Net epoch {epoch}",
                              progress=lambda it: ctx.progress(it, f"U-Net epoch {epoch}"))
        result = scores(predict_labels(model, test.images), test.labels)
        history["loss"].append(loss)
        history["foreground_iou"].append(result["foreground_iou"])
        history["mean_class_iou"].append(result["mean_class_iou"])
        ctx.log(f"epoch {epoch:>2}: loss {loss:.4f}, test foreground IoU {result['foreground_iou']:.4f}, "
                f"mean shape IoU {result['mean_class_iou']:.4f}, pixel accuracy {result['pixel_acc']:.4f}")
    state.finish()
    history = {**history, "threshold_iou": threshold_iou}

    # 4. results
    pred = predict_labels(model, test.images)
    result = scores(pred, test.labels)
    for name, value in zip(CLASSES[1:], result["class_iou"]):
        ctx.log(f"  IoU {name:<9} {value:.4f}")
    ctx.record(train_size=len(train), test_size=len(test), epochs=settings["epochs"],
               parameters=count_parameters(model), threshold=threshold, threshold_foreground_iou=threshold_iou,
               foreground_iou=result["foreground_iou"], mean_class_iou=result["mean_class_iou"],
               pixel_acc=result["pixel_acc"],
               **{f"iou_{name}": v for name, v in zip(CLASSES[1:], result["class_iou"])})
    # Quick mode must teach what the full run does: the shapes told apart, not only the
    # foreground (which a threshold finds too); so every shape has its own target.
    shape_target = 0.7 if ctx.quick else 0.8
    ctx.check("U-Net foreground IoU ≥ 0.8", result["foreground_iou"] >= 0.8)
    ctx.check("U-Net beats the brightness threshold on the foreground",
              result["foreground_iou"] > threshold_iou)
    for name, value in zip(CLASSES[1:], result["class_iou"]):
        # the part a threshold cannot do: which shape each pixel belongs to
        ctx.check(f"U-Net IoU of the {name}s ≥ {shape_target}", value >= shape_target)

    # 5. figures
    ctx.save_figure(plot_predictions(test.images, test.labels, pred), "unet_masks.png")
    ctx.save_figure(plot_training(history), "unet_training.png")
