"""`torch.multiprocessing`: Python's multiprocessing, plus `spawn` as distributed scripts use it.

mlseries' distributed support is a single process, so `spawn(fn, nprocs=1)` runs `fn(0, *args)`
right here; more processes are refused (they would each need a process group of their size).
"""
from multiprocessing import *  # noqa: F401,F403  (as torch.multiprocessing re-exports it)


class ProcessRaisedException(Exception):
    pass


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    if nprocs > 1:
        raise RuntimeError(f"spawn(nprocs={nprocs}): mlseries.distributed runs a single process (world size 1); "
                           "use nprocs=1")
    for rank in range(nprocs):
        fn(rank, *args)
    return None


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    return spawn(fn, args, nprocs, join, daemon, start_method)
