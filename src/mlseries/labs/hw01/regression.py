"""hw01.regression — HW1 回归：COVID-19 阳性率 / Regression: COVID-19 positive rates, one technique at a time.

**The original lab.** HW1 of ML 2022 Spring gives a table from US COVID-19 surveys: for each state
and stretch of five days, 117 numbers (which state, and per day the share of people with
COVID-like illness, wearing masks, travelling, feeling anxious, ... and the share that tested
positive), and asks for day 5's `tested_positive` (阳性率), scored by mean squared error
(均方误差, MSE) on Kaggle. The TA's sample code trains a small fully connected network (全连接网络)
on every column with plain SGD; the hints for doing better are feature selection (特征选择),
normalisation (归一化), L2 regularisation (L2 正则化), another optimiser (优化器) and early
stopping (早停).

**The offline substitute.** scikit-learn ships a real regression table: the diabetes study
(442 patients; age, sex, BMI, blood pressure and six blood measurements, with their raw units;
the target is the disease's progression a year later). Like the COVID table it is small, tabular,
and has features on very different scales. To make it just as full of columns that do not help,
we add 90 noise columns (噪声特征) with random scales and offsets, and shuffle the columns, so
that only 10 of 100 carry signal. The target is standardised (mean 0, variance 1), so an MSE of 1
is what predicting the mean scores. Kept: a small noisy table where most columns are useless and
raw scales differ by orders of magnitude, which is what the lab's techniques are for. Lost: the
time structure (COVID's `tested_positive` of days 1–4 is by far its best predictor; here no
single column dominates), and the leaderboard's numbers, which were set on the course's data.

**The ladder (阶梯).** Every rung keeps the one before and adds one thing; each is scored on
held-out test rows, averaged over several random train / validation / test splits (one split
of 442 rows is too noisy to tell rungs apart).

1. *sample* — the TA's model: `Linear(d, 16) → ReLU → Linear(16, 8) → ReLU → Linear(8, 1)` on all
   columns as they come, SGD with momentum 0.9, fixed epochs. Raw columns of size ~100 force a
   tiny learning rate, and the noise columns give the network plenty to overfit.
2. *select* — keep the k columns with the largest F statistic against the target
   (`SelectKBest(f_regression)`), chosen on the training rows only (choosing on all rows would
   leak the test set into the model).
3. *normalise* — rescale every kept column to mean 0 and variance 1 with the training rows'
   statistics. All columns then move the loss alike, so a far larger learning rate is stable.
4. *L2* — weight decay (权重衰减) pulls weights towards 0: the network cannot lean on a few
   columns' accidents.
5. *Adam* — per-weight step sizes; faster, and it would overfit sooner.
6. *early stopping* — watch the MSE on validation rows after every epoch and keep the weights of
   the best epoch, not the last.

**With the course's files** (`--data FOLDER` holding `covid.train.csv` and `covid.test.csv`, see
`covid.py`): the same ladder runs on them (its scores are MSE on 25 % of the training rows held
out), and the best rung's model writes `pred.csv` (`id,tested_positive`) for Kaggle.

**What to expect.** On the substitute the sample model stays near the MSE of predicting the mean;
selecting columns helps only a little while they keep their raw scales, normalising is the big
step, and the best rungs (L2, early stopping) reach about half the sample's MSE: the target is
best ≤ 0.8 × sample.

    mlseries run hw01 [--quick]
    mlseries run hw01 --data path/to/folder    # covid.train.csv + covid.test.csv → pred.csv
"""
import time

import numpy as np
from sklearn.datasets import load_diabetes
from matplotlib.patches import Patch
from sklearn.feature_selection import SelectKBest, f_regression

import mlseries as ms
from mlseries import nn, viz

from ...course.registry import lesson
from ..ladder import Ladder
from .covid import read_covid, write_prediction

FULL = dict(repeats=8, epochs=200)
QUICK = dict(repeats=2, epochs=120)
DATA = dict(noise_columns=90, test=0.25, valid=0.2, k=10, k_covid=24, batch=32)
# One dict per rung, each adding one change to the rung before. Learning rates: the TA's 1e-5 for
# raw columns (larger ones diverge on columns of size ~300), and 1e-3 once they are normalised.
RUNGS = [
    ("sample", "TA 样例 MLP", "TA's sample MLP",
     dict(select=False, normalise=False, opt="sgd", lr=1e-5, weight_decay=0.0, early_stop=False)),
    ("select", "特征选择", "feature selection", dict(select=True)),
    ("normalise", "归一化", "normalisation", dict(normalise=True, lr=1e-3)),
    ("l2", "L2 正则化", "L2 penalty", dict(weight_decay=1e-2)),
    ("adam", "Adam 优化器", "Adam optimiser", dict(opt="adam", lr=1e-3)),
    ("early_stop", "早停", "early stopping", dict(early_stop=True)),
]

CAPTIONS = {
    "ladder.png": ("每一级加入一个技巧后的测试 MSE（越低越好）：归一化是最大的一步。",
                   "Test MSE after each technique (lower is better): normalisation is the biggest step."),
    "predictions.png": ("测试行的预测与真实值：样例模型几乎只会猜均值，最佳模型沿着对角线分布。",
                        "Predicted against true on test rows: the sample model hardly moves off the mean; "
                        "the best one follows the diagonal."),
    "selection.png": ("训练行上每一列的 F 统计量：被选中的列（红）大多是真实特征，噪声列几乎都被丢弃。",
                      "Each column's F statistic on the training rows: the selected ones (red) are mostly "
                      "the real features; nearly every noise column is dropped."),
    "curves.png": ("验证 MSE 随轮次变化：Adam 很快到达最低点，随后开始过拟合，早停就停在最低点。",
                   "Validation MSE by epoch: Adam reaches its lowest point quickly and then overfits; "
                   "early stopping keeps that lowest point."),
}


# ---------------------------------------------------------------- data

def substitute(rng, noise_columns):
    """The diabetes table in raw units with `noise_columns` noise columns, columns shuffled.
    Returns x (442, 10 + noise) float32, y standardised float32, names, real (bool per column)."""
    data = load_diabetes(scaled=False)
    x, y = data.data, data.target
    n = len(x)
    scales = np.exp(rng.uniform(np.log(0.5), np.log(100.0), noise_columns))   # from 0.5 to 100
    offsets = rng.uniform(0.0, 3.0, noise_columns) * scales                   # positive, like shares
    noise = rng.normal(size=(n, noise_columns)) * scales + offsets
    x = np.concatenate([x, noise], axis=1)
    names = list(data.feature_names) + [f"noise{i}" for i in range(noise_columns)]
    real = np.arange(x.shape[1]) < x.shape[1] - noise_columns
    order = rng.permutation(x.shape[1])
    y = (y - y.mean()) / y.std()
    return x[:, order].astype(np.float32), y.astype(np.float32), [names[i] for i in order], real[order]


def split(n, rng, test, valid):
    """Index arrays (train, valid, test) of a random split of range(n)."""
    order = rng.permutation(n)
    n_test, n_valid = int(round(test * n)), int(round(valid * n))
    return order[n_test + n_valid:], order[n_test:n_test + n_valid], order[:n_test]


class Features:
    """The column pipeline a rung uses, fitted on training rows only: select k columns, normalise."""

    def __init__(self, x, y, select, normalise, k):
        self.columns = np.arange(x.shape[1])
        if select:
            self.selector = SelectKBest(f_regression, k=min(k, x.shape[1])).fit(x, y)
            self.columns = np.flatnonzero(self.selector.get_support())
        kept = x[:, self.columns]
        self.mean = kept.mean(axis=0) if normalise else 0.0
        self.std = kept.std(axis=0) + 1e-8 if normalise else 1.0

    def __call__(self, x):
        return ((x[:, self.columns] - self.mean) / self.std).astype(np.float32)   # (N, k)


# ---------------------------------------------------------------- model and training

def sample_model(d):
    """The TA's sample network: d → 16 → 8 → 1 with ReLUs."""
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))


def predict(model, x):
    model.eval()
    with ms.no_grad():
        return model(ms.tensor(x)).numpy()[:, 0]                          # (N,)


def mse(pred, y):
    return float(np.mean((pred - y) ** 2))


def train(model, cfg, x, y, x_valid, y_valid, epochs, rng, batch):
    """Mini-batch training on the MSE; returns the validation MSE after each epoch. With
    cfg["early_stop"] the model ends with the weights of its best validation epoch."""
    make = ms.optim.SGD if cfg["opt"] == "sgd" else ms.optim.Adam
    extra = dict(momentum=0.9) if cfg["opt"] == "sgd" else {}
    optimizer = make(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"], **extra)
    history, best, best_state = [], np.inf, None
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            out = model(ms.tensor(x[idx]))[:, 0]                              # (B,)
            loss = ((out - ms.tensor(y[idx])) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append(mse(predict(model, x_valid), y_valid))
        if not np.isfinite(history[-1]):
            raise ArithmeticError(f"the validation MSE became {history[-1]}: the learning rate {cfg['lr']} "
                                  "is too large for these columns")
        if history[-1] < best:
            best = history[-1]
            best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    if cfg["early_stop"]:
        model.load_state_dict({k: ms.tensor(v) for k, v in best_state.items()})
    return history


def climb(ctx, x, y, k, repeats, epochs):
    """Every rung on `repeats` random splits. Returns {rung: dict(scores, seconds, runs)} where
    runs holds, per split, (features, model, test index, test predictions, history)."""
    results, cfg = {}, {}
    for name, _, en, change in RUNGS:
        cfg = {**cfg, **change}
        results[name] = dict(scores=[], runs=[], cfg=dict(cfg))
        start = time.perf_counter()
        for r in range(repeats):
            train_i, valid_i, test_i = split(len(x), ctx.rng(100 + r), DATA["test"], DATA["valid"])
            features = Features(x[train_i], y[train_i], cfg["select"], cfg["normalise"], k)
            ms.manual_seed(ctx.seed * 1000 + r)                          # same start per split
            model = sample_model(len(features.columns))
            history = train(model, cfg, features(x[train_i]), y[train_i], features(x[valid_i]), y[valid_i],
                            epochs, ctx.rng(200 + r), DATA["batch"])
            pred = predict(model, features(x[test_i]))
            results[name]["scores"].append(mse(pred, y[test_i]))
            results[name]["runs"].append((features, model, test_i, pred, history))
        results[name]["seconds"] = time.perf_counter() - start
        ctx.log(f"{en}: test MSE per split {np.round(results[name]['scores'], 3).tolist()}")
    return results


# ---------------------------------------------------------------- figures

def plot_predictions(y, results, first, best):
    fig = viz.figure(figsize=(9.0, 4.2))
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax, (name, label) in zip(axes, [first, best]):
        _, _, test_i, pred, _ = results[name]["runs"][0]
        ax.scatter(y[test_i], pred, s=12, alpha=0.7, color=viz.COLORS["data"])
        lo, hi = float(y.min()), float(y.max())
        ax.plot([lo, hi], [lo, hi], color=viz.COLORS["reference"], lw=1, label=viz.text("完美预测", "perfect"))
        ax.set(title=f"{label}\nMSE {results[name]['scores'][0]:.3f}",
               xlabel=viz.text("真实值", "true"), ylabel=viz.text("预测值", "predicted"))
        ax.legend(loc="upper left")
    fig.suptitle(viz.text("测试行：预测与真实（第一次划分）", "Test rows: predicted vs true (first split)"))
    return fig


def plot_selection(features, real):
    scores = features.selector.scores_
    order = np.argsort(scores)[::-1]
    chosen = np.isin(order, features.columns)
    fig = viz.figure(figsize=(9.0, 3.8))
    ax = fig.add_subplot()
    colors = [viz.COLORS["learned"] if c else viz.COLORS["grid"] for c in chosen]
    ax.bar(np.arange(len(order)), scores[order], color=colors, edgecolor=[
        viz.COLORS["reference"] if real[i] else "none" for i in order], linewidth=1.2)
    ax.set_yscale("log")
    handles = [Patch(color=viz.COLORS["learned"], label=viz.text("被选中", "selected")),
               Patch(facecolor="white", edgecolor=viz.COLORS["reference"],
                     label=viz.text("真实特征（黑框）", "real feature (black edge)"))]
    ax.set(title=viz.text("特征选择：每一列的 F 统计量（训练行）", "Feature selection: each column's F statistic (training rows)"),
           xlabel=viz.text("列（按 F 排序）", "column (sorted by F)"), ylabel=viz.text("F 统计量", "F statistic"))
    ax.legend(handles=handles, loc="upper right")
    return fig


def plot_curves(results, names):
    fig = viz.figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot()
    for name, label in names:
        history = results[name]["runs"][0][4]
        ax.plot(np.arange(1, len(history) + 1), history, label=label)
    ax.set(title=viz.text("验证 MSE（第一次划分）", "Validation MSE (first split)"),
           xlabel=viz.text("轮次", "epoch"), ylabel=viz.text("验证 MSE", "validation MSE"))
    ax.legend(loc="upper right")
    return fig


# ---------------------------------------------------------------- the lab

@lesson("hw01.regression", "HW1 回归：COVID-19 阳性率", "HW1 regression: COVID-19 positive rates",
        data="a folder with the course's covid.train.csv and covid.test.csv")
def run(ctx):
    cfg = QUICK if ctx.quick else FULL
    if ctx.data is None:
        x, y, names, real = substitute(ctx.rng(1), DATA["noise_columns"])
        k, repeats = DATA["k"], cfg["repeats"]
        ctx.log(f"substitute: scikit-learn's diabetes table, {int(real.sum())} real + {int((~real).sum())} noise "
                f"columns, {len(x)} rows; target standardised")
    else:
        covid = read_covid(ctx.data)
        x, y, names = covid["x"], covid["y"], covid["names"]
        real, k, repeats = None, DATA["k_covid"], 1
        ctx.log(f"{ctx.data}: {len(x)} training rows, {x.shape[1]} feature columns, {len(covid['x_test'])} test rows")
    results = climb(ctx, x, y, k, repeats, cfg["epochs"])

    ladder = Ladder(ctx, "hw01")
    for name, zh, en, _ in RUNGS:
        ladder.add(name, zh, en, float(np.mean(results[name]["scores"])), results[name]["seconds"])
    best = ladder.finish()
    sample = ladder.first().score
    ctx.record(mse_ratio=best.score / sample)
    if ctx.data is None:
        ctx.check("best MSE ≤ 0.8 × the sample model's", best.score <= 0.8 * sample)
        labels = {n: viz.text(zh, en) for n, zh, en, _ in RUNGS}
        ctx.save_figure(plot_predictions(y, results, ("sample", labels["sample"]), (best.name, labels[best.name])),
                        "predictions.png")
        ctx.save_figure(plot_selection(results["select"]["runs"][0][0], real), "selection.png")
        picked = sum(real[results["select"]["runs"][0][0].columns])
        ctx.record(real_columns_selected=int(picked))
        ctx.log(f"feature selection kept {picked} of the {int(real.sum())} real columns among its {k}")
        ctx.save_figure(plot_curves(results, [(n, labels[n]) for n in ("normalise", "l2", "adam")]), "curves.png")
    else:
        features, model = results[best.name]["runs"][0][:2]
        pred = predict(model, features(covid["x_test"]))
        write_prediction(ctx.path("pred.csv"), covid["test_ids"], pred)
        ctx.log(f"pred.csv: {len(pred)} predictions from the best rung ({best.name}) for Kaggle")
