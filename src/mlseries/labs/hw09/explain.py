"""hw09.explain — 可解释 AI：显著图、SmoothGrad、积分梯度、滤波器可视化、LIME、注意力图 / HW09 explainable AI.

**The original lab.** A CNN trained on Food-11 (the course's HW3 classifier) is given, and the
student explains its decisions with the lecture's methods — saliency maps (显著图), SmoothGrad,
filter visualisation (滤波器可视化), integrated gradients (积分梯度) and LIME — then looks at a
BERT's attention and embeddings; the lab is graded by a quiz on what the pictures show, so it
has no leaderboard.

**The substitute.** The project's own networks, trained here in about a minute: chapter 7's
CNN (`course/ch07/cnn.py`, conv-pool-conv-pool-dense) on Fashion-MNIST, and a small
Transformer classifier (chapter 9's encoder blocks) on a synthetic sentiment task in which one
known word decides the label (`sentiment.py`). It keeps every method of the lab, run on a real
trained model; it loses the food photographs (a garment on a black background is easier to
explain than a dish on a table) and BERT's size. Instead of a quiz, every method gets a number
that can fail:

**The rungs** (the score of each: how many times better than random the explanation is on its
faithfulness test, 可信度；1 = no better than random):

1. *Vanilla gradient saliency* (the TA's sample) — |∂F_c/∂x| for the predicted class c.
2. *SmoothGrad* — the mean |gradient| over noisy copies of the image (σ = 15 % of its range).
3. *Integrated gradients* — from a blank image to the image, trapezoid rule; its attributions
   must add up to F_c(x) − F_c(blank) within 1 % (completeness, 完备性), checked on every image.
4. *Filter visualisation* — activation maximisation of several second-layer filters by gradient
   ascent on the input (clipped, L2-penalised, blurred); score: the filter's activation on its
   visualisation ÷ its highest activation on any test image.
5. *LIME* — 4×4 patches as segments, random masks, a kernel-weighted ridge fit (scikit-learn);
   the surrogate's R² is reported.
6. *Attention maps* — every head of both layers of the Transformer, and attention rollout
   (注意力展开) from [CLS]; score: how often rollout's most-attended word is the sentiment word,
   ÷ the chance rate 1/10.

Rungs 1, 2, 3 and 5 share one faithfulness test (删除测试, `faithfulness.py`): blank the top
1–20 % of pixels by attribution and measure how far the predicted class's probability falls,
against blanking random pixels. What it shows: the plain gradient beats random, but not by much,
and SmoothGrad's cleaner-looking map scores about the same. Both measure *sensitivity* — how the
score changes for a tiny change of a pixel — and many sensitive pixels are black background,
where blanking changes nothing. Integrated gradients and LIME measure *contribution* — what the
score loses when the pixel is taken away, which is what the test does — and score well above
both (in the full run about 3.5 times as high). A picture that looks cleaner is not thereby more faithful.

**Targets** (issue 16): integrated gradients' completeness error ≤ 1 % on every explained image,
and every method beats random on its faithfulness test (score > 1).

    mlseries run hw09 [--quick]     # full: about 5 minutes on one core; quick: well under a minute
"""
import numpy as np

import mlseries as ms

from ...course.ch07.cnn import CNN, make_cnn
from ...course.ch09.vit import rollout
from ...course.registry import lesson
from ...course.training import accuracy, fashion_mnist, fashion_names, outputs, train_epoch
from ..ladder import Ladder
from . import plots
from .attributions import completeness_error, integrated_gradients, saliency, smoothgrad
from .faithfulness import FRACTIONS, class_probability, deletion_curve, faithfulness, random_curve
from .filters import channel_activation, truncate, visualise_filters
from .lime import lime_maps, patch_segments
from .sentiment import LENGTH, ReviewTransformer, hit_rate, make_reviews

# train/test: Fashion-MNIST images; explain: test images every method explains;
# smooth: SmoothGrad's samples; ig_steps: trapezoid intervals; lime: masks per image
FULL = dict(train=30000, test=2000, epochs=4, explain=64, smooth=50, ig_steps=128, lime=500,
            filter_steps=200, reviews=6000, review_test=1000, review_epochs=6)
QUICK = dict(train=4000, test=500, epochs=3, explain=16, smooth=16, ig_steps=64, lime=200,
             filter_steps=100, reviews=3000, review_test=500, review_epochs=5)
SMOOTH_SIGMA = 0.15        # SmoothGrad's noise, as a fraction of the image's range
PATCH = 4                  # LIME's segments: 4×4 squares, 49 of them
FILTERS = (0, 5, 10, 20, 30, 40, 50, 60)     # second-layer channels (of 64) to visualise
FILTER_LAYER = 4           # make_cnn's modules up to the second conv (its ReLU is the 5th)
REVIEW = dict(lr=3e-3, batch=64)
COMPLETENESS = 0.01        # the 1 %

CAPTIONS = {
    "ladder.png": ("每种方法在各自可信度测试上比随机好多少倍（1 = 与随机相同）。",
                   "How many times better than random each method does on its faithfulness test (1 = no better)."),
    "methods.png": ("同几张测试图的四种解释：普通梯度噪声多，也落在黑色背景上；SmoothGrad 把噪声平均掉；积分梯度在背景上为零"
                    "（基线就是黑图），只标出衣物上支持（红）或反对（蓝）该类的像素；LIME 给出 4×4 块的重要性。",
                    "Four explanations of the same test images: the plain gradient is noisy and lands on the black "
                    "background too; SmoothGrad averages the noise away; integrated gradients are zero on the "
                    "background (the baseline is a black image) and mark the garment's pixels for (red) or against "
                    "(blue) the class; LIME scores 4×4 patches."),
    "deletion.png": ("删除测试：按各方法的排序抹去前 1–20 % 的像素后，预测类别的概率；曲线下降越快，解释越可信，"
                     "灰色虚线是随机抹去。",
                     "Deletion test: the predicted class's probability after blanking each method's top 1–20 % of "
                     "pixels; the faster a curve falls, the more faithful the explanation. Grey dashes: random pixels."),
    "ig_completeness.png": ("积分梯度的完备性：每张图的归因之和（纵轴）与 F(x) − F(空白图)（横轴）落在对角线上，误差在 1 % 内。",
                            "Integrated gradients' completeness: each image's sum of attributions (vertical) against "
                            "F(x) − F(blank) (horizontal) lies on the diagonal, within 1 %."),
    "filters.png": ("第二层卷积几个滤波器最喜欢的输入（梯度上升得到），下方是最能激活它的测试图；"
                    "标题中的比值 = 可视化图的激活 ÷ 测试图中最高的激活。",
                    "What several second-layer filters respond to most (found by gradient ascent), above the test image "
                    "that excites each most; the ratio in each title is the visualisation's activation over the best "
                    "test image's."),
    "attention_heads.png": ("一条评论在两层、每层两个头中的注意力权重（行 = 查询，列 = 键）；[CLS] 那一行决定分类。",
                            "One review's attention weights in both layers' two heads (row = query, column = key); the "
                            "[CLS] row is what the classifier reads."),
    "attention_rollout.png": ("几条测试评论中 [CLS] 经注意力展开后对每个词的权重；框出的是决定标签的情感词。",
                              "Attention rollout from [CLS] to every word of a few test reviews; the boxed word is the "
                              "sentiment word that decides the label."),
}


# ---------------------------------------------------------------- the two models

def train_cnn(ctx, cfg, data):
    """Chapter 7's CNN with its recipe (Adam, cosine schedule, batch 64) on the first images."""
    (x, y), (xt, yt) = data
    ms.manual_seed(ctx.seed)
    model = make_cnn()
    optimizer = ms.optim.Adam(model.parameters(), lr=CNN["lr"])
    steps = cfg["epochs"] * -(-len(x) // CNN["batch"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    rng = ctx.rng(1)
    for epoch in range(1, cfg["epochs"] + 1):
        loss, _ = train_epoch(model, optimizer, x, y, CNN["batch"], rng, scheduler=scheduler,
                              progress=lambda it, e=epoch: ctx.progress(it, f"CNN {e}/{cfg['epochs']}"), desc="CNN")
        ctx.log(f"CNN epoch {epoch}: train loss {loss:.4f}")
    model.eval()
    return model, accuracy(model, xt, yt)[0]


def train_reviews(ctx, cfg):
    """The Transformer on synthetic reviews (Adam, constant rate); returns it, its test accuracy
    and the test reviews (ids, labels, sentiment-word positions)."""
    rng = ctx.rng(2)
    ids, labels, _ = make_reviews(cfg["reviews"], rng)
    test = make_reviews(cfg["review_test"], rng)
    ms.manual_seed(ctx.seed + 2)
    model = ReviewTransformer()
    optimizer = ms.optim.Adam(model.parameters(), lr=REVIEW["lr"])
    for epoch in range(1, cfg["review_epochs"] + 1):
        loss, _ = train_epoch(model, optimizer, ids, labels, REVIEW["batch"], rng,
                              progress=lambda it, e=epoch: ctx.progress(it, f"Transformer {e}"), desc="Transformer")
        ctx.log(f"Transformer epoch {epoch}: train loss {loss:.4f}")
    return model, accuracy(model, test[0], test[1])[0], test


# ---------------------------------------------------------------- the lab

@lesson("hw09.explain", "HW09 可解释 AI：显著图、积分梯度、LIME、注意力", "HW09 explainable AI: saliency, IG, LIME, attention")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    names = fashion_names()
    data = fashion_mnist(cfg["train"], cfg["test"])
    (x, y), (xt, yt) = data
    blank = float(xt.min())                      # a black pixel after standardisation
    high = float(xt.max())
    cnn, cnn_acc = train_cnn(ctx, cfg, data)
    ctx.log(f"CNN on {len(x)} Fashion-MNIST images: test accuracy {cnn_acc:.4f}")
    ctx.record(cnn_accuracy=cnn_acc)

    # the images to explain: evenly through the test set, each explained for its predicted class
    pick = np.arange(cfg["explain"]) * (len(xt) // cfg["explain"])
    images, labels = xt[pick], yt[pick]
    pred = outputs(cnn, images).argmax(axis=1)
    p_before = class_probability(cnn, images, pred)
    rng = ctx.rng(3)
    random = random_curve(cnn, images, pred, blank, rng)
    ladder = Ladder(ctx, "hw09")
    maps, curves = {}, {}

    def pixel_rung(name, zh, en, explain):
        with ladder.rung(name, zh, en) as rung:
            maps[name] = explain()
            curves[name] = deletion_curve(cnn, images, pred, maps[name], blank)
            rung.score = faithfulness(p_before, curves[name], random)

    pixel_rung("saliency", "普通梯度显著图（样例）", "vanilla gradient saliency (sample)",
               lambda: saliency(cnn, images, pred))
    pixel_rung("smoothgrad", "SmoothGrad（加噪平均）", "SmoothGrad",
               lambda: smoothgrad(cnn, images, pred, ctx.rng(4), cfg["smooth"], SMOOTH_SIGMA))
    ig = {}

    def explain_ig():
        attributions, ig["f_x"], ig["f_base"] = integrated_gradients(cnn, images, pred, np.full(images.shape[1:], blank),
                                                                     cfg["ig_steps"])
        ig["error"] = completeness_error(attributions, ig["f_x"], ig["f_base"])
        ig["sum"] = attributions.reshape(len(images), -1).sum(axis=1)
        return attributions
    pixel_rung("ig", "积分梯度", "integrated gradients", explain_ig)
    ctx.log(f"integrated gradients, {cfg['ig_steps']} trapezoid intervals: completeness error "
            f"max {ig['error'].max():.2e}, mean {ig['error'].mean():.2e} over {len(images)} images")
    ctx.record(ig_completeness_max=float(ig["error"].max()), ig_completeness_mean=float(ig["error"].mean()))

    # filter visualisation: the visualisation against the test image that excites each filter most
    with ladder.rung("filters", "滤波器可视化", "filter visualisation") as rung:
        # climb the convolution's output (pre-ReLU, never without a gradient), score its ReLU's
        vis = visualise_filters(truncate(cnn, FILTER_LAYER), FILTERS, images.shape[1:], blank, high, ctx.rng(5),
                                cfg["filter_steps"])
        features = truncate(cnn, FILTER_LAYER + 1)
        vis_act = np.array([channel_activation(features, vis[k:k + 1], c)[0] for k, c in enumerate(FILTERS)])
        test_acts = np.stack([channel_activation(features, xt, c) for c in FILTERS])      # (K, test)
        best_test = test_acts.argmax(axis=1)
        ratios = vis_act / np.maximum(test_acts.max(axis=1), 1e-12)
        rung.score = float(np.mean(ratios))
    ctx.record(filter_ratio_min=float(ratios.min()))

    lime_r2 = {}

    def explain_lime():
        result, lime_r2["r2"] = lime_maps(cnn, images, pred, patch_segments(28, 28, PATCH), blank, ctx.rng(6), cfg["lime"])
        return result
    pixel_rung("lime", "LIME（4×4 块，岭回归）", "LIME (4×4 patches, ridge)", explain_lime)
    ctx.record(lime_r2_mean=float(lime_r2["r2"].mean()))
    ctx.log(f"LIME surrogates: weighted R² mean {lime_r2['r2'].mean():.3f}")

    # attention: the Transformer on reviews whose label is decided by one known word
    with ladder.rung("attention", "注意力图（展开）", "attention maps (rollout)") as rung:
        review_model, review_acc, (ids, review_labels, where) = train_reviews(ctx, cfg)
        attn = review_model.attention_maps(ids)                                  # [(B, heads, T, T)] per layer
        rolled = rollout([a.mean(axis=1) for a in attn])                         # (B, T, T)
        hits = {f"layer{l + 1}_head{h + 1}": hit_rate(a[:, h, 0], where)
                for l, a in enumerate(attn) for h in range(a.shape[1])}
        hits["rollout"] = hit_rate(rolled[:, 0], where)
        rung.score = hits["rollout"] * LENGTH                                    # ÷ the chance rate 1/LENGTH
    ctx.log(f"Transformer test accuracy {review_acc:.4f}; [CLS] attention on the sentiment word: "
            + ", ".join(f"{k} {v:.2f}" for k, v in hits.items()) + f" (chance {1 / LENGTH:.2f})")
    ctx.record(review_accuracy=review_acc, **{f"hit_{k}": v for k, v in hits.items()})

    ladder.finish()
    scores = {r.name: r.score for r in ladder.rungs}

    show = plots.pick_examples(labels, pred, 6 if not ctx.quick else 4)
    ctx.save_figure(plots.plot_methods(images[show], labels[show], pred[show],
                                       {k: maps[k][show] for k in ("saliency", "smoothgrad", "ig", "lime")}, names),
                    "methods.png")
    ctx.save_figure(plots.plot_deletion(FRACTIONS, p_before.mean(), curves, random, scores), "deletion.png")
    ctx.save_figure(plots.plot_completeness(ig["sum"], ig["f_x"] - ig["f_base"], ig["error"]), "ig_completeness.png")
    ctx.save_figure(plots.plot_filters(vis, xt[best_test], FILTERS, ratios), "filters.png")
    ctx.save_figure(plots.plot_heads(attn, ids[0], where[0], review_labels[0]), "attention_heads.png")
    ctx.save_figure(plots.plot_rollout(rolled[:8, 0], ids[:8], where[:8], review_labels[:8]), "attention_rollout.png")

    ctx.check("integrated gradients complete within 1 % on every image", ig["error"].max() <= COMPLETENESS)
    for name in ("saliency", "smoothgrad", "ig", "lime"):
        ctx.check(f"{name}: deletion drops the class probability more than random pixels", scores[name] > 1)
    ctx.check("filter visualisations excite their filters more than any test image", ratios.min() > 1)
    ctx.check("attention rollout finds the sentiment word more often than chance", hits["rollout"] > 1 / LENGTH)
    ctx.check("the models learned (CNN > 0.7, Transformer > 0.9 test accuracy)", cnn_acc > 0.7 and review_acc > 0.9)
