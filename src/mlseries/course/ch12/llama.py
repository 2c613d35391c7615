"""ch12.llama — Llama 式模型与 KV 缓存 / A Llama-style model, its KV cache, and Tang poems.

Llama (Meta, 2023) is a GPT with four changes that most open models now share, each small:

- **RMSNorm** (均方根归一化) instead of LayerNorm: divide by the root-mean-square of the vector and
  scale; no mean subtraction, no bias.
- **Rotary position embeddings** (RoPE, 旋转位置编码) instead of learned position vectors: each pair
  of coordinates of every query and key is turned by an angle proportional to its position. A dot
  product of two turned vectors depends only on the difference of the angles, so attention scores
  depend on *how far apart* two tokens are, not where they sit (`rope.png`).
- **SwiGLU** (门控前馈层): the MLP becomes w2(silu(w1·x) ⊙ w3·x), one branch gating the other.
- **Grouped-query attention** (GQA, 分组查询注意力): fewer key/value heads than query heads (here
  4 query heads share 2 key/value heads), which halves what the KV cache must store.

**The KV cache** (键值缓存). Generating text means running the model again for every new token.
Without a cache each step recomputes keys and values of the whole sequence so far; but the keys
and values of earlier positions never change (causal attention: the past cannot see the
future). So store them, and at each step compute only the new token's query, key and value. The
result must be the *same numbers* (checked to 1e-5 on every generated step's logits) and the cost
of a step no longer grows with the length (tokens/s table by length).

**Data.** The Tang poems that install with the project (7 625 poems, mostly seven-character
regulated verse, 七言律诗), one token per character (about 5 000 characters). A line of a 七律
is two seven-character halves: "XXXXXXX，XXXXXXX。". The model is never told this; after training,
the lesson samples poems and counts how many half-lines have exactly seven characters.

Quick mode trains a smaller model for 300 steps; it already beats the unigram baseline and
most of its lines have the right length, and the cache checks are the same.

    mlseries run ch12.llama [--quick] [--engine torch] [--device cuda]
"""
import copy
import re
import time

import numpy as np

from mlseries import datasets, viz

from .. import engines
from ..registry import lesson
from .llama_model import LlamaConfig, generate, init_arrays, llama_classes, rope_tables
from .lm_training import estimate_loss, train_lm
from .plots import plot_lm_losses

FULL = dict(n_layer=4, n_head=4, n_kv_head=2, dim=128, hidden=352, block=64, batch=16, iters=2000,
            lr=2e-3, min_lr=2e-4, warmup=100, eval_every=250, eval_iters=20, final_eval_iters=100,
            poems=12, lengths=(64, 128, 256, 512))
QUICK = dict(n_layer=2, n_head=4, n_kv_head=2, dim=64, hidden=160, block=32, batch=8, iters=300,
             lr=1e-2, min_lr=1e-3, warmup=30, eval_every=50, eval_iters=10, final_eval_iters=20,
             poems=8, lengths=(32, 64, 128, 256))
TRAIN = dict(weight_decay=0.1, betas=(0.9, 0.95), grad_clip=1.0)
FIRST_CHARS = "春月山秋江风白花"   # each sampled poem starts from one of these
_HALF = re.compile(r"[，。？！；：]")


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "loss_curves.png": ("训练损失（细线）和验证损失（圆点）都降到了一元模型（点线：只按每个字出现的频率猜）之下。",
                        "Training (thin) and validation (dots) losses fall below the unigram baseline (dotted: each "
                        "character's frequency alone)."),
    "kv_cache_speed.png": ("有 KV 缓存时（红）生成速度基本不随长度变化；每步全部重算（蓝色虚线）越长越慢。“×” 后的数字是"
                           "加速倍数，长度越长越大。",
                           "With the KV cache (red) the speed stays about level as the text grows; recomputing "
                           "everything each step (blue dashed) gets slower and slower. The × numbers, the speed-up, "
                           "grow with the length."),
    "rope.png": ("同一对查询和键，被旋转到三个不同的位置：三条曲线完全重合——分数只取决于两者的距离 d，与它们在哪里无关。"
                 "每条线画到查询自己的位置为止。",
                 "One query and key, rotated to three different positions: the three curves coincide — the score "
                 "depends only on the distance d, not on where the two sit. Each curve stops at its query's position."),
}


# ---------------------------------------------------------------- 1. data

class Chars:
    """One token per character of the training text; characters it lacks map to '□'."""

    def __init__(self, text):
        self.itos = ["□"] + sorted(set(text) - {"□"})
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def encode(self, text):
        return np.array([self.stoi.get(c, 0) for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.itos[i] for i in np.asarray(ids).reshape(-1))


def half_lines(text):
    """Lengths of the complete half-lines (text between punctuation marks) of the poems in `text`."""
    lengths = []
    for poem in text.split("\n\n"):
        for line in poem.split("\n"):
            pieces = _HALF.split(line)
            lengths += [len(p) for p in pieces[:-1] if p]        # the last piece is unfinished
    return lengths


# ---------------------------------------------------------------- 2. the KV cache, measured

def cache_check(eng, model, prompt, n_new):
    """Greedy generation with and without the cache: same tokens? largest logit difference?

    The two compute the same sums in a different order (a product over the whole sequence
    against one row at a time), so in float32 they differ by rounding — about 1e-6 of the
    logits' size. A float64 copy of the model shows that the algorithm itself is exact."""
    result = {}
    for name, net in (("float32", model), ("float64", copy.deepcopy(model).double())):
        with_cache, logits_cached = generate(eng.T, net, prompt, n_new, cached=True, temperature=0,
                                             keep_logits=True)
        without, logits_full = generate(eng.T, net, prompt, n_new, cached=False, temperature=0,
                                        keep_logits=True)
        result[name] = (bool((with_cache == without).all()), float(np.abs(logits_cached - logits_full).max()),
                        float(np.abs(logits_full).max()))
    return result


def speed_table(eng, model, prompt, lengths):
    """Tokens per second generating `n` tokens with and without the cache, for each n."""
    rows = []
    for n in lengths:
        row = [n]
        for cached in (True, False):
            eng.synchronize()
            start = time.perf_counter()
            generate(eng.T, model, prompt, n, cached=cached, temperature=0)
            eng.synchronize()
            row.append(n / (time.perf_counter() - start))
        rows.append(tuple(row))
    return rows


# ---------------------------------------------------------------- 3. figures

def plot_speed(rows):
    fig = viz.figure(figsize=(7.5, 4.4))
    ax = fig.subplots()
    n = [r[0] for r in rows]
    ax.plot(n, [r[1] for r in rows], "o-", color=viz.COLORS["learned"], label=viz.text("有 KV 缓存", "with KV cache"))
    ax.plot(n, [r[2] for r in rows], "s--", color=viz.COLORS["data"],
            label=viz.text("每步全部重算", "recompute everything each step"))
    for length, cached, full in rows:
        ax.annotate(f"×{cached / full:.1f}", (length, cached), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [str(v) for v in n])
    ax.minorticks_off()
    ax.set_ylim(0, max(r[1] for r in rows) * 1.2)
    ax.set(title=viz.text("生成速度：缓存让每一步的代价不再随长度增长",
                          "Generation speed: with a cache a step no longer costs more as text grows", sep="\n"),
           xlabel=viz.text("生成的词元数", "tokens generated"), ylabel=viz.text("词元/秒", "tokens per second"))
    ax.legend(loc="lower left")
    return fig


def plot_rope(head_dim=32, positions=(5, 20, 40)):
    """q·k of one fixed query and key, rotated to positions p and p − d: the same curve for every p."""
    cos, sin = rope_tables(head_dim, 128)
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=head_dim), rng.normal(size=head_dim)

    def turn(x, p):
        h = head_dim // 2
        return np.concatenate([x[:h] * cos[p] - x[h:] * sin[p], x[:h] * sin[p] + x[h:] * cos[p]])

    fig = viz.figure(figsize=(7.5, 4.2))
    ax = fig.subplots()
    for p, style in zip(positions, ("-", "--", ":")):
        d = np.arange(0, p + 1)
        ax.plot(d, [turn(q, p) @ turn(k, p - j) for j in d], style, lw=2,
                label=viz.text(f"查询在位置 {p}", f"query at position {p}"))
    ax.set(title=viz.text("RoPE：注意力分数只取决于距离", "RoPE: the score depends only on the distance"),
           xlabel=viz.text("查询与键的距离 d", "distance d between query and key"),
           ylabel=viz.text("旋转后的 q·k", "q·k after rotation"))
    ax.legend()
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch12.llama", zh="Llama：RMSNorm、RoPE、SwiGLU、GQA 与 KV 缓存",
        en="Llama: RMSNorm, RoPE, SwiGLU, GQA and the KV cache")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    eng = engines.select(ctx)

    # 1. data: Tang poems, one token per character
    train_text = datasets.TangPoems("train").corpus()
    val_text = datasets.TangPoems("validation").corpus()
    chars = Chars(train_text)
    train_ids, val_ids = chars.encode(train_text), chars.encode(val_text)
    counts = np.bincount(train_ids, minlength=len(chars.itos)) + 1
    p = counts / counts.sum()
    unigram = float(-np.log(p[val_ids]).mean())
    lengths = half_lines(train_text)
    seven_in_data = float(np.mean(np.array(lengths) == 7))
    ctx.log(f"Tang poems: {len(train_ids):,} training / {len(val_ids):,} validation characters, "
            f"{len(chars.itos):,} distinct; unigram baseline {unigram:.3f} nats/char; "
            f"{100 * seven_in_data:.1f} % of the training half-lines have seven characters")

    # 2. the model
    config = LlamaConfig(vocab_size=len(chars.itos), block_size=cfg["block"], max_len=max(cfg["lengths"]) + 16,
                         n_layer=cfg["n_layer"], n_head=cfg["n_head"], n_kv_head=cfg["n_kv_head"],
                         dim=cfg["dim"], hidden=cfg["hidden"])
    model = llama_classes(eng.T).Llama(config)
    eng.load_arrays(model, init_arrays(model, ctx.rng(1), config.n_layer))
    model = eng.to_device(model)
    n_params = sum(p.numel() for p in model.parameters())
    hs = config.dim // config.n_head
    kv_bytes = 2 * config.n_layer * config.n_kv_head * hs * 4
    ctx.log(f"Llama: {config.n_layer} layers, {config.n_head} query heads sharing {config.n_kv_head} key/value "
            f"heads, width {config.dim}, SwiGLU {config.hidden}: {n_params:,} parameters; the KV cache holds "
            f"{kv_bytes:,} bytes per token ({2 * kv_bytes:,} without GQA)")

    # 3. training
    groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": TRAIN["weight_decay"]},
              {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = eng.optim.AdamW(groups, lr=cfg["lr"], betas=TRAIN["betas"])
    params = list(model.parameters())
    hist = train_lm(eng, eng.wrap(model), optimizer, train_ids, val_ids, dict(cfg, grad_clip=TRAIN["grad_clip"]),
                    ctx.rng(2), progress=lambda it: ctx.progress(it, "training"), params=params)
    val = estimate_loss(eng, model, val_ids, cfg["block"], cfg["batch"], cfg["final_eval_iters"], seed=99)
    ctx.log(f"validation loss {val:.4f} nats/char after {cfg['iters']} steps ({hist['seconds']:.0f} s, "
            f"{hist['tokens_per_s']:,.0f} tokens/s)")
    if not eng.is_main:
        return

    # 4. the KV cache: the same numbers, faster
    prompt = chars.encode(val_text[:16])[None, :]                               # (1, 16)
    n_check = max(cfg["lengths"]) // 2
    checked = cache_check(eng, model, prompt, n_check)
    for name, (same, diff, scale) in checked.items():
        ctx.log(f"KV cache vs full recomputation, greedy, {n_check} tokens, {name}: same tokens {same}, "
                f"largest logit difference {diff:.1e} (logits up to {scale:.1f})")
    same_tokens, max_diff = checked["float64"][0] and checked["float32"][0], checked["float64"][1]
    speeds = speed_table(eng, model, prompt, cfg["lengths"])
    ctx.log("\n| tokens generated | with cache (tokens/s) | recompute (tokens/s) | speed-up |\n| --- | --- | --- | --- |\n"
            + "\n".join(f"| {n} | {a:,.0f} | {b:,.0f} | {a / b:.1f}× |" for n, a, b in speeds))

    # 5. poems
    rng = ctx.rng(3)
    poems = []
    for i in range(cfg["poems"]):
        # a poem begins after the blank line that ends the one before it: give the model that context
        start = chars.encode("\n\n" + FIRST_CHARS[i % len(FIRST_CHARS)])[None, :]
        ids = generate(eng.T, model, start, 80, cached=True, temperature=0.8, rng=rng)
        poems.append(chars.decode(ids[0, 2:]).split("\n\n")[0].strip())
    sampled = half_lines("\n\n".join(poems))
    seven = float(np.mean(np.array(sampled) == 7)) if sampled else 0.0
    ctx.log(f"{len(poems)} sampled poems: {len(sampled)} half-lines, {100 * seven:.0f} % with seven characters")
    for poem in poems[:4]:
        ctx.log(poem + "\n")
    ctx.path("poems.txt").write_text("\n\n".join(poems) + "\n", encoding="utf-8")

    # 6. results
    longest = speeds[-1]
    ctx.record(engine=eng.name, parameters=n_params, vocabulary=len(chars.itos), unigram_val_loss=unigram,
               val_loss=val, tokens_per_s_training=hist["tokens_per_s"], cache_same_tokens=same_tokens,
               cache_max_logit_diff=max_diff, cache_max_logit_diff_float32=checked["float32"][1],
               generation_tokens_per_s={str(n): {"cache": round(a, 1), "recompute": round(b, 1)} for n, a, b in speeds},
               cache_speedup_longest=longest[1] / longest[2], seven_char_share=seven,
               seven_char_share_data=seven_in_data, kv_bytes_per_token=kv_bytes)
    ctx.check("generation with the KV cache equals full recomputation (same tokens; logits ≤ 1e-5 in float64)",
              same_tokens and max_diff <= 1e-5)
    ctx.check(f"the cache is faster at {longest[0]} tokens", longest[1] > longest[2])
    ctx.check(f"validation loss below the unigram baseline ({unigram:.2f})", val < unigram)
    share = 0.5 if ctx.quick else 0.8
    ctx.check(f"at least {100 * share:.0f} % of sampled half-lines have seven characters", seven >= share)

    ctx.save_figure(plot_lm_losses({"Llama": hist}, viz.text("Llama 在唐诗上的损失", "Llama on Tang poems: loss"),
                                   {viz.text("一元模型", "unigram"): unigram}), "loss_curves.png")
    ctx.save_figure(plot_speed(speeds), "kv_cache_speed.png")
    ctx.save_figure(plot_rope(), "rope.png")
