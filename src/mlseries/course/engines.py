"""Which library a lesson trains on, on which device, and in how many processes.

The engine has PyTorch's API, so a lesson whose model and loop are written against "a
torch-like module" `T` runs on either library:

    eng = engines.select(ctx)          # from `mlseries run ... --engine mlseries|torch --device cpu|cuda`
    T, nn, F = eng.T, eng.nn, eng.F    # mlseries (the default, the teaching path) or torch
    x = eng.tensor(batch)              # a NumPy array -> a tensor on the run's device
    model = eng.wrap(model)            # DistributedDataParallel when started by torchrun

Past one machine the path is an existing engine, not ours: `--engine torch --device cuda` runs the
same lesson on a GPU, and `torchrun --nproc_per_node=N -m mlseries run <id> --engine torch`
trains it data-parallel (gloo on CPUs, NCCL on GPUs); docs/scaling.md has the commands. Every
option check lives here, so the command line, the runner and the lessons agree.
"""
import os
from dataclasses import dataclass

import numpy as np

ENGINES = ("mlseries", "torch")
DEVICES = ("cpu", "cuda")


class EngineError(ValueError):
    """An --engine / --device / torchrun combination that cannot run here, said in the user's terms."""


def world():
    """(rank, local_rank, world_size) as torchrun sets them; (0, 0, 1) for a plain run."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1))


def is_main_process():
    """True unless this is one of torchrun's processes other than rank 0 (which alone writes files)."""
    return world()[0] == 0


def idle_cores():
    """Cores the rest of the machine leaves idle (at least 1), from the 1-minute load average.

    PyTorch's CPU threads wait for each other at every operation: on a 2-core machine where
    another program keeps one core busy, two threads made a small GPT step ten times slower
    than one (measured here: 3 200 against 31 000 tokens/s). So take only the idle cores,
    unless OMP_NUM_THREADS says otherwise (torchrun sets it to 1 per process)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, cores - int(busy + 0.7)))


def check(engine="mlseries", device="cpu"):
    """Refuse, before anything runs, what cannot work here: an unknown name, --engine torch
    without PyTorch, --device cuda without a GPU or on the engine, several processes on the engine."""
    if engine not in ENGINES:
        raise EngineError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if device not in DEVICES:
        raise EngineError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    size = world()[2]
    if engine == "mlseries":
        if device != "cpu":
            raise EngineError("the mlseries engine runs on the CPU only; to use a GPU, run the "
                              "lesson on PyTorch: --engine torch --device cuda")
        if size > 1:
            raise EngineError(f"started by torchrun with {size} processes, but the mlseries engine "
                              f"trains in one process; add --engine torch (data-parallel on PyTorch)")
        return
    try:
        import torch
    except ImportError:
        raise EngineError("--engine torch needs PyTorch, which is not installed here; install "
                          "the CPU build with `pip install torch --index-url "
                          "https://download.pytorch.org/whl/cpu`, or leave out --engine") from None
    if device == "cuda" and not torch.cuda.is_available():
        built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise EngineError(f"--device cuda: PyTorch finds no CUDA GPU on this machine "
                          f"(torch {torch.__version__}, {built}; torch.cuda.is_available() is "
                          f"False); use --device cpu")
    if device == "cuda" and size > torch.cuda.device_count():
        raise EngineError(f"torchrun started {size} processes on this machine's "
                          f"{torch.cuda.device_count()} GPUs: use one process per GPU")


@dataclass
class Engine:
    """The library a lesson trains on (`T`), where (`device`), and this process's place among
    torchrun's processes (`rank` of `world_size`)."""
    name: str              # "mlseries" or "torch"
    T: object              # the module: mlseries or torch
    device: str            # "cpu", or "cuda:<local rank>"
    rank: int = 0
    world_size: int = 1

    @property
    def nn(self):
        return self.T.nn

    @property
    def F(self):
        return self.T.nn.functional

    @property
    def optim(self):
        return self.T.optim

    @property
    def distributed(self):
        return self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0

    def tensor(self, array):
        """A NumPy array as a tensor of this library on the run's device (same dtype)."""
        if self.name == "mlseries":
            return self.T.tensor(array)
        return self.T.as_tensor(np.ascontiguousarray(array), device=self.device)

    @staticmethod
    def numpy(tensor):
        return tensor.detach().cpu().numpy() if hasattr(tensor, "cpu") else tensor.detach().numpy()

    def load_arrays(self, model, arrays):
        """Copy NumPy arrays into the parameters of the same names (so both libraries start
        from the same weights); `arrays` must name every parameter."""
        params = dict(model.named_parameters())
        missing = sorted(set(params) - set(arrays))
        if missing:
            raise KeyError(f"no initial values for parameters {missing}")
        with self.T.no_grad():
            for name, p in params.items():
                p.copy_(self.tensor(np.asarray(arrays[name], dtype=np.float32)))
        return model

    def to_device(self, model):
        return model if self.name == "mlseries" else model.to(self.device)

    def wrap(self, model):
        """DistributedDataParallel around `model` when there are several processes: each
        process computes the gradient of its share of the batch, DDP averages them (an
        all-reduce) during backward(), so every process takes the same step."""
        if not self.distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel
        ids = [int(self.device.split(":")[1])] if self.device.startswith("cuda") else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, array):
        """This process's rows of a global batch (the batch is split evenly, in order)."""
        if not self.distributed:
            return array
        if len(array) % self.world_size:
            raise EngineError(f"a batch of {len(array)} rows does not split evenly over "
                              f"{self.world_size} processes; choose --nproc_per_node to divide it")
        per = len(array) // self.world_size
        return array[self.rank * per:(self.rank + 1) * per]

    def mean_over_processes(self, value):
        """The mean of a number over all processes (itself in a single process)."""
        if not self.distributed:
            return float(value)
        import torch.distributed as dist
        t = self.T.tensor([float(value)], dtype=self.T.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def synchronize(self):
        """Wait for the GPU (for honest timings); nothing to wait for on the CPU."""
        if self.device.startswith("cuda"):
            self.T.cuda.synchronize()


def select(ctx):
    """The Engine for this run (ctx.engine, ctx.device); under torchrun, joins the process group."""
    name = getattr(ctx, "engine", "mlseries")
    device = getattr(ctx, "device", "cpu")
    check(name, device)
    ctx.engine_used = True   # the runner notes when a lesson ignores --engine
    if name == "mlseries":
        import mlseries
        return Engine("mlseries", mlseries, "cpu")
    import torch
    import torch.distributed as dist

    torch.manual_seed(ctx.seed)
    rank, local_rank, size = world()
    if device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(idle_cores())
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Engine("torch", torch, device, rank, size)
