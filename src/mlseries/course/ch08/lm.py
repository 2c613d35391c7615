"""ch08.lm — 字符级语言模型 / A character-level language model: Shakespeare and Tang poems.

A language model (语言模型) gives the probability of the next character given the ones before:
p(c_t | c_1 … c_{t−1}). Trained to predict every next character of a text, an LSTM learns
spelling, words, line breaks, who speaks in a play — and, run forwards one sampled character at
a time, it writes new text in the same style. This is Karpathy's char-rnn, on the engine.

**1. Data.** Tiny Shakespeare (1 003 854 training and 111 540 validation characters, 64
distinct) and Tang poems (唐诗: 6 863 poems, 462 433 characters, nearly 5 000 distinct; one
couplet per line, 7 characters, a comma, 7 characters, a full stop).

**2. Baselines.** How good is a loss? Measure it against models anyone could write: the
unigram model (一元模型: each character's frequency, ignoring context) and the bigram model
(二元模型: the frequency of each character after the previous one, mixed with the unigram so
unseen pairs keep some probability; the mixing weight is chosen on the validation text,
which only helps the baseline). Losses are cross-entropies in nats per character (自然对数):
e^loss is the number of characters the model is effectively choosing between.

**3. The model.** Embedding → LSTM → a linear layer to one logit per character, trained on
random windows of the text with every position predicting the next (teacher forcing: the
true previous character is always the input), Adam with a cosine-decaying rate and the
gradient norm clipped. The validation loss runs over the whole validation text in long
chunks, carrying the LSTM state from chunk to chunk.

**4. Sampling (采样) with a temperature (温度).** Dividing the logits by T before the softmax
sharpens the distribution (T < 1: safe, repetitive) or flattens it (T > 1: inventive, then
misspelt). For poems the form is imposed while sampling: seven characters, a comma, seven
more, a full stop — punctuation is forbidden inside a line and forced at its end, so every
line has exactly 7 characters (七言).

**5. The same model under PyTorch.** The engine's weights are copied into a `torch.nn` model
of the same architecture (the parameter names are PyTorch's, so the state dict loads as it
is) and both are trained on the same batches: their loss curves must agree to float32
rounding.

Target: Shakespeare validation loss ≤ 1.9 nats/char in the full run (the bigram scores 2.49).

    mlseries run ch08.lm [--quick]
"""
import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets, nn, viz

from ..registry import lesson
from .plots import legend_below

FULL = dict(shakespeare_steps=2500, poem_steps=1500, block=64, batch=32, embed=64, hidden=320,
            eval_every=250, val_chars=None, poem_vocab=None, torch_steps=40, sample_chars=400)
# quick: the poems keep their 600 most frequent characters (the rest become <unk>, for the
# baselines too): 5 000 output classes need far more than a few hundred steps to learn
QUICK = dict(shakespeare_steps=300, poem_steps=500, block=48, batch=32, embed=32, hidden=128,
             eval_every=50, val_chars=20000, poem_vocab=600, torch_steps=8, sample_chars=160)
TRAIN = dict(lr=3e-3, clip=1.0)
TEMPERATURES = (0.5, 0.8, 1.0, 1.4)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "lm_loss.png": ("两份语料的验证损失（圆点）都降到了二元模型之下（两条虚线：上面是一元模型，下面是二元模型）；"
                    "莎士比亚图里的点线是完整运行的目标 1.9。",
                    "On both corpora the validation loss (dots) drops below the bigram baseline (dashed lines: unigram "
                    "above, bigram below); in the Shakespeare panel the dotted line is the full run's target, 1.9."),
    "engine_vs_torch.png": ("同样的权重、同样的批次：左边两条损失曲线重合；右边是两者之差，只有 float32 舍入误差那么大，"
                            "远低于 1e-3 的容差（点线），差为 0 的步画在 1e-12。",
                            "Same weights, same batches: on the left the two loss curves coincide; on the right their "
                            "difference is float32 rounding, far below the 1e-3 tolerance (dotted); steps where they "
                            "agree exactly are drawn at 1e-12."),
    "samples.png": ("同一个提示 “JULIET:”，从上到下温度升高：T = 0.5 尽挑常见、稳妥的词，到 T = 1.4 就放得很开，"
                    "拼写也错得厉害。",
                    "The same prompt, 'JULIET:', at rising temperature from top to bottom: common, safe words at "
                    "T = 0.5; inventive and badly misspelt by T = 1.4."),
    "poems.png": ("每半句都是七个字，逗号、句号各在其位——这个格式是采样时强加的；字是模型自己挑的（温度 0.6 和 0.9）。",
                  "Every half-line has seven characters, with the comma and full stop in place — that form is imposed "
                  "while sampling; the characters are the model's own choice (temperatures 0.6 and 0.9)."),
}


# ---------------------------------------------------------------- 1. n-gram baselines

def unigram_loss(train, val, vocab_size):
    """Nats per character of add-one character frequencies."""
    counts = np.bincount(train, minlength=vocab_size) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[val].mean()), log_p


def bigram_loss(train, val, vocab_size, unigram_log_p):
    """Nats per character of p(c | prev) = λ·count(prev, c)/count(prev) + (1 − λ)·p(c), the best
    λ on the validation text. Returns (loss, λ)."""
    pairs = np.zeros((vocab_size, vocab_size))
    np.add.at(pairs, (train[:-1], train[1:]), 1.0)
    totals = pairs.sum(axis=1, keepdims=True)
    ml = np.divide(pairs, totals, out=np.zeros_like(pairs), where=totals > 0)  # maximum likelihood
    p_uni = np.exp(unigram_log_p)
    best = None
    for lam in np.linspace(0.05, 0.99, 48):
        p = lam * ml[val[:-1], val[1:]] + (1 - lam) * p_uni[val[1:]]
        loss = float(-np.log(p).mean())
        if best is None or loss < best[0]:
            best = (loss, float(lam))
    return best


# ---------------------------------------------------------------- 2. the model

class CharLSTM(nn.Module):
    """Embedding → LSTM → Linear: logits for the next character at every position."""

    def __init__(self, vocab_size, embed, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):             # ids (B, T)
        out, state = self.lstm(self.embed(ids), state)  # out (B, T, H)
        return self.head(out), state                # (B, T, V)


def lm_loss(model, x, y):
    logits, _ = model(x)                                          # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def evaluate(model, ids, block=256, streams=16):
    """Mean nats per character over the whole of `ids`: the text is cut into `streams` equal
    parallel pieces, read in chunks of `block` with the LSTM state carried across chunks."""
    n = (len(ids) - 1) // streams
    x_all = ids[:streams * n].reshape(streams, n)
    y_all = ids[1:streams * n + 1].reshape(streams, n)
    model.eval()
    total, state = 0.0, None
    with ms.no_grad():
        for start in range(0, n, block):
            logits, state = model(ms.tensor(x_all[:, start:start + block]), state)
            y = ms.tensor(y_all[:, start:start + block])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
    model.train()
    return total / (streams * n)


def train_lm(ctx, model, ids, val_ids, settings, steps, name):
    """Adam on random windows; the training loss every step, the validation loss every
    `eval_every` steps (and at the end)."""
    windows = datasets.CharLMDataset(ids, settings["block"])
    optimizer = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    rng = ctx.rng(len(name))
    history = {"loss": [], "val_step": [0], "val_loss": [evaluate(model, val_ids)]}
    for step in ctx.progress(range(1, steps + 1), name):
        x, y = windows.batch(settings["batch"], rng)               # (B, T), (B, T)
        loss = lm_loss(model, x, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), TRAIN["clip"])
        optimizer.step()
        scheduler.step()
        history["loss"].append(loss.item())
        if step % settings["eval_every"] == 0 or step == steps:
            history["val_step"].append(step)
            history["val_loss"].append(evaluate(model, val_ids))
            ctx.log(f"{name} step {step}: training loss {np.mean(history['loss'][-50:]):.3f}, "
                    f"validation {history['val_loss'][-1]:.3f} nats/char")
    return history


# ---------------------------------------------------------------- 3. sampling

def sample(model, prompt, n, temperature, rng, allowed=None):
    """Continue the id list `prompt` by n sampled ids, one step of the LSTM at a time.

    `allowed(i)` may return, for the i-th new character, the ids it may be (a boolean mask
    over the vocabulary) — how the poem's form is imposed."""
    model.eval()
    out = list(prompt)
    with ms.no_grad():
        logits, state = model(ms.tensor(np.array([prompt])))        # read the prompt: (1, P, V)
        last = logits.numpy()[0, -1].astype(np.float64)
        for i in range(n):
            z = last / temperature
            if allowed is not None:
                z = np.where(allowed(i), z, -np.inf)
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(ms.tensor(np.array([[nxt]])), state)  # (1, 1, V)
            last = logits.numpy()[0, -1].astype(np.float64)
    model.train()
    return out


def poem(model, vocab, rng, temperature, lines=4, chars_per_line=7):
    """A poem generated line by line: `chars_per_line` Chinese characters, then "，" or "。";
    a couplet per text line, as in the training corpus."""
    hanzi = np.array([len(t) == 1 and "\u4e00" <= t <= "\u9fff" for t in vocab.itos])  # never <unk> or punctuation
    forced = {}
    position = 0
    for line in range(lines):
        position += chars_per_line
        forced[position] = vocab["，" if line % 2 == 0 else "。"]
        position += 1
        if line % 2 == 1 and line < lines - 1:
            forced[position] = vocab["\n"]
            position += 1
    total = position

    def allowed(i):
        if i in forced:
            mask = np.zeros(len(vocab), bool)
            mask[forced[i]] = True
            return mask
        return hanzi

    prompt = vocab.encode("\n\n")  # a poem boundary, as between poems in the corpus
    ids = sample(model, prompt, total, temperature, rng, allowed)
    return "".join(vocab.decode(ids[len(prompt):], skip_special=False))


# ---------------------------------------------------------------- 4. the same model in PyTorch

def torch_twin(model, torch):
    """A torch.nn model with the same architecture, loaded with the engine model's weights."""
    tnn = torch.nn

    class TorchCharLSTM(tnn.Module):
        def __init__(self, vocab_size, embed, hidden):
            super().__init__()
            self.embed = tnn.Embedding(vocab_size, embed)
            self.lstm = tnn.LSTM(embed, hidden, batch_first=True)
            self.head = tnn.Linear(hidden, vocab_size)

        def forward(self, ids):
            out, _ = self.lstm(self.embed(ids))
            return self.head(out)

    twin = TorchCharLSTM(model.embed.num_embeddings, model.embed.embedding_dim, model.lstm.hidden_size)
    twin.load_state_dict({k: torch.tensor(v.detach().numpy().copy()) for k, v in model.state_dict().items()})
    return twin


def compare_with_torch(ctx, model, ids, settings):
    """Train the engine model and its PyTorch twin on the same batches; both loss curves."""
    try:
        import torch
    except ImportError:
        ctx.log("PyTorch is not installed: the comparison is skipped (pip install torch)")
        return None
    torch.manual_seed(0)
    twin = torch_twin(model, torch)
    windows = datasets.CharLMDataset(ids, settings["block"])
    rng = ctx.rng(99)
    opt_e = ms.optim.Adam(model.parameters(), lr=TRAIN["lr"])
    opt_t = torch.optim.Adam(twin.parameters(), lr=TRAIN["lr"])
    curves = {"engine": [], "torch": []}
    for _ in range(settings["torch_steps"]):
        x, y = windows.batch(settings["batch"], rng)
        loss = lm_loss(model, x, y)
        opt_e.zero_grad()
        loss.backward()
        opt_e.step()
        xt, yt = torch.tensor(x.numpy()), torch.tensor(y.numpy())
        logits = twin(xt)
        loss_t = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), yt.reshape(-1))
        opt_t.zero_grad()
        loss_t.backward()
        opt_t.step()
        curves["engine"].append(loss.item())
        curves["torch"].append(loss_t.item())
    return {k: np.array(v) for k, v in curves.items()}


# ---------------------------------------------------------------- 5. figures

def plot_curves(runs):
    """Validation loss against steps for each corpus, with its n-gram baselines."""
    fig = viz.figure(figsize=(12, 4.8))
    axes = fig.subplots(1, len(runs))
    for ax, (title, run) in zip(np.atleast_1d(axes), runs.items()):
        h = run["history"]
        steps = np.arange(1, len(h["loss"]) + 1)
        window = max(1, len(steps) // 30)
        smooth = np.convolve(h["loss"], np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, color=viz.COLORS["data"], lw=1, alpha=0.7,
                label=viz.text("训练（滑动平均）", "training (moving mean)"))
        ax.plot(h["val_step"], h["val_loss"], "o-", color=viz.COLORS["learned"], ms=4,
                label=viz.text("验证", "validation"))
        ax.axhline(run["unigram"], color=viz.COLORS["search"], ls="--", lw=1,
                   label=viz.text(f"一元模型 {run['unigram']:.2f}", f"unigram {run['unigram']:.2f}"))
        ax.axhline(run["bigram"], color=viz.COLORS["reference"], ls="--", lw=1,
                   label=viz.text(f"二元模型 {run['bigram']:.2f}", f"bigram {run['bigram']:.2f}"))
        if "target" in run:
            ax.axhline(run["target"], color=viz.COLORS["reference"], ls=":", lw=1,
                       label=viz.text(f"目标 {run['target']}", f"target {run['target']}"))
        top = max(run["unigram"], h["val_loss"][1] if len(h["val_loss"]) > 1 else run["unigram"]) + 0.3
        ax.set(title=title, xlabel=viz.text("步数", "step"), ylabel=viz.text("奈特 / 字符", "nats per character"),
               ylim=(min(h["val_loss"] + h["loss"] + [run.get("target", np.inf)]) - 0.2, top))
        legend_below(ax, ncol=2)
    fig.suptitle(viz.text("字符级 LSTM 语言模型：验证损失与 n 元基线", "Character LSTM language models: validation loss vs n-gram baselines"))
    return fig


def plot_torch(curves):
    fig = viz.figure(figsize=(12, 4.6))
    left, right = fig.subplots(1, 2)
    steps = np.arange(1, len(curves["engine"]) + 1)
    left.plot(steps, curves["engine"], "o-", ms=4, color=viz.COLORS["learned"], label="mlseries")
    left.plot(steps, curves["torch"], "x--", ms=6, color=viz.COLORS["reference"], label="PyTorch")
    left.set(title=viz.text("同样的权重、同样的批次", "Same weights, same batches"),
             xlabel=viz.text("步数", "step"), ylabel=viz.text("训练损失", "training loss"))
    legend_below(left)
    diff = np.abs(curves["engine"] - curves["torch"])
    right.semilogy(steps, np.maximum(diff, 1e-12), "o-", ms=4, color=viz.COLORS["data"])
    right.axhline(1e-3, color=viz.COLORS["reference"], ls=":", lw=1)
    right.set(title=viz.text("两者之差（点线：容差 1e-3；差为 0 时画在 1e-12）",
                             "Difference (dotted: tolerance 1e-3; 0 drawn at 1e-12)", sep="\n"),
              xlabel=viz.text("步数", "step"), ylabel="|loss(mlseries) − loss(PyTorch)|", ylim=(3e-13, 1e-2))
    fig.suptitle(viz.text("引擎与 PyTorch 训练同一个字符 LSTM", "The engine and PyTorch train the same character LSTM"))
    return fig


def plot_text(blocks, title, family="monospace", fontsize=8.5, width=11, columns=1):
    """Text samples, one panel per (heading, text), each as tall as its lines need."""
    rows = -(-len(blocks) // columns)
    lines = [max(t.count("\n") + 1 for _, t in blocks[r * columns:(r + 1) * columns]) for r in range(rows)]
    line_inches = fontsize * 1.5 / 72
    fig = viz.figure(figsize=(width, sum(n + 2.2 for n in lines) * line_inches + 0.5))
    grid = fig.add_gridspec(rows, columns, height_ratios=[n + 2.2 for n in lines])
    for k, (heading, body) in enumerate(blocks):
        ax = fig.add_subplot(grid[k // columns, k % columns])
        ax.set_axis_off()
        ax.set_title(heading, loc="left", fontsize=10)
        ax.text(0.0, 1.0, body, va="top", ha="left", fontsize=fontsize, transform=ax.transAxes,
                linespacing=1.3, **({"family": family} if family else {}))
    fig.suptitle(title)
    return fig


def _wrap(text, width=110, lines=8):
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return "\n".join(out[:lines])


# ---------------------------------------------------------------- the lesson

@lesson("ch08.lm", zh="字符级语言模型：莎士比亚与唐诗", en="A character-level language model: Shakespeare and Tang poems")
def run(ctx):
    settings = QUICK if ctx.quick else FULL

    # 1. data
    shakespeare = datasets.TinyShakespeare("train")
    s_train, s_val = shakespeare.ids, datasets.TinyShakespeare("val").ids[:settings["val_chars"]]
    poems_train = datasets.TangPoems("train").corpus()
    poems_val = datasets.TangPoems("validation").corpus()[:settings["val_chars"]]
    poem_vocab = datasets.Vocab.build([poems_train], max_size=settings["poem_vocab"])
    p_train = np.array(poem_vocab.encode(poems_train))
    p_val = np.array(poem_vocab.encode(poems_val))
    ctx.log(f"Shakespeare: {len(s_train):,} training / {len(s_val):,} validation characters, vocabulary "
            f"{shakespeare.vocab_size}; poems: {len(p_train):,} / {len(p_val):,}, vocabulary {len(poem_vocab)} "
            f"({float(np.mean(p_val == datasets.text.UNK)):.2%} of validation characters unseen in training)")

    # 2. baselines
    corpora = {"shakespeare": (s_train, s_val, shakespeare.vocab_size), "poems": (p_train, p_val, len(poem_vocab))}
    baselines = {}
    for name, (train_ids, val_ids, size) in corpora.items():
        uni, log_p = unigram_loss(train_ids, val_ids, size)
        bi, lam = bigram_loss(train_ids, val_ids, size, log_p)
        baselines[name] = (uni, bi)
        ctx.log(f"{name}: unigram {uni:.3f} nats/char (e^loss = {np.exp(uni):.0f} equally likely characters), "
                f"bigram {bi:.3f} (λ = {lam:.2f})")
        ctx.record(**{f"{name}_unigram": uni, f"{name}_bigram": bi})

    # 3. the same model under PyTorch, from the same weights (before the long training)
    ms.manual_seed(ctx.seed)
    model = CharLSTM(shakespeare.vocab_size, settings["embed"], settings["hidden"])
    probe = CharLSTM(shakespeare.vocab_size, settings["embed"], settings["hidden"])
    probe.load_state_dict(model.state_dict())
    curves = compare_with_torch(ctx, probe, s_train, settings)
    if curves is not None:
        gap = float(np.max(np.abs(curves["engine"] - curves["torch"])))
        ctx.log(f"{len(curves['engine'])} steps on the same batches: loss {curves['engine'][0]:.4f} → "
                f"{curves['engine'][-1]:.4f} (engine), {curves['torch'][0]:.4f} → {curves['torch'][-1]:.4f} "
                f"(PyTorch); largest difference {gap:.2e}")
        ctx.record(torch_max_loss_difference=gap, torch_steps=len(curves["engine"]))
        ctx.check("engine and PyTorch follow the same loss curve (float32: ≤ 1e-3)", gap <= 1e-3)

    # 4. training
    runs = {}
    s_hist = train_lm(ctx, model, s_train, s_val, settings, settings["shakespeare_steps"], "Shakespeare")
    runs[viz.text("莎士比亚", "Tiny Shakespeare")] = dict(history=s_hist, unigram=baselines["shakespeare"][0],
                                                     bigram=baselines["shakespeare"][1], target=1.9)
    ms.manual_seed(ctx.seed + 1)
    poet = CharLSTM(len(poem_vocab), settings["embed"], settings["hidden"])
    p_hist = train_lm(ctx, poet, p_train, p_val, settings, settings["poem_steps"], "Tang poems")
    runs[viz.text("唐诗", "Tang poems")] = dict(history=p_hist, unigram=baselines["poems"][0],
                                              bigram=baselines["poems"][1])
    s_loss, p_loss = s_hist["val_loss"][-1], p_hist["val_loss"][-1]
    ctx.record(shakespeare_val_loss=s_loss, poems_val_loss=p_loss, shakespeare_steps=settings["shakespeare_steps"],
               poem_steps=settings["poem_steps"], hidden=settings["hidden"],
               parameters=sum(p.numel() for p in model.parameters()))
    ctx.log(f"validation: Shakespeare {s_loss:.3f} nats/char (bigram {baselines['shakespeare'][1]:.3f}), "
            f"poems {p_loss:.3f} (bigram {baselines['poems'][1]:.3f})")
    if ctx.quick:  # 300 steps of a small LSTM: past the bigram already, not yet at the target
        ctx.check("quick: Shakespeare LSTM beats the bigram baseline", s_loss < baselines["shakespeare"][1])
        ctx.check("quick: poem LSTM beats the bigram baseline", p_loss < baselines["poems"][1])
    else:
        ctx.check("Shakespeare validation loss ≤ 1.9 nats/char", s_loss <= 1.9)
        ctx.check("poem LSTM beats the bigram baseline", p_loss < baselines["poems"][1])

    # 5. samples
    prompt = shakespeare.encode("JULIET:\n")
    samples = []
    for t in TEMPERATURES:
        text = shakespeare.decode(sample(model, list(prompt), settings["sample_chars"], t, ctx.rng(int(t * 10))))
        samples.append((f"T = {t}", text))
    poems = [(f"T = {t}", poem(model=poet, vocab=poem_vocab, rng=ctx.rng(int(t * 100)), temperature=t))
             for t in (0.6, 0.9)]
    lines_ok = all(len(line) == 7 for _, text in poems for line in text.replace("。", "，").replace("\n", "").split("，")
                   if line)
    ctx.check("every generated poem line has 7 characters", lines_ok)
    with open(ctx.path("samples.txt"), "w", encoding="utf-8") as f:
        for heading, text in samples + poems:
            f.write(f"== {heading} ==\n{text}\n\n")
    for heading, text in samples:
        ctx.log(f"--- Shakespeare, {heading} ---\n{text[:200]}")
    for heading, text in poems:
        ctx.log(f"--- poem, {heading} ---\n{text}")

    # figures
    ctx.save_figure(plot_curves(runs), "lm_loss.png")
    if curves is not None:
        ctx.save_figure(plot_torch(curves), "engine_vs_torch.png")
    ctx.save_figure(plot_text([(h, _wrap(t)) for h, t in samples],
                              viz.text("不同温度下的采样（莎士比亚，提示 “JULIET:”）",
                                       "Samples at several temperatures (Shakespeare, prompt 'JULIET:')")),
                    "samples.png")
    ctx.save_figure(plot_text(poems, viz.text("逐行生成的七言诗", "Poems generated line by line, 7 characters a line"),
                              family=None, fontsize=15, width=9, columns=2), "poems.png")
