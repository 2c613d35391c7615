"""Figures the chapter's language-model lessons share: loss curves and tokens per second."""
import numpy as np

from mlseries import viz


def smooth(values, window=25):
    """Running mean over `window` steps (the first steps average what there is)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def plot_lm_losses(runs, title, baselines=None, ylabel=None):
    """Training loss per step (smoothed, thin) and the held-out estimates (markers) for each run.

    runs: label -> history from lm_training.train_lm; baselines: label -> a loss drawn as a
    dotted horizontal line (e.g. a bigram model)."""
    fig = viz.figure(figsize=(8.4, 4.8))
    ax = fig.subplots()
    colors = [viz.COLORS["learned"], viz.COLORS["data"], viz.COLORS["search"], "#55a868"]
    # later runs dashed with open markers, so two curves that coincide both stay visible
    for k, ((label, hist), color) in enumerate(zip(runs.items(), colors)):
        steps = np.arange(1, len(hist["loss"]) + 1)
        ax.plot(steps, smooth(hist["loss"]), "-" if k == 0 else "--", lw=1, alpha=0.6, color=color,
                label=f"{label}: {viz.text('训练（平滑）', 'train (smoothed)')}")
        ev = np.array(hist["eval"])
        ax.plot(ev[:, 0], ev[:, 2], "o-" if k == 0 else "s--", ms=5 if k == 0 else 7, lw=1.8,
                color=color, mfc=color if k == 0 else "none",
                label=f"{label}: {viz.text('验证', 'validation')}")
    for (label, value), style in zip((baselines or {}).items(), (":", "-.", "--")):
        ax.axhline(value, ls=style, lw=1.2, color=viz.COLORS["reference"], label=f"{label} {value:.2f}")
    top = max(max(h["eval"][0][2], h["loss"][0]) for h in runs.values())
    bottom = min(min(np.array(h["eval"])[:, 2].min(), smooth(h["loss"]).min()) for h in runs.values())
    ax.set_ylim(bottom - 0.15, min(top, bottom + 3.0) + 0.1)
    ax.set(title=title, xlabel=viz.text("训练步数", "training step"),
           ylabel=ylabel or viz.text("交叉熵（nats/词元）", "cross-entropy (nats per token)"))
    ax.legend(fontsize=8, loc="upper right")
    return fig


def plot_throughput(rows, title, xlabel=None):
    """Horizontal bars: label -> tokens per second."""
    fig = viz.figure(figsize=(7.2, 0.55 * len(rows) + 1.6))
    ax = fig.subplots()
    labels, values = list(rows), [rows[k] for k in rows]
    bars = ax.barh(labels, values, color=[viz.COLORS["learned"], viz.COLORS["data"]] * len(rows))
    for bar, value in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:,.0f}",
                va="center", fontsize=9)
    ax.set_xlim(0, max(values) * 1.25)
    ax.invert_yaxis()
    ax.set(title=title, xlabel=xlabel or viz.text("词元/秒", "tokens per second"),
           ylabel=viz.text("引擎", "engine"))
    return fig
