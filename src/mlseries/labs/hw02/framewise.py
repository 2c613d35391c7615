"""hw02.framewise — 逐帧音素分类 / Framewise phoneme classification (HW2).

**The original lab.** LibriSpeech utterances cut into 10 ms frames, each frame described by 39
numbers (MFCC + Δ + ΔΔ, 梅尔倒谱系数及其一阶、二阶差分), and labelled with one of 41 phonemes
(音素) by a forced alignment. The task: predict each frame's phoneme. The TA's sample model is
a small fully connected network that sees one frame at a time; the leaderboard's strong and
boss lines are reached by giving it neighbouring frames, a bigger network with BatchNorm and
dropout, and finally a bidirectional RNN over the whole utterance.

**The substitute.** No recorded speech installs offline, so the frames come from the project's
spoken digits (`mlseries.datasets.SpokenDigits`: "zero" … "nine" synthesised by espeak-ng with
hundreds of voices, placed in a one-second window with noise), featurised exactly as HW2's:
MFCC + Δ + ΔΔ, 39 dimensions, 25 ms windows every 10 ms. The frame labels are made the way the
course's were, by forced alignment (强制对齐, align.py): each digit's phonemes are known from a
pronouncing dictionary, and a segmental k-means aligner with three-state phoneme models finds
where each one starts and ends. 20 classes: 19 phonemes and silence. The test frames come from
speakers that are not in the training set, as in HW2.

What it keeps: 39-d frames, labels that change every few frames, silence that dominates the
count, phonemes that only their neighbours can tell apart (the S of "six" vs the S of "seven"),
speakers unseen in training. What it loses: continuous speech (one word per clip, ten words in
all, so context quickly reveals the word), 41 classes, real voices and rooms, and hand-checked
alignments — our labels are what our aligner says, so a model can at best learn the aligner.

**The ladder** (each rung keeps what came before):

1. *sample* — the TA's model: one frame in, one hidden layer of 256, ReLU, 20 logits.
2. *concat* — frame concatenation (拼接前后帧): 5 frames on each side (11 × 39 = 429 inputs),
   edges repeated. A phoneme lasts several frames and its neighbours say which it is.
3. *deeper/wider* — three hidden layers of 512: more capacity for 429 inputs.
4. *BatchNorm* — normalise each layer's inputs over the batch (批归一化): faster, steadier training.
5. *dropout* — drop 25 % of hidden units while training (随机失活): less overfitting to the
   training speakers.
6. *BiLSTM* — a two-layer bidirectional LSTM (双向 LSTM) over the whole utterance: every frame
   sees the entire word, both what came before and what comes after.

Each rung's score is frame accuracy on the held-out speakers. With `--data PATH` the same ladder
trains on the course's `libriphone` folder (libriphone.py), scores each rung on the last tenth of
the labelled utterances, and writes `prediction.csv` for Kaggle from the best rung.

    mlseries run hw02 [--quick] [--data path/to/libriphone]
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import nn, viz
from mlseries.datasets import SpokenDigits

from ...course.registry import lesson
from ...course.training import confusion_matrix, fit, minibatches, plot_confusion
from ..ladder import Ladder
from . import align, libriphone

FULL = dict(train_speakers=150, test_speakers=40, mlp_epochs=6, lstm_epochs=12, data_epochs=4)
# quick: fewer voices and epochs; the ladder keeps its order
QUICK = dict(train_speakers=24, test_speakers=8, mlp_epochs=3, lstm_epochs=6, data_epochs=2)
MLP = dict(lr=1e-3, batch=512, context=5, wide=512, deep=3, dropout=0.25)
LSTM = dict(lr=2e-3, batch=16, hidden=128, layers=2, dropout=0.25)
SAMPLE_HIDDEN = 256          # the TA's sample: concat_nframes=1, hidden_layers=1, hidden_dim=256
SILENCE_MARGIN = 5           # frames of silence kept on each side of the word
TARGET_GAIN = 0.15           # the target: best ≥ sample + 15 points

CAPTIONS = {
    "ladder.png": ("每一级的测试帧准确率：拼接前后帧的提升最大，双向 LSTM 看到整个词，最高。",
                   "Test frame accuracy of each rung: concatenating neighbouring frames is the biggest step, "
                   "and the BiLSTM, which sees the whole word, is the best."),
    "alignment.png": ("一段测试语音的 MFCC，下面是对齐得到的音素标签、样例模型的逐帧预测和最好模型的预测。",
                      "One test utterance's MFCCs, under them the aligned phoneme labels, the sample model's "
                      "frame-by-frame guesses and the best model's."),
    "confusion.png": ("最好模型的音素混淆矩阵（按行归一化，%）：对角线是分对的；错误多落在同一个词里相邻的音素上"
                      "（完整运行中 two 的 UW → T、eight 的 EY → AY），那里对齐的边界本身也不确定。",
                      "The best model's phoneme confusions (each row in %): the diagonal is what was right; most "
                      "mistakes go to the neighbouring phoneme of the same word (in the full run UW → T in "
                      "\"two\", EY → AY in \"eight\"), where the aligner's boundary is itself uncertain."),
}


# ---------------------------------------------------------------- data

def substitute(cfg, log):
    """Spoken digits as utterances: ({split: [(id, frames (T, 39), labels (T,))]}, class names)."""
    splits = {"train": SpokenDigits("train", n_speakers=cfg["train_speakers"]),
              "test": SpokenDigits("test", n_speakers=cfg["test_speakers"])}
    feats = {s: d.features("mfcc", deltas=True).transpose(0, 2, 1) for s, d in splits.items()}  # (N, T, 39)
    # the aligner sees every clip, as the course's labels came from one alignment of the corpus
    both = np.concatenate([feats["train"], feats["test"]])
    mean, std = both.reshape(-1, 39).mean(0), both.reshape(-1, 39).std(0) + 1e-6
    digits = np.concatenate([splits["train"].labels, splits["test"].labels])
    labels, _ = align.align((both - mean) / std, digits)
    n_train = len(feats["train"])
    data = {"train": [crop(f"train-{i}", x, y) for i, (x, y) in enumerate(zip(feats["train"], labels[:n_train]))],
            "test": [crop(f"test-{i}", x, y) for i, (x, y) in enumerate(zip(feats["test"], labels[n_train:]))]}
    frames = sum(len(y) for part in data.values() for _, _, y in part)
    silence = np.mean(np.concatenate([y for part in data.values() for _, _, y in part]) == 0)
    log(f"spoken digits: {len(data['train'])} training clips ({cfg['train_speakers']} voices), "
        f"{len(data['test'])} test clips ({cfg['test_speakers']} other voices), "
        f"{frames:,} frames aligned to {len(align.PHONEMES)} classes, {silence:.0%} of them silence")
    return data, list(align.PHONEMES)


def crop(uid, x, y, margin=SILENCE_MARGIN):
    """The word and `margin` frames of silence on each side: a LibriSpeech utterance is mostly
    speech, while half of a one-second digit window is silence, which one frame recognises alone."""
    speech = np.flatnonzero(y != 0)
    start, end = max(0, speech[0] - margin), min(len(y), speech[-1] + 1 + margin)
    return uid, x[start:end], y[start:end]


def course_data(path, rng, log):
    """The course's libriphone folder: labelled utterances cut 90 / 10 for scoring, and the test set."""
    data = libriphone.read_libriphone(path)
    train = data["train"]
    order = rng.permutation(len(train))
    n_val = max(1, len(train) // 10)
    split = {"train": [train[i] for i in order[n_val:]], "test": [train[i] for i in order[:n_val]],
             "leaderboard": data["test"]}
    log(f"libriphone: {len(split['train'])} training utterances, {n_val} held out for scoring, "
        f"{len(data['test'])} test utterances for prediction.csv")
    return split, [str(c) for c in range(libriphone.N_CLASSES)]


def standardizer(utterances):
    """Per-dimension mean and std of the training frames."""
    frames = np.concatenate([x for _, x, _ in utterances])
    return frames.mean(0), frames.std(0) + 1e-6


def concat_frames(x, k):
    """(T, D) → (T, (2k+1)·D): each frame with k frames on each side, edge frames repeated
    (as the course's sample code pads)."""
    if k == 0:
        return x
    t = len(x)
    padded = np.concatenate([np.repeat(x[:1], k, 0), x, np.repeat(x[-1:], k, 0)])   # (T+2k, D)
    return np.concatenate([padded[i:i + t] for i in range(2 * k + 1)], axis=1)


def frame_arrays(utterances, k, norm):
    mean, std = norm
    x = np.concatenate([concat_frames((u - mean) / std, k) for _, u, _ in utterances]).astype(np.float32)
    y = None if utterances[0][2] is None else np.concatenate([lab for _, _, lab in utterances])
    return x, y


# ---------------------------------------------------------------- models

def mlp(inputs, classes, hidden, layers, batchnorm=False, dropout=0.0):
    """Linear → (BatchNorm) → ReLU → (Dropout), `layers` times, then a linear layer to the logits."""
    blocks, width = [], inputs
    for _ in range(layers):
        blocks.append(nn.Linear(width, hidden))
        if batchnorm:
            blocks.append(nn.BatchNorm1d(hidden))
        blocks.append(nn.ReLU())
        if dropout:
            blocks.append(nn.Dropout(dropout))
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, classes))


class BiLSTMTagger(nn.Module):
    """A bidirectional LSTM over the utterance's frames and a linear layer on each output:
    logits (B, T, classes) for frames (B, T, 39)."""

    def __init__(self, inputs, classes, hidden, layers, dropout):
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, num_layers=layers, batch_first=True,
                            bidirectional=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        h, _ = self.lstm(x)                      # (B, T, 2·hidden)
        return self.head(self.drop(h))           # (B, T, classes)


def pad_batch(utterances, norm):
    """Frames padded to the longest utterance (B, T_max, D), labels padded with -100 (ignored)."""
    mean, std = norm
    t_max = max(len(x) for _, x, _ in utterances)
    x = np.zeros((len(utterances), t_max, len(mean)), dtype=np.float32)
    y = np.full((len(utterances), t_max), -100, dtype=np.int64)
    for i, (_, u, lab) in enumerate(utterances):
        x[i, :len(u)] = (u - mean) / std
        if lab is not None:
            y[i, :len(u)] = lab
    return x, y


# ---------------------------------------------------------------- training

def train_mlp(model, data, k, norm, epochs, rng, log, desc):
    """Adam on shuffled frames (the course's fit loop); returns test accuracy, the test
    predictions per utterance, and (with --data) the leaderboard's."""
    train, test = frame_arrays(data["train"], k, norm), frame_arrays(data["test"], k, norm)
    optimizer = ms.optim.Adam(model.parameters(), lr=MLP["lr"])
    history = fit(model, optimizer, train, test, epochs, MLP["batch"], rng, log=log, desc=desc)
    return history["test_acc"][-1], lambda split: split_predictions(
        data[split], _frame_predict(model, frame_arrays(data[split], k, norm)[0]))


def _frame_predict(model, x):
    model.eval()
    with ms.no_grad():
        return np.concatenate([model(ms.tensor(x[idx])).numpy().argmax(1) for idx in minibatches(len(x), 2048)])


def split_predictions(utterances, flat):
    cuts = np.cumsum([len(x) for _, x, _ in utterances])[:-1]
    return np.split(flat, cuts)


def lstm_predict(model, utterances, norm):
    model.eval()
    out = []
    with ms.no_grad():
        for idx in minibatches(len(utterances), 64):
            batch = [utterances[i] for i in idx]
            x, _ = pad_batch(batch, norm)
            logits = model(ms.tensor(x)).numpy()                         # (B, T, C)
            out += [logits[j, :len(batch[j][1])].argmax(1) for j in range(len(batch))]
    return out


def train_lstm(model, data, norm, epochs, rng, log):
    optimizer = ms.optim.Adam(model.parameters(), lr=LSTM["lr"])
    train = data["train"]
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for idx in minibatches(len(train), LSTM["batch"], rng):
            x, y = pad_batch([train[i] for i in idx], norm)
            logits = model(ms.tensor(x))                                  # (B, T, C)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ms.tensor(y.reshape(-1)))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)     # LSTMs' occasional gradient spikes
            optimizer.step()
            total += loss.item() * len(idx)
        acc = frame_accuracy(data["test"], lstm_predict(model, data["test"], norm))
        log(f"BiLSTM epoch {epoch:>2}: train loss {total / len(train):.4f}, test acc {acc:.4f}")
    return acc, lambda split: lstm_predict(model, data[split], norm)


def frame_accuracy(utterances, predictions):
    truth = np.concatenate([y for _, _, y in utterances])
    return float(np.mean(truth == np.concatenate(predictions)))


# ---------------------------------------------------------------- figures

def plot_utterance(x, truth, guesses, classes):
    """MFCCs of one utterance over label strips: the alignment and each model's guesses."""
    rows = [(viz.text("对齐标签", "aligned labels"), truth)] + guesses
    fig = viz.figure(figsize=(10, 3.2 + 0.6 * len(rows)), layout="constrained")
    top, bottom = fig.subplots(2, 1, gridspec_kw=dict(height_ratios=[3, 0.8 * len(rows)]))
    top.imshow(x[:, :13].T, aspect="auto", origin="lower", cmap="magma")
    top.set(title=viz.text("一段测试语音：MFCC 与逐帧音素", "A test utterance: MFCCs and frame phonemes"),
            ylabel=viz.text("MFCC 系数", "MFCC"), xlabel=viz.text("帧（10 毫秒）", "frame (10 ms)"))
    strips = np.stack([labels for _, labels in rows])                     # (rows, T)
    bottom.imshow(strips, aspect="auto", cmap="tab20", vmin=0, vmax=max(19, len(classes) - 1),
                  interpolation="nearest")
    bottom.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=9)
    for r, labels in enumerate(strips):
        starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        for s, e in zip(starts, np.r_[starts[1:], len(labels)]):
            if e - s >= 3:
                bottom.text((s + e - 1) / 2, r, classes[labels[s]], ha="center", va="center", fontsize=8)
    bottom.set(xlabel=viz.text("帧（10 毫秒）", "frame (10 ms)"), ylabel=viz.text("标签", "labels"))
    for ax in (top, bottom):
        ax.grid(False)
    return fig


def plot_phoneme_confusion(truth, pred, classes, rung):
    cm = confusion_matrix(truth, pred, len(classes))
    percent = np.round(100 * cm / np.maximum(cm.sum(1, keepdims=True), 1)).astype(int)
    fig = plot_confusion(percent, classes, viz.text(f"音素混淆矩阵（{rung}，每行 %）",
                                                    f"Phoneme confusions ({rung}, % of each row)"))
    fig.set_size_inches(9, 8)
    fig.axes[-1].set_ylabel(viz.text("占该行的 %", "% of the row"))      # the colour bar: percentages here
    return fig


# ---------------------------------------------------------------- the lab

RUNGS = (  # name, zh, en, settings of the frame MLP (None: the BiLSTM)
    ("sample", "TA 样例（单帧）", "TA sample (1 frame)",
     dict(k=0, hidden=SAMPLE_HIDDEN, layers=1)),
    ("concat", "拼接 ±5 帧", "concat ±5 frames",
     dict(k=MLP["context"], hidden=SAMPLE_HIDDEN, layers=1)),
    ("deeper", "更深更宽", "3 × 512 layers",
     dict(k=MLP["context"], hidden=MLP["wide"], layers=MLP["deep"])),
    ("batchnorm", "加批归一化", "+ BatchNorm",
     dict(k=MLP["context"], hidden=MLP["wide"], layers=MLP["deep"], batchnorm=True)),
    ("dropout", "加随机失活", "+ dropout",
     dict(k=MLP["context"], hidden=MLP["wide"], layers=MLP["deep"], batchnorm=True, dropout=MLP["dropout"])),
    ("bilstm", "双向 LSTM", "BiLSTM", None),
)


@lesson("hw02.framewise", "HW2 逐帧音素分类", "HW2 framewise phoneme classification",
        data="the course's libriphone folder (train_split.txt, train_labels.txt, test_split.txt, "
             "feat/{train,test}/<id>.pt)")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    ms.manual_seed(ctx.seed)
    if ctx.data is not None:
        data, classes = course_data(ctx.data, ctx.rng(1), ctx.log)
        epochs = dict(mlp=cfg["data_epochs"], lstm=cfg["data_epochs"])
    else:
        data, classes = substitute(cfg, ctx.log)
        epochs = dict(mlp=cfg["mlp_epochs"], lstm=cfg["lstm_epochs"])
    norm = standardizer(data["train"])
    ladder, predictors = Ladder(ctx, "hw02"), {}
    for i, (name, zh, en, spec) in enumerate(RUNGS):
        ms.manual_seed(ctx.seed + i)
        with ladder.rung(name, zh, en) as rung:
            if spec is None:
                model = BiLSTMTagger(39, len(classes), LSTM["hidden"], LSTM["layers"], LSTM["dropout"])
                rung.score, predictors[name] = train_lstm(model, data, norm, epochs["lstm"], ctx.rng(10 + i), ctx.log)
            else:
                spec = dict(spec)
                k = spec.pop("k")
                model = mlp(39 * (2 * k + 1), len(classes), **spec)
                rung.score, predictors[name] = train_mlp(model, data, k, norm, epochs["mlp"],
                                                        ctx.rng(10 + i), ctx.log, name)
    best = ladder.finish()
    gain = ladder.gain()
    ctx.record(gain_points=round(100 * gain, 1))
    if ctx.data is None:     # the target is set on the substitute; the course's data has its leaderboard
        ctx.check(f"best rung ({best.name}) ≥ sample + {TARGET_GAIN * 100:.0f} points of frame accuracy",
                  gain >= TARGET_GAIN)

    test_pred = {name: predictors[name]("test") for name in ("sample", best.name)}
    truth = np.concatenate([y for _, _, y in data["test"]])
    ctx.save_figure(plot_phoneme_confusion(truth, np.concatenate(test_pred[best.name]), classes, best.name),
                    "confusion.png")
    pick = int(np.argmax([np.mean(p != y) < 0.5 and len(np.unique(y)) for p, (_, _, y)
                          in zip(test_pred["sample"], data["test"])]))
    _, x, y = data["test"][pick]
    guesses = [(viz.text("样例模型", "sample"), test_pred["sample"][pick]),
               (viz.text(f"最好：{best.name}", f"best: {best.name}"), test_pred[best.name][pick])]
    ctx.save_figure(plot_utterance((x - norm[0]) / norm[1], y, guesses, classes), "alignment.png")
    if ctx.data is not None:
        libriphone.write_prediction(ctx.path("prediction.csv"), predictors[best.name]("leaderboard"))
        ctx.log(f"prediction.csv: {sum(len(x) for _, x, _ in data['leaderboard']):,} test frames, "
                f"predicted by {best.name}")
