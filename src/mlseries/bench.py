"""Benchmarks: a training step of the engine and of PyTorch, side by side in one process.

Both frameworks get the same model, the same initial weights and the same batch. Steps are timed
in alternating blocks (engine, torch, engine, ...) so that whatever else the machine is doing
falls on both; the reported figure is the median block. Each block starts after a short pause,
so neither framework's idle worker threads are still spinning when the other one runs. Peak memory is measured separately, in a
fresh child process per framework (peak resident memory while stepping, minus the resident memory
before the first step), because one process cannot tell whose pages are whose.

    mlseries bench                # all workloads
    mlseries bench mlp --rounds 9
    mlseries bench cnn --busy     # also while another CPU-bound program runs
    python -m benchmarks          # the same, from a checkout
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

WORKLOADS = {}


def workload(name, description, target):
    def register(cls):
        cls.name, cls.description, cls.target = name, description, target
        WORKLOADS[name] = cls
        return cls
    return register


@workload("mlp", "MLP 784-512-512-10, batch 100, Adam 1e-3, cross-entropy", 1.25)
class MLPStep:
    """The seed 003 network: one optimiser step per call."""

    sizes = (784, 512, 512, 10)
    batch = 100

    def __init__(self, framework, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((self.batch, self.sizes[0])).astype(np.float32)
        self.y = rng.integers(0, self.sizes[-1], self.batch)
        weights = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1 / np.sqrt(fan_in)
            weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
            weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
        self.framework = framework
        if framework == "mlseries":
            import mlseries as T
            from mlseries import nn, optim
        else:
            import torch as T
            from torch import nn, optim
        self.T = T
        layers = []
        for i in range(len(self.sizes) - 1):
            layers += [nn.Linear(self.sizes[i], self.sizes[i + 1]), nn.ReLU()]
        self.model = nn.Sequential(*layers[:-1])
        with T.no_grad():
            for p, w in zip(self.model.parameters(), weights):
                p.copy_(T.tensor(w))
        self.opt = optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.xt, self.yt = T.tensor(self.x), T.tensor(self.y)

    def loss(self):
        return self.loss_fn(self.model(self.xt), self.yt)

    def step(self):
        loss = self.loss()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


class _ImageStep:
    """A classifier training step on random images: the same architecture in both frameworks
    (built by `build(nn, F)`), weights drawn from one seeded NumPy stream, Adam, cross-entropy."""

    input_shape = ()
    classes = 10

    @classmethod
    def inputs(cls, rng):
        """(inputs, class targets) as NumPy arrays."""
        return rng.standard_normal(cls.input_shape).astype(np.float32), rng.integers(0, cls.classes, cls.input_shape[0])

    def __init__(self, framework, seed=0):
        rng = np.random.default_rng(seed)
        self.x, self.y = self.inputs(rng)
        self.framework = framework
        if framework == "mlseries":
            import mlseries as T
            from mlseries import nn, optim
        else:
            import torch as T
            from torch import nn, optim
        self.T = T
        self.model = self.build(nn, nn.functional)
        with T.no_grad():
            for name, p in self.model.named_parameters():
                p.copy_(T.tensor(_initial_value(name, tuple(p.shape), rng)))
        self.opt = optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.xt, self.yt = T.tensor(self.x), T.tensor(self.y)

    loss, step = MLPStep.loss, MLPStep.step  # the same training step: forward, loss, zero_grad, backward, Adam


def _initial_value(name, shape, rng):
    """PyTorch-like init: weights U(±1/√fan_in); a norm layer's scale near 1, biases near 0."""
    if len(shape) >= 2:
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    parts = name.split(".")
    norm_scale = len(parts) > 1 and parts[-2].startswith(("bn", "ln")) and name.endswith("weight")
    centre = 1.0 if norm_scale else 0.0
    return (centre + rng.uniform(-0.1, 0.1, shape)).astype(np.float32)


@workload("cnn", "ch07.cnn: conv(1→32)-relu-pool-conv(32→64)-relu-pool-fc(3136→128)-fc(10), batch 64×1×28×28, "
          "Adam, cross-entropy", 1.2)
class CNNStep(_ImageStep):
    input_shape = (64, 1, 28, 28)

    @staticmethod
    def build(nn, F):
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


@workload("resblock", "ResNet basic block (conv3×3-BN-relu-conv3×3-BN + identity, relu), 64 channels, "
          "batch 32×64×16×16, global-average-pool + linear head, Adam, cross-entropy", 2.5)
class ResBlockStep(_ImageStep):
    input_shape = (32, 64, 16, 16)

    @staticmethod
    def build(nn, F):
        class BasicBlock(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
                self.bn1 = nn.BatchNorm2d(channels)
                self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
                self.bn2 = nn.BatchNorm2d(channels)

            def forward(self, x):
                out = F.relu(self.bn1(self.conv1(x)))  # (B, 64, 16, 16)
                out = self.bn2(self.conv2(out))
                return F.relu(out + x)

        return nn.Sequential(BasicBlock(64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


class _SequenceStep(_ImageStep):
    """A training step on random token batches: `build(nn, F)` gives the model, `inputs(rng)` the
    (tokens, targets) arrays, and the loss is cross-entropy over `logits.view(-1, classes)`."""

    def loss(self):
        logits = self.model(self.xt)
        return self.loss_fn(logits.reshape(-1, logits.shape[-1]), self.yt.reshape(-1))


@workload("lstm", "Embedding(5000, 128) → LSTM(128, 128, batch_first) → last step → Linear(2), "
          "batch 64 × 50 tokens, Adam, cross-entropy", 1.5)
class LSTMStep(_SequenceStep):
    @staticmethod
    def inputs(rng):
        return rng.integers(0, 5000, (64, 50)), rng.integers(0, 2, 64)

    @staticmethod
    def build(nn, F):
        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(5000, 128)
                self.lstm = nn.LSTM(128, 128, batch_first=True)
                self.fc = nn.Linear(128, 2)

            def forward(self, tokens):
                out, _ = self.lstm(self.embedding(tokens))  # (B, T, 128)
                return self.fc(out[:, -1])  # (B, 2)

        return Classifier()


@workload("gpt", "nanoGPT's CPU configuration: 4 pre-norm layers, 4 heads, width 128, context 64, "
          "vocabulary 65, GELU, causal attention, tied head, batch 12, Adam, cross-entropy", 1.5)
class GPTStep(_SequenceStep):
    vocab, block, width, heads, layers = 65, 64, 128, 4, 4

    @classmethod
    def inputs(cls, rng):
        data = rng.integers(0, cls.vocab, (12, cls.block + 1))
        return data[:, :-1], data[:, 1:]

    @classmethod
    def build(cls, nn, F):
        width, heads, block = cls.width, cls.heads, cls.block

        class CausalSelfAttention(nn.Module):
            def __init__(self):
                super().__init__()
                self.c_attn = nn.Linear(width, 3 * width, bias=False)
                self.c_proj = nn.Linear(width, width, bias=False)

            def forward(self, x):
                B, T, C = x.shape
                q, k, v = self.c_attn(x).split(width, dim=2)  # 3 × (B, T, C)
                q = q.view(B, T, heads, C // heads).transpose(1, 2)  # (B, nh, T, hs)
                k = k.view(B, T, heads, C // heads).transpose(1, 2)
                v = v.view(B, T, heads, C // heads).transpose(1, 2)
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
                return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1 = nn.LayerNorm(width, bias=False)
                self.attn = CausalSelfAttention()
                self.ln_2 = nn.LayerNorm(width, bias=False)
                self.c_fc = nn.Linear(width, 4 * width, bias=False)
                self.c_proj = nn.Linear(4 * width, width, bias=False)

            def forward(self, x):
                x = x + self.attn(self.ln_1(x))
                return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.wte = nn.Embedding(cls.vocab, width)
                self.wpe = nn.Embedding(block, width)
                self.h = nn.ModuleList([Block() for _ in range(cls.layers)])
                self.ln_f = nn.LayerNorm(width, bias=False)
                self.lm_head = nn.Linear(width, cls.vocab, bias=False)
                self.lm_head.weight = self.wte.weight  # weight tying, as GPT-2

            def forward(self, idx):
                pos = self.wpe.weight[:idx.shape[1]]  # (T, C)
                x = self.wte(idx) + pos  # (B, T, C)
                for blk in self.h:
                    x = blk(x)
                return self.lm_head(self.ln_f(x))  # (B, T, vocab)

        return GPT()


def _limit_threads(threads):
    # Both frameworks on at most `threads` threads: PyTorch's intra-op pool, and the engine's own
    # (NumPy's BLAS already runs on one thread under the engine).
    import mlseries
    mlseries.set_num_threads(threads)  # stays in force for the rest of the process


def _time_block(step, n, settle=0.2, warm=3):
    # NumPy's OpenBLAS threads keep spinning for a while after their last call, and PyTorch's
    # OpenMP threads likewise; on a 2-core machine that spinning steals a core from whichever
    # framework runs next. Letting the pools fall asleep before each block keeps the comparison fair.
    # After that pause the first steps run slower (measured on the 2-core VM: the engine's CNN
    # step 22-27 ms for three steps, then 16; PyTorch's 15.5 ms for one step, then 13) whatever
    # the thread count, with no page faults: caches and cores waking up. A training loop runs its
    # steps back to back, so `warm` untimed steps come first and the block times the steady state.
    time.sleep(settle)
    for _ in range(warm):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def _competitor():
    """Another CPU-bound program, as on a learner's busy laptop: a Python loop that never sleeps."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _alternate(engine, reference, rounds, steps):
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(_time_block(engine.step, steps))
        theirs.append(_time_block(reference.step, steps))
    return statistics.median(ours), statistics.median(theirs)


def time_workload(name, rounds=7, steps=10, warmup=3, threads=None, busy=False):
    """Median seconds per step for the engine and for PyTorch, timed alternately in this process.
    `threads` caps both: PyTorch's intra-op pool and NumPy's BLAS (default: one per core). With
    `busy`, the same is timed again while a competing CPU-bound process runs; the result is then
    (idle engine, idle torch, busy engine, busy torch)."""
    import torch
    torch.set_num_threads(threads or os.cpu_count() or 1)
    if threads:
        _limit_threads(threads)
    cls = WORKLOADS[name]
    engine, reference = cls("mlseries"), cls("torch")
    for _ in range(warmup):
        engine.step()
        reference.step()
    idle = _alternate(engine, reference, rounds, steps)
    if not busy:
        return idle
    other = _competitor()
    try:
        time.sleep(1.5)  # long enough for the engine to notice the competitor (it looks every 0.5 s)
        for _ in range(warmup):
            engine.step()
            reference.step()
        loaded = _alternate(engine, reference, rounds, steps)
    finally:
        other.kill()
        other.wait()
    return idle + loaded


def _peak_memory_child(name, framework, steps):
    """Run in a child process: peak RSS growth (bytes) over `steps` training steps."""
    cls = WORKLOADS[name]
    if framework == "torch":
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
    w = cls(framework)
    before = _rss_kib("VmRSS")
    for _ in range(steps):
        w.step()
    return (_rss_kib("VmHWM") - before) * 1024


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory(name, framework, steps=5):
    if not os.path.exists("/proc/self/status"):
        return None
    code = f"from mlseries.bench import _peak_memory_child as f; print(f({name!r}, {framework!r}, {steps}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _mib(n):
    return "n/a" if n is None else f"{n / 2**20:.1f} MiB"


def run(names=None, rounds=7, steps=10, memory=True, out=print, threads=None, busy=False):
    names = names or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    rows = []
    for name in names:
        times = time_workload(name, rounds=rounds, steps=steps, threads=threads, busy=busy)
        ours, theirs = times[:2]
        row = {"workload": name, "description": WORKLOADS[name].description,
               "mlseries_ms": ours * 1e3, "torch_ms": theirs * 1e3, "ratio": ours / theirs,
               "target": WORKLOADS[name].target}
        if memory:
            row["mlseries_peak_bytes"] = peak_memory(name, "mlseries")
            row["torch_peak_bytes"] = peak_memory(name, "torch")
        rows.append(row)
        verdict = "meets" if row["ratio"] <= row["target"] else "misses"
        out(f"{name:8s} {row['description']}\n"
            f"         mlseries {ours * 1e3:8.2f} ms/step   torch {theirs * 1e3:8.2f} ms/step   "
            f"ratio {row['ratio']:.2f}x ({verdict} target ≤ {row['target']}x)")
        if busy:
            b_ours, b_theirs = times[2:]
            row.update(busy_mlseries_ms=b_ours * 1e3, busy_torch_ms=b_theirs * 1e3,
                       mlseries_slowdown=b_ours / ours, torch_slowdown=b_theirs / theirs)
            worse = "no more than" if row["mlseries_slowdown"] <= row["torch_slowdown"] * 1.1 else "MORE than"
            out(f"         busy (one competing CPU-bound process): mlseries {b_ours * 1e3:8.2f} ms/step "
                f"({row['mlseries_slowdown']:.2f}x idle), torch {b_theirs * 1e3:8.2f} ms/step "
                f"({row['torch_slowdown']:.2f}x idle): the engine slows down {worse} PyTorch")
        if memory:
            out(f"         peak memory while training: mlseries {_mib(row['mlseries_peak_bytes'])}, "
                f"torch {_mib(row['torch_peak_bytes'])}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="mlseries bench", description=__doc__.split("\n")[0])
    parser.add_argument("workloads", nargs="*", help=f"any of: {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating timing blocks per framework")
    parser.add_argument("--steps", type=int, default=10, help="training steps per block")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--threads", type=int, help="cap PyTorch's and NumPy's BLAS threads for the timing "
                                                    "(default: one per core)")
    parser.add_argument("--busy", action="store_true", help="time each workload again while a competing "
                                                            "CPU-bound process runs, and compare the slowdowns")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("mlseries bench compares against PyTorch: install it first "
                         "(pip install torch==2.13.0 for the CPU build)") from None
    rows = run(args.workloads, rounds=args.rounds, steps=args.steps, memory=not args.no_memory,
               threads=args.threads, busy=args.busy)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0
