"""Tensor creation, dtypes and promotion, conversion, errors in the user's terms, checkpoints."""
import pickle

import numpy as np
import pytest
import torch

import mlseries as ms


def test_default_dtypes_follow_pytorch():
    assert ms.tensor([1.0, 2.0]).dtype is ms.float32
    assert ms.tensor([1, 2]).dtype is ms.int64
    assert ms.tensor([True]).dtype is ms.bool
    assert ms.tensor(np.zeros(2)).dtype is ms.float64  # NumPy arrays keep their dtype
    assert ms.zeros(2, 3).dtype is ms.float32 and ms.zeros(2, 3).shape == (2, 3)
    assert ms.arange(5).dtype is ms.int64 and ms.arange(0, 1, 0.25).dtype is ms.float32
    assert ms.full((2,), 7).dtype is ms.int64
    assert ms.randn(2, 2, dtype=ms.float64).dtype is ms.float64


@pytest.mark.parametrize("a,b", [
    ("float32", "float64"), ("int64", "float32"), ("bool", "int64"), ("int32", "int64"), ("bool", "float32"),
])
def test_promotion_matches_torch(a, b):
    x = ms.ones(2, dtype=getattr(ms, a)) + ms.ones(2, dtype=getattr(ms, b))
    y = torch.ones(2, dtype=getattr(torch, a)) + torch.ones(2, dtype=getattr(torch, b))
    assert x.dtype.name == str(y.dtype).split(".")[1]


@pytest.mark.parametrize("expr", ["x * 0.5", "x + 1", "x / 2", "2 ** x", "x > 1", "x * True"])
def test_python_scalars_do_not_widen(expr):
    for dt in ("float32", "int64"):
        x = ms.ones(3, dtype=getattr(ms, dt))  # noqa: F841  (used by eval)
        got = eval(expr)
        x = torch.ones(3, dtype=getattr(torch, dt))
        want = eval(expr)
        assert got.dtype.name == str(want.dtype).split(".")[1], (expr, dt)


@pytest.mark.parametrize("a,b", [(3.0, 1.0), (3, 1), (3, 1.5), (True, False), (2, True)])
def test_where_of_two_python_numbers_matches_torch(a, b):
    # torch.where(mask, 1.0, 0.0): neither operand is a tensor to take a dtype from
    got = ms.where(ms.tensor([True, False]), a, b)
    want = torch.where(torch.tensor([True, False]), a, b)
    assert got.dtype.name == str(want.dtype).split(".")[1] and got.tolist() == want.tolist()


def test_factories_and_seed_reproducibility():
    ms.manual_seed(7)
    a = ms.randn(3, 4)
    ms.manual_seed(7)
    b = ms.randn(3, 4)
    assert np.array_equal(a.numpy(), b.numpy())
    g = ms.Generator().manual_seed(7)
    assert np.array_equal(ms.rand(3, generator=g).numpy(), ms.rand(3, generator=ms.Generator().manual_seed(7)).numpy())
    assert ms.eye(3).numpy().trace() == 3
    assert ms.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    r = ms.randint(0, 10, (100,))
    assert r.dtype is ms.int64 and 0 <= r.min().item() and r.max().item() < 10
    assert ms.zeros_like(a).shape == a.shape and ms.ones_like(r).dtype is ms.int64
    assert sorted(ms.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_conversions():
    x = ms.tensor([[1.5, 2.0]])
    assert ms.tensor([3.25]).item() == 3.25
    assert x.tolist() == [[1.5, 2.0]]
    assert isinstance(x.numpy(), np.ndarray)
    assert x.long().dtype is ms.int64 and x.double().dtype is ms.float64
    assert x.to(ms.float64).dtype is ms.float64 and x.to("cpu") is x
    assert float(ms.tensor(2.5)) == 2.5 and int(ms.tensor(3)) == 3
    assert x.shape == (1, 2) and x.size(1) == 2 and x.ndim == 2 and x.numel() == 2
    assert repr(ms.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    with pytest.raises(ValueError, match="only a tensor with one element"):
        x.item()


def test_data_attribute_is_a_detached_tensor_sharing_memory():
    w = ms.ones(2, requires_grad=True)
    d = w.data
    assert isinstance(d, ms.Tensor) and not d.requires_grad
    d.mul_(3.0)
    assert w.tolist() == [3.0, 3.0]


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(64, 784\) and \(512, 10\) do not align \(784 ≠ 512\)"):
        ms.zeros(64, 784) @ ms.zeros(512, 10)


def test_broadcast_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        ms.zeros(3, 4) + ms.zeros(5)
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(4, 3\)"):
        ms.zeros(2, 3, requires_grad=True) * ms.zeros(4, 3)


def test_other_errors_are_specific():
    with pytest.raises(ValueError, match=r"reshape: shape \(5,\) is invalid for a tensor of shape \(2, 3\)"):
        ms.zeros(2, 3).reshape(5)
    with pytest.raises(IndexError, match="dimension out of range"):
        ms.zeros(2, 3).sum(dim=2)
    with pytest.raises(RuntimeError, match="floating-point"):
        ms.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="cat: tensors must have the same shape"):
        ms.cat([ms.zeros(2, 3), ms.zeros(2, 4)])
    with pytest.raises(TypeError, match="unsupported element type"):
        ms.tensor(["a", "b"])


SHAPE_MISTAKES = {   # each raises RuntimeError in PyTorch 2.13
    "linear": lambda T: T.nn.Linear(4, 3)(T.randn(2, 5)),
    "matmul": lambda T: T.randn(2, 3) @ T.randn(4, 5),
    "bmm": lambda T: T.bmm(T.randn(2, 2, 3), T.randn(2, 4, 5)),
    "conv_channels": lambda T: T.nn.Conv2d(3, 4, 3)(T.randn(1, 2, 8, 8)),
    "conv_too_small": lambda T: T.nn.Conv2d(3, 4, 5)(T.randn(1, 3, 2, 2)),
    "conv1d_channels": lambda T: T.nn.Conv1d(3, 4, 3)(T.randn(1, 2, 8)),
    "cat": lambda T: T.cat([T.randn(2, 3), T.randn(2, 4)]),
    "stack": lambda T: T.stack([T.randn(2, 3), T.randn(2, 4)]),
    "view": lambda T: T.randn(2, 3).view(4, 2),
    "broadcast": lambda T: T.randn(2, 3) + T.randn(4, 3),
    "where": lambda T: T.where(T.randn(2, 3) > 0, T.randn(4, 3), 0.0),
    "mse_loss": lambda T: T.nn.functional.mse_loss(T.randn(4, 3), T.randn(4, 2)),
    "batchnorm": lambda T: T.nn.BatchNorm2d(3)(T.randn(2, 4, 5, 5)),
    "lstm": lambda T: T.nn.LSTM(4, 3)(T.randn(5, 2, 6)),
    "permute": lambda T: T.randn(2, 3).permute(0, 1, 2),
    "item": lambda T: T.randn(3).item(),
}


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("name", SHAPE_MISTAKES)
def test_shape_mistakes_raise_what_pytorch_programs_catch(name):
    # a program written for PyTorch catches RuntimeError (e.g. to probe a layer's input size);
    # the engine's error is also a ValueError, with a message that names the shapes
    with pytest.raises(RuntimeError):
        SHAPE_MISTAKES[name](torch)
    with pytest.raises(RuntimeError) as caught:
        SHAPE_MISTAKES[name](ms)
    assert isinstance(caught.value, ValueError) and any(c.isdigit() for c in str(caught.value))


# ---- checkpoints ------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    state = {"w": ms.randn(3, 4), "b": ms.zeros(4, dtype=ms.float64), "step": 12, "lr": 0.5,
             "groups": [{"betas": (0.9, 0.999), "name": "all", "ids": [0, 1]}], "none": None,
             "nested": {0: {"exp_avg": ms.ones(2)}}}
    path = tmp_path / "ckpt.npz"
    ms.save(state, path)
    got = ms.load(path)
    assert np.array_equal(got["w"].numpy(), state["w"].numpy()) and got["b"].dtype is ms.float64
    assert got["step"] == 12 and got["lr"] == 0.5 and got["none"] is None
    assert got["groups"][0]["betas"] == (0.9, 0.999) and got["nested"][0]["exp_avg"].tolist() == [1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary file left behind


def test_save_is_atomic_when_writing_fails(tmp_path):
    path = tmp_path / "ckpt.npz"
    ms.save({"w": ms.ones(2)}, path)
    with pytest.raises(TypeError, match="cannot store a object"):
        ms.save({"w": ms.zeros(2), "bad": object()}, path)
    assert ms.load(path)["w"].tolist() == [1.0, 1.0]  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_pickled_file_is_refused_not_executed(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(ms.CheckpointError, match="evil.pkl"):
        ms.load(path)
    assert not marker.exists()


def test_torch_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ms.CheckpointError, match="PyTorch checkpoint"):
        ms.load(path)


def test_npz_with_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, __mlseries__=np.frombuffer(b'{"$tensor": "t0"}', dtype=np.uint8),
             t0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ms.CheckpointError, match="pickle"):
        ms.load(path)


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "cut.npz"
    ms.save({"w": ms.randn(100)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ms.CheckpointError, match="cut.npz"):
        ms.load(path)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        ms.load(tmp_path / "missing.npz")


def test_zero_dim_tensors_keep_their_shape(tmp_path):
    ms.save({"step": ms.tensor(3.0), "arr": np.ones(())}, tmp_path / "s.npz")
    got = ms.load(tmp_path / "s.npz")
    assert got["step"].shape == () and got["step"].item() == 3.0 and got["arr"].shape == ()
