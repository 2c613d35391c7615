"""Small lessons for the hardening tests, and a way to run them in a real process.

    python tests/hardening_lessons.py run ch99.figures --out DIR --seed 1

registers the lessons below and runs the `mlseries` command on them, so tests can start real
processes (two at once into one folder, SIGKILL mid-run, SIGINT) on lessons that take a second
instead of minutes. With HARDENING_KILL_AT_STEP=N the process kills itself with SIGKILL right
after the N-th training step of the run: a crash between two checkpoints, for the resume test.
"""
import os
import signal
import sys
import time

import numpy as np

import mlseries as ms
from mlseries import nn, viz
from mlseries.course import registry, resume
from mlseries.course.training import fit, train_epoch
from mlseries.datasets.errors import CorruptFileError, DatasetNotFoundError


def figure(value, title):
    fig = viz.figure(figsize=(3, 2), dpi=40)
    ax = fig.subplots()
    ax.plot([0, 1], [value, value])
    ax.set(title=title, xlabel="x", ylabel="y")
    return fig


def figures_run(ctx):
    """Four figures drawn from the seed, slowly (HARDENING_PAUSE seconds each), and the seed in
    a text file: a folder mixing two runs shows up as files that disagree."""
    pause = float(os.environ.get("HARDENING_PAUSE", "0.3"))
    value = float(ctx.rng().normal())
    for i in range(4):
        ctx.save_figure(figure(value + i, f"seed {ctx.seed}, figure {i}"), f"fig{i}.png")
        time.sleep(pause)
    ctx.path("seed.txt").write_text(str(ctx.seed), encoding="utf-8")
    ctx.record(value=value)
    ctx.check("value is finite", np.isfinite(value))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))

    def forward(self, x):
        return self.body(x)


def data(ctx, n=96):
    rng = ctx.rng(5)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def train_run(ctx):
    """Two resumable training loops: `fit` (Adam, a cosine schedule, dropout, noise augmentation
    from a tracked generator) and a hand-written loop keeping its losses in state.vars. Every
    random number comes from a tracked generator, so an interrupted and resumed run must end
    bit for bit where an uninterrupted one does."""
    pause = float(os.environ.get("HARDENING_STEP_PAUSE", "0"))
    x, y = data(ctx)
    ms.manual_seed(ctx.seed)
    model = Net()
    optimizer = ms.optim.Adam(model.parameters(), lr=0.01)
    epochs, batch = 4, 16
    scheduler = ms.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(x) // batch)
    rng, noise = ctx.rng(1), ctx.rng(2)

    def augment(xb):
        time.sleep(pause)
        return xb + noise.normal(0, 0.05, size=xb.shape).astype(np.float32)

    state = ctx.resumable("first", model=model, optimizer=optimizer, scheduler=scheduler, rng=rng, noise=noise)
    history = fit(model, optimizer, (x, y), (x, y), epochs, batch, rng, scheduler=scheduler, augment=augment,
                  log=ctx.log, progress=ctx.progress, desc="first", state=state)

    second = Net()
    opt2 = ms.optim.SGD(second.parameters(), lr=0.05, momentum=0.9)
    state2 = ctx.resumable("second", model=second, optimizer=opt2, rng=rng)
    losses = state2.vars.setdefault("losses", [])
    while len(losses) < 24:
        idx = rng.integers(0, len(x), size=8)
        second.train()
        loss = ms.nn.functional.cross_entropy(second(ms.tensor(x[idx])), ms.tensor(y[idx]))
        opt2.zero_grad()
        loss.backward()
        opt2.step()
        losses.append(loss.item())
        time.sleep(pause)
        state2.step()
    state2.finish()
    ctx.record(train_loss=history["train_loss"], test_acc=history["test_acc"], second_losses=losses,
               after=float(ms.rand(1).item()), numpy_after=float(ctx.rng(9).random()))
    ctx.check("loss fell", history["train_loss"][-1] < history["train_loss"][0])


def nan_run(ctx):
    """A learning rate so large that the loss overflows: the loop must stop with a clear error."""
    x, y = data(ctx)
    ms.manual_seed(0)
    model = Net()
    optimizer = ms.optim.SGD(model.parameters(), lr=1e30)
    for _ in range(5):
        train_epoch(model, optimizer, x, y, 16, ctx.rng(1), desc="nan lesson")


def missing_data_run(ctx):
    raise DatasetNotFoundError("Fashion-MNIST not found in /nowhere: install it with "
                               "`sudo apt-get install dataset-fashion-mnist`")


def corrupt_data_run(ctx):
    raise CorruptFileError("train-images-idx3-ubyte.gz: truncated: the gzip stream ends early [/x]")


def interrupted_run(ctx):
    """Ctrl-C in the middle of a training loop, after a checkpoint."""
    model = Net()
    state = ctx.resumable("loop", model=model)
    state.step()
    ctx.checkpointer.save()
    raise KeyboardInterrupt


def disk_full_run(ctx):
    import errno
    raise OSError(errno.ENOSPC, "No space left on device", str(ctx.stage / "fig0.png"))


def out_of_memory_run(ctx):
    raise MemoryError


def bug_run(ctx):
    return {}["a key that is not there"]


def odd_metrics_run(ctx):
    ctx.record(loss=float("nan"), best=float("inf"), worst=-np.inf, curve=[1.0, float("nan")],
               array=np.array([np.float32(1.5), np.inf], dtype=np.float32), count=np.int64(3),
               pair=(1, 2), nested={"a": {1: np.float32(2.0)}})
    ctx.check("finished", True)


LESSONS = {
    "ch99.figures": figures_run,
    "ch99.train": train_run,
    "ch99.nan": nan_run,
    "ch99.nodata": missing_data_run,
    "ch99.corrupt": corrupt_data_run,
    "ch99.interrupted": interrupted_run,
    "ch99.bug": bug_run,
    "ch99.diskfull": disk_full_run,
    "ch99.memory": out_of_memory_run,
    "ch99.metrics": odd_metrics_run,
}


def register(setitem=None):
    """Add the lessons to the registry (through `setitem(mapping, key, value)`, such as
    monkeypatch.setitem, when given, so a test leaves the registry as it found it)."""
    from mlseries import course
    for id, run in LESSONS.items():
        lesson = course.Lesson(id, "加固测试", f"Hardening test {id}", run, __name__)
        if setitem is None:
            registry._LESSONS[id] = lesson
        else:
            setitem(registry._LESSONS, id, lesson)


def _kill_after(n):
    """SIGKILL this process right after the n-th training step: no cleanup, no last checkpoint."""
    original = resume.TrainingState.step
    count = [0]

    def step(self):
        original(self)
        count[0] += 1
        if count[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)

    resume.TrainingState.step = step


if __name__ == "__main__":
    register()
    if os.environ.get("HARDENING_KILL_AT_STEP"):
        _kill_after(int(os.environ["HARDENING_KILL_AT_STEP"]))
    from mlseries.cli import main
    sys.exit(main(sys.argv[1:], prog_name="mlseries"))
