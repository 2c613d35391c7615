"""`torch.distributed` for one process.

mlseries runs in a single process, so the only process group it can form is the one of world
size 1 (backend 'gloo', the CPU backend). Programs written for distributed training run
unchanged when launched as one process: `init_process_group` succeeds, `get_rank()` is 0,
`get_world_size()` is 1, and every collective leaves its tensors as they are (with one process,
the sum, mean, max, ... of a tensor over all processes is the tensor itself). Asking for more
processes, or for NCCL (a GPU backend), is refused with what to do instead. Before
`init_process_group`, rank and size queries raise as PyTorch's do.
"""
import datetime
import enum
import os

from ._tensor import Tensor

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
_SINGLE = ("mlseries.distributed runs a single process (world size 1, backend 'gloo'); launch the program as one "
           "process (plain `python script.py`, or torchrun --nproc_per_node=1)")

_group = {}  # the default process group once initialised: backend, rank, world_size


class ReduceOp(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"


class Backend(str):
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    UNDEFINED = "undefined"

    def __new__(cls, name):
        return str.__new__(cls, name.lower())


class ProcessGroup:
    """The one group there is: this process."""

    def __init__(self, backend, rank, size):
        self._backend, self._rank, self._size = backend, rank, size

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def name(self):
        return self._backend

    def __repr__(self):
        return f"<ProcessGroup backend={self._backend} rank={self._rank} size={self._size}>"


class group:
    WORLD = None  # set by init_process_group, as in PyTorch


GroupMember = group


class Work:
    """What a collective with async_op=True returns; with one process it is already done."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True

    def is_success(self):
        return True

    def get_future(self):
        raise NotImplementedError("Work.get_future() is not available in mlseries; call wait() instead")


def is_available():
    return True


def is_initialized():
    return bool(_group)


def is_gloo_available():
    return True


def is_nccl_available():
    return False


def is_mpi_available():
    return False


def is_ucc_available():
    return False


def is_torchelastic_launched():
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def _env_int(name, given):
    if given is not None and given != -1:
        return int(given)
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"Error initializing torch.distributed using env:// rendezvous: environment variable {name} "
                         f"expected, but not set (pass {name.lower()}= to init_process_group, or set {name}=...)")
    return int(value)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Form the default group: possible only for world size 1 and rank 0, with backend 'gloo'
    (or None, which picks it). World size and rank come from the arguments, else from the
    WORLD_SIZE and RANK environment variables, as with PyTorch's env:// initialisation."""
    if _group:
        raise ValueError("trying to initialize the default process group twice!")
    name = "gloo" if backend is None else str(backend).lower()
    # PyTorch also accepts "cpu:gloo,cuda:nccl": the CPU part is the one that matters here.
    if "," in name or ":" in name:
        parts = dict(p.split(":", 1) for p in name.split(",") if ":" in p)
        name = parts.get("cpu", name)
    if name == "nccl":
        raise RuntimeError("Distributed package doesn't have NCCL built in: NCCL is a GPU backend and mlseries runs "
                           "on the CPU only; use backend='gloo'")
    if name != "gloo":
        raise RuntimeError(f"backend {backend!r} is not available; mlseries offers only 'gloo' (world size 1)")
    if store is not None and (world_size == -1 or rank == -1):
        raise ValueError("world_size and rank must be given together with store")
    size = world_size if world_size != -1 else _env_int("WORLD_SIZE", None) if init_method in (None, "env://") else 1
    rank_value = rank if rank != -1 else _env_int("RANK", None) if init_method in (None, "env://") else 0
    if size != 1:
        raise RuntimeError(f"init_process_group: world_size={size} asks for {size} processes. {_SINGLE}")
    if rank_value != 0:
        raise RuntimeError(f"init_process_group: rank={rank_value} does not exist in a group of one process "
                           f"(the only rank is 0). {_SINGLE}")
    if timeout is not None and not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {type(timeout).__name__}")
    _group.update(backend=name, rank=0, world_size=1)
    group.WORLD = ProcessGroup(name, 0, 1)


def destroy_process_group(group=None):
    if not _group:
        raise ValueError(_NOT_INITIALIZED)
    _group.clear()
    globals()["group"].WORLD = None


def _require():
    if not _group:
        raise ValueError(_NOT_INITIALIZED)


def get_rank(group=None):
    _require()
    return 0


def get_world_size(group=None):
    _require()
    return 1


def get_backend(group=None):
    _require()
    return Backend(_group["backend"])


def get_node_local_rank(fallback_rank=None):
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment; pass fallback_rank")


def get_global_rank(group, group_rank):
    _require()
    return group_rank


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    _require()
    if ranks is not None and sorted(ranks) not in ([], [0]):
        raise RuntimeError(f"new_group(ranks={ranks}): the only rank is 0. {_SINGLE}")
    return group.WORLD


def _done(async_op):
    return Work() if async_op else None


def _check_tensor(tensor, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(tensor).__name__}")


def _check_op(op):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a torch.distributed.ReduceOp, got {op!r}")


def barrier(group=None, async_op=False, device_ids=None):
    _require()
    return _done(async_op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """With one process the reduction of `tensor` over all processes is `tensor`: unchanged."""
    _require()
    _check_tensor(tensor, "all_reduce")
    _check_op(op)
    return _done(async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    _require()
    _check_tensor(tensor, "reduce")
    _check_op(op)
    return _done(async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    _require()
    _check_tensor(tensor, "broadcast")
    return _done(async_op)


def _copy_into(out, tensor):
    from ._grad_mode import no_grad
    with no_grad():
        out.copy_(tensor)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    _require()
    _check_tensor(tensor, "all_gather")
    if len(tensor_list) != 1:
        raise ValueError(f"all_gather: tensor_list must hold one tensor per process (1), got {len(tensor_list)}")
    _copy_into(tensor_list[0], tensor)
    return _done(async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    _require()
    _copy_into(output_tensor, input_tensor.reshape(output_tensor.shape))
    return _done(async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    _require()
    if gather_list is not None:
        if len(gather_list) != 1:
            raise ValueError(f"gather: gather_list must hold one tensor per process (1), got {len(gather_list)}")
        _copy_into(gather_list[0], tensor)
    return _done(async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    _require()
    if scatter_list is not None:
        if len(scatter_list) != 1:
            raise ValueError(f"scatter: scatter_list must hold one tensor per process (1), got {len(scatter_list)}")
        _copy_into(tensor, scatter_list[0])
    return _done(async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    _require()
    _check_op(op)
    if len(input_list) != 1:
        raise ValueError(f"reduce_scatter: input_list must hold one tensor per process (1), got {len(input_list)}")
    _copy_into(output, input_list[0])
    return _done(async_op)


def all_gather_object(object_list, obj, group=None):
    _require()
    if len(object_list) != 1:
        raise ValueError(f"all_gather_object: object_list must have one slot per process (1), got {len(object_list)}")
    object_list[0] = obj


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    _require()


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    _require()
    if object_gather_list is not None:
        object_gather_list[0] = obj


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    _require()
