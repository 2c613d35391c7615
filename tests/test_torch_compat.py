"""What PyTorch programs ask of the machine, run under torch and under mlseries with the same results:
devices and `.to(device)`, the torch.cuda / backends / accelerator answers of a machine without a GPU,
autocast and GradScaler, inference_mode and no_grad as decorators, DataParallel and a one-process
torch.distributed, DistributedSampler, the DataLoader's module paths and worker options, the newer
optimizers and CosineAnnealingWarmRestarts step by step, the legacy tensor types, format(), lazy
layers, dropout2d's warnings, and clear refusals for what cannot be honoured (CUDA, ONNX, hub).

Most tests are "one snippet, two frameworks": a function of the framework module `T` run once with
`torch` and once with `mlseries`, whose results must agree.
"""
import re
import warnings

import numpy as np
import pytest
import torch

import mlseries as ms

torch.set_num_threads(1)
FRAMEWORKS = {"torch": torch, "mlseries": ms}


def both(fn, *args, **kwargs):
    return fn(torch, *args, **kwargs), fn(ms, *args, **kwargs)


def arr(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def recorded_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [(w.category, str(w.message)) for w in caught]


# ---- devices --------------------------------------------------------------------------------------
def test_device_objects_behave_as_torch_devices():
    def snippet(T):
        cpu, cuda1 = T.device("cpu"), T.device("cuda", 1)
        return [cpu.type, cpu.index, str(cpu), repr(cpu), cuda1.type, cuda1.index, str(cuda1), repr(cuda1),
                str(T.device("cpu:0")), T.device("cpu:0").index, cpu == T.device("cpu"), cpu == T.device("cpu", 0),
                cpu == "cpu", hash(cpu) == hash(T.device("cpu")), T.device(cpu) == cpu, len({cpu, T.device("cpu")}),
                T.zeros(2).device == cpu, T.zeros(2).device.type, T.zeros(2).is_cuda, T.zeros(2).get_device()]

    theirs, ours = both(snippet)
    assert ours == theirs
    for bad in ("gpu", "cuda:x"):
        with pytest.raises(RuntimeError):
            torch.device(bad)
        with pytest.raises(RuntimeError):
            ms.device(bad)
    with pytest.raises(RuntimeError, match="must not be negative"):
        ms.device("cpu", -1)


def test_device_agnostic_training_loop_matches_torch():
    """The usual script: pick the device, move model and batches there, autocast and GradScaler
    (disabled off CUDA), a scheduler, inference_mode for evaluation, f-string logging."""
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((12, 3)), rng.standard_normal((12, 1))
    init = {"0.weight": rng.standard_normal((8, 3)) * 0.5, "0.bias": rng.standard_normal(8) * 0.1,
            "2.weight": rng.standard_normal((1, 8)) * 0.5, "2.bias": np.zeros(1)}

    def snippet(T):
        device = T.device("cuda" if T.cuda.is_available() else "cpu")
        model = T.nn.Sequential(T.nn.Linear(3, 8), T.nn.Tanh(), T.nn.Linear(8, 1)).double()
        model.load_state_dict({k: T.tensor(v) for k, v in init.items()})
        model = model.to(device)
        data = T.utils.data.TensorDataset(T.tensor(xs), T.tensor(ys))
        loader = T.utils.data.DataLoader(data, batch_size=4, shuffle=False, num_workers=0,
                                         pin_memory=device.type == "cuda")
        opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = T.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        scaler = T.amp.GradScaler(device.type, enabled=device.type == "cuda")
        log = []
        for epoch in range(4):
            model.train()
            for xb, yb in loader:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device)
                opt.zero_grad(set_to_none=True)
                with T.autocast(device_type=device.type, dtype=T.bfloat16, enabled=False):
                    loss = T.nn.functional.mse_loss(model(xb), yb)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                log.append(f"epoch {epoch} loss {loss:.6f} lr {sched.get_last_lr()[0]:.5f}")
            sched.step()
            model.eval()
            with T.inference_mode():
                val = T.nn.functional.mse_loss(model(T.tensor(xs).to(device)), T.tensor(ys).to(device))
            log.append(f"val {val.item():>10.6f} {'{:.4f}'.format(val)}")
        return log

    theirs, ours = both(snippet)
    assert ours == theirs


def test_to_accepts_every_torch_spelling_and_returns_the_same_tensor():
    x = ms.ones(2)
    assert x.to("cpu") is x and x.to(ms.device("cpu")) is x and x.to(device="cpu:0") is x
    assert x.to("cpu", ms.float64).dtype == ms.float64 and x.to(ms.zeros(1, dtype=ms.int64)).dtype == ms.int64
    assert x.to(dtype=ms.float16, non_blocking=True).dtype == ms.float16
    copied = x.to("cpu", copy=True)
    assert copied is not x and copied.tolist() == x.tolist()
    assert x.cpu() is x and not x.is_pinned() and x.share_memory_() is x
    m = ms.nn.Linear(2, 2)
    assert m.to(ms.device("cpu")) is m and m.to("cpu", ms.float64).weight.dtype == ms.float64
    for make in (lambda: ms.tensor([1.0], device="cpu"), lambda: ms.zeros(2, device=ms.device("cpu")),
                 lambda: ms.arange(3, device="cpu"), lambda: ms.randn(2, device="cpu"),
                 lambda: ms.full((2,), 1.0, device="cpu"), lambda: ms.eye(2, device="cpu"),
                 lambda: ms.zeros_like(ms.ones(2), device="cpu"), lambda: ms.as_tensor([1, 2], device="cpu")):
        assert make().device == ms.device("cpu")


@pytest.mark.parametrize("call", [
    lambda: ms.ones(2).cuda(),
    lambda: ms.ones(2).to("cuda"),
    lambda: ms.ones(2).to(ms.device("cuda", 0)),
    lambda: ms.ones(2).to(0),
    lambda: ms.ones(2).to("mps"),
    lambda: ms.zeros(2, device="cuda"),
    lambda: ms.randn(2, device="cuda:0"),
    lambda: ms.tensor([1.0], device="cuda"),
    lambda: ms.nn.Linear(2, 2).cuda(),
    lambda: ms.nn.Linear(2, 2).to("cuda"),
    lambda: ms.nn.Linear(2, 2, device="cuda"),
    lambda: ms.cuda.set_device(0),
    lambda: ms.cuda.current_device(),
    lambda: ms.cuda.get_device_name(0),
    lambda: ms.cuda.FloatTensor(2),
    lambda: ms.ones(2).type("torch.cuda.FloatTensor"),
    lambda: ms.ones(2).pin_memory(),
    lambda: ms.device(0),
], ids=lambda c: "")
def test_cuda_requests_fail_with_a_clear_message(call):
    with pytest.raises(RuntimeError, match="mlseries runs on the CPU only; use device='cpu' or "
                                           r"torch.cuda.is_available\(\) to choose"):
        call()


# ---- what the machine answers ---------------------------------------------------------------------
def test_gpu_queries_answer_as_torch_does_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this torch sees a GPU")

    def snippet(T):
        T.cuda.manual_seed(0)
        T.cuda.manual_seed_all(0)
        T.cuda.empty_cache()
        bf16 = T.bfloat16 if T.cuda.is_available() and T.cuda.is_bf16_supported() else T.float32
        return [T.cuda.is_available(), T.cuda.device_count(), T.cuda.is_bf16_supported(), T.cuda.is_initialized(),
                T.cuda.memory_allocated(), T.cuda.max_memory_allocated(), bf16 is T.float32,
                T.accelerator.is_available(), T.accelerator.current_accelerator(), T.accelerator.device_count(),
                T.backends.mps.is_available(), T.backends.mps.is_built(), T.backends.cudnn.is_available(),
                T.backends.cudnn.version(), T.backends.cuda.is_built(), T.backends.cudnn.enabled,
                T.backends.cudnn.benchmark, T.backends.cudnn.deterministic, T.backends.cuda.matmul.allow_tf32,
                T.get_float32_matmul_precision(), T.are_deterministic_algorithms_enabled(), T.is_autocast_enabled(),
                T.distributed.is_available(), T.distributed.is_initialized(), T.jit.is_scripting(),
                T.is_inference_mode_enabled()]

    theirs, ours = both(snippet)
    assert ours == theirs
    ms.cuda.synchronize()  # accepted: nothing runs asynchronously on the CPU
    ms.cuda.reset_peak_memory_stats()


def test_settable_backend_flags_and_global_switches():
    flags = ms.backends.cudnn
    before = (flags.benchmark, flags.deterministic, flags.enabled, ms.backends.cuda.matmul.allow_tf32)
    try:
        flags.benchmark, flags.deterministic, flags.enabled = True, True, False
        ms.backends.cuda.matmul.allow_tf32 = True
        ms.backends.cudnn.allow_tf32 = True
        ms.backends.mkldnn.enabled = False
        assert flags.benchmark and flags.deterministic and not flags.enabled and ms.backends.cuda.matmul.allow_tf32
        assert ms.backends.mkldnn.is_available() is False  # mlseries does not use oneDNN
    finally:
        flags.benchmark, flags.deterministic, flags.enabled, ms.backends.cuda.matmul.allow_tf32 = before
        ms.backends.mkldnn.enabled = True
    for T in (torch, ms):
        T.set_float32_matmul_precision("high")
        assert T.get_float32_matmul_precision() == "high"
        T.set_float32_matmul_precision("highest")
        T.use_deterministic_algorithms(True)
        assert T.are_deterministic_algorithms_enabled()
        T.use_deterministic_algorithms(False)
    _, caught = recorded_warnings(lambda: ms.set_float32_matmul_precision("bogus"))
    assert caught and "no effect" in caught[0][1] and ms.get_float32_matmul_precision() == "highest"


def test_memory_formats_and_old_default_type_spellings():
    model = ms.nn.Conv2d(1, 2, 3)
    assert model.to(memory_format=ms.channels_last) is model
    x = ms.ones(1, 1, 4, 4)
    assert x.contiguous(memory_format=ms.channels_last) is x and x.to(memory_format=ms.contiguous_format) is x
    try:
        ms.set_default_tensor_type("torch.DoubleTensor")
        assert ms.zeros(1).dtype == ms.float64 and ms.get_default_dtype() == ms.float64
    finally:
        ms.set_default_tensor_type(ms.FloatTensor)
    assert ms.zeros(1).dtype == ms.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        ms.set_default_tensor_type("torch.cuda.FloatTensor")
    ms.set_default_device("cpu")
    assert ms.get_default_device() == ms.device("cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        ms.set_default_device("cuda")


def test_multiprocessing_spawn_runs_one_process_here():
    ranks = []
    ms.multiprocessing.spawn(lambda rank, scale: ranks.append(rank * scale), args=(10,), nprocs=1)
    assert ranks == [0]
    with pytest.raises(RuntimeError, match="nprocs=1"):
        ms.multiprocessing.spawn(lambda rank: None, nprocs=2)


def test_compile_and_jit_return_what_they_are_given():
    model = ms.nn.Linear(2, 2)
    assert ms.compile(model) is model and ms.compile(model, mode="reduce-overhead") is model
    compiled = ms.compile(lambda x: x * 2)
    assert compiled(3) == 6

    @ms.compile
    def double(x):
        return x * 2

    @ms.compile(fullgraph=True)
    def triple(x):
        return x * 3

    assert double(2) == 4 and triple(2) == 6
    assert ms.jit.script(model) is model and ms.jit.trace(model, ms.ones(1, 2)) is model
    assert ms.jit.ignore(double) is double and ms.jit.unused(double) is double
    with pytest.raises(NotImplementedError, match="TorchScript"):
        ms.jit.save(model, "m.pt")


@pytest.mark.parametrize("call, words", [
    (lambda: ms.onnx.export(ms.nn.Linear(2, 2), ms.ones(1, 2), "m.onnx"), "no ONNX exporter"),
    (lambda: ms.hub.load("pytorch/vision", "resnet18"), "never downloads"),
    (lambda: ms.hub.load_state_dict_from_url("https://example.com/w.pth"), "never downloads"),
    (lambda: ms.utils.model_zoo.load_url("https://example.com/w.pth"), "never downloads"),
    (lambda: ms.jit.load("m.pt"), "TorchScript"),
])
def test_what_cannot_be_honoured_says_so(call, words):
    with pytest.raises(NotImplementedError, match=words):
        call()


def test_missing_attribute_names_pytorch_and_stays_an_attribute_error():
    with pytest.raises(AttributeError, match=re.escape("mlseries has no attribute 'fft_frobnicate' (PyTorch's "
                                                       "torch.fft_frobnicate is not implemented here; see "
                                                       "docs/engine.md)")):
        ms.fft_frobnicate
    assert not hasattr(ms, "fft_frobnicate") and getattr(ms, "fft_frobnicate", 7) == 7
    with pytest.raises(AttributeError, match="CPU only"):
        ms.cuda.graphs_frobnicate


# ---- bfloat16 and autocast ------------------------------------------------------------------------
def test_bfloat16_is_a_name_whose_arithmetic_is_refused():
    assert ms.bfloat16 is not ms.float32 and ms.bfloat16.is_floating_point and ms.bfloat16.itemsize == 2
    assert ms.zeros(1).dtype != ms.bfloat16
    for call in (lambda: ms.zeros(2, dtype=ms.bfloat16), lambda: ms.ones(2).to(ms.bfloat16),
                 lambda: ms.nn.Linear(2, 2).to(ms.bfloat16), lambda: ms.tensor([1.0], dtype=ms.bfloat16)):
        with pytest.raises(TypeError, match="no bfloat16 arithmetic"):
            call()


def test_autocast_changes_nothing_and_cuda_autocast_warns_as_torch():
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((2, 4)).astype(np.float32)
    plain = ms.tensor(x) @ ms.tensor(w).T
    with ms.autocast("cpu", dtype=ms.bfloat16):
        assert ms.amp.is_autocast_enabled("cpu")
        inside = ms.tensor(x) @ ms.tensor(w).T
    assert not ms.amp.is_autocast_enabled("cpu")
    np.testing.assert_array_equal(plain.numpy(), inside.numpy())
    assert inside.dtype == ms.float32

    @ms.amp.autocast("cpu")
    def decorated():
        return ms.ones(1) * 2

    assert decorated().tolist() == [2.0]
    for T in (torch, ms):
        _, caught = recorded_warnings(lambda: T.amp.autocast("cuda").__enter__())
        assert [c for c, _ in caught] == [UserWarning] and "Disabling autocast" in caught[0][1]
        _, caught = recorded_warnings(lambda: T.cuda.amp.autocast())
        assert [c for c, _ in caught] == [FutureWarning, UserWarning]
        _, caught = recorded_warnings(lambda: T.amp.autocast("cuda", enabled=False))
        assert caught == []


def test_disabled_grad_scaler_scales_by_one_and_steps():
    for T in (torch, ms):
        _, caught = recorded_warnings(lambda: T.amp.GradScaler())
        assert [c for c, _ in caught] == [UserWarning] and "Disabling" in caught[0][1]
        scaler = T.amp.GradScaler("cuda", enabled=False)
        p = T.nn.Parameter(T.ones(2))
        opt = T.optim.SGD([p], lr=0.5)
        loss = (p * 3).sum()
        assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
        loss.backward()
        scaler.unscale_(opt)
        assert scaler.step(opt) is None
        scaler.update()
        assert p.tolist() == [-0.5, -0.5] and not scaler.is_enabled()


def test_cpu_grad_scaler_follows_torch_including_skipped_steps():
    """GradScaler('cpu') is a real scaler in both: scaled loss, unscaled gradients, a skipped
    step and a backed-off scale when a gradient is inf, growth after growth_interval clean steps."""
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    batches = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(7)]

    def snippet(T):
        w = T.nn.Parameter(T.tensor(w0))
        opt = T.optim.Adam([w], lr=0.01)
        scaler = T.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
        log = []
        for i, xb in enumerate(batches):
            opt.zero_grad()
            loss = (T.tensor(xb) @ w).pow(2).mean()
            scaled = scaler.scale(loss)
            log.append(scaled.item())
            scaled.backward()
            if i == 3:
                with T.no_grad():
                    w.grad[0, 0] = float("inf")
            scaler.unscale_(opt)
            log.append(arr(w.grad).copy() if i != 3 else None)
            result = scaler.step(opt)
            scaler.update()
            log.append((result, scaler.get_scale(), arr(w).copy()))
        log.append(scaler.state_dict())
        return log

    theirs, ours = both(snippet)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if isinstance(a, tuple):
            assert a[0] == b[0] and a[1] == b[1]
            np.testing.assert_allclose(a[2], b[2], rtol=1e-6, atol=1e-7)
        elif isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        else:
            assert a == pytest.approx(b, rel=1e-6) if isinstance(a, float) else a == b
    with pytest.raises(RuntimeError, match="already been called"):
        scaler = ms.amp.GradScaler("cpu")
        p = ms.nn.Parameter(ms.ones(1))
        opt = ms.optim.SGD([p], lr=0.1)
        scaler.scale(p.sum()).backward()
        scaler.unscale_(opt)
        scaler.unscale_(opt)


# ---- grad modes as decorators ----------------------------------------------------------------------
def test_no_grad_and_inference_mode_as_decorators_and_contexts():
    def snippet(T):
        x = T.ones(2, requires_grad=True)
        out = []

        @T.no_grad
        def bare(v):
            return (v * 2).requires_grad

        @T.no_grad()
        def called(v):
            return (v * 2).requires_grad

        @T.inference_mode
        def inf_bare(v):
            return (v * 2).requires_grad, T.is_inference_mode_enabled(), T.is_grad_enabled()

        @T.inference_mode()
        def inf_called(v):
            return (v * 2).requires_grad

        @T.inference_mode(False)
        def inf_off(v):
            return (v * 2).requires_grad

        @T.enable_grad()
        def on(v):
            return (v * 2).requires_grad

        @T.set_grad_enabled(False)
        def off(v):
            return (v * 2).requires_grad

        @T.no_grad()
        def gen(v):
            for _ in range(2):
                yield (v * 2).requires_grad

        out += [bare(x), called(x), inf_bare(x), inf_called(x), inf_off(x), off(x), T.is_grad_enabled()]
        with T.no_grad():
            out += [on(x), inf_off(x)]
        with T.inference_mode():
            out += [(x * 2).requires_grad, T.is_inference_mode_enabled()]
            with T.inference_mode(False):
                out.append((x * 2).requires_grad)
        out += [list(gen(x)), (x * 2).requires_grad, T.is_inference_mode_enabled(), bare.__name__]
        return out

    theirs, ours = both(snippet)
    assert ours == theirs


# ---- parallel wrappers and torch.distributed --------------------------------------------------------
def test_data_parallel_wraps_the_module_as_torch_does():
    rng = np.random.default_rng(3)
    init = {"0.weight": rng.standard_normal((2, 3)), "0.bias": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))

    def snippet(T):
        model = T.nn.Sequential(T.nn.Linear(3, 2)).double()
        model.load_state_dict({k: T.tensor(v) for k, v in init.items()})
        device = T.device("cpu")
        dp = T.nn.DataParallel(model, device_ids=[0, 1]).to(device)
        out = dp(T.tensor(x))
        out.sum().backward()
        keys = list(dp.state_dict())
        plain = T.nn.Sequential(T.nn.Linear(3, 2)).double()
        plain.load_state_dict({k[len("module."):]: v for k, v in dp.state_dict().items()})
        return [keys, dp.module is model, dp.device_ids, arr(out), arr(model[0].weight.grad), repr(dp),
                isinstance(dp, T.nn.Module), len(list(dp.parameters())),
                T.nn.parallel.DataParallel is T.nn.DataParallel, arr(plain(T.tensor(x)))]

    theirs, ours = both(snippet)
    for a, b in zip(ours, theirs):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        else:
            assert a == b


def test_distributed_data_parallel_needs_a_group_and_runs_in_one_process(monkeypatch):
    model = ms.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="init_process_group"):
        ms.nn.parallel.DistributedDataParallel(model)
    with pytest.raises(ValueError, match="init_process_group"):
        ms.distributed.get_rank()
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    ms.distributed.init_process_group(backend="gloo")
    try:
        dist = ms.distributed
        assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
        assert dist.get_backend() == "gloo"
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("gloo", rank=0, world_size=1)
        ddp = ms.nn.parallel.DistributedDataParallel(model)
        assert ddp.module is model and list(ddp.state_dict()) == ["module.weight", "module.bias"]
        x = ms.randn(5, 3)
        np.testing.assert_array_equal(ddp(x).numpy(), model(x).numpy())
        with ddp.no_sync():
            ddp(x).sum().backward()
        with pytest.raises(ValueError, match="CPU only"):
            ms.nn.parallel.DistributedDataParallel(model, device_ids=[0])
        t = ms.tensor([1.0, 2.0])
        for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
            assert dist.all_reduce(t, op=op) is None and t.tolist() == [1.0, 2.0]
        assert dist.all_reduce(t, async_op=True).wait()
        dist.barrier()
        gathered = [ms.zeros(2)]
        dist.all_gather(gathered, t)
        assert gathered[0].tolist() == [1.0, 2.0]
        objects = [None]
        dist.all_gather_object(objects, {"acc": 0.5})
        assert objects == [{"acc": 0.5}]
        assert list(ms.utils.data.distributed.DistributedSampler(range(5), shuffle=False)) == [0, 1, 2, 3, 4]
    finally:
        ms.distributed.destroy_process_group()
    assert not ms.distributed.is_initialized()


@pytest.mark.parametrize("kwargs, words", [
    (dict(backend="gloo", rank=0, world_size=2), "world_size=2"),
    (dict(backend="gloo", rank=1, world_size=1), "rank=1"),
    (dict(backend="nccl", rank=0, world_size=1), "NCCL"),
])
def test_distributed_refuses_more_than_one_process(kwargs, words):
    with pytest.raises(RuntimeError, match=words):
        ms.distributed.init_process_group(**kwargs)
    assert not ms.distributed.is_initialized()


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (10, 4, True), (2, 5, False),
                                                     (12, 4, False), (7, 1, False)])
def test_distributed_sampler_splits_as_torch(n, replicas, drop_last):
    for rank in range(replicas):
        ours = ms.utils.data.distributed.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                            shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.distributed.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                                 shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    shuffled = [ms.utils.data.distributed.DistributedSampler(range(n), num_replicas=replicas, rank=r, seed=5,
                                                             drop_last=drop_last) for r in range(replicas)]
    seen = sorted(i for s in shuffled for i in s)
    if not drop_last:
        assert set(seen) == set(range(n)) and len(seen) == len(shuffled[0]) * replicas
    else:
        assert len(set(seen)) == len(seen) == len(shuffled[0]) * replicas
    first = list(shuffled[0])
    assert list(shuffled[0]) == first  # the same epoch gives the same order
    with pytest.raises(ValueError, match="Invalid rank"):
        ms.utils.data.distributed.DistributedSampler(range(n), num_replicas=replicas, rank=replicas)


def test_distributed_sampler_reshuffles_per_epoch_and_feeds_a_loader():
    sampler = ms.utils.data.distributed.DistributedSampler(range(20), num_replicas=1, rank=0, seed=1)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        orders.append(list(sampler))
    assert orders[0] != orders[1] and sorted(orders[0]) == list(range(20))
    sampler.set_epoch(0)
    assert list(sampler) == orders[0]
    data = ms.utils.data.TensorDataset(ms.arange(20))
    loader = ms.utils.data.DataLoader(data, batch_size=5, sampler=sampler)
    assert [int(i) for (b,) in loader for i in b] == orders[0]
    with pytest.raises(ValueError, match="init_process_group"):
        ms.utils.data.distributed.DistributedSampler(range(4))


# ---- data loading -----------------------------------------------------------------------------------
def test_data_module_paths_exist_as_in_torch():
    from mlseries.utils.data.dataloader import DataLoader, default_collate
    from mlseries.utils.data.dataset import Dataset, TensorDataset
    from mlseries.utils.data.distributed import DistributedSampler
    from mlseries.utils.data.sampler import BatchSampler, RandomSampler, Sampler
    assert DataLoader is ms.utils.data.DataLoader and default_collate is ms.utils.data.default_collate
    assert Dataset is ms.utils.data.Dataset and TensorDataset is ms.utils.data.TensorDataset
    assert DistributedSampler is ms.utils.data.DistributedSampler
    assert (BatchSampler, RandomSampler, Sampler) == (ms.utils.data.BatchSampler, ms.utils.data.RandomSampler,
                                                      ms.utils.data.Sampler)
    batch = default_collate([(np.ones(2), 1), (np.zeros(2), 0)])
    assert batch[0].shape == (2, 2) and batch[1].tolist() == [1, 0]


def test_loader_worker_options_are_accepted_and_checked_as_torch():
    def snippet(T):
        results = []
        for kwargs in (dict(persistent_workers=True), dict(prefetch_factor=2), dict(num_workers=-1)):
            try:
                T.utils.data.DataLoader(list(range(4)), **kwargs)
                results.append("ok")
            except ValueError as e:
                results.append(str(e).split()[0])
        return results

    theirs, ours = both(snippet)
    assert ours == theirs


def test_loader_with_workers_runs_in_process_like_one_worker():
    calls = []

    class Stream(ms.utils.data.IterableDataset):
        def __iter__(self):
            info = ms.utils.data.get_worker_info()
            calls.append(("iter", info.id, info.num_workers))
            # The usual sharding by worker: with one worker, the whole stream.
            return iter(range(info.id, 10, info.num_workers))

    def init(worker_id):
        info = ms.utils.data.get_worker_info()
        calls.append(("init", worker_id, info.num_workers, info.dataset is stream))

    stream = Stream()
    loader = ms.utils.data.DataLoader(stream, batch_size=4, num_workers=3, worker_init_fn=init, prefetch_factor=4)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert calls == [("init", 0, 1, True), ("iter", 0, 1)]
    assert ms.utils.data.get_worker_info() is None
    data = ms.utils.data.TensorDataset(ms.arange(6.0))
    persistent = ms.utils.data.DataLoader(data, batch_size=2, num_workers=2, persistent_workers=True,
                                          worker_init_fn=lambda i: calls.append("persistent init"))
    plain = ms.utils.data.DataLoader(data, batch_size=2)
    for _ in range(2):
        assert [b[0].tolist() for b in persistent] == [b[0].tolist() for b in plain]
    assert calls.count("persistent init") == 1
    _, caught = recorded_warnings(lambda: list(ms.utils.data.DataLoader(data, pin_memory=True)))
    _, theirs = recorded_warnings(lambda: list(torch.utils.data.DataLoader(list(range(2)), pin_memory=True)))
    assert [m for _, m in caught] == [m for _, m in theirs] and len(caught) == 1


# ---- optimizers and schedulers ---------------------------------------------------------------------
SHAPES = [(4, 3), (3,), (2, 2, 2)]
OPTIMIZERS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.7, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.7, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_new_optimizers_follow_torch_for_25_steps_float64(name, kwargs):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]

    def snippet(T):
        params = [T.nn.Parameter(T.tensor(a.copy())) for a in init]
        opt = getattr(T.optim, name)(params, **kwargs)
        trajectory = []
        for step in range(25):
            noise = np.random.default_rng(100 + step)
            for p in params:
                v = arr(p)
                p.grad = T.tensor(np.sin(3 * v) + 0.5 * v + noise.standard_normal(v.shape))
            if step == 4:
                params[1].grad = None  # a parameter without a gradient this step is skipped
            opt.step()
            trajectory.append([arr(p).copy() for p in params])
        state = [{k: arr(v).copy() for k, v in opt.state[p].items()} for p in params]
        return trajectory, state

    (theirs, tstate), (ours, mstate) = both(snippet)
    for t_step, m_step in zip(theirs, ours):
        for a, b in zip(m_step, t_step):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for ms_s, t_s in zip(mstate, tstate):
        assert set(ms_s) == set(t_s)
        for key in t_s:
            assert ms_s[key].dtype == t_s[key].dtype, key
            np.testing.assert_allclose(ms_s[key], t_s[key], rtol=1e-9, atol=1e-12)


def test_new_optimizers_check_arguments_as_torch():
    p = [ms.nn.Parameter(ms.ones(1))]
    for make in (lambda T, q: T.optim.Adadelta(q, rho=1.5), lambda T, q: T.optim.Adamax(q, betas=(1.0, 0.9)),
                 lambda T, q: T.optim.NAdam(q, momentum_decay=-1), lambda T, q: T.optim.RAdam(q, lr=-1)):
        with pytest.raises(ValueError) as ours:
            make(ms, p)
        with pytest.raises(ValueError) as theirs:
            make(torch, [torch.nn.Parameter(torch.ones(1))])
        assert str(ours.value) == str(theirs.value)


def scheduler_run(T, make, steps, epochs=None):
    p = T.nn.Parameter(T.zeros(1))
    opt = T.optim.SGD([{"params": [p]}, {"params": [T.nn.Parameter(T.zeros(1))], "lr": 0.3}], lr=0.1,
                      momentum=0.9)
    sched = make(T, opt)
    lrs = [sched.get_last_lr() + [g["lr"] for g in opt.param_groups]]
    for i in range(steps):
        opt.step()
        if epochs is None:
            sched.step()
        else:
            sched.step(epochs[i])
        lrs.append(sched.get_last_lr() + [g["lr"] for g in opt.param_groups])
    return lrs


@pytest.mark.parametrize("kwargs", [dict(T_0=5), dict(T_0=3, T_mult=2, eta_min=0.01), dict(T_0=1, T_mult=3),
                                    dict(T_0=4, eta_min=0.05)])
def test_cosine_annealing_warm_restarts_follows_torch(kwargs):
    def make(T, opt):
        return T.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, **kwargs)

    theirs, ours = both(scheduler_run, make, 30)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    # stepped per batch with a fractional epoch, and jumping around, as the docs show
    epochs = [e + i / 4 for e in range(5) for i in range(4)] + [26, 3.5, 0, 11.25]
    theirs, ours = both(scheduler_run, make, len(epochs), epochs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_cosine_annealing_warm_restarts_checks_and_resumes():
    opt = ms.optim.SGD([ms.nn.Parameter(ms.zeros(1))], lr=0.1)
    for bad in (dict(T_0=0), dict(T_0=2.5), dict(T_0=2, T_mult=0), dict(T_0=2, eta_min="x")):
        with pytest.raises(ValueError):
            ms.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, **bad)
    sched = ms.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    for _ in range(5):
        opt.step()
        sched.step()
    saved = sched.state_dict()
    again = ms.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    again.load_state_dict(saved)
    opt.step()
    sched.step()
    again.step()
    assert again.get_last_lr() == sched.get_last_lr() and again.T_i == sched.T_i == 6


@pytest.mark.parametrize("make", [
    lambda T, opt: T.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=25),
    lambda T, opt: T.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.9 ** e),
    lambda T, opt: T.optim.lr_scheduler.SequentialLR(
        opt, [T.optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=4),
              T.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5)], milestones=[4]),
], ids=["OneCycleLR", "LambdaLR", "SequentialLR-warmup-restarts"])
def test_other_schedulers_exist_and_follow_torch(make):
    theirs, ours = both(scheduler_run, make, 20)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_reduce_lr_on_plateau_follows_torch():
    metrics = [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.8, 0.85, 0.86, 0.87, 0.9, 0.91]

    def snippet(T):
        opt = T.optim.Adam([T.nn.Parameter(T.zeros(1))], lr=0.1)
        sched = T.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
        lrs = []
        for m in metrics:
            sched.step(m)
            lrs.append(opt.param_groups[0]["lr"])
        return lrs

    theirs, ours = both(snippet)
    assert ours == theirs


# ---- legacy tensor types and formatting -------------------------------------------------------------
def test_legacy_tensor_types_construct_cast_and_check_as_torch():
    def snippet(T):
        made = [T.FloatTensor([1, 2]), T.LongTensor([1.7, -2.2]), T.DoubleTensor(2, 3).zero_(),
                T.IntTensor([[1, 2]]), T.BoolTensor([1, 0, 2]), T.ByteTensor([1, 255]), T.FloatTensor(),
                T.FloatTensor(T.Size([2])).zero_(), T.Tensor([1, 2]), T.Tensor(2, 3).zero_(),
                T.FloatTensor(np.array([1, 2])), T.HalfTensor([0.5]), T.ShortTensor([3]), T.CharTensor([-3])]
        x = T.tensor([1.5, -2.5])
        casts = [x.type(T.LongTensor), x.type("torch.IntTensor"), x.type(T.DoubleTensor), x.long().float()]
        checks = [isinstance(T.zeros(2), T.FloatTensor), isinstance(T.zeros(2).long(), T.FloatTensor),
                  isinstance(T.FloatTensor([1]), T.Tensor), isinstance(T.LongTensor([1]), T.LongTensor),
                  isinstance(T.nn.Parameter(T.zeros(1)), T.FloatTensor), issubclass(T.FloatTensor, T.Tensor),
                  x.type(), x.long().type(), x.double().type(), x.bool().type(), x.type(T.FloatTensor) is x]
        return [(arr(t).tolist(), str(t.dtype).split(".")[1], tuple(t.shape)) for t in made + casts] + checks

    theirs, ours = both(snippet)
    assert ours == theirs
    for T in (torch, ms):
        with pytest.raises(TypeError):
            T.IntTensor(3.5)
        with pytest.raises(TypeError):
            T.FloatTensor(T.tensor([1, 2]))
    weight = ms.nn.Parameter(ms.Tensor(3, 4))  # the classic custom-layer idiom
    ms.nn.init.kaiming_uniform_(weight)
    assert weight.shape == (3, 4) and weight.dtype == ms.float32 and weight.requires_grad


def test_format_of_tensors_as_torch():
    def snippet(T):
        loss = T.tensor(0.123456)
        out = [f"{loss:.4f}", "{:>8.3f}".format(T.tensor(2.5)), f"{T.tensor(3):>5}", "{}".format(T.tensor(2.5)),
               f"{T.tensor(7, dtype=T.int64):d}", f"{T.tensor([1.5, 2.0])}", str(T.tensor(2.5)),
               repr(T.tensor([[1.0, 2.5], [3.0, 4.0]])), repr(T.tensor([1.0, 2.0])), repr(T.tensor(-0.5)),
               repr(T.tensor([1e-5, 1.0])), repr(T.tensor([True, False])), repr(T.tensor([3, 4])),
               repr(T.tensor([])), str(T.zeros(2, 3)), f"{T.tensor(True)}", f"{T.tensor(1.0, dtype=T.float64):.2e}"]
        for bad in (lambda: f"{T.tensor([1.5]):.2f}", lambda: f"{T.zeros(2, 2):.1f}",
                    lambda: f"{T.nn.Parameter(T.tensor(1.0)):.2f}"):
            try:
                out.append(bad())
            except TypeError:
                out.append("TypeError")
        return out

    theirs, ours = both(snippet)
    assert ours == theirs


# ---- lazy layers ------------------------------------------------------------------------------------
def test_lazy_linear_infers_its_size_keeps_its_parameters_and_initialises_as_linear():
    ms.manual_seed(0)
    layer = ms.nn.LazyLinear(50)
    assert repr(layer) == repr(torch.nn.LazyLinear(50))
    params = list(layer.parameters())
    opt = ms.optim.SGD(layer.parameters(), lr=0.1)  # built before the first call, as PyTorch allows
    with pytest.raises(RuntimeError, match="uninitialized"):
        params[0].shape
    y = layer(ms.randn(8, 40))
    assert type(layer) is ms.nn.Linear and layer.in_features == 40 and y.shape == (8, 50)
    assert list(layer.parameters()) == params and all(type(p) is ms.nn.Parameter for p in params)
    assert repr(layer) == repr(torch.nn.Linear(40, 50))
    bound = 1 / np.sqrt(40)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound  # U(−b, b) has std b/√3
    y.sum().backward()
    opt.step()
    assert list(layer.state_dict()) == list(torch.nn.Linear(40, 50).state_dict())


def test_lazy_conv_and_batchnorm_follow_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 6))

    def snippet(T):
        conv = T.nn.LazyConv2d(4, 3, padding=1, bias=False).double()
        bn = T.nn.LazyBatchNorm2d(momentum=0.3).double()
        bn1 = T.nn.LazyBatchNorm1d(affine=False).double()
        xt = T.tensor(x)
        conv(xt)
        with T.no_grad():
            conv.weight.fill_(0.1)
        out = bn(conv(xt))
        flat = bn1(out.mean((2, 3)))
        return [type(conv).__name__, type(bn).__name__, type(bn1).__name__, tuple(conv.weight.shape),
                conv.in_channels, bn.num_features, bn1.num_features, list(bn.state_dict()), list(bn1.state_dict()),
                arr(out), arr(flat), arr(bn.running_mean), arr(bn.running_var), arr(bn1.running_var)]

    theirs, ours = both(snippet)
    for a, b in zip(ours, theirs):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        else:
            assert a == b


def test_lazy_module_takes_its_shape_from_a_state_dict():
    source = ms.nn.Sequential(ms.nn.Linear(5, 3), ms.nn.ReLU(), ms.nn.BatchNorm1d(3))
    target = ms.nn.Sequential(ms.nn.LazyLinear(3), ms.nn.ReLU(), ms.nn.LazyBatchNorm1d())
    target.load_state_dict(source.state_dict())
    assert type(target[0]) is ms.nn.Linear and target[0].in_features == 5
    assert type(target[2]) is ms.nn.BatchNorm1d and target[2].num_features == 3
    x = ms.randn(4, 5)
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


# ---- dropout2d ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 6), (2, 4, 5, 6), (1, 2, 3, 4, 5)])
def test_dropout2d_warns_and_masks_as_torch(shape):
    for training in (True, False):
        theirs = recorded_warnings(lambda: torch.nn.functional.dropout2d(torch.ones(shape), 0.5, training))[1]
        ours = recorded_warnings(lambda: ms.nn.functional.dropout2d(ms.ones(shape), 0.5, training))[1]
        assert ours == theirs
        module = ms.nn.Dropout2d(0.5).train(training)
        assert recorded_warnings(lambda: module(ms.ones(shape)))[1] == theirs
    ms.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = ms.nn.functional.dropout2d(ms.ones(shape), 0.5).numpy()
    # PyTorch drops per (dim 0, dim 1) entry: a 3-D input is (N, C, L), a 2-D one elementwise.
    per_map = y.reshape(shape[0], shape[1], -1)
    assert np.all(per_map.min(-1) == per_map.max(-1)) and set(np.unique(y)) <= {0.0, 2.0}


def test_dropout2d_on_a_1d_input_fails_only_when_training():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for T, F in ((torch, torch.nn.functional), (ms, ms.nn.functional)):
            with pytest.raises(RuntimeError, match="at least 2 dimensions"):
                F.dropout2d(T.ones(5), 0.5, True)
            assert F.dropout2d(T.ones(5), 0.5, False).shape == (5,)
            assert F.dropout2d(T.ones(5), 0.0, True).shape == (5,)
