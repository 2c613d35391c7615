"""Where one training step of a benchmark workload spends its time, in the engine.

    python -m benchmarks.profile_step cnn [--steps 20] [--threads 1]

Times each phase (forward, backward, optimiser step) and, inside forward and backward, the array
work of every primitive (the `forward` of each `Function` subclass, whichever pass calls it);
what is left of a phase is Python: modules, tensor wrappers, graph bookkeeping, small NumPy calls
outside the primitives. The docs' "Where the time goes" tables come from this.
"""
import argparse
import collections
import time

from mlseries import _tensor
from mlseries.bench import WORKLOADS, _limit_threads


def profile(name, steps=20, warmup=3):
    work = WORKLOADS[name]("mlseries")
    for _ in range(warmup):
        work.step()
    per_op = collections.defaultdict(float)
    count = collections.Counter()
    phase = ["forward"]
    original = _tensor.Function.__dict__["apply"]

    def timed(cls, *inputs, **params):
        start = time.perf_counter()
        try:
            return original.__func__(cls, *inputs, **params)
        finally:
            key = (phase[0], cls.__name__)
            per_op[key] += time.perf_counter() - start
            count[key] += 1

    phases = collections.defaultdict(float)
    _tensor.Function.apply = classmethod(timed)
    try:
        for _ in range(steps):
            t0 = time.perf_counter()
            phase[0] = "forward"
            loss = work.loss()
            t1 = time.perf_counter()
            phase[0] = "backward"
            work.opt.zero_grad()
            loss.backward()
            t2 = time.perf_counter()
            work.opt.step()
            loss.item()
            t3 = time.perf_counter()
            phases["forward"] += t1 - t0
            phases["backward"] += t2 - t1
            phases["optimizer"] += t3 - t2
    finally:
        _tensor.Function.apply = original
    ms = {k: v / steps * 1e3 for k, v in phases.items()}
    ops = {k: v / steps * 1e3 for k, v in per_op.items()}
    return ms, ops, {k: v // steps for k, v in count.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, help="cap NumPy's BLAS threads")
    args = parser.parse_args(argv)
    if args.threads:
        _limit_threads(args.threads)
    phases, ops, calls = profile(args.workload, args.steps)
    total = sum(phases.values())
    print(f"{args.workload}: {total:.1f} ms per step (mean of {args.steps} steps)")
    for p in ("forward", "backward"):
        inside = sum(v for (ph, _), v in ops.items() if ph == p)
        print(f"  {p:9s} {phases[p]:7.1f} ms   primitives {inside:6.1f} ms   the rest (Python) {phases[p] - inside:5.1f} ms")
    print(f"  optimizer {phases['optimizer']:7.1f} ms   (in-place NumPy updates, no graph)")
    print("  primitive (pass, calls per step): ms per step")
    for (p, op), v in sorted(ops.items(), key=lambda kv: -kv[1]):
        if v >= 0.05:
            print(f"    {op:18s} {p:8s} x{calls[(p, op)]:<3d} {v:7.2f}")


if __name__ == "__main__":
    main()
