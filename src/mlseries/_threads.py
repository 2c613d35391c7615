"""How many threads NumPy's BLAS may use, adapted to how busy the machine is.

OpenBLAS splits each matrix product between one thread per core and waits for the slowest. When
another program keeps a core busy, the thread that shares that core gets a fraction of it, and
the others spin while they wait for it; measured on a 2-core machine with one competing
CPU-bound process, a CNN training step went from 27 ms with one BLAS thread to 274 ms with two.
PyTorch suffers the same way, less badly. Learners' laptops are busy, and nobody should need to
know about thread settings, so the engine watches the machine: every half second (checked where
matrix products start) it compares the CPU time the whole machine used (/proc/stat) with what
this process used, and gives BLAS only the cores that the rest of the machine leaves idle.

An explicit choice always wins: `mlseries.set_num_threads(n)`, `OMP_NUM_THREADS` /
`OPENBLAS_NUM_THREADS`, or a threadpoolctl limit in force when the engine first looks set the
most threads it will use; `MLSERIES_ADAPTIVE_THREADS=0` turns the adaptation off.
"""
import math
import os
import time

_INTERVAL = 0.5  # seconds between looks at the machine
_state = {"next": 0.0, "cap": None, "controllers": None, "threads": None, "sample": None, "enabled": None}


def _controllers():
    if _state["controllers"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _state["controllers"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # threadpoolctl missing or no BLAS found: nothing to adapt
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
    if _state["enabled"] is None:
        explicit = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"))
        _state["enabled"] = (os.environ.get("MLSERIES_ADAPTIVE_THREADS", "1") != "0" and not explicit
                             and os.path.exists("/proc/stat") and bool(_controllers()))
        if _state["enabled"]:
            _state["cap"] = max(c.num_threads for c in _controllers())
            _state["threads"] = _state["cap"]
    return _state["enabled"]


def threads_for(others, cores, cap):
    """BLAS threads to use when the rest of the machine keeps `others` cores busy: the cores left
    over, rounding a part-busy core down to busy once it is about a third used."""
    free = cores - max(0, math.ceil(others - 0.3))
    return max(1, min(cap, free))


def adapt(now=None):
    """Look at the machine if it is time, and set the BLAS thread count; cheap otherwise."""
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
    n = threads_for(others, os.cpu_count() or 1, _state["cap"])
    if n != _state["threads"]:
        for c in _controllers():
            c.set_num_threads(n)
        _state["threads"] = n


def set_cap(n):
    """The most BLAS threads to use from now on (mlseries.set_num_threads)."""
    _enabled()
    _state["cap"] = n
    _state["threads"] = n
    for c in _controllers():
        c.set_num_threads(n)


def current():
    """The BLAS threads the engine last chose (None before it first looked)."""
    return _state["threads"]
