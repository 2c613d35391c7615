"""The ladder every lab ends with: rung | technique | score | seconds, and the leaderboard beside it.

A lab of ML 2022 Spring is climbed one technique at a time: the TA's sample model first (the
"simple" baseline), then each technique the lab asks for on top of what came before. `Ladder`
times each rung, prints the table, records every score in metrics.json (`score_<rung>`, and
`best_score` / `best_rung`), writes `ladder.csv` and a bar chart `ladder.png`, and prints the
original leaderboard's simple / medium / strong / boss thresholds for context: they were set on
the course's own data, which the offline substitutes are not, so they are never checked.

    ladder = Ladder(ctx, "hw01")
    with ladder.rung("sample", "TA 的样例模型", "the TA's sample model") as rung:
        rung.score = train_and_score(...)
    ...
    best = ladder.finish()     # the table, files and metrics; returns the best Rung
"""
import csv
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .. import viz
from ..course.table import format_table


@dataclass(frozen=True)
class Board:
    """How a lab is scored, and the original leaderboard's thresholds (None: no official numbers)."""
    metric_zh: str
    metric_en: str
    higher_is_better: bool
    thresholds: tuple = None     # (simple, medium, strong, boss) on the course's data


# From the course's slides (CURRICULUM.md); for context only.
BOARDS = {
    "hw01": Board("均方误差", "MSE", False, (2.28, 1.49, 1.06, 0.86)),
    "hw02": Board("准确率", "accuracy", True, (0.458, 0.697, 0.750, 0.823)),
    "hw03": Board("准确率", "accuracy", True, (0.501, 0.732, 0.819, 0.884)),
    "hw04": Board("准确率", "accuracy", True, (0.608, 0.704, 0.778, 0.865)),
    "hw05": Board("BLEU", "BLEU", True, (14.6, 18.0, 25.2, 29.1)),
    "hw06": Board("FD", "FD", False, (30000, 12000, 10000, 9000)),
    "hw07": Board("精确匹配", "exact match", True, (0.451, 0.658, 0.781, 0.844)),
    "hw08": Board("ROC AUC", "ROC AUC", True),
    "hw09": Board("检查", "checks", True),
    "hw10": Board("黑盒准确率", "black-box accuracy", False, (0.70, 0.50, 0.30, 0.15)),
    "hw11": Board("目标域准确率", "target-domain accuracy", True, (0.446, 0.646, 0.758, 0.806)),
    "hw12": Board("平均回报", "mean reward", True, (0, 100, 170, 270)),
    "hw13": Board("准确率", "accuracy", True, (0.448, 0.648, 0.824, 0.852)),
    "hw14": Board("平均准确率", "average accuracy", True),
    "hw15": Board("准确率", "accuracy", True, (0.6, 0.7, 0.9, 0.95)),
}
LEVELS = ("simple", "medium", "strong", "boss")


@dataclass
class Rung:
    name: str            # short, for metric names: "sample", "l2", "tta"
    technique_zh: str
    technique_en: str
    score: float = None
    seconds: float = 0.0


class Ladder:
    def __init__(self, ctx, lab, board=None):
        if lab not in BOARDS and board is None:
            raise ValueError(f"no leaderboard known for {lab!r}; pass board=Board(...)")
        self.ctx = ctx
        self.lab = lab
        self.board = board or BOARDS[lab]
        self.rungs = []

    @contextmanager
    def rung(self, name, technique_zh, technique_en):
        """Time one rung; set `.score` on what this yields before the block ends."""
        if any(r.name == name for r in self.rungs):
            raise ValueError(f"rung {name!r} is on the ladder twice")
        rung = Rung(name, technique_zh, technique_en)
        start = time.perf_counter()
        yield rung
        rung.seconds = time.perf_counter() - start
        if rung.score is None or not np.isfinite(rung.score):
            raise ValueError(f"rung {name!r} ended without a finite score ({rung.score!r})")
        rung.score = float(rung.score)
        self.rungs.append(rung)
        self.ctx.log(f"rung {len(self.rungs)} {name}: {technique_en}: "
                     f"{self.board.metric_en} {rung.score:.4g} ({rung.seconds:.1f} s)")

    def add(self, name, technique_zh, technique_en, score, seconds=0.0):
        """A rung measured elsewhere (e.g. several rungs from one training run)."""
        with self.rung(name, technique_zh, technique_en) as rung:
            rung.score = score
        rung.seconds = float(seconds)
        return rung

    def best(self):
        pick = max if self.board.higher_is_better else min
        return pick(self.rungs, key=lambda r: r.score)

    def first(self):
        return self.rungs[0]

    def gain(self):
        """How far the best rung is from the first (the sample model), in the direction that is better."""
        sign = 1 if self.board.higher_is_better else -1
        return sign * (self.best().score - self.first().score)

    def finish(self, figure=True):
        """Print and record the table, write ladder.csv (and ladder.png); return the best rung."""
        if not self.rungs:
            raise ValueError("the ladder has no rungs")
        ctx, board, best = self.ctx, self.board, self.best()
        rows = [(i + 1, r.name, r.technique_en, f"{r.score:.4g}", f"{r.seconds:.1f}")
                for i, r in enumerate(self.rungs)]
        ctx.log(format_table(["#", "rung", "technique", board.metric_en, "s"], rows, "><<>>"))
        if board.thresholds:
            beside = ", ".join(f"{level} {t:g}" for level, t in zip(LEVELS, board.thresholds))
            better = "higher" if board.higher_is_better else "lower"
            ctx.log(f"original leaderboard ({board.metric_en}, {better} is better; on the course's own data, "
                    f"for context): {beside}")
        ctx.record(**{f"score_{r.name}": r.score for r in self.rungs})
        ctx.record(best_score=best.score, best_rung=best.name)
        with open(ctx.path("ladder.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["rung", "technique_zh", "technique_en", board.metric_en, "seconds"])
            for r in self.rungs:
                writer.writerow([r.name, r.technique_zh, r.technique_en, f"{r.score:.6g}", f"{r.seconds:.2f}"])
        if figure:
            ctx.save_figure(self.figure(), "ladder.png")
        return best

    def figure(self, reference=None):
        """One dot per rung, first rung at the top, on an axis fitted to the scores (a ladder's
        rungs often differ by a point or two, which bars from zero would hide); a dotted line at
        the sample's score, the best rung in the 'learned' colour. The title spans the figure:
        the bilingual technique names take much of the width, and over the axes alone it would
        run off the edge. reference: the dotted line's label when the first rung is not the
        TA's sample (default "sample model")."""
        board, best = self.board, self.best()
        n = len(self.rungs)
        fig = viz.figure(figsize=(8.5, 1.4 + 0.45 * n), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        scores = np.array([r.score for r in self.rungs])
        lo, hi = scores.min(), scores.max()
        pad = 0.08 * (hi - lo) if hi > lo else 0.05 * (abs(hi) or 1.0)
        ax.axvline(scores[0], color=viz.COLORS["reference"], ls=":", lw=1,
                   label=reference or viz.text("样例模型", "sample model"))
        ax.hlines(y, scores[0], scores, color=viz.COLORS["grid"], lw=3)
        colors = [viz.COLORS["learned"] if r is best else viz.COLORS["data"] for r in self.rungs]
        ax.scatter(scores, y, c=colors, s=60, zorder=3)
        for yi, value in zip(y, scores):
            ax.annotate(f"{value:.4g}", (value, yi), xytext=(0, 7), textcoords="offset points",
                        ha="center", fontsize=9)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(-0.6, n - 0.3)
        ax.set_yticks(y, [viz.text(r.technique_zh, r.technique_en) for r in self.rungs])
        better = viz.text("越高越好", "higher is better") if board.higher_is_better else \
            viz.text("越低越好", "lower is better")
        metric = board.metric_en if board.metric_zh == board.metric_en else viz.text(board.metric_zh, board.metric_en)
        # long rung names leave the axes narrow: a long label then takes two lines, not the margin
        xlabel = f"{metric} ({better})" if len(metric) + len(better) < 36 else f"{metric}\n({better})"
        ax.set(xlabel=xlabel, ylabel=viz.text("技巧", "technique"))    # "FD", not "FD / FD"
        ax.grid(axis="y", visible=False)
        # below the axes: inside, any corner can hold a rung's dot or its value
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center")
        lab = self.lab.upper().replace("HW", "HW ")
        fig.suptitle(viz.text(f"{lab}：逐级加入的技巧", f"{lab}: one technique at a time"))
        return fig
