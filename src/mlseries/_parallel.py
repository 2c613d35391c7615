"""Large matrix products and the image primitives, split into parts that idle cores work on.

BLAS runs on one thread (see `_threads.py` for why), so the engine splits big work itself. The
split depends only on the shapes and the machine's core count — never on how busy the machine is
— so a result is the same whether its parts ran at once or one after another. NumPy releases the
interpreter lock in BLAS calls, copies and ufunc loops, so Python threads that take a part each
do run at once; on a busy machine `_threads` allows one thread and the parts run in turn on the
calling thread, with no hand-offs.
"""
import concurrent.futures
import threading

import numpy as np

from . import _threads

_MIN_FLOPS = 1 << 25  # a product smaller than ~34 MFLOP (~0.3 ms on one core) is not worth a hand-off
_pool = {"executor": None, "size": 0}
_lock = threading.Lock()
_local = threading.local()  # marks threads already inside a split: they must not split again


def workers():
    """How many threads may work on parts now."""
    if getattr(_local, "inside", False):
        return 1
    return _threads.current() or 1


def n_parts(rows, min_rows=1):
    """How many parts `rows` rows are split into: one per core, at least `min_rows` rows each."""
    return max(1, min(_threads.cores(), 8, rows // max(1, min_rows)))


def _executor(size):
    with _lock:
        if _pool["size"] < size:
            if _pool["executor"] is not None:
                _pool["executor"].shutdown(wait=False)
            _pool["executor"] = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="mlseries")
            _pool["size"] = size
        return _pool["executor"]


def run_parts(fn, parts):
    """[fn(part) for part in parts], with up to `workers()` threads taking parts in turn."""
    w = min(workers(), len(parts))
    if w <= 1 or getattr(_local, "inside", False):
        return [fn(part) for part in parts]
    results = [None] * len(parts)
    order = iter(range(len(parts)))
    take = threading.Lock()

    def runner():
        _local.inside = True
        try:
            while True:
                with take:
                    i = next(order, None)
                if i is None:
                    return
                results[i] = fn(parts[i])
        finally:
            _local.inside = False

    futures = [_executor(_threads.cores() - 1).submit(runner) for _ in range(w - 1)]
    try:
        runner()
    finally:
        for f in futures:
            f.result()
    return results


def row_slices(n, min_rows=1):
    """The fixed split of range(n) into consecutive slices (see n_parts)."""
    k = n_parts(n, min_rows)
    bounds = [round(i * n / k) for i in range(k + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def over_batch(n, fn, min_rows=2):
    """fn(slice) over the fixed split of a batch of n, in order."""
    return run_parts(fn, row_slices(n, min_rows))


MIN_ELEMENTS = 1 << 18  # an elementwise pass over fewer (~0.1 ms on one core) is not worth a hand-off


def large(array):
    """Whether an elementwise pass over `array` is worth splitting along its first axis."""
    return array.size >= MIN_ELEMENTS and array.ndim > 0 and array.shape[0] > 1


def by_rows(array, fn):
    """fn(rows) over the fixed split of a large array's first axis, else fn(Ellipsis) once."""
    if large(array):
        run_parts(fn, row_slices(array.shape[0]))
    else:
        fn(Ellipsis)


def elementwise(fn, out, *arrays):
    """fn(*arrays, out=out), split along the first axis for a large `out`: each array is a 0-d
    scalar or has out's shape. Elementwise results do not depend on the split."""
    by_rows(out, lambda rows: fn(*(a if np.ndim(a) == 0 else a[rows] for a in arrays), out=out[rows]))
    return out


def matmul(a, b, out=None, then=None):
    """a @ b for a 2-D `a` (rows) and 2-D `b`; large products are split by rows of `a`.
    `then(out_rows)`, if given, finishes each part of the result in place (a bias added while
    the rows are still in cache, on the same core)."""
    m, k = a.shape
    n = b.shape[1]
    if 2 * m * n * k < _MIN_FLOPS or m < 32:
        out = np.matmul(a, b, out=out)
        if then is not None:
            then(out)
        return out
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))

    def part(rows):
        np.matmul(a[rows], b, out=out[rows])
        if then is not None:
            then(out[rows])

    run_parts(part, row_slices(m, 16))
    return out
