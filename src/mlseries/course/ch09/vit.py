"""ch09.vit — 视觉 Transformer / A Vision Transformer on Fashion-MNIST, beside the CNN.

"An Image is Worth 16×16 Words" (Dosovitskiy et al., 2020) reads an image the way a Transformer
reads a sentence. The 28×28 picture is cut into 7×7 = 49 **patches** (图像块) of 4×4 pixels;
each patch, flattened to 16 numbers, goes through one linear layer and becomes a "word" vector
(the same as a 4×4 convolution with stride 4). A learned **class token** (分类标记, [CLS]) is put
in front — a 50th word that belongs to no patch — and learned **position embeddings** (位置嵌入)
are added, because attention itself does not know which patch was where. Then come encoder
blocks (pre-norm, GELU, as ViT), and the class token's final vector alone is classified.

Nothing in this model says that neighbouring pixels belong together: a CNN's small kernels and
pooling build that in (an inductive bias, 归纳偏置), a ViT has to learn it from data: in
`position_similarity.png` the learned position embeddings show some of the grid (in the full
run the centre patch resembles its vertical neighbours, and the border patches, nearly always
background, resemble each other), though nothing told the model the patches form one. With little
data the CNN wins; the lesson trains the ViT on all 60 000 training images (target ≥ 0.88) and
puts it beside ch07.cnn: accuracy (ch07.cnn's recorded full run), parameters and seconds per
epoch (measured here, on the same machine, in the same run).

**Attention rollout** (注意力展开, Abnar & Zuidema 2020) shows what the class token looked at. One
layer's weights say how much each token took from each other token; but after the first layer a
token is already a mixture. Rollout follows the mixing through all layers: average the heads,
add the identity for the residual connection (½·A + ½·I, rows renormalised), and multiply the
layers' matrices. The class token's row, over the 49 patches, is drawn over the image.

    mlseries run ch09.vit [--quick]
"""
import time

import numpy as np
from matplotlib.ticker import MaxNLocator

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz

from .model import EncoderBlock
from .seq_training import warmup_cosine
from ..ch07.cnn import make_cnn
from ..ch07.conv import show_image
from ..training import accuracy, count_parameters, fashion_mnist, fashion_names, minibatches
from ..registry import lesson

VIT = dict(patch=4, d_model=64, heads=4, depth=4, d_ff=128, dropout=0.1)
TRAIN = dict(weight_decay=0.05, warmup=500)
FULL = dict(train=None, test=None, epochs=12, lr=2e-3, batch=128, cnn_epochs=None, timing_steps=40)
# quick: 3 000 images for 4 epochs, both networks (the CNN is trained here too, on the same
# images), in smaller batches for more steps
QUICK = dict(train=3000, test=1000, epochs=4, lr=3e-3, batch=64, cnn_epochs=4, timing_steps=10)
TIMING_BATCH = {"ViT": 128, "CNN": 64}   # each network's batch size in its full training
# ch07.cnn's full run (docs/course.md): Fashion-MNIST test accuracy after 8 epochs, 41 s an epoch
CNN_RECORDED = dict(accuracy=0.9217, epochs=8)
TARGET = 0.88


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "rollout.png": ("上：每类一张测试图；下：分类标记经过所有层之后从哪些图像块取了信息（越亮越多），小标题是模型的预测。"
                    "亮块多落在轮廓和有区分度的部位——领口、肩、下摆、鞋底、提手——而不是平淡的中间。",
                    "Top: one test image per class; below: which patches the class token drew on through all layers "
                    "(brighter = more), titled with the prediction. The bright patches sit mostly on outlines and "
                    "telling parts — collars, shoulders, hems, soles, handles — rather than the plain middle."),
    "position_similarity.png": ("每个小图按位置嵌入与 + 号那块的余弦相似度给 49 个块上色。没有人告诉模型这些块排成网格，"
                                "它却学到了一些：中心块与上下相邻的块相似，边缘的块彼此相似。",
                                "Each panel colours the 49 patches by how similar their learned position embedding is "
                                "to the marked one (+). Nothing told the model the patches form a grid, yet some of it "
                                "shows: the centre patch resembles its vertical neighbours, border patches resemble "
                                "other border patches."),
    "vit_vs_cnn.png": ("左：ViT 每轮之后的测试准确率，对照 CNN（快速运行：在同样的 3 000 张图上训练；完整运行：ch07.cnn "
                       "的记录值）和 0.88 的目标。中、右：ViT 的参数只有 CNN 的三分之一，每轮却要花更长的时间。",
                       "Left: the ViT's test accuracy after each epoch beside the CNN (quick run: trained on the same "
                       "3 000 images; full run: ch07.cnn's recorded result) and the 0.88 target. Middle and right: the "
                       "ViT has a third of the CNN's parameters yet takes longer per epoch."),
}


# ---------------------------------------------------------------- 1. the model

def patchify(images, patch):
    """(B, 1, H, W) -> (B, H/p · W/p, p·p): each patch's pixels as one row, in reading order."""
    b, _, h, w = images.shape
    x = images.reshape(b, h // patch, patch, w // patch, patch)     # (B, H/p, p, W/p, p)
    x = x.permute(0, 1, 3, 2, 4)                                    # (B, H/p, W/p, p, p)
    return x.reshape(b, (h // patch) * (w // patch), patch * patch)


class ViT(nn.Module):
    def __init__(self, patch=4, d_model=64, heads=4, depth=4, d_ff=128, dropout=0.1, size=28, classes=10):
        super().__init__()
        self.patch, self.grid = patch, size // patch
        n = self.grid ** 2
        self.embed = nn.Linear(patch * patch, d_model)              # a patch's pixels -> its "word" vector
        self.cls = nn.Parameter(ms.zeros(1, 1, d_model))            # the class token
        self.pos = nn.Parameter(ms.randn(1, n + 1, d_model) * 0.02)  # one learned vector per position
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([EncoderBlock(d_model, heads, d_ff, dropout, norm_first=True, activation=nn.GELU)
                                     for _ in range(depth)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    def forward(self, images):                                      # (B, 1, 28, 28)
        x = self.embed(patchify(images, self.patch))                # (B, 49, d)
        cls = self.cls.expand(x.shape[0], 1, x.shape[2])            # (B, 1, d)
        x = self.dropout(ms.cat([cls, x], dim=1) + self.pos)        # (B, 50, d)
        for block in self.blocks:
            x = block(x)                                            # (B, 50, d)
        return self.head(self.norm(x[:, 0]))                        # (B, 10): from the class token only

    def attention_maps(self, images):
        """Every block's attention weights, averaged over heads: a list of (B, 50, 50)."""
        self.eval()
        for block in self.blocks:
            block.keep_weights = True
        with ms.no_grad():
            self(ms.tensor(images))
        maps = [block.weights.numpy().mean(axis=1) for block in self.blocks]
        for block in self.blocks:
            block.keep_weights, block.weights = False, None
        return maps


def rollout(maps):
    """Attention rollout: R = Â_L ··· Â_1 with Â = ½·A + ½·I (rows renormalised): how much each
    token's final vector draws on each input token through all layers and residual paths."""
    result = None
    for a in maps:                                                  # (B, T, T)
        a = 0.5 * a + 0.5 * np.eye(a.shape[-1])
        a = a / a.sum(axis=-1, keepdims=True)
        result = a if result is None else a @ result
    return result                                                   # (B, T, T)


# ---------------------------------------------------------------- 2. training

def train(model, x, y, xt, yt, epochs, rng, ctx, desc, lr, batch, weight_decay=TRAIN["weight_decay"]):
    """AdamW with warm-up and a cosine decay; test accuracy after each epoch."""
    optimizer = ms.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(x) // batch)
    scheduler = warmup_cosine(optimizer, min(TRAIN["warmup"], steps // 5), steps)
    history = {"train_loss": [], "test_acc": [], "seconds": []}
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        start, total = time.perf_counter(), 0.0
        for idx in ctx.progress(list(minibatches(len(x), batch, rng)), f"{desc} {epoch}/{epochs}"):
            loss = F.cross_entropy(model(ms.tensor(x[idx])), ms.tensor(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(idx)
        seconds += time.perf_counter() - start
        acc, _ = accuracy(model, xt, yt)
        for key, value in zip(history, (total / len(x), acc, seconds)):
            history[key].append(value)
        ctx.log(f"{desc} epoch {epoch:>2}: loss {total / len(x):.4f}, test accuracy {acc:.4f}  ({seconds:.0f} s)")
    return history


def seconds_per_step(model, x, y, steps, batch, rng):
    """Median wall time of one training step (forward, backward, Adam) at this batch size."""
    optimizer = ms.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    times = []
    for _ in range(steps):
        idx = rng.integers(0, len(x), batch)
        start = time.perf_counter()
        loss = F.cross_entropy(model(ms.tensor(x[idx])), ms.tensor(y[idx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------- 3. figures

def plot_rollout(images, labels, preds, maps, grid, names, per_row=5):
    """Each image (titled with its class) above its class token's rollout over the patches
    (titled with the prediction), `per_row` images to a row."""
    n = len(images)
    rows = -(-n // per_row)
    fig = viz.figure(figsize=(2.25 * per_row, 4.6 * rows + 0.6))
    axes = fig.subplots(2 * rows, per_row, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for i in range(n):
        top, bottom = axes[2 * (i // per_row), i % per_row], axes[2 * (i // per_row) + 1, i % per_row]
        show_image(top, images[i, 0], names[labels[i]], cmap="gray")
        heat = maps[i].reshape(grid, grid)
        heat = np.kron(heat / heat.max(), np.ones((28 // grid, 28 // grid)))   # back to 28×28
        bottom.imshow(images[i, 0], cmap="gray")
        bottom.imshow(heat, cmap="inferno", alpha=0.6)
        bottom.set_title(f"→ {names[preds[i]]}", fontsize=9)
    fig.suptitle(viz.text("注意力展开：分类标记看了哪些图像块（亮 = 多；下图标题：→ 预测）",
                          "Attention rollout: which patches the class token drew on (bright = more; "
                          "lower titles: → prediction)", sep="\n"))
    return fig


def plot_position_similarity(pos, grid):
    """Cosine similarity of each patch's position embedding with every other's, for 6 patches."""
    p = pos[0, 1:]                                                  # (49, d): the patches, not [CLS]
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    sim = p @ p.T                                                   # (49, 49)
    chosen = [0, grid // 2, grid - 1, grid * (grid // 2) + grid // 2, grid * (grid - 1), grid * grid - 1]
    fig = viz.figure(figsize=(2.2 * len(chosen) + 0.8, 2.9))
    axes = fig.subplots(1, len(chosen))
    for ax, k in zip(axes, chosen):
        shown = ax.imshow(sim[k].reshape(grid, grid), cmap="viridis", vmin=-1, vmax=1)
        ax.plot(k % grid, k // grid, "r+", ms=10, mew=2)
        ax.set_title(viz.text(f"块 ({k // grid}, {k % grid})", f"patch ({k // grid}, {k % grid})"), fontsize=9)
        ax.set_axis_off()
    fig.colorbar(shown, ax=list(axes), shrink=0.85, label=viz.text("余弦相似度", "cosine similarity"))
    fig.suptitle(viz.text("学到的位置嵌入：6 个块与全部 49 个块的余弦相似度（+ = 该块）",
                          "Learned position embeddings: cosine similarity of 6 patches with all 49 (+ = the patch)"))
    return fig


def plot_comparison(history, cnn_history, rows, cnn_recorded):
    """Test accuracy per epoch, then parameters and seconds per epoch of the two networks."""
    fig = viz.figure(figsize=(13, 4.4))
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=(1.6, 1, 1))
    epochs = np.arange(1, len(history["test_acc"]) + 1)
    ax1.plot(epochs, history["test_acc"], "o-", ms=4, color=viz.COLORS["learned"], label="ViT")
    if cnn_history is not None:
        ax1.plot(np.arange(1, len(cnn_history["test_acc"]) + 1), cnn_history["test_acc"], "s-", ms=4,
                 color=viz.COLORS["data"], label=viz.text("CNN（同样的数据）", "CNN (same data)"))
    else:
        ax1.axhline(cnn_recorded, color=viz.COLORS["data"], ls=":", lw=1.5,
                    label=viz.text(f"ch07.cnn 记录值 {cnn_recorded:.4f}", f"ch07.cnn recorded {cnn_recorded:.4f}"))
    ax1.axhline(TARGET, color=viz.COLORS["reference"], ls="--", lw=1, label=viz.text(f"目标 {TARGET}", f"target {TARGET}"))
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set(title=viz.text("测试准确率", "Test accuracy"), xlabel=viz.text("轮次", "epoch"),
            ylabel=viz.text("准确率", "accuracy"))
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    names = [r[0] for r in rows]
    for ax, values, fmt, color, title, label in (
            (ax2, [r[1] / 1000 for r in rows], "%.0f k", viz.COLORS["search"], viz.text("参数", "Parameters"),
             viz.text("参数（千）", "parameters (thousands)")),
            (ax3, [r[2] for r in rows], "%.0f s", viz.COLORS["learned"], viz.text("训练时间", "Training time"),
             viz.text("秒 / 轮（6 万张图）", "s per epoch (60 000 images)"))):
        bars = ax.bar(names, values, 0.55, color=color)
        ax.bar_label(bars, fmt=fmt, fontsize=9)
        ax.set_ylim(0, max(values) * 1.2)
        ax.tick_params(axis="y", labelsize=8)
        ax.set(title=title, xlabel=viz.text("模型", "model"), ylabel=label)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch09.vit", zh="视觉 Transformer：图像块、分类标记与注意力展开",
        en="A Vision Transformer: patches, a class token, attention rollout")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()
    ms.manual_seed(ctx.seed)

    # 1. data
    (x, y), (xt, yt) = fashion_mnist()
    if settings["train"]:   # quick: evenly spaced images, so every class is there
        keep = np.arange(settings["train"]) * (len(x) // settings["train"])
        x, y = x[keep], y[keep]
        keep = np.arange(settings["test"]) * (len(xt) // settings["test"])
        xt, yt = xt[keep], yt[keep]
    names = fashion_names()
    ctx.log(f"Fashion-MNIST: train {x.shape}, test {xt.shape}")

    # 2. the model, one image through it
    model = ViT(**VIT)
    patches = patchify(ms.tensor(x[:2]), VIT["patch"])
    ctx.log(f"ViT: {x[:2].shape} images -> patches {tuple(patches.shape)} -> tokens "
            f"(2, {patches.shape[1] + 1}, {VIT['d_model']}) with the class token -> logits "
            f"{tuple(model(ms.tensor(x[:2])).shape)}; {count_parameters(model):,} parameters")

    # 3. training
    history = train(model, x, y, xt, yt, settings["epochs"], rng, ctx, "ViT", settings["lr"], settings["batch"])
    acc, pred = accuracy(model, xt, yt)
    ctx.record(vit_parameters=count_parameters(model), vit_test_acc=acc, vit_epochs=settings["epochs"],
               vit_train_size=len(x), vit_seconds=history["seconds"][-1],
               vit_test_acc_per_epoch=history["test_acc"])

    # 4. beside the CNN of ch07: parameters and time measured here; accuracy trained here (quick)
    #    or recorded by ch07.cnn's full run
    cnn = make_cnn()
    cnn_history = None
    if settings["cnn_epochs"]:
        ms.manual_seed(ctx.seed)
        cnn_history = train(cnn, x, y, xt, yt, settings["cnn_epochs"], rng, ctx, "CNN", lr=1e-3, batch=64,
                            weight_decay=0.0)   # ch07.cnn's rate and batch
        cnn_acc = cnn_history["test_acc"][-1]
    else:
        cnn_acc = CNN_RECORDED["accuracy"]
    timing = {"ViT": seconds_per_step(ViT(**VIT), x, y, settings["timing_steps"], TIMING_BATCH["ViT"], rng),
              "CNN": seconds_per_step(make_cnn(), x, y, settings["timing_steps"], TIMING_BATCH["CNN"], rng)}
    per_epoch = {k: timing[k] * -(-60000 // TIMING_BATCH[k]) for k in timing}
    rows = [("ViT", count_parameters(model), per_epoch["ViT"]), ("CNN", count_parameters(cnn), per_epoch["CNN"])]
    ctx.log(f"ViT {rows[0][1]:,} parameters, {timing['ViT'] * 1000:.0f} ms per step of {TIMING_BATCH['ViT']} "
            f"(≈ {per_epoch['ViT']:.0f} s per 60 000-image epoch); CNN {rows[1][1]:,} parameters, "
            f"{timing['CNN'] * 1000:.0f} ms per step of 64 (≈ {per_epoch['CNN']:.0f} s per epoch)")
    ctx.log(f"test accuracy: ViT {acc:.4f}; CNN {cnn_acc:.4f}"
            + (" (trained here on the same images)" if cnn_history else
               f" (ch07.cnn's recorded full run, {CNN_RECORDED['epochs']} epochs)"))
    ctx.record(cnn_parameters=rows[1][1], cnn_test_acc=cnn_acc, vit_seconds_per_epoch=per_epoch["ViT"],
               cnn_seconds_per_epoch=per_epoch["CNN"])
    if ctx.quick:
        ctx.check("quick: the ViT learns (test ≥ 0.6, chance is 0.1)", acc >= 0.6)
        ctx.check("quick: on 3 000 images the CNN beats the ViT (its inductive bias)", cnn_acc > acc)
    else:
        ctx.check(f"Fashion-MNIST test ≥ {TARGET}", acc >= TARGET)

    # 5. attention rollout and position embeddings
    shown = np.array([int(np.flatnonzero(yt == c)[0]) for c in range(10)])   # one test image per class
    maps = rollout(model.attention_maps(xt[shown]))[:, 0, 1:]               # (10, 49): [CLS] over the patches
    ctx.save_figure(plot_rollout(xt[shown], yt[shown], pred[shown], maps, model.grid, names), "rollout.png")
    ctx.save_figure(plot_position_similarity(model.pos.detach().numpy(), model.grid), "position_similarity.png")
    ctx.save_figure(plot_comparison(history, cnn_history, rows, cnn_acc), "vit_vs_cnn.png")
