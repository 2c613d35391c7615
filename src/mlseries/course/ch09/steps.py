"""Day 7, step by step: one batch of four sentences through the Transformer, in the order of the
7-day course's videos (1-54 … 1-64), printing the shape of every tensor on the way.

The walk is done by hand from the model's own parts (its embeddings, its attention layers
recomputed from matrix products, its layer norms), and at the end it is checked equal to the
model's forward pass, so what the steps print is what the trained model computes.
"""
import math

import numpy as np

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import viz
from mlseries.datasets.text import BOS, EOS, PAD

from .attention import multi_head_attention
from .model import causal_mask, sinusoidal_table


def shape(t):
    return "(" + ", ".join(str(n) for n in t.shape) + ")"


def walk(model, dataset, src, tgt, log):
    """Run the steps on src (B, S), tgt (B, T) (<bos> … <eos>) with the model in eval mode.

    Returns what the figures and checks need: the encoder's first-layer weights, the decoder's
    masked and cross weights, the logits, and the largest difference from model(src, tgt_in)."""
    model.eval()
    d, heads = model.d_model, model.encoder[0].self_attn.num_heads
    out = {}
    with ms.no_grad():
        # 1-54 the data set
        log(f"[1-54 定义数据集 / the data set] {len(dataset)} English → Chinese training pairs, e.g.")
        for en, zh in dataset.pairs[:3]:
            log(f"    {en}  →  {zh}")

        # 1-55 word encoding: every token becomes its row number in a vocabulary
        sv, tv = dataset.source_vocab, dataset.target_vocab
        log(f"[1-55 单词编码 / word encoding] source vocabulary {len(sv)} words, target {len(tv)} characters; "
            f"a batch of {len(src)} sentences: src ids {shape(src)}, tgt ids {shape(tgt)}")
        first = src[0][src[0] != PAD]
        log(f"    {' '.join(sv.itos[i] for i in first)}  ->  {first.tolist()}")
        s, t = ms.tensor(src), ms.tensor(tgt[:, :-1])                      # decoder input: <bos> y1 …
        padding = s == PAD                                                  # (B, S)

        # 1-56 embeddings: a learned vector per token, scaled by √d
        emb = model.src_embed(s) * math.sqrt(d)                             # (B, S, d)
        log(f"[1-56 计算嵌入 / embeddings] nn.Embedding({len(sv)}, {d}): ids {shape(s)} -> vectors {shape(emb)}, "
            f"×√d = ×{math.sqrt(d):.1f}")

        # 1-57 positional encoding: attention ignores order, so position is added to the vectors
        table = model.position.table[:s.shape[1]]                          # (S, d)
        log(f"[1-57 位置编码 / positional encoding] sin/cos table {shape(table)}: one row per position "
            f"(positional_encoding.png)")

        # 1-58 embedding + position
        x = emb + table                                                     # (B, S, d)
        log(f"[1-58 嵌入连接 / embedding + position] {shape(emb)} + {shape(table)} -> {shape(x)}")

        # 1-59 multi-head attention, from matrix products (ch09.attention) with the model's weights
        block = model.encoder[0]
        a, weights = multi_head_attention(x, x, block.self_attn, padding)  # (B, S, d), (B, h, S, S)
        hd = d // heads
        log(f"[1-59 多头注意力 / multi-head attention] {heads} heads of {hd}: Q, K, V {shape(x)} -> "
            f"({len(src)}, {heads}, {s.shape[1]}, {hd}) each; scores QKᵀ/√{hd} and weights {shape(weights)}; "
            f"heads concatenated and projected -> {shape(a)}")
        out["encoder_weights"] = weights.numpy()

        # 1-60 add & norm, then the feed-forward network (and add & norm again)
        x = block.norm1(x + a)                                              # (B, S, d)
        mean, std = x.numpy().mean(-1), x.numpy().std(-1)
        log(f"[1-60 加法和标准化 / add & norm] LayerNorm(x + attention(x)) {shape(x)}: every position's "
            f"{d} numbers have mean {np.abs(mean).max():.1e} (max |.|) and std {std.mean():.3f}")
        hidden = block.ff[1](block.ff[0](x))                                # (B, S, d_ff)
        x = block.norm2(x + block.ff(x))                                    # (B, S, d)
        log(f"    feed-forward {shape(x)} -> {shape(hidden)} -> {shape(x)}, add & norm again; "
            f"encoder blocks in all: {len(model.encoder)}")
        for block in model.encoder[1:]:
            x = block(x, padding)
        memory = x                                                          # (B, S, d)
        log(f"    the encoder's output (the 'memory' the decoder reads) {shape(memory)}")

        # 1-61 the decoder: the target so far, embedded the same way
        y = model.tgt_embed(t) * math.sqrt(d) + model.position.table[:t.shape[1]]   # (B, T, d)
        log(f"[1-61 解码器部分 / the decoder] input <bos> y1 … {shape(t)} -> embedded + position {shape(y)}")

        # 1-62 masked multi-head attention: position i may look only at positions ≤ i
        block = model.decoder[0]
        causal = causal_mask(t.shape[1])                                    # (T, T), True = future
        a, masked = multi_head_attention(y, y, block.self_attn, attn_mask=causal)  # (B, h, T, T)
        future = float(masked.numpy()[..., np.triu_indices(t.shape[1], 1)[0], np.triu_indices(t.shape[1], 1)[1]].max())
        log(f"[1-62 掩码多头注意力 / masked multi-head attention] causal mask {shape(causal)}; weights {shape(masked)}, "
            f"largest weight on a future position {future:.1e}")
        y = block.norm1(y + a)
        a, cross = multi_head_attention(y, memory, block.cross_attn, padding)   # (B, T, d), (B, h, T, S)
        log(f"    encoder–decoder attention: queries from the target {shape(y)}, keys and values from the "
            f"memory {shape(memory)} -> weights {shape(cross)}")
        y = block.norm2(y + a)
        y = block.norm3(y + block.ff(y))                                    # (B, T, d)
        for block in model.decoder[1:]:
            y = block(y, memory, causal, padding)
        out.update(masked_weights=masked.numpy(), cross_weights=cross.numpy(), future_weight=future)

        # 1-63 predicting the word: a score for every target character at every position
        logits = model.out(y)                                               # (B, T, V)
        probs = F.softmax(logits, dim=-1)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ms.tensor(tgt[:, 1:].reshape(-1)),
                               ignore_index=PAD)
        answers = tgt[:, 1:]                                                # (B, T): the next characters
        p_right = np.take_along_axis(probs.numpy(), answers[..., None], axis=-1)[..., 0][answers != PAD]
        log(f"[1-63 预测单词 / predicting the word] Linear({d}, {len(tv)}) -> logits {shape(logits)}, softmax "
            f"-> probabilities {shape(probs)}; untrained, the right next character gets probability "
            f"{p_right.mean():.3f} on average (guessing: 1/{len(tv)} = {1 / len(tv):.3f}), loss {loss.item():.3f}")
        reference = model(s, t).numpy()
        out["walk_error"] = float(np.abs(reference - logits.numpy()).max())

        # 1-64 summary: where the parameters are
        parts = {"embeddings": model.src_embed.weight.numel() + model.tgt_embed.weight.numel(),
                 "encoder": sum(p.numel() for p in model.encoder.parameters()),
                 "decoder": sum(p.numel() for p in model.decoder.parameters()),
                 "output bias": model.out.bias.numel()}
        log(f"[1-64 总结 / summary] parameters: " + ", ".join(f"{k} {v:,}" for k, v in parts.items())
            + f"; the output layer reuses the target embedding. Step-by-step = model(src, tgt): max difference "
              f"{out['walk_error']:.1e}")
        out["parameters"] = parts
    return out


# ---------------------------------------------------------------- figures of the steps

def plot_positional_encoding(d_model, length=60):
    table = sinusoidal_table(length, d_model)
    fig = viz.figure(figsize=(15, 4.8))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    shown = ax1.imshow(table, cmap="RdBu_r", aspect="auto", vmin=-1, vmax=1)
    fig.colorbar(shown, ax=ax1, shrink=0.85)
    ax1.grid(False)
    ax1.set(title=viz.text("位置编码表", "Positional encoding table", sep="\n"), xlabel=viz.text("维度", "dimension"),
            ylabel=viz.text("位置", "position"))
    for col in (0, 2, 6, 14):
        ax2.plot(table[:, col], lw=1.4, label=f"dim {col}: sin(pos/10000^({col}/{d_model}))")
    ax2.set(title=viz.text("每对维度是一个不同速度的时钟", "Each pair of dimensions is a clock of its own speed", sep="\n"),
            xlabel=viz.text("位置", "position"), ylabel=viz.text("编码值", "value"), ylim=(-1.15, 2.1))
    ax2.legend(fontsize=7.5, loc="upper center", ncol=2)
    similarity = table @ table.T / d_model
    shown = ax3.imshow(similarity, cmap="viridis", aspect="auto")
    fig.colorbar(shown, ax=ax3, shrink=0.85)
    ax3.grid(False)
    ax3.set(title=viz.text("位置之间的点积（近的更像）", "Dot products between positions (near is similar)", sep="\n"),
            xlabel=viz.text("位置", "position"), ylabel=viz.text("位置", "position"))
    return fig


def token_labels(tokens):
    """Tick labels for tokens: Chinese characters need a CJK font, else show their ids' text."""
    if viz.cjk_font():
        return tokens
    return [t if t.isascii() else f"#{i}" for i, t in enumerate(tokens)]


def plot_masked_attention(masked, src_tokens, tgt_tokens, cross):
    """The causal mask, one head's masked self-attention and one head's cross-attention for the
    first sentence of the walk (untrained weights: what matters is where the zeros are)."""
    T = len(tgt_tokens)
    fig = viz.figure(figsize=(14, 5.0))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    mask = np.triu(np.ones((T, T)), 1)
    ax1.imshow(mask, cmap="Greys", vmin=0, vmax=1.4)
    ax1.set(title=viz.text("因果掩码（灰 = 看不到）", "Causal mask (grey = hidden)", sep="\n"),
            xlabel=viz.text("被看的位置", "key position"), ylabel=viz.text("当前位置", "query position"))
    shown = ax2.imshow(masked[0, 0, :T, :T], cmap="Reds", vmin=0)
    fig.colorbar(shown, ax=ax2, shrink=0.8)
    ax2.set(title=viz.text("掩码自注意力（头 1）", "Masked self-attention (head 1)", sep="\n"),
            xlabel=viz.text("目标：键", "target: key"), ylabel=viz.text("目标：查询", "target: query"))
    shown = ax3.imshow(cross[0, 0, :T, :len(src_tokens)], cmap="Reds", vmin=0, aspect="auto")
    fig.colorbar(shown, ax=ax3, shrink=0.8)
    ax3.set(title=viz.text("编码器-解码器注意力（头 1）", "Encoder–decoder attention (head 1)", sep="\n"),
            xlabel=viz.text("源句：键", "source: key"), ylabel=viz.text("目标：查询", "target: query"))
    ax3.set_xticks(range(len(src_tokens)), src_tokens, rotation=60, ha="right", fontsize=8)
    for ax in (ax1, ax2, ax3):
        ax.grid(False)
        ax.set_yticks(range(T), token_labels(tgt_tokens), fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(range(T), token_labels(tgt_tokens), fontsize=8)
    fig.suptitle(viz.text("未训练的模型：上三角的权重恒为 0", "Untrained model: weights above the diagonal are always 0"))
    return fig


def decoder_tokens(vocab, tgt_row):
    """The decoder's input tokens for one target row (<bos> y1 …, without the final <eos>)."""
    ids = tgt_row.tolist()
    ids = ids[:ids.index(EOS)] if EOS in ids else ids
    return ["<bos>" if i == BOS else vocab.itos[i] for i in ids]
