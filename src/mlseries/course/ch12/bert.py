"""ch12.bert — BERT：掩码语言模型预训练与微调 / BERT: masked-language-model pre-training, then fine-tuning.

GPT reads left to right and predicts the next token. BERT (Devlin et al., 2018) reads the whole
sentence at once — every token attends to every other, before and after it (双向, bidirectional)
— and so cannot be trained to predict "the next" token. Instead, **masked language modelling**
(掩码语言模型, MLM): hide 15 % of the tokens (80 % of them replaced by [MASK], 10 % by a random token,
10 % left as they are, so the model cannot trust that unmasked means correct) and predict the
hidden ones from both sides. No labels are needed: any text will do. That is **pre-training**
(预训练).

**Fine-tuning** (微调) then puts a small classifier on the vector of the [CLS] token that starts
every input and trains the whole network on a labelled task. The bet of BERT — and of every
pre-trained model since — is that what MLM taught (which characters go together, negation,
sentiment words) transfers, so few labels go a long way.

**This lesson tests the bet** on the Chinese product reviews: a small BERT (characters as tokens)
is pre-trained with MLM on the 13 891 training reviews *without their labels*, then fine-tuned on
a small labelled subset; the same network fine-tuned from the same random weights on the same
subset is the baseline. Both are measured on the 1 736 test reviews. The attention maps
(`attention.png`) show what the heads of the pre-trained model look at for one review: each row
is a character, each column where it looks.

Three choices differ from the original BERT, each because this BERT is tiny and its pre-training
short, and each is a switch in `BertConfig`:

- positions enter as ALiBi distance penalties on the attention scores (each head prefers nearby
  characters, some more than others) instead of learned position vectors. With learned positions
  the masked-token loss sat at the character-frequency level (≈ 6.15 nats) for the whole quick
  run: a head must first learn *where* the neighbours are before it can use them;
- LayerNorm before each sub-layer (pre-norm, as GPT-2), which tolerates a larger learning rate;
- the MLM output layer is not tied to the input embedding. Tied, the embedding must serve as the
  "what fits in this gap" vector, and 好 and 差 fit the same gaps ("很_"), so they end up close —
  exactly the difference sentiment needs. Untied, the input embedding of 好 is shaped by what it
  predicts around it (满意, 推荐), that of 差 by 失望, 退货. Measured in quick mode: pre-trained
  0.600 → 0.611 test accuracy when untied.

The sentence classifier reads the mean of the tokens' final vectors (BERT reads [CLS], which its
second pre-training task, next-sentence prediction, trains; MLM alone does not train [CLS]).

**What to expect.** The bet needs enough pre-training. Measured on the quick model (300 labelled
reviews, scratch 0.626): 300 pre-training steps give 0.611, 700 steps 0.625 — still behind, rising.
The full run pre-trains a wider, deeper BERT 1 500 steps and fine-tunes on 1 000 labels, and
checks the curriculum's target there: pre-trained > from scratch (measured: masked-token loss
7.77 → 3.90, the hidden character guessed right 33 % of the time; test accuracy 0.720 pre-trained
against 0.696 from scratch). Quick mode checks what a few
hundred steps do show: the masked-token loss falls below what character frequencies alone give,
and both fine-tuned networks beat always guessing the larger class.

    mlseries run ch12.bert [--quick] [--engine torch]
"""
import time

import numpy as np

from mlseries import datasets, viz

from .. import engines
from ..registry import lesson
from .bert_model import PAD, BertConfig, CharVocab, bert_classes, init_arrays, mask_tokens
from .lm_training import get_lr
from .plots import smooth

FULL = dict(n_layer=4, n_head=4, dim=128, hidden=512, max_len=64, min_freq=5, pre_steps=1500, pre_batch=64,
            pre_lr=2e-3, labelled=1000, epochs=10, ft_batch=25, ft_lr=3e-4)
# quick: a narrower, shallower BERT on the first 32 characters of each review, 300 pre-training steps
QUICK = dict(n_layer=2, n_head=4, dim=64, hidden=256, max_len=32, min_freq=5, pre_steps=300, pre_batch=64,
             pre_lr=3e-3, labelled=300, epochs=8, ft_batch=25, ft_lr=5e-4)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "training.png": ("左：预训练时猜被遮住的字，损失降到了“只按字频猜”（点线）之下。右：两个网络用同样少量的标注微调，"
                     "图例里是各自的测试准确率；完整运行中预训练过的更准，快速运行那 300 步预训练还不够。",
                     "Left: guessing the hidden characters, the pre-training loss falls below guessing by character "
                     "frequency (dotted). Right: both networks fine-tuned on the same few labels, their test accuracy "
                     "in the legend; in the full run the pre-trained one wins, while quick mode's 300 pre-training "
                     "steps are not yet enough."),
    "attention.png": ("预训练模型最后一层对一条评论的注意力：每行是一个字，每列是它看向的字。有的头主要看附近的字"
                      "（对角线一带发亮），有的头让几乎所有字都看向同样一两个字（整列发亮）。",
                      "The pre-trained model's last layer on one review: each row is a character, each column where it "
                      "looks. Some heads look mostly at nearby characters (a bright band along the diagonal); in others "
                      "almost every character looks at the same one or two (a bright column)."),
}


# ---------------------------------------------------------------- 1. pre-training

def pretrain(eng, model, ids, cfg, rng, progress):
    """Masked-LM training on unlabelled reviews; returns the loss of every step."""
    optimizer = eng.optim.AdamW(model.parameters(), lr=cfg["pre_lr"], weight_decay=0.01)
    losses = []
    model.train()
    for step in progress(range(cfg["pre_steps"])):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(step, cfg["pre_lr"], cfg["pre_steps"] // 20, cfg["pre_steps"], cfg["pre_lr"] / 10)
        rows = ids[rng.integers(0, len(ids), cfg["pre_batch"])]
        inputs, targets = mask_tokens(rows, model.config.vocab_size, rng)
        loss = model.mlm_loss(eng.tensor(inputs), eng.tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        eng.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------- 2. fine-tuning

def finetune(eng, model, x, y, cfg, rng, progress, desc):
    """Train everything on the labelled subset with cross-entropy on [CLS]; loss per step."""
    F = eng.F
    optimizer = eng.optim.AdamW(model.parameters(), lr=cfg["ft_lr"], weight_decay=0.01)
    losses = []
    model.train()
    for _ in progress(range(cfg["epochs"]), desc):
        order = rng.permutation(len(x))
        for start in range(0, len(x), cfg["ft_batch"]):
            batch = order[start:start + cfg["ft_batch"]]
            loss = F.cross_entropy(model.classify(eng.tensor(x[batch])), eng.tensor(y[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def accuracy(eng, model, x, y, batch=200):
    model.eval()
    right = 0
    with eng.T.no_grad():
        for start in range(0, len(x), batch):
            logits = model.classify(eng.tensor(x[start:start + batch]))
            right += int((eng.numpy(logits).argmax(axis=1) == y[start:start + batch]).sum())
    model.train()
    return right / len(x)


def masked_accuracy(eng, model, ids, rng, rows=400):
    """How often the model's top guess for a masked character is the hidden one."""
    sample = ids[rng.integers(0, len(ids), rows)]
    inputs, targets = mask_tokens(sample, model.config.vocab_size, rng)
    model.eval()
    with eng.T.no_grad():
        h = model.encode(eng.tensor(inputs))
        h = model.mlm_ln(eng.F.gelu(model.mlm_dense(h)))
        logits = eng.numpy(h @ model.output_matrix().T + model.mlm_bias)                # (N, L, V)
    model.train()
    where = targets != -100
    return float((logits.argmax(-1)[where] == targets[where]).mean())


# ---------------------------------------------------------------- 3. figures

def plot_training(pre_losses, unigram, ft):
    fig = viz.figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    left.plot(np.arange(1, len(pre_losses) + 1), smooth(pre_losses, 20), color=viz.COLORS["learned"],
              label=viz.text("掩码预测损失（平滑）", "masked-token loss (smoothed)"))
    left.axhline(unigram, ls=":", color=viz.COLORS["reference"],
                 label=viz.text(f"只猜字频 {unigram:.2f}", f"character frequencies only {unigram:.2f}"))
    left.set(title=viz.text("预训练：猜出被遮住的字", "Pre-training: guess the hidden characters", sep="\n"),
             xlabel=viz.text("步数", "step"), ylabel=viz.text("交叉熵（nats）", "cross-entropy (nats)"))
    left.legend()
    for (label, losses), color in zip(ft.items(), (viz.COLORS["learned"], viz.COLORS["data"])):
        right.plot(np.arange(1, len(losses) + 1), smooth(losses, 10), color=color, label=label)
    right.set(title=viz.text("微调：同样的少量标注，不同的起点", "Fine-tuning: same few labels, different start", sep="\n"),
              xlabel=viz.text("步数", "step"), ylabel=viz.text("训练损失（平滑）", "training loss (smoothed)"))
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8)   # below: long labels
    return fig


def plot_attention(weights, chars, title):
    """One heat map per head: row = a character, column = where it looks."""
    n_head = weights.shape[0]
    fig = viz.figure(figsize=(3.3 * n_head, 3.9))
    axes = np.atleast_1d(fig.subplots(1, n_head))
    for h, ax in enumerate(axes):
        ax.imshow(weights[h], cmap="viridis", vmin=0)
        ax.set_xticks(range(len(chars)), chars, fontsize=7)
        ax.set_yticks(range(len(chars)), chars, fontsize=7)
        ax.grid(False)
        ax.set(title=viz.text(f"头 {h + 1}", f"head {h + 1}"), xlabel=viz.text("看向", "attends to"),
               ylabel=viz.text("字", "character"))
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch12.bert", zh="BERT：掩码预训练与情感微调", en="BERT: masked-LM pre-training, then sentiment fine-tuning")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    eng = engines.select(ctx)

    # 1. data: reviews as characters; all training text for pre-training, a few labels for fine-tuning
    train, test = datasets.Reviews("train"), datasets.Reviews("test")
    vocab = CharVocab(train.texts, cfg["min_freq"])
    ids = vocab.encode(train.texts, cfg["max_len"])
    x_test, y_test = vocab.encode(test.texts, cfg["max_len"]), test.labels
    rng = ctx.rng(1)
    chosen = rng.permutation(len(train))[:cfg["labelled"]]
    x_lab, y_lab = ids[chosen], train.labels[chosen]
    freq = np.bincount(ids[ids > 4], minlength=len(vocab)) + 1
    unigram = float(-(freq / freq.sum() * np.log(freq / freq.sum())).sum())
    ctx.log(f"reviews: {len(train):,} for pre-training (labels unused), {len(x_lab)} labelled for fine-tuning "
            f"({int(y_lab.sum())} positive), {len(test):,} for testing; {len(vocab):,} characters "
            f"(seen {cfg['min_freq']} times or more) + specials; inputs cut to {cfg['max_len']} tokens")

    # 2. one initialisation for both networks, so the only difference is pre-training
    config = BertConfig(vocab_size=len(vocab), max_len=cfg["max_len"], n_layer=cfg["n_layer"],
                        n_head=cfg["n_head"], dim=cfg["dim"], hidden=cfg["hidden"])
    Bert = bert_classes(eng.T).Bert
    start = init_arrays(Bert(config), ctx.rng(2))
    pretrained = eng.to_device(eng.load_arrays(Bert(config), start))
    n_params = sum(p.numel() for p in pretrained.parameters())
    ctx.log(f"BERT: {config.n_layer} layers, {config.n_head} heads, width {config.dim}: {n_params:,} parameters")

    # 3. pre-training with masked language modelling
    t0 = time.perf_counter()
    pre_losses = pretrain(eng, pretrained, ids, cfg, ctx.rng(3), lambda it: ctx.progress(it, "MLM pre-training"))
    mlm_acc = masked_accuracy(eng, pretrained, vocab.encode(test.texts, cfg["max_len"]), ctx.rng(4))
    ctx.log(f"pre-training: {cfg['pre_steps']} steps in {time.perf_counter() - t0:.0f} s; masked-token loss "
            f"{np.mean(pre_losses[:20]):.2f} → {np.mean(pre_losses[-50:]):.2f} (frequencies alone: {unigram:.2f}); "
            f"on test reviews the top guess is the hidden character {100 * mlm_acc:.1f} % of the time")

    # 4. fine-tune both on the same few labels, same order of batches
    scratch = eng.to_device(eng.load_arrays(Bert(config), start))
    results, ft_losses = {}, {}
    for name, model in (("pretrained", pretrained), ("scratch", scratch)):
        ft_losses[name] = finetune(eng, model, x_lab, y_lab, cfg, ctx.rng(5), ctx.progress, f"fine-tuning ({name})")
        results[name] = accuracy(eng, model, x_test, y_test)
        ctx.log(f"{name:>10}: test accuracy {results[name]:.4f}")
    majority = float(max(y_test.mean(), 1 - y_test.mean()))

    # 5. results
    ctx.record(engine=eng.name, parameters=n_params, labelled=len(x_lab), pretrain_steps=cfg["pre_steps"],
               mlm_loss_start=float(np.mean(pre_losses[:20])), mlm_loss_end=float(np.mean(pre_losses[-50:])),
               unigram_entropy=unigram, mlm_top1_accuracy=mlm_acc, pretrained_accuracy=results["pretrained"],
               scratch_accuracy=results["scratch"], majority_accuracy=majority)
    ctx.check("pre-training learns: masked-token loss below the character-frequency baseline",
              np.mean(pre_losses[-50:]) < unigram)
    ctx.check(f"both fine-tuned networks beat guessing the larger class ({majority:.3f})",
              min(results.values()) > majority + 0.03)
    if ctx.quick:   # a few hundred pre-training steps are not enough to pay off (see the text above)
        ctx.log(f"quick mode: pre-trained {results['pretrained']:.3f} vs from scratch {results['scratch']:.3f} "
                f"(the full run pre-trains 5× longer and checks pre-trained > from scratch)")
    else:
        ctx.check(f"fine-tuned from pre-training > from scratch on {len(x_lab)} labels "
                  f"({results['pretrained']:.3f} vs {results['scratch']:.3f})",
                  results["pretrained"] > results["scratch"])
    if not eng.is_main:
        return

    # 6. figures
    labels = {"pretrained": ("预训练后微调", "pre-trained, then fine-tuned"),
              "scratch": ("从随机权重开始", "from random weights")}
    labels = {k: viz.text(f"{zh}：测试准确率 {results[k]:.3f}", f"{en}: test accuracy {results[k]:.3f}")
              for k, (zh, en) in labels.items()}
    ctx.save_figure(plot_training(pre_losses, unigram, {labels[k]: v for k, v in ft_losses.items()}),
                    "training.png")
    text = next(t for t in test.texts if 10 <= len(t) <= 16)
    one = vocab.encode([text], cfg["max_len"])
    pretrained.eval()
    with eng.T.no_grad():
        pretrained.classify(eng.tensor(one))
    n = int((one[0] != PAD).sum())
    weights = eng.numpy(pretrained.layers[-1].attn.weights)[0, :, :n, :n]     # (nh, n, n)
    chars = ["CLS"] + list(text) + ["SEP"]
    ctx.save_figure(plot_attention(weights, chars, viz.text(f"最后一层的注意力：“{text}”",
                                                            f"Last layer's attention for “{text}”")),
                    "attention.png")
