"""Training a next-token language model: the loop the GPT, Llama and LoRA lessons share.

nanoGPT's recipe: random windows of the token stream as batches, AdamW, a learning rate that
warms up linearly and then follows a cosine down to a floor, gradient clipping, and a loss
estimate on held-out text every so often. The loop takes an `engines.Engine`, so it runs on the
mlseries engine or on PyTorch, on a CPU or a GPU, in one process or data-parallel under torchrun.
"""
import math
import time

import numpy as np


def get_lr(it, lr, warmup, decay_iters, min_lr):
    """Linear warm-up for `warmup` steps, then a cosine from `lr` down to `min_lr` at `decay_iters`."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / max(1, decay_iters - warmup)      # 0 → 1
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def windows(ids, block, batch, rng):
    """`batch` random windows of `block` tokens and their next tokens, as NumPy (B, block)."""
    starts = rng.integers(0, len(ids) - block, size=batch)
    idx = starts[:, None] + np.arange(block + 1)                 # (B, block + 1)
    chunk = ids[idx]
    return chunk[:, :-1], chunk[:, 1:]


def unwrap(model):
    """The model inside DistributedDataParallel (or the model itself)."""
    return getattr(model, "module", model)


def estimate_loss(eng, model, ids, block, batch, iters, seed=1234):
    """Mean loss over `iters` fixed random batches of `ids` (the same batches every call, so
    estimates along training are comparable); under torchrun each process takes its share."""
    net = unwrap(model)
    rng = np.random.default_rng(seed)
    net.eval()
    total = 0.0
    with eng.T.no_grad():
        for _ in range(iters):
            x, y = windows(ids, block, batch, rng)
            _, loss = net(eng.tensor(eng.shard(x)), eng.tensor(eng.shard(y)))
            total += loss.item()
    net.train()
    return eng.mean_over_processes(total / iters)


def train_lm(eng, model, optimizer, train_ids, val_ids, cfg, rng, progress=iter, log=None,
             params=None, other_ids=None):
    """Train `model` (forward(x, y) -> (logits, loss)) for cfg["iters"] steps.

    cfg: block, batch (the global batch: under torchrun each process takes batch / processes
    rows), lr, warmup, min_lr, grad_clip, eval_every, eval_iters. Returns a history: the training
    loss of every step (averaged over processes), the estimates (step, train, val), the seconds
    spent in training steps, and tokens per second. `other_ids`: estimate the loss on these ids
    in place of the training text (the LoRA lesson watches the original corpus that way).
    """
    params = list(params if params is not None else model.parameters())
    block, batch = cfg["block"], cfg["batch"]
    hist = {"loss": [], "eval": [], "seconds": 0.0}
    watched = train_ids if other_ids is None else other_ids
    model.train()
    for it in progress(range(cfg["iters"])):
        if it % cfg["eval_every"] == 0:
            hist["eval"].append(_evaluate(eng, model, watched, val_ids, cfg, it))
        start = time.perf_counter()
        lr = get_lr(it, cfg["lr"], cfg["warmup"], cfg["iters"], cfg["min_lr"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = windows(train_ids, block, batch, rng)                 # the global batch (B, L)
        _, loss = model(eng.tensor(eng.shard(x)), eng.tensor(eng.shard(y)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()                                               # DDP: gradients averaged here
        if cfg["grad_clip"]:
            eng.nn.utils.clip_grad_norm_(params, cfg["grad_clip"])
        optimizer.step()
        value = eng.mean_over_processes(loss.item())
        eng.synchronize()
        hist["seconds"] += time.perf_counter() - start
        hist["loss"].append(value)
    hist["eval"].append(_evaluate(eng, model, watched, val_ids, cfg, cfg["iters"]))
    hist["tokens_per_s"] = cfg["iters"] * batch * block / max(hist["seconds"], 1e-9)
    if log is not None:
        step, tr, va = hist["eval"][-1]
        log(f"  step {step}: train {tr:.4f}, val {va:.4f}  "
            f"({hist['seconds']:.1f} s, {hist['tokens_per_s']:,.0f} tokens/s)")
    return hist


def _evaluate(eng, model, train_ids, val_ids, cfg, it):
    args = (cfg["block"], cfg["batch"], cfg["eval_iters"])
    return (it, estimate_loss(eng, model, train_ids, *args), estimate_loss(eng, model, val_ids, *args))
