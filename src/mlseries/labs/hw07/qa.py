"""hw07 — 抽取式问答 / Extractive question answering with a BERT: pre-training, doc stride, post-processing.

**The original lab.** ML 2022 Spring's HW07 answers Chinese reading-comprehension questions
(DRCD and ODSQA: a paragraph, a question, and an answer that is a span — 片段 — of the
paragraph) by fine-tuning a pre-trained Chinese BERT. The model reads "[CLS] question [SEP]
paragraph [SEP]" and gives every token two scores: how likely the answer **starts** there and
how likely it **ends** there (span prediction, 片段预测). Paragraphs are longer than the model's
window, so they are cut into windows; the TA's sample model uses windows that do not overlap and
takes the start and the end with the highest scores on their own. The leaderboard's simple /
medium / strong / boss lines are exact match 0.451 / 0.658 / 0.781 / 0.844; the hints: a better
learning-rate schedule, **doc stride** (文档步幅: overlapping windows, so that an answer cut by
one window's edge lies whole inside the next), **post-processing** (后处理: the end must not come
before the start, the answer must not be too long, and must lie in the paragraph), and a larger
pre-trained model.

**The substitute.** No pre-trained Chinese BERT installs offline, and no reading-comprehension
set either, so both are made here: the questions are asked about the Tang poems
(`TangPoems`, 6 863 training / 762 validation poems, questions on validation poems only scored).
Each poem becomes a paragraph "作者《题目》：诗句…", about 75 characters (the window holds
about 45 of them after the question), with four kinds of question: 这首诗的作者是谁？ / 这首诗的
题目是什么？ / 「某句」的下一句是什么？ / 「某句」的上一句是什么？ (`questions.py`). The last two
are real reading: find the quoted verse in the paragraph, answer with its neighbour — and not
with the quoted verse, which the model also sees in the paragraph. It keeps span prediction,
windows, doc stride, post-processing and pre-training's effect; it loses the variety of real
questions (four templates, so exact match here is far above what the same model would get on
DRCD) and BERT's scale (a 3-layer, 96-wide BERT pre-trained for minutes instead of days).

**The model.** ch12.bert's small BERT (`bert_model.py`: pre-norm layers, ALiBi distance
penalties instead of learned positions, characters as tokens) reading "[CLS] question [SEP]
paragraph [SEP]" as one sequence, so that every paragraph character can attend to the question's
characters, with BERT's **segment embeddings** (片段嵌入 / token types: one learned vector added
to the question's tokens, another to the paragraph's) — without them a character of the quoted
verse and the same character in the paragraph enter the network identical (ALiBi gives no
absolute position), and the verse questions, which must match the one against the other, were
answered about one time in ten in an earlier run. A linear layer gives each token a start score
and an end score; the loss is the cross-entropy of the true start position
plus that of the true end, over the window. Training windows are cut at random around the answer
(so the answer may lie anywhere in a window, as at test time).

**The rungs.** 1. *no pre-training* — the BERT starts from random weights and is fine-tuned; test
windows as the TA's sample (no overlap), the best start and end taken independently. 2.
*pre-train + fine-tune* — the same network first pre-trained by masked language modelling
(ch12's `pretrain`: 15 % of the characters hidden, predicted from both sides) on the training
poems' paragraphs, then fine-tuned identically. 3. *doc stride* — rung 2's model, test windows
overlapping (a new window every `stride` characters), the span with the highest start + end score
over all windows wins. 4. *post-processing* — the same scores, the answer chosen among spans that
lie in the paragraph, end ≥ start, at most 24 characters, and are not text the question already
contains. 5. *exact-match feature* (精确匹配特征, DrQA's: Chen et al. 2017 gave each paragraph word
a flag "this word occurs in the question") — the same pre-trained BERT fine-tuned again with a third
token type on the paragraph's characters that also occur in the question, answered with doc stride
and post-processing. Why it is here: the small BERT does not learn, in the minutes it has, to find
the quoted verse by matching characters against the question — on the verse questions alone, three
epochs of 6 000 of them gave 0.05 exact match (0.07 with learned absolute positions instead of
ALiBi), and the same budget with the flag gave 0.95. A large pre-trained BERT learns such matching
in pre-training; this one is told which characters match and learns the rest (where the verse
ends, which neighbour is asked for). Target: exact match ≥ 0.7.

Quick mode (2 000 questions, a 2-layer 64-wide BERT, 300 pre-training steps and about 190
fine-tuning steps) only shows the pipeline: the networks learn where the author and the title
stand, not yet to match a quoted verse; pre-training already helps a little there (mostly on the
titles), while the exact-match feature already answers some verse questions; the checks are that
the ladder ends above its first rung, that post-processing does not lose to the naive reading, and
that the exact-match feature helps (the targets are the full run's).

**--data PATH**: the course's folder with `hw7_train.json`, `hw7_dev.json` and `hw7_test.json`
(keys `questions` — id, paragraph_id, question_text, answer_text, answer_start, answer_end, the
last three absent or null in the test file — and `paragraphs`); pre-training reads the training
paragraphs, fine-tuning the training questions, the rungs are scored on the dev questions, and the
best rung answers the test questions into `result.csv` (`ID,Answer`, commas removed from answers as
the course's sample code does). Assumed from the course's sample code: answer_end is the index of
the answer's last character. The sizes below cap how many questions are used.

    mlseries run hw07 [--quick] [--data PATH]
"""
import time

import numpy as np

import mlseries as ms
from mlseries import datasets, viz
import mlseries.nn.functional as F

from ...course import engines
from ...course.ch08.plots import legend_below
from ...course.ch12.bert import pretrain
from ...course.ch12.bert_model import CLS, PAD, SEP, BertConfig, CharVocab, bert_classes, init_arrays
from ...course.ch12.lm_training import get_lr
from ...course.registry import lesson
from ..ladder import Ladder
from . import questions as Q

FULL = dict(per_poem=3, max_train=None, max_eval=None, max_len=64, max_question=20, stride=16, max_answer=24,
            n_layer=3, n_head=4, dim=96, hidden=192, pre_steps=1000, pre_batch=64, pre_lr=2e-3,
            epochs=3, batch=32, lr=2e-3)
# quick: a narrower, shallower BERT, a few hundred steps of each kind: enough to find the
# author and the title, not yet to match a quoted verse (the full run checks the target)
QUICK = dict(per_poem=2, max_train=2000, max_eval=200, max_len=64, max_question=20, stride=16, max_answer=24,
             n_layer=2, n_head=4, dim=64, hidden=128, pre_steps=300, pre_batch=32, pre_lr=3e-3,
             epochs=3, batch=32, lr=2e-3)

CAPTIONS = {
    "ladder.png": ("逐级加入的技巧与验证集诗篇上的完全匹配率：不预训练、预训练 + 微调、文档步幅、后处理；最好的一级标成另一种颜色。",
                   "Exact match on the validation poems' questions as the techniques are added one at a time: no "
                   "pre-training, pre-train + fine-tune, doc stride, post-processing; the best rung in the other "
                   "colour."),
    "training.png": ("左：掩码语言模型预训练的损失。右：三个网络在同样的问答数据上微调的损失——只靠 BERT 的两个很快降到 1 左右"
                     "（作者和题目学会了），之后只缓慢下降（引用诗句的问题大多仍答错）；加了精确匹配特征的那个继续下降到 0.01 以下。",
                     "Left: the masked-language-model pre-training loss. Right: fine-tuning on the same questions — the "
                     "two BERT-only networks drop to about 1 within a few hundred steps (author and title learned) and "
                     "then only creep down (the quoted-verse questions stay mostly wrong); the one given the exact-match "
                     "feature keeps falling, below 0.01."),
    "by_kind.png": ("每种问题在每一级上的完全匹配率。作者和题目几乎全对；“上一句/下一句”要在段落里找到问题引用的那一句，"
                    "只靠 BERT 的四级大多答错，加了精确匹配特征（段落中哪些字也出现在问题里）后约 0.95。",
                    "Exact match of each kind of question at each rung. The author and the title are almost always "
                    "right; the previous/next-verse questions, which need the quoted verse found in the paragraph, "
                    "stay mostly wrong on the four BERT-only rungs and reach about 0.95 with the exact-match feature "
                    "(which paragraph characters also occur in the question)."),
    "spans.png": ("一个问题的两个窗口：每个字的起点分数（上）与终点分数（下）。绿框是正确答案，红框是后处理前的答案。",
                  "One question's windows: each character's start score (top) and end score (bottom). Green: the "
                  "right answer; red: the answer before post-processing."),
}


# ---------------------------------------------------------------- windows

class Encoder:
    """Characters to ids, and question + paragraph windows to model inputs."""

    def __init__(self, vocab, max_len, max_question):
        self.vocab, self.max_len, self.max_question = vocab, max_len, max_question

    def ids(self, text):
        return [self.vocab.stoi.get(c, 1) for c in text]

    def question(self, text):
        return self.ids(text[:self.max_question])

    def width(self, q_ids):
        """How many paragraph characters fit in a window after [CLS] question [SEP] … [SEP]."""
        return self.max_len - 3 - len(q_ids)

    def window(self, q_ids, p_ids, start):
        """(ids (max_len,), offset): [CLS] q [SEP] p[start:start + width] [SEP], padded; paragraph
        character start + k sits at position offset + k."""
        piece = p_ids[start:start + self.width(q_ids)]
        row = [CLS] + q_ids + [SEP] + piece + [SEP]
        ids = np.full(self.max_len, PAD, dtype=np.int64)
        ids[:len(row)] = row
        return ids, 2 + len(q_ids) - start


def window_starts(length, width, stride):
    """The TA's windows: one every `stride` characters from 0, until one reaches the end.
    stride = width: side by side (no overlap); stride < width: overlapping (doc stride)."""
    starts = [0]
    while starts[-1] + width < length:
        starts.append(starts[-1] + stride)
    return starts


def training_windows(enc, paragraphs, questions, rng):
    """One window per question, cut at random so that the answer lies whole inside it:
    (ids (N, L), start positions (N,), end positions (N,))."""
    rows, starts, ends = [], [], []
    for q in questions:
        q_ids = enc.question(q["question_text"])
        p = paragraphs[q["paragraph_id"]]
        a, b, width = q["answer_start"], q["answer_end"], enc.width(q_ids)
        lo, hi = max(0, b - width + 1), min(a, max(0, len(p) - width))
        start = int(rng.integers(lo, hi + 1)) if hi >= lo else a
        ids, offset = enc.window(q_ids, enc.ids(p), start)
        rows.append(ids)
        starts.append(min(offset + a, enc.max_len - 1))
        ends.append(min(offset + b, enc.max_len - 1))
    return np.stack(rows), np.array(starts), np.array(ends)


# ---------------------------------------------------------------- the model

def token_types(ids, match=False):
    """BERT's segment ids: 0 up to and including the first [SEP] ([CLS] question [SEP]), 1 after it
    (paragraph [SEP] and padding). ids (B, L) → int64 (B, L). match: 2 for a paragraph character
    that also occurs in the question (DrQA's exact-match feature, 精确匹配特征)."""
    types = ((np.cumsum(ids == SEP, axis=1) - (ids == SEP)) > 0).astype(np.int64)   # (B, L)
    if match:
        special = (ids == PAD) | (ids == CLS) | (ids == SEP)
        for row, t, sp in zip(ids, types, special):
            asked = row[(t == 0) & ~sp]                                             # the question's ids
            t[(t == 1) & ~sp & np.isin(row, asked)] = 2
    return types


def span_classes(T):
    Bert = bert_classes(T).Bert

    class SpanBert(T.nn.Module):
        """A BERT with segment embeddings (片段嵌入, token types: 0 for [CLS] question [SEP], 1 for
        paragraph [SEP]) and a linear layer: two scores per token, for the answer's start and end."""

        def __init__(self, cfg, match=False):
            super().__init__()
            self.match = match
            self.bert = Bert(cfg)
            self.segment = T.nn.Embedding(3 if match else 2, cfg.dim)
            self.qa = T.nn.Linear(cfg.dim, 2)

        def encode(self, ids):                                    # ids (B, L)
            # BERT's token types added to the characters: without them a character of the question
            # and the same character in the paragraph look alike (ALiBi gives no absolute position),
            # and the verse questions need the two told apart and matched.
            types = token_types(ids.numpy(), self.match)          # (B, L)
            return self.bert.encode(ids, extra=self.segment(T.tensor(types)))   # (B, L, C)

        def forward(self, ids):                                   # ids (B, L)
            logits = self.qa(self.encode(ids))                    # (B, L, 2)
            return logits[..., 0], logits[..., 1]                 # start (B, L), end (B, L)

    return SpanBert


def finetune(ctx, model, enc, paragraphs, questions, cfg, desc):
    """Cross-entropy of the true start plus that of the true end, windows re-cut every epoch;
    AdamW with warm-up and a cosine decay. Returns the loss of every step."""
    optimizer = ms.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    rng = ctx.rng(5)
    total = cfg["epochs"] * -(-len(questions) // cfg["batch"])
    losses, step = [], 0
    model.train()
    for epoch in range(cfg["epochs"]):
        ids, s, e = training_windows(enc, paragraphs, questions, rng)
        order = rng.permutation(len(ids))
        for i in ctx.progress(range(0, len(ids), cfg["batch"]), f"{desc} {epoch + 1}"):
            batch = order[i:i + cfg["batch"]]
            for group in optimizer.param_groups:
                group["lr"] = get_lr(step, cfg["lr"], total // 10, total, cfg["lr"] / 10)
            start_logits, end_logits = model(ms.tensor(ids[batch]))
            loss = (F.cross_entropy(start_logits, ms.tensor(s[batch]))
                    + F.cross_entropy(end_logits, ms.tensor(e[batch]))) / 2
            optimizer.zero_grad()
            loss.backward()
            ms.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            step += 1
        ctx.log(f"{desc} epoch {epoch + 1}: loss {np.mean(losses[-50:]):.3f}")
    return np.array(losses)


# ---------------------------------------------------------------- answering

def scores(model, enc, paragraphs, questions, stride, batch=256):
    """Every question's windows and the model's scores on them: a list, per question, of
    (start of the window in the paragraph, offset, ids (L,), start scores (L,), end scores (L,))."""
    rows, owner, meta = [], [], []
    for n, q in enumerate(questions):
        q_ids, p_ids = enc.question(q["question_text"]), enc.ids(paragraphs[q["paragraph_id"]])
        width = enc.width(q_ids)
        for start in window_starts(len(p_ids), width, stride or width):
            ids, offset = enc.window(q_ids, p_ids, start)
            rows.append(ids)
            owner.append(n)
            meta.append((start, offset))
    rows = np.stack(rows)
    model.eval()
    s_all, e_all = [], []
    with ms.no_grad():
        for i in range(0, len(rows), batch):
            s, e = model(ms.tensor(rows[i:i + batch]))
            s_all.append(s.numpy())
            e_all.append(e.numpy())
    model.train()
    s_all, e_all = np.concatenate(s_all), np.concatenate(e_all)
    out = [[] for _ in questions]
    for k, n in enumerate(owner):
        out[n].append((meta[k][0], meta[k][1], rows[k], s_all[k], e_all[k]))
    return out


def naive_answer(windows, question, paragraph):
    """The TA's sample: in each window the highest start score and the highest end score, taken
    on their own; the window whose two add up highest wins. The span is read off the window, so
    it may run into the question or [SEP], or be empty when the end comes before the start."""
    best, answer = -np.inf, ""
    for start, offset, ids, s, e in windows:
        i, j = int(np.argmax(s)), int(np.argmax(e))
        if s[i] + e[j] > best:
            best = s[i] + e[j]
            answer = window_text(ids, start, offset, i, j, question, paragraph)
    return answer


def window_text(ids, start, offset, i, j, question, paragraph):
    """Characters at window positions i..j: from the question, the paragraph, or nothing for specials."""
    q_len = offset + start - 2                     # [CLS] q… [SEP]: question characters at 1 … q_len
    chars = []
    for k in range(i, j + 1):
        if ids[k] in (PAD, CLS, SEP):
            continue
        chars.append(question[k - 1] if k <= q_len else paragraph[k - offset])
    return "".join(chars)


def paragraph_positions(ids, start, offset):
    """Window positions holding paragraph characters: after [CLS] question [SEP], before the last [SEP]."""
    first = offset + start                          # = 2 + question length
    return np.array([k for k in range(first, len(ids)) if ids[k] not in (PAD, CLS, SEP)], dtype=int)


def post_processed_answer(windows, question, paragraph, max_answer, top=20):
    """The best-scoring span (start + end score) that lies in the paragraph, ends at or after its
    start, is at most `max_answer` characters, and is not text the question already contains."""
    best, answer = -np.inf, ""
    for start, offset, ids, s, e in windows:
        inside = paragraph_positions(ids, start, offset)
        if not len(inside):
            continue
        s_top = inside[np.argsort(-s[inside])[:top]]
        e_top = inside[np.argsort(-e[inside])[:top]]
        for i in s_top:
            for j in e_top:
                if j < i or j - i + 1 > max_answer or s[i] + e[j] <= best:
                    continue
                text = paragraph[i - offset:j - offset + 1]
                if text in question:
                    continue
                best, answer = s[i] + e[j], text
    return answer


def exact_match(answers, questions):
    return float(np.mean([a == q["answer_text"] for a, q in zip(answers, questions)]))


# ---------------------------------------------------------------- figures

def plot_training(pre_losses, curves):
    fig = viz.figure(figsize=(12, 5.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(np.arange(1, len(pre_losses) + 1), pre_losses, color=viz.COLORS["learned"], lw=0.8)
    left.set(title=viz.text("掩码语言模型预训练", "Masked-LM pre-training"), xlabel=viz.text("步数", "step"),
             ylabel=viz.text("被遮字的交叉熵", "cross-entropy of the hidden characters"))
    for label, losses in curves.items():
        window = max(1, len(losses) // 40)
        right.plot(np.arange(window, len(losses) + 1), np.convolve(losses, np.ones(window) / window, "valid"),
                   label=label)
    right.set(title=viz.text("微调损失", "Fine-tuning loss"),
              xlabel=viz.text("步数", "step"), ylabel=viz.text("损失", "loss"), yscale="log")
    legend_below(right)
    return fig


def plot_by_kind(table, rungs):
    """table: {rung: {kind: exact match}}."""
    kinds = list(next(iter(table.values())))
    fig = viz.figure(figsize=(10, 5.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(kinds))
    w = 0.8 / len(rungs)
    for n, (name, label) in enumerate(rungs):
        values = [table[name][k] for k in kinds]
        ax.bar(x + (n - (len(rungs) - 1) / 2) * w, values, width=w, label=label)
    names = {"author": viz.text("作者", "author"), "title": viz.text("题目", "title"),
             "next": viz.text("下一句", "next verse"), "previous": viz.text("上一句", "previous verse")}
    ax.set_xticks(x, [names.get(k, k) for k in kinds])
    ax.set(ylim=(0, 1.05), title=viz.text("各类问题的完全匹配率", "Exact match by kind of question"),
           xlabel=viz.text("问题类型", "kind of question"), ylabel=viz.text("完全匹配率", "exact match"))
    legend_below(ax, ncol=2)
    return fig


def plot_spans(windows, question, paragraph, answer, naive):
    """Start and end scores over the paragraph characters of (at most two of) the question's windows."""
    shown = windows[:2]
    fig = viz.figure(figsize=(12, 2.8 * len(shown) + 1.2), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(shown), 1, squeeze=False))[:, 0]
    for ax, (start, offset, ids, s, e) in zip(axes, shown):
        pos = paragraph_positions(ids, start, offset)
        chars = [paragraph[k - offset] for k in pos]
        x = np.arange(len(pos))
        ax.plot(x, s[pos], marker="o", ms=3, label=viz.text("起点分数", "start score"))
        ax.plot(x, e[pos], marker="s", ms=3, label=viz.text("终点分数", "end score"))
        for text, colour in ((answer, "tab:green"), (naive, "tab:red")):
            at = paragraph.find(text) if text else -1
            if at >= 0 and start <= at and at + len(text) <= start + len(pos):
                ax.axvspan(at - start - 0.4, at - start + len(text) - 0.6, color=colour, alpha=0.18)
        ax.set_xticks(x, chars, fontsize=8)
        ax.set(ylabel=viz.text("分数", "score"), xlabel=viz.text("段落中的字", "paragraph character"),
               title=viz.text(f"窗口从第 {start} 字开始", f"window starting at character {start}"))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    before = naive if len(naive) <= 12 else naive[:12] + "…"
    fig.suptitle(viz.text(f"问题：{question}　答案：{answer}（绿）；后处理前：{before or '（空）'}（红）",
                          "the right answer in green, the answer before post-processing in red", sep="\n"))
    return fig


# ---------------------------------------------------------------- the lab

def substitute(cfg, rng):
    train_p, train_q = Q.poem_questions(datasets.TangPoems("train").poems, cfg["per_poem"], rng)
    eval_p, eval_q = Q.poem_questions(datasets.TangPoems("validation").poems, cfg["per_poem"], rng)
    return dict(train=(train_p, train_q), dev=(eval_p, eval_q), test=(eval_p, eval_q))


def capped(split, n, rng):
    paragraphs, questions = split
    if n and len(questions) > n:
        questions = [questions[i] for i in np.sort(rng.permutation(len(questions))[:n])]
    return paragraphs, questions


@lesson("hw07.qa", zh="HW07 抽取式问答：预训练 + 微调、片段预测、文档步幅、后处理",
        en="HW07 extractive QA: pre-train + fine-tune, span prediction, doc stride, post-processing",
        data="the course's folder with hw7_train.json, hw7_dev.json, hw7_test.json; writes result.csv")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    rng = ctx.rng()
    data = substitute(cfg, rng) if ctx.data is None else Q.read_course_files(ctx.data)
    train_p, train_q = capped(data["train"], cfg["max_train"], rng)
    dev_p, dev_q = capped(data["dev"], cfg["max_eval"], rng)
    test_p, test_q = (dev_p, dev_q) if ctx.data is None else data["test"]
    vocab = CharVocab(train_p + [q["question_text"] for q in train_q], min_freq=1)
    enc = Encoder(vocab, cfg["max_len"], cfg["max_question"])
    ctx.log(f"{len(train_p):,} training paragraphs with {len(train_q):,} questions; {len(dev_q):,} scored questions "
            f"on {len(dev_p):,} other paragraphs; {len(vocab):,} characters; e.g.")
    for q in dev_q[:4]:
        ctx.log(f"    {dev_p[q['paragraph_id']]}\n      {q['question_text']}  →  {q['answer_text']}")
    lengths = np.array([len(p) for p in dev_p])
    ctx.record(train_questions=len(train_q), eval_questions=len(dev_q), paragraph_median=float(np.median(lengths)))

    config = BertConfig(vocab_size=len(vocab), max_len=cfg["max_len"], n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                        dim=cfg["dim"], hidden=cfg["hidden"])
    SpanBert = span_classes(ms)
    eng = engines.Engine("mlseries", ms, "cpu")   # this lab trains on the engine only
    start_arrays = init_arrays(SpanBert(config), ctx.rng(2))
    ladder = Ladder(ctx, "hw07")
    answers, by_kind, curves = {}, {}, {}
    kinds = Q.kinds_of(dev_q)

    def score(name, got):
        answers[name] = got
        by_kind[name] = {k: exact_match([a for a, kk in zip(got, kinds) if kk == k],
                                        [q for q, kk in zip(dev_q, kinds) if kk == k]) for k in dict.fromkeys(kinds)}
        return exact_match(got, dev_q)

    def naive(model, stride):
        windows = scores(model, enc, dev_p, dev_q, stride)
        return windows, [naive_answer(w, q["question_text"], dev_p[q["paragraph_id"]]) for w, q in zip(windows, dev_q)]

    with ladder.rung("scratch", "不预训练", "no pre-training") as r:
        ms.manual_seed(ctx.seed)
        scratch = eng.load_arrays(SpanBert(config), start_arrays)
        curves[viz.text("不预训练", "no pre-training")] = finetune(ctx, scratch, enc, train_p, train_q, cfg, "from scratch")
        r.score = score("scratch", naive(scratch, None)[1])

    with ladder.rung("pretrain", "预训练 + 微调", "pre-train + fine-tune") as r:
        model = eng.load_arrays(SpanBert(config), start_arrays)
        t0 = time.perf_counter()
        # masked-LM on the training paragraphs (ch12's loop): windows of the paragraphs, no questions
        texts = [p[i:i + cfg["max_len"] - 2] for p in train_p for i in range(0, len(p), cfg["max_len"] - 2)]
        pre_losses = pretrain(eng, model.bert, vocab.encode(texts, cfg["max_len"]), cfg, ctx.rng(3),
                              lambda it: ctx.progress(it, "MLM pre-training"))
        ctx.log(f"pre-training: {cfg['pre_steps']} steps in {time.perf_counter() - t0:.0f} s, masked-character loss "
                f"{np.mean(pre_losses[:20]):.2f} → {np.mean(pre_losses[-50:]):.2f}")
        ctx.record(mlm_loss_start=float(np.mean(pre_losses[:20])), mlm_loss_end=float(np.mean(pre_losses[-50:])))
        # the pre-trained weights, kept for the last rung, which fine-tunes them again
        pretrained = {f"bert.{k}": p.numpy().copy() for k, p in model.bert.named_parameters()}
        curves[viz.text("预训练 + 微调", "pre-trained")] = finetune(ctx, model, enc, train_p, train_q, cfg, "pre-trained")
        r.score = score("pretrain", naive(model, None)[1])

    with ladder.rung("doc_stride", f"文档步幅 {cfg['stride']}", f"doc stride {cfg['stride']}") as r:
        windows, got = naive(model, cfg["stride"])
        r.score = score("doc_stride", got)

    with ladder.rung("postprocess", "后处理", "post-processing") as r:
        got = [post_processed_answer(w, q["question_text"], dev_p[q["paragraph_id"]], cfg["max_answer"])
               for w, q in zip(windows, dev_q)]
        r.score = score("postprocess", got)

    with ladder.rung("match", "精确匹配特征", "exact-match feature") as r:
        # the same pre-trained BERT, fine-tuned again with a third token type on the paragraph's
        # characters that also occur in the question; answered with doc stride and post-processing
        matcher = SpanBert(config, match=True)
        arrays = {**init_arrays(matcher, ctx.rng(2)), **pretrained}
        matcher = eng.load_arrays(matcher, arrays)
        curves[viz.text("预训练 + 精确匹配特征", "pre-trained + exact-match feature")] = finetune(
            ctx, matcher, enc, train_p, train_q, cfg, "exact-match feature")
        m_windows = scores(matcher, enc, dev_p, dev_q, cfg["stride"])
        r.score = score("match", [post_processed_answer(w, q["question_text"], dev_p[q["paragraph_id"]],
                                                        cfg["max_answer"]) for w, q in zip(m_windows, dev_q)])

    best = ladder.finish()
    for name in answers:
        ctx.log(f"{name:>12}: " + ", ".join(f"{k} {v:.3f}" for k, v in by_kind[name].items()))
    wrong = [n for n, (a, q) in enumerate(zip(answers["postprocess"], dev_q)) if a != q["answer_text"]]
    for n in wrong[:5]:
        ctx.log(f"    wrong: {dev_q[n]['question_text']} → {answers['postprocess'][n]!r} "
                f"(right: {dev_q[n]['answer_text']}; before post-processing {answers['doc_stride'][n]!r})")
    ctx.record(**{f"exact_{name}_{k}": v for name in by_kind for k, v in by_kind[name].items()})

    # the leaderboard's file: the best rung answers the test questions
    stride = cfg["stride"] if best.name in ("doc_stride", "postprocess", "match") else None
    chosen = {"scratch": scratch, "match": matcher}.get(best.name, model)
    t_windows = scores(chosen, enc, test_p, test_q, stride)
    if best.name in ("postprocess", "match"):
        result = [post_processed_answer(w, q["question_text"], test_p[q["paragraph_id"]], cfg["max_answer"])
                  for w, q in zip(t_windows, test_q)]
    else:
        result = [naive_answer(w, q["question_text"], test_p[q["paragraph_id"]]) for w, q in zip(t_windows, test_q)]
    Q.write_result(ctx.path("result.csv"), test_q, result)
    ctx.log(f"result.csv: {len(result)} answers, by rung {best.name}")

    ctx.save_figure(plot_training(pre_losses, curves), "training.png")
    rung_names = [(r.name, viz.text(r.technique_zh, r.technique_en)) for r in ladder.rungs]
    ctx.save_figure(plot_by_kind(by_kind, rung_names), "by_kind.png")
    fixed = [n for n in range(len(dev_q)) if answers["postprocess"][n] == dev_q[n]["answer_text"]
             and answers["doc_stride"][n] != dev_q[n]["answer_text"]]
    n = fixed[0] if fixed else 0
    q = dev_q[n]
    ctx.save_figure(plot_spans(windows[n], q["question_text"], dev_p[q["paragraph_id"]], q["answer_text"],
                               answers["doc_stride"][n]), "spans.png")
    if ctx.quick:   # a few hundred steps cannot yet match a quoted verse: the ladder must still climb
        ctx.check("quick: the best rung is above the sample (no pre-training)", best.score > ladder.rungs[0].score)
        ctx.check("quick: post-processing is no worse than doc stride alone",
                  ladder.rungs[3].score >= ladder.rungs[2].score)
        ctx.check("quick: the exact-match feature helps (above post-processing alone)",
                  ladder.rungs[4].score > ladder.rungs[3].score)
    else:
        ctx.check("exact match ≥ 0.7 (best rung)", best.score >= 0.7)
        ctx.check("pre-training helps: pre-train + fine-tune > no pre-training",
                  ladder.rungs[1].score > ladder.rungs[0].score)
        ctx.check("the exact-match feature helps: above post-processing alone",
                  ladder.rungs[4].score > ladder.rungs[3].score)
