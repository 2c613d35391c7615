"""ch12.gpt — GPT 从零训练 / A GPT trained from scratch on tiny Shakespeare, nanoGPT's way.

A GPT (生成式预训练 Transformer) is a stack of Transformer blocks that reads a sequence of tokens
and, at every position, predicts the next one. Trained on plain text with nothing but that
objective (next-token prediction, 下一个词元预测), it learns spelling, words, line breaks and the
shape of a play.

**Data.** Tiny Shakespeare (1.1 M characters of nine plays), one token per character: 64
characters, the first 90 % for training and the last 10 % for validation, as in nanoGPT. Two
baselines say what "learning" means: guessing uniformly costs ln 64 = 4.16 nats per character,
and a bigram model (count which character follows which, 二元模型) gets about 2.49 on the
validation text. Anything below that uses more than the previous character.

**Model** (`gpt_model.py`). Token embeddings plus learned position embeddings (位置嵌入); then
blocks of causal self-attention (因果自注意力: position t may only look at positions ≤ t, so the
model cannot peek at the character it must predict) and an MLP with GELU, each wrapped as
`x + f(LayerNorm(x))` (pre-norm, 前置归一化: the residual path stays clean, so deep stacks train);
a final LayerNorm; and an output layer that shares its matrix with the token embedding
(weight tying, 权重共享: reading a character and writing it use the same vectors). nanoGPT's CPU
configuration: 4 layers, 4 heads, width 128, context 64 characters — 0.8 M parameters.

**Training** (`lm_training.py`). Batches of 12 random 64-character windows; AdamW (Adam with
decoupled weight decay, applied to matrices only: shrinking gains and biases would only fight the
LayerNorms); a learning rate that warms up linearly for 100 steps and then follows a cosine
(余弦退火) from 1e-3 down to 1e-4; gradients clipped to norm 1 (梯度裁剪) so one unlucky batch
cannot throw the weights far. 2 000 steps, no dropout.

**Same lesson, another engine.** The model and the loop are written against a torch-like module
`T`, so they run unchanged on PyTorch. The lesson trains on the mlseries engine and then — when
PyTorch is installed — repeats the run on PyTorch from the same initial weights with the same
batches: the two loss curves lie on top of each other (the first steps' losses agree to 1e-6;
measured after the full 2 000 steps, the validation losses agree to 1e-7 of their size — the
two libraries round float32 sums alike often enough that the runs never drift apart here). `--engine torch` trains
on PyTorch only, `--device cuda` on a GPU, and `torchrun --nproc_per_node=2 -m mlseries run
ch12.gpt --engine torch` data-parallel (docs/scaling.md).

**Sampling** (采样). The model gives a probability for every next character. Dividing the logits
by a temperature (温度) below 1 sharpens the distribution (safer, more repetitive text), above 1
flattens it (more surprising, more misspelt); top-k keeps only the k most likely characters.
`sampling.png` shows one prediction at three temperatures.

Results (full run): validation loss ≤ 1.95 nats per character (nanoGPT reports 1.88 for this
configuration), PyTorch's run within 2 % of it, tokens per second of both, samples in
`samples.txt`. Quick mode trains a smaller GPT for 300 steps: it must beat the bigram baseline,
and PyTorch's run must again be within 2 %.

    mlseries run ch12.gpt [--quick] [--engine torch] [--device cuda]
"""
import contextlib
import json

import numpy as np

import mlseries as ms
from mlseries import datasets, viz

from .. import engines
from ..registry import lesson
from .gpt_model import GPTConfig, configure_optimizer, generate, gpt_classes, init_arrays
from .lm_training import estimate_loss, train_lm
from .plots import plot_lm_losses, plot_throughput

# nanoGPT's CPU run (README "I only have a macbook"): 4 layers, 4 heads, width 128, context 64,
# batch 12, 2 000 iterations, lr 1e-3 decaying to 1e-4 over 2 000 iterations, no dropout
FULL = dict(n_layer=4, n_head=4, n_embd=128, block=64, batch=12, iters=2000, lr=1e-3, min_lr=1e-4,
            warmup=100, eval_every=250, eval_iters=20, final_eval_iters=200, sample_chars=600)
# quick: a narrower, shallower GPT on shorter windows; a larger learning rate suits the few steps
QUICK = dict(n_layer=2, n_head=4, n_embd=64, block=32, batch=16, iters=300, lr=5e-3, min_lr=5e-4,
             warmup=30, eval_every=50, eval_iters=10, final_eval_iters=40, sample_chars=200)
TRAIN = dict(weight_decay=0.1, betas=(0.9, 0.99), grad_clip=1.0)
TARGET_VAL = 1.95        # nanoGPT: 1.88
TARGET_GAP = 0.02        # PyTorch's run within 2 %
PROMPT = "ROMEO:\n"


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "loss_curves.png": ("训练损失（细线）和验证损失（圆点）都降到了二元模型（点线）之下。装有 PyTorch 时，它从同样的权重、"
                        "用同样的批次训练出的曲线（虚线、空心方块）与引擎的几乎完全重合。",
                        "Training (thin) and validation (dots) losses fall below the bigram baseline (dotted). With "
                        "PyTorch installed, its run from the same weights on the same batches (dashed, open squares) "
                        "lies on top of the engine's."),
    "sampling.png": ("“I will n” 之后下一个字符的概率（按 T = 1 时的大小排序）：T = 0.5 时大部分概率压在最可能的字符上，"
                     "T = 2 时更多的概率分给了其余的字符。",
                     "Next-character probabilities after “I will n” (ordered by their size at T = 1): at T = 0.5 most "
                     "of the probability goes to the most likely character; at T = 2 more of it goes to the others."),
    "tokens_per_second.png": ("同一个模型、同样的批次，引擎和 PyTorch 各用一个线程时每秒训练的词元数：条越长越快。",
                              "Tokens per second for the same model on the same batches, the engine and PyTorch on "
                              "one thread each: the longer the bar, the faster."),
}


# ---------------------------------------------------------------- 1. data and baselines

def bigram_loss(train_ids, val_ids, vocab):
    """Validation cross-entropy of a bigram model counted on the training text (add-one smoothing)."""
    counts = np.ones((vocab, vocab))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    p = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.log(p[val_ids[:-1], val_ids[1:]]).mean())


# ---------------------------------------------------------------- 2. one training run

def train_gpt(eng, cfg, data, ctx, label):
    """Build the GPT on `eng`, start it from the run's NumPy weights, train it; (model, history)."""
    train_ids, val_ids, vocab = data
    config = GPTConfig(vocab_size=vocab, block_size=cfg["block"], n_layer=cfg["n_layer"],
                       n_head=cfg["n_head"], n_embd=cfg["n_embd"])
    model = gpt_classes(eng.T).GPT(config)
    eng.load_arrays(model, init_arrays(model, ctx.rng(1), config.n_layer))   # same start everywhere
    model = eng.to_device(model)
    optimizer = configure_optimizer(eng.T, model, cfg["lr"], TRAIN["weight_decay"], TRAIN["betas"])
    params = list(model.parameters())
    net = eng.wrap(model)                                                   # DDP under torchrun
    loop = dict(cfg, grad_clip=TRAIN["grad_clip"])
    hist = train_lm(eng, net, optimizer, train_ids, val_ids, loop, ctx.rng(2),   # same batches too
                    progress=lambda it: ctx.progress(it, f"{label} training"), params=params)
    hist["final_val"] = estimate_loss(eng, model, val_ids, cfg["block"], cfg["batch"],
                                      cfg["final_eval_iters"], seed=99)
    hist["final_train"] = estimate_loss(eng, model, train_ids, cfg["block"], cfg["batch"],
                                        cfg["final_eval_iters"], seed=99)
    ctx.log(f"{label}: validation loss {hist['final_val']:.4f} (train {hist['final_train']:.4f}) "
            f"after {cfg['iters']} steps, {hist['seconds']:.1f} s, {hist['tokens_per_s']:,.0f} tokens/s")
    return model, hist


@contextlib.contextmanager
def one_thread_each(torch):
    """Both libraries on one thread while they are compared in one process: on a shared 2-core
    machine each one's idle worker threads would otherwise steal the other's core."""
    before = ms.get_num_threads(), torch.get_num_threads()
    ms.set_num_threads(1)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        ms.set_num_threads(before[0])
        torch.set_num_threads(before[1])


# ---------------------------------------------------------------- 3. sampling

def next_char_probs(eng, model, ds, prompt, temperature, top_k=None):
    """The model's distribution for the character after `prompt`, at a temperature."""
    idx = eng.tensor(ds.encode(prompt)[None, :])                            # (1, L)
    model.eval()
    with eng.T.no_grad():
        logits, _ = model(idx)                                              # (1, L, V)
    model.train()
    logits = eng.numpy(logits[0, -1]) / temperature                         # (V,)
    if top_k is not None:
        logits = np.where(logits >= np.sort(logits)[-top_k], logits, -np.inf)
    e = np.exp(logits - logits.max())
    return e / e.sum()


def samples(eng, model, ds, n_chars, rng):
    """Text from the prompt at a few (temperature, top-k) settings."""
    out = []
    for temperature, top_k in ((1.0, None), (0.8, 10), (0.5, 5)):
        idx = eng.tensor(ds.encode(PROMPT)[None, :])
        ids = generate(eng.T, model, idx, n_chars, temperature, top_k, rng)
        out.append((temperature, top_k, ds.decode(eng.numpy(ids)[0])))
    return out


# ---------------------------------------------------------------- 4. figures

def plot_sampling(dists, ds, prompt):
    """Next-character probabilities after `prompt` at three temperatures (the 12 most likely)."""
    base = dists[1.0]
    order = np.argsort(base)[::-1][:12]
    names = [repr(ds.itos[i])[1:-1].replace("\\n", "↵").replace(" ", "␣") for i in order]
    fig = viz.figure(figsize=(9, 4.2))
    ax = fig.subplots()
    width = 0.27
    for k, (temperature, p) in enumerate(dists.items()):
        ax.bar(np.arange(len(order)) + (k - 1) * width, p[order], width,
               label=f"T = {temperature:g}")
    ax.set_xticks(range(len(order)), names, fontsize=11)
    shown = prompt.replace("\n", "↵")
    ax.set(title=viz.text(f"“{shown}”之后下一个字符的概率：温度越低越集中",
                          f"Next character after “{shown}”: lower temperature, sharper", sep="\n"),
           xlabel=viz.text("字符（按 T = 1 的概率排序）", "character (ordered by probability at T = 1)"),
           ylabel=viz.text("概率", "probability"))
    ax.legend()
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch12.gpt", zh="GPT：在莎士比亚上从零训练", en="GPT: trained from scratch on tiny Shakespeare")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    eng = engines.select(ctx)

    # 1. data: characters of tiny Shakespeare, nanoGPT's 90 / 10 split, and two baselines
    ds = datasets.TinyShakespeare("all")
    n_train = len(datasets.TinyShakespeare("train").ids)
    train_ids, val_ids = ds.ids[:n_train], ds.ids[n_train:]
    vocab = ds.vocab_size
    uniform, bigram = float(np.log(vocab)), bigram_loss(train_ids, val_ids, vocab)
    ctx.log(f"tiny Shakespeare: {len(train_ids):,} training / {len(val_ids):,} validation characters, "
            f"vocabulary {vocab}; uniform guess {uniform:.3f}, bigram {bigram:.3f} nats/char")
    data = (train_ids, val_ids, vocab)

    # 2-3. the model, trained on the run's engine; then, when the engine was the main run and
    #      PyTorch is installed, the same run on PyTorch: same initial weights, same batches
    torch = None
    if eng.name == "mlseries":
        try:
            import torch
        except ImportError:
            ctx.log("PyTorch is not installed: the PyTorch comparison is skipped")
    runs = {}
    with one_thread_each(torch) if torch is not None else contextlib.nullcontext():
        model, runs[eng.name] = train_gpt(eng, cfg, data, ctx, eng.name)
        if torch is not None:
            torch.manual_seed(ctx.seed)
            _, runs["torch"] = train_gpt(engines.Engine("torch", torch, "cpu"), cfg, data, ctx, "torch")
    hist = runs[eng.name]
    n_params = sum(p.numel() for p in model.parameters())
    ctx.log(f"GPT: {cfg['n_layer']} layers, {cfg['n_head']} heads, width {cfg['n_embd']}, "
            f"context {cfg['block']}: {n_params:,} parameters (the output layer shares the embedding)")

    # 4. results
    val = hist["final_val"]
    ctx.record(engine=eng.name, device=eng.device, processes=eng.world_size, parameters=n_params,
               iters=cfg["iters"], uniform_loss=uniform, bigram_val_loss=bigram,
               val_loss=val, train_loss=hist["final_train"], seconds_training=hist["seconds"],
               tokens_per_s=hist["tokens_per_s"])
    if ctx.quick:
        ctx.check(f"validation loss below the bigram baseline ({bigram:.2f})", val < bigram)
    else:
        ctx.check(f"validation loss ≤ {TARGET_VAL} (nanoGPT: 1.88)", val <= TARGET_VAL)
    if len(runs) > 1:   # the engine and PyTorch, same start and batches
        t = runs["torch"]
        gap = abs(t["final_val"] - val) / val
        first = float(np.max(np.abs(np.array(t["loss"][:10]) - np.array(hist["loss"][:10]))))
        ctx.record(torch_val_loss=t["final_val"], torch_gap=gap, first10_max_diff=first,
                   torch_tokens_per_s=t["tokens_per_s"], threads=1)
        ctx.log(f"PyTorch, same weights and batches: validation {t['final_val']:.4f} "
                f"({100 * gap:.2f} % from the engine's); first 10 step losses differ by ≤ {first:.1e}")
        ctx.check(f"PyTorch's same run within {100 * TARGET_GAP:.0f} % of the engine's validation loss",
                  gap <= TARGET_GAP)

    # losses of every step, for comparisons between runs (the torchrun test reads this file)
    if eng.is_main:
        ctx.path("losses.json").write_text(json.dumps(
            {name: {"loss": h["loss"], "eval": h["eval"], "final_val": h["final_val"]}
             for name, h in runs.items()}), encoding="utf-8")
    if not eng.is_main:
        return

    # samples and figures (rank 0 only under torchrun)
    rng = ctx.rng(3)
    lines = []
    for temperature, top_k, text in samples(eng, model, ds, cfg["sample_chars"], rng):
        head = f"--- temperature {temperature:g}, top-k {top_k or 'all'} ---"
        lines += [head, text, ""]
        ctx.log(head + "\n" + text[:300])
    ctx.path("samples.txt").write_text("\n".join(lines), encoding="utf-8")

    title = viz.text("GPT 在莎士比亚上的损失", "GPT on tiny Shakespeare: loss")
    names = {"mlseries": "mlseries", "torch": "PyTorch"}   # each legend entry adds its own zh / en
    ctx.save_figure(plot_lm_losses({names[k]: h for k, h in runs.items()}, title,
                                   {viz.text("二元模型", "bigram"): bigram}), "loss_curves.png")
    dists = {t: next_char_probs(eng, model, ds, "ROMEO:\nI will n", t) for t in (0.5, 1.0, 2.0)}
    ctx.save_figure(plot_sampling(dists, ds, "I will n"), "sampling.png")
    if len(runs) > 1:   # the engine and PyTorch, same start and batches
        speeds = {viz.text("mlseries 引擎", "mlseries engine"): hist["tokens_per_s"],
                  "PyTorch": runs["torch"]["tokens_per_s"]}
        ctx.save_figure(plot_throughput(speeds, viz.text("训练速度（同一台机器，各用一个线程）",
                                                         "Training speed (same machine, one thread each)", sep="\n")),
                        "tokens_per_second.png")
