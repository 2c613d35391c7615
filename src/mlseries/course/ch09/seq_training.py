"""Training a translator with teacher forcing: batches of similar length, label smoothing,
Adam with warm-up then a cosine decay, gradient clipping. Used by ch09.transformer.

Teacher forcing: the decoder reads the true target shifted right (<bos> y1 y2 …) and is asked
for the next token at every position at once (y1 y2 … <eos>); the causal mask keeps position t
from seeing the answers at t + 1 and later, so one forward pass trains every position.
"""
import math
import time

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries.datasets.text import PAD


def length_batches(src, tgt, batch_size, rng):
    """Shuffled batches of rows with similar target lengths, each cut to its longest row:
    shuffle, sort each run of 50 batches by length, cut into batches, shuffle the batches.
    Less padding means fewer wasted positions (and seconds) per step."""
    lengths = (tgt != PAD).sum(axis=1)
    order = rng.permutation(len(src))
    chunk = 50 * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    for b in rng.permutation(len(batches)):
        idx = batches[b]
        s, t = src[idx], tgt[idx]
        yield s[:, :(s != PAD).sum(axis=1).max()], t[:, :(t != PAD).sum(axis=1).max()]


def warmup_cosine(optimizer, warmup, total):
    """Learning-rate factor rising linearly for `warmup` steps, then falling along a cosine to
    zero at `total`: large early steps on random attention weights are what make post-norm
    Transformers diverge, and the decay lets the last epochs settle."""
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))
    return ms.optim.lr_scheduler.LambdaLR(optimizer, factor)


def translation_loss(model, src, tgt, label_smoothing):
    """Cross-entropy of the next-token scores at every real target position."""
    logits = model(ms.tensor(src), ms.tensor(tgt[:, :-1]))                  # (B, T-1, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ms.tensor(tgt[:, 1:].reshape(-1)),
                           ignore_index=PAD, label_smoothing=label_smoothing)


def train_translator(model, src, tgt, settings, rng, log=None, progress=None, evaluate=None, desc="train"):
    """Train `model` on int64 arrays src (N, S), tgt (N, T) (<bos> … <eos>) for
    settings["epochs"] epochs; settings: lr, batch, warmup, label_smoothing, clip.

    `progress(iterable, desc)` wraps each epoch's batches (a progress bar); `evaluate(model)`
    (optional) returns a number logged after each epoch. Returns the history:
    train_loss per epoch, step_loss per step, eval per epoch, seconds (training only)."""
    optimizer = ms.optim.Adam(model.parameters(), lr=settings["lr"], betas=(0.9, 0.98), eps=1e-9)
    steps_per_epoch = -(-len(src) // settings["batch"])
    scheduler = warmup_cosine(optimizer, settings["warmup"], settings["epochs"] * steps_per_epoch)
    history = {"train_loss": [], "step_loss": [], "eval": [], "seconds": []}
    seconds = 0.0
    progress = progress or (lambda batches, desc: batches)
    for epoch in range(1, settings["epochs"] + 1):
        model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        for s, t in progress(list(length_batches(src, tgt, settings["batch"], rng)), f"{desc} {epoch}"):
            loss = translation_loss(model, s, t, settings["label_smoothing"])
            optimizer.zero_grad()
            loss.backward()
            ms.nn.utils.clip_grad_norm_(model.parameters(), settings["clip"])
            optimizer.step()
            scheduler.step()
            history["step_loss"].append(loss.item())
            total, count = total + loss.item() * len(s), count + len(s)
        seconds += time.perf_counter() - start
        history["train_loss"].append(total / count)
        history["seconds"].append(seconds)
        score = evaluate(model) if evaluate is not None else None
        history["eval"].append(score)
        if log is not None:
            log(f"{desc} epoch {epoch:>2}: loss {total / count:.4f}"
                + (f", {score:.4f}" if score is not None else "") + f"  ({seconds:.0f} s)")
    return history
