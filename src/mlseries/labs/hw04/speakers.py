"""hw04.speakers — 说话人识别 / Speaker identification (HW4).

**The original lab.** 600 speakers of VoxCeleb2, each utterance given as 40-dimensional log-mel
frames (对数梅尔频谱); say who is speaking. The test utterances are new recordings of the same
600 speakers. The TA's sample model is a small Transformer: a linear "prenet" from 40 mels to
d_model = 80, one `TransformerEncoderLayer` (2 heads, feed-forward 256), the mean over time
(平均池化), and a Linear-ReLU-Linear classifier. The lab then asks for the techniques of the
slides: self-attention pooling, a Conformer, and additive-margin softmax.

**The substitute.** The project's spoken digits (`mlseries.datasets.SpokenDigits`): a "speaker"
is one voice of espeak-ng (an accent × a voice variant) or flite. `split_by="clip"` puts every
speaker in every split, so the test clips are new utterances of voices seen in training, as in
HW4. Each clip is said at its own random speed and pitch, placed at a random point in a
one-second window with noise: the pitch is no give-away, and half of each clip is not speech.
The same 40 log-mel bands every 10 ms. The number of speakers is chosen so the sample model is
far from the ceiling (with ten speakers every model scores near 1.0 and nothing can be compared):
FULL uses 50 voices drawn at random from the 629 (seeded), with 40 clips each.

What it keeps: log-mel frames, a closed set of speakers, unseen utterances of known speakers,
frames that are silence or noise, the sample's architecture. What it loses: real voices and
channels (a synthesiser's voices differ in fewer ways than people), 600 speakers, utterances of
several seconds (ours: one word in one second), and the lexical variety of conversation.

**The ladder** (each rung keeps what came before):

1. *sample* — the TA's model above, trained as the sample trains it: AdamW, the learning rate
   warmed up then decayed along a cosine. Every rung gets the same number of steps.
2. *attention pooling* (自注意力池化) — a learned weight per frame, softmax over time, instead of
   the mean: silence and noise frames can be ignored.
3. *Conformer* — the encoder layer becomes a Conformer block (卷积增强的 Transformer): two half
   feed-forward layers around self-attention and a convolution module (pointwise conv, GLU,
   depthwise conv over time, BatchNorm, SiLU), for local patterns attention finds only slowly.
4. *AM-softmax* (加性间隔 softmax) — the classifier compares the normalised embedding with each
   speaker's normalised weight (cosine), and in training the true speaker's cosine must win by a
   margin m = 0.2 (logits scaled by s = 15): tighter clusters per speaker.

Each rung's score is accuracy on the test clips. With `--data PATH` the same ladder trains on the
course's mel folder (voxceleb.py) on random 128-frame segments as the sample does, scores each
rung on a tenth of the training utterances held out, and writes `output.csv` from the best rung.

    mlseries run hw04 [--quick] [--data path/to/Dataset]
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import viz
from mlseries.datasets import SpokenDigits
from mlseries.datasets.speech import all_speakers

from ...course.registry import lesson
from ...course.training import minibatches
from ..ladder import Ladder
from . import voxceleb
from .models import SpeakerNet, am_softmax_loss

FULL = dict(speakers=50, repeats=4, epochs=20, data_epochs=10)
# quick: fewer voices and epochs; the ladder keeps its order
QUICK = dict(speakers=20, repeats=3, epochs=12, data_epochs=2)
TRAIN = dict(lr=1e-3, batch=32, weight_decay=1e-2, warmup=0.05)   # warmup: share of the steps
SEGMENT = 128                  # the sample's segment_len, for the course's (longer) utterances
PAD = -20.0                    # the sample's padding value for short mels (log of ~0)
AM = dict(scale=15.0, margin=0.2)
TARGET_GAIN = 0.10             # the target: best ≥ sample + 10 points

RUNGS = (  # name, zh, en, SpeakerNet settings
    ("sample", "TA 样例（平均池化）", "TA sample (mean pool)", {}),
    ("attention_pooling", "自注意力池化", "attention pooling", dict(pooling="attention")),
    ("conformer", "Conformer", "Conformer", dict(pooling="attention", block="conformer")),
    ("am_softmax", "加性间隔 softmax", "AM-softmax", dict(pooling="attention", block="conformer", head="am")),
)

CAPTIONS = {
    "ladder.png": ("每一级在测试片段上的说话人识别准确率，最好的一级用红色。",
                   "Speaker-identification accuracy of each rung on the test clips; the best rung is in red."),
    "attention.png": ("一段测试片段的对数梅尔频谱，下面是自注意力池化给每一帧的权重：权重集中在有声音的帧上，静音和噪声几乎不计。",
                      "A test clip's log-mel frames and, below, the weight self-attention pooling gives each frame: "
                      "the weight sits on the spoken frames, silence and noise barely count."),
    "embeddings.png": ("八位说话人的嵌入方向（主成分前两维；小点训练片段，大点测试片段）："
                       "最好模型的每位说话人聚得更紧，测试片段落在自己的团里。",
                       "Eight speakers' embedding directions (first two principal components; small dots training "
                       "clips, large dots test clips): the best model groups each speaker more tightly, and test "
                       "clips land in their group."),
}


# ---------------------------------------------------------------- data

def substitute(cfg, seed, log):
    """{"train": [(mel (101, 40), speaker)], "test": [...]}, speaker names."""
    pool = all_speakers()
    chosen = sorted(np.random.default_rng(seed).choice(pool, cfg["speakers"], replace=False))
    sets = {s: SpokenDigits(s, split_by="clip", speakers=chosen, repeats=cfg["repeats"], seed=seed)
            for s in ("train", "test")}
    names = sets["train"].speaker_names
    data = {}
    for split, ds in sets.items():
        mels = ds.features("logmel").transpose(0, 2, 1)                  # (N, 101, 40)
        data[split] = [(m, names.index(s)) for m, s in zip(mels, ds.speakers)]
    log(f"spoken digits: {len(names)} voices, {len(data['train'])} training clips, "
        f"{len(data['test'])} test clips (new clips of the same voices)")
    return data, names


def course_data(path, rng, log):
    data = voxceleb.read_voxceleb(path)
    order = rng.permutation(len(data["train"]))
    n_val = max(1, len(order) // 10)
    names = [data["id2speaker"].get(i, str(i)) for i in range(max(data["id2speaker"]) + 1)]
    split = {"train": [data["train"][i] for i in order[n_val:]],
             "test": [data["train"][i] for i in order[:n_val]],
             "leaderboard": data["test"], "id2speaker": data["id2speaker"]}
    log(f"VoxCeleb mels: {len(names)} speakers, {len(split['train'])} training utterances, "
        f"{n_val} held out for scoring, {len(data['test'])} test utterances for output.csv")
    return split, names


def segments(mels, rng, length, mean, std):
    """Standardised (B, length, n_mels): a random window of each longer mel, shorter ones padded
    at the end with PAD (as the sample's collate function pads)."""
    out = np.full((len(mels), length, mels[0].shape[1]), PAD, dtype=np.float32)
    for i, m in enumerate(mels):
        start = rng.integers(0, len(m) - length + 1) if len(m) > length else 0
        piece = m[start:start + length]
        out[i, :len(piece)] = piece
    return (out - mean) / std


# ---------------------------------------------------------------- training

def warmup_cosine(total, warmup):
    """The sample's schedule (get_cosine_schedule_with_warmup): the learning rate rises linearly
    for `warmup` steps, then falls along half a cosine to 0 at step `total`."""
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + np.cos(np.pi * min(1.0, (step - warmup) / max(1, total - warmup))))
    return factor


def train(model, data, norm, epochs, segment, rng, log, name, am):
    optimizer = ms.optim.AdamW(model.parameters(), lr=TRAIN["lr"], weight_decay=TRAIN["weight_decay"])
    mels, speakers = [m for m, _ in data["train"]], np.array([s for _, s in data["train"]])
    steps = epochs * -(-len(mels) // TRAIN["batch"])
    scheduler = ms.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(steps, TRAIN["warmup"] * steps))
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for idx in minibatches(len(mels), TRAIN["batch"], rng):
            x = segments([mels[i] for i in idx], rng, segment, *norm)     # (B, segment, n_mels)
            y = ms.tensor(speakers[idx])
            logits = model(ms.tensor(x))                                  # (B, speakers)
            loss = am_softmax_loss(logits, y, AM["scale"], AM["margin"]) if am else F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(idx)
        if epoch == epochs or epoch % 4 == 0:
            log(f"{name} epoch {epoch:>2}: train loss {total / len(mels):.4f}")
    pred = predict(model, [m for m, _ in data["test"]], norm)
    return float(np.mean(pred == np.array([s for _, s in data["test"]])))


def _by_length(mels, batch=128):
    """Index batches of equal-length utterances: whole utterances, no padding, at inference."""
    lengths = np.array([len(m) for m in mels])
    for t in np.unique(lengths):
        same = np.flatnonzero(lengths == t)
        for idx in minibatches(len(same), batch):
            yield same[idx]


def predict(model, mels, norm, what="logits"):
    model.eval()
    mean, std = norm
    out = [None] * len(mels)
    with ms.no_grad():
        for idx in _by_length(mels):
            x = ms.tensor(((np.stack([mels[i] for i in idx]) - mean) / std).astype(np.float32))
            y = (model(x) if what == "logits" else model.embed(x)).numpy()
            for j, i in enumerate(idx):
                out[i] = y[j]
    stacked = np.stack(out)
    return stacked.argmax(1) if what == "logits" else stacked


# ---------------------------------------------------------------- figures

def plot_attention(model, mel, norm):
    mean, std = norm
    with ms.no_grad():
        model.eval()
        h = model.encoder(model.prenet(ms.tensor(((mel - mean) / std)[None].astype(np.float32))))
        _, alpha = model.pooling(h, return_weights=True)
    alpha = alpha.numpy()[0]
    fig = viz.figure(figsize=(9, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw=dict(height_ratios=[2.2, 1]))
    top.imshow(mel.T, aspect="auto", origin="lower", cmap="magma")
    top.grid(False)
    top.set(title=viz.text("自注意力池化：每一帧的权重", "Self-attention pooling: the weight of each frame"),
            ylabel=viz.text("梅尔频带", "mel band"), xlabel=viz.text("帧（10 毫秒）", "frame (10 ms)"))
    top.tick_params(labelbottom=True)
    bottom.fill_between(np.arange(len(alpha)), alpha, color=viz.COLORS["learned"], alpha=0.7)
    bottom.axhline(1 / len(alpha), color=viz.COLORS["reference"], ls="--", lw=1,
                   label=viz.text("平均池化（1/T）", "mean pooling (1/T)"))
    bottom.set(xlabel=viz.text("帧（10 毫秒）", "frame (10 ms)"), ylabel=viz.text("权重 α", "weight α"))
    bottom.legend(loc="upper right")
    return fig


def plot_embeddings(panels, train_speakers, test_speakers, n_show=8):
    """panels: [(title, train embeddings, test embeddings)]; the first n_show speakers, as
    directions (unit length: what a cosine classifier reads), projected on the two principal
    axes of their training embeddings. Training clips small and faint, test clips large."""
    fig = viz.figure(figsize=(max(9.0, 5.2 * len(panels) + 1.2), 4.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    keep_train, keep_test = train_speakers < n_show, test_speakers < n_show
    for ax, (title, train_emb, test_emb) in zip(axes, panels):
        unit = [e / np.linalg.norm(e, axis=1, keepdims=True) for e in (train_emb[keep_train], test_emb[keep_test])]
        center = unit[0].mean(0)
        _, _, vt = np.linalg.svd(unit[0] - center, full_matrices=False)
        train_xy, test_xy = [(u - center) @ vt[:2].T for u in unit]
        for s in range(n_show):
            color = f"C{s % 10}"
            pts = train_xy[train_speakers[keep_train] == s]
            ax.scatter(pts[:, 0], pts[:, 1], s=8, color=color, alpha=0.35)
            pts = test_xy[test_speakers[keep_test] == s]
            ax.scatter(pts[:, 0], pts[:, 1], s=40, color=color, edgecolor="black", linewidth=0.6,
                       label=viz.text(f"说话人 {s}", f"speaker {s}"))
        ax.set(title=title, xlabel=viz.text("主成分 1", "PC 1"), ylabel=viz.text("主成分 2", "PC 2"))
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(viz.text("说话人嵌入（小点：训练片段，大点：测试片段）",
                          "Speaker embeddings (small: training clips, large: test clips)"))
    return fig


# ---------------------------------------------------------------- the lab

@lesson("hw04.speakers", "HW4 说话人识别", "HW4 speaker identification",
        data="the course's mel folder (mapping.json, metadata.json, testdata.json, uttr-*.pt)")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    if ctx.data is not None:
        data, names = course_data(ctx.data, ctx.rng(1), ctx.log)
        epochs, segment = cfg["data_epochs"], SEGMENT
    else:
        data, names = substitute(cfg, ctx.seed, ctx.log)
        epochs, segment = cfg["epochs"], data["train"][0][0].shape[0]
    frames = np.concatenate([m for m, _ in data["train"]])
    norm = (frames.mean(0), frames.std(0) + 1e-6)
    n_mels = frames.shape[1]
    ladder, models = Ladder(ctx, "hw04"), {}
    for i, (name, zh, en, spec) in enumerate(RUNGS):
        ms.manual_seed(ctx.seed + i)
        model = SpeakerNet(n_mels, len(names), am_scale=AM["scale"], **spec)
        with ladder.rung(name, zh, en) as rung:
            rung.score = train(model, data, norm, epochs, segment, ctx.rng(10 + i), ctx.log, name,
                               am=spec.get("head") == "am")
        models[name] = model
    best = ladder.finish()
    gain = ladder.gain()
    ctx.record(gain_points=round(100 * gain, 1), speakers=len(names))
    if ctx.data is None:     # the target is set on the substitute; the course's data has its leaderboard
        ctx.check(f"best rung ({best.name}) ≥ sample + {TARGET_GAIN * 100:.0f} points of accuracy", gain >= TARGET_GAIN)

    test_mels = [m for m, _ in data["test"]]
    test_speakers = np.array([s for _, s in data["test"]])
    pooled = models[best.name] if models[best.name].pooling.__class__.__name__ == "SelfAttentionPooling" \
        else models["attention_pooling"]
    ctx.save_figure(plot_attention(pooled, test_mels[0], norm), "attention.png")
    rungs = {r.name: r for r in ladder.rungs}
    train_mels = [m for m, _ in data["train"]]
    train_speakers = np.array([s for _, s in data["train"]])
    panels = [(viz.text(rungs[r].technique_zh, rungs[r].technique_en),
               predict(models[r], train_mels, norm, "embed"), predict(models[r], test_mels, norm, "embed"))
              for r in dict.fromkeys(("sample", best.name))]
    ctx.save_figure(plot_embeddings(panels, train_speakers, test_speakers), "embeddings.png")
    if ctx.data is not None:
        fps = [fp for fp, _ in data["leaderboard"]]
        pred = predict(models[best.name], [m for _, m in data["leaderboard"]], norm)
        voxceleb.write_output(ctx.path("output.csv"), fps, pred, data["id2speaker"])
        ctx.log(f"output.csv: {len(fps)} test utterances, predicted by {best.name}")
