"""How many cores the engine uses: as many as the rest of the machine leaves idle, without ever
changing a result.

Two measured facts shape this. First, OpenBLAS splits each matrix product between one thread per
core and waits for the slowest: when another program keeps a core busy, the thread sharing that
core gets a fraction of it while the others spin, and on a 2-core machine with one competing
CPU-bound process a CNN training step went from 27 ms (one BLAS thread) to 274 ms (two).
Second, OpenBLAS's answer depends on how a product is split: the same float32 product computed
with one thread, with two, or as two halves of its rows differs in the last bits. So letting
BLAS choose its threads by load would make the same seed give different weights on a busy and on
an idle machine.

Hence: BLAS always runs on one thread, and the engine splits its large products and image
primitives itself (`_parallel.py`) into a number of parts fixed by the shapes and the machine's
core count, never by load. How many of those parts run at once is what adapts: every half second
(checked where operations start) the engine compares the CPU time the whole machine used
(/proc/stat) with what this process used, and runs parts on as many threads as the rest of the
machine leaves cores idle. Results are the same either way.

An explicit choice wins: `mlseries.set_num_threads(n)` caps the threads; `OMP_NUM_THREADS` or
`OPENBLAS_NUM_THREADS` in the environment (or `MLSERIES_ADAPTIVE_THREADS=0`) leave BLAS as the
user set it and the engine on one thread.
"""
import functools
import math
import os
import time

_INTERVAL = 0.5  # seconds between looks at the machine
_state = {"next": 0.0, "cap": None, "controllers": None, "threads": None, "sample": None, "enabled": None}


@functools.cache
def cores():
    # asked on every split operation; os.cpu_count() reads /sys each time (~5 µs here)
    return os.cpu_count() or 1


def _controllers():
    if _state["controllers"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _state["controllers"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # threadpoolctl missing or no BLAS found: nothing to pin
            _state["controllers"] = []
    return _state["controllers"]


def _machine_sample():
    """(wall seconds, CPU seconds used by the whole machine, CPU seconds used by this process)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # everything but idle and iowait
    own = os.times()
    return time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def _enabled():
    """Whether the engine manages threads (first call: pin BLAS to one thread)."""
    if _state["enabled"] is None:
        explicit = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
        _state["enabled"] = os.environ.get("MLSERIES_ADAPTIVE_THREADS", "1") != "0" and not explicit
        if _state["enabled"]:
            for c in _controllers():
                c.set_num_threads(1)
            if _state["cap"] is None:
                _state["cap"] = cores()
            _state["threads"] = _state["cap"]
        else:
            _state["threads"] = 1
    return _state["enabled"]


def threads_for(others, cores, cap):
    """Threads to use when the rest of the machine keeps `others` cores busy: the cores left
    over, rounding a part-busy core down to busy once it is about a third used."""
    free = cores - max(0, math.ceil(others - 0.3))
    return max(1, min(cap, free))


def adapt(now=None):
    """Look at the machine if it is time, and set how many threads may work at once; cheap otherwise."""
    now = time.monotonic() if now is None else now
    if now < _state["next"]:
        return
    _state["next"] = now + _INTERVAL
    if not _enabled():
        return
    sample = _machine_sample()
    previous, _state["sample"] = _state["sample"], sample
    if sample is None or previous is None or sample[0] - previous[0] <= 0:
        return
    wall = sample[0] - previous[0]
    others = ((sample[1] - previous[1]) - (sample[2] - previous[2])) / wall  # cores busy with other work
    _state["threads"] = threads_for(others, cores(), _state["cap"])


def set_cap(n):
    """The most threads to use from now on (mlseries.set_num_threads). Where the user's
    environment fixed BLAS's threads, this sets BLAS's instead, as before."""
    n = max(1, int(n))
    _state["cap"] = n
    if _enabled():
        _state["threads"] = min(_state["threads"] or 1, n)
    else:
        for c in _controllers():
            c.set_num_threads(n)


def current():
    """How many threads may work at once now."""
    _enabled()
    return _state["threads"]
