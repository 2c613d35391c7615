"""Whole modules through `save`/`load` (`torch.save(model, path)`, `torch.load(path, weights_only=False)`),
and the other things PyTorch programs put in checkpoints: optimizer and scheduler state, nested
containers, shared tensors.

Loading must never run code from the file: a module is rebuilt only from classes that are
`mlseries.nn.Module` subclasses already imported, without calling `__init__`, and a file that names
anything else is refused.
"""
import collections
import json
import sys

import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn as nn
import mlseries.nn.functional as F
from mlseries.serialization import CheckpointError

torch.set_num_threads(1)


class Block(nn.Module):
    constructed = 0

    def __init__(self, width):
        super().__init__()
        Block.constructed += 1
        self.width = width
        self.fc = nn.Linear(width, width)
        self.norm = nn.BatchNorm1d(width)
        self.act = F.gelu  # a function held by reference
        self.register_buffer("scale", ms.full((width,), 0.5))
        self.register_buffer("cache", ms.zeros(2), persistent=False)

    def forward(self, x):
        return self.act(self.norm(self.fc(x))) * self.scale


class TiedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 4, bias=False)
        self.blocks = nn.ModuleList([Block(4), Block(4)])
        self.shared = self.blocks[0]  # one submodule under two names
        self.head = nn.Linear(4, 6, bias=False)
        self.head.weight = self.embed.weight  # tied weights (shapes chosen to allow it)
        self.config = {"sizes": (6, 4), "names": ["a", "b"], "eps": 1e-5, "dtype": ms.float32, "on": True,
                       "shape": ms.Size([2, 3])}
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        h = x @ self.embed.weight.T
        for block in self.blocks:
            h = block(h)
        return self.dropout(h) @ self.head.weight


def my_activation(x):
    return x * 2


class HoldsUserFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.fn = my_activation

    def forward(self, x):
        return self.fn(x)


def test_whole_module_round_trip_rebuilds_without_calling_init(tmp_path):
    ms.manual_seed(0)
    model = TiedNet()
    model(ms.randn(8, 6))  # batch norm statistics move
    model.eval()
    path = tmp_path / "model.pt"
    ms.save(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # written atomically, no leftovers
    before = Block.constructed
    loaded = ms.load(path, weights_only=False)
    assert Block.constructed == before  # no __init__ ran
    assert type(loaded) is TiedNet and type(loaded.blocks[1]) is Block and loaded.training is False
    assert loaded.head.weight is loaded.embed.weight and loaded.shared is loaded.blocks[0]
    assert len(list(loaded.parameters())) == len(list(model.parameters()))
    assert loaded.blocks[0].act is F.gelu and loaded.config == model.config
    assert isinstance(loaded.config["shape"], ms.Size) and loaded.config["dtype"] is ms.float32
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert loaded.blocks[0].cache.tolist() == [0.0, 0.0]  # non-persistent buffers travel too, as with torch.save
    assert loaded.blocks[0]._non_persistent_buffers_set == {"cache"}
    x = ms.randn(5, 6)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert repr(loaded) == repr(model)
    # it trains like the original: gradients reach the tied weight once
    loaded.train()
    opt = ms.optim.SGD(loaded.parameters(), lr=0.1)
    loaded(x).sum().backward()
    opt.step()
    assert all(p.grad is not None for p in loaded.parameters())


def test_whole_module_needs_weights_only_false_as_in_pytorch(tmp_path):
    path = tmp_path / "model.pt"
    ms.save(nn.Sequential(nn.Linear(2, 2)), path)
    with pytest.raises(CheckpointError, match="weights_only=False"):
        ms.load(path)
    with pytest.raises(CheckpointError, match="weights_only=False"):
        ms.load(path, weights_only=True)
    # torch behaves the same way with its own files
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), tmp_path / "t.pt")
    with pytest.raises(Exception, match="weights_only"):
        torch.load(tmp_path / "t.pt")


def test_wrapped_and_standard_modules_round_trip(tmp_path):
    inner = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.LazyLinear(3))
    inner(ms.randn(1, 1, 4, 4))
    model = nn.DataParallel(inner)
    ms.save(model, tmp_path / "dp.pt")
    loaded = ms.load(tmp_path / "dp.pt", weights_only=False)
    assert type(loaded) is nn.DataParallel and list(loaded.state_dict()) == list(model.state_dict())
    assert list(loaded.state_dict())[0].startswith("module.")
    x = ms.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    lazy = nn.LazyLinear(4)  # saved before its first call: loads still lazy
    ms.save(lazy, tmp_path / "lazy.pt")
    again = ms.load(tmp_path / "lazy.pt", weights_only=False)
    assert type(again) is nn.LazyLinear and again(ms.randn(2, 7)).shape == (2, 4) and type(again) is nn.Linear


@pytest.mark.parametrize("make, example", [
    (lambda: nn.Embedding(10, 4, padding_idx=0), lambda: ms.tensor([[1, 2, 0]])),
    (lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True), lambda: ms.randn(2, 3, 4)),
    (lambda: nn.GRU(4, 3, bidirectional=True), lambda: ms.randn(3, 2, 4)),
    (lambda: nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), lambda: ms.randn(2, 3, 8)),
    (lambda: nn.MultiheadAttention(8, 2, batch_first=True), lambda: (ms.randn(2, 3, 8),) * 3),
    (lambda: nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 2), nn.Softmax(dim=-1)), lambda: ms.randn(3, 4)),
], ids=["Embedding", "LSTM", "GRU", "TransformerEncoderLayer", "MultiheadAttention", "Sequential"])
def test_library_modules_round_trip_whole(tmp_path, make, example):
    ms.manual_seed(0)
    model = make().eval()
    x = example()
    x = x if isinstance(x, tuple) else (x,)
    ms.save(model, tmp_path / "m.pt")
    loaded = ms.load(tmp_path / "m.pt", weights_only=False)
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    ours, theirs = loaded(*x), model(*x)
    flat = [t for t in (ours if isinstance(ours, tuple) else (ours,))]
    flat_ref = [t for t in (theirs if isinstance(theirs, tuple) else (theirs,))]
    for a, b in zip(flat, flat_ref):
        for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            if u is not None:
                np.testing.assert_array_equal(u.numpy(), v.numpy())


def write_structure(path, structure, **arrays):
    with open(path, "wb") as f:
        np.savez(f, __mlseries__=np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8), **arrays)


@pytest.mark.parametrize("structure, words", [
    ({"$module": "subprocess:Popen", "id": 0, "state": []}, "not an mlseries.nn.Module subclass"),
    ({"$module": "builtins:dict", "id": 0, "state": []}, "not an mlseries.nn.Module subclass"),
    ({"$module": "mlseries._tensor:Tensor", "id": 0, "state": []}, "not an mlseries.nn.Module subclass"),
    ({"$module": "antigravity:Fly", "id": 0, "state": []}, "has not imported"),
    ({"$module": "mlseries.nn:NoSuchLayer", "id": 0, "state": []}, "does not define"),
    ({"$dict": [["act", {"$function": "os:system"}]]}, "not part of mlseries"),
    ({"$dict": [["act", {"$function": "builtins:eval"}]]}, "not part of mlseries"),
    ({"$dict": [["cls", {"$class": "collections:OrderedDict"}]]}, "not an mlseries.nn.Module subclass"),
    ({"$module": "mlseries.nn:Linear", "id": 0, "state": [["_parameters", {"$dict": [["w", 3]]}]]},
     "malformed _parameters"),
    ({"$ref": 5}, "before defining it"),
])
def test_crafted_files_are_refused_and_nothing_runs(tmp_path, structure, words):
    assert "antigravity" not in sys.modules
    path = tmp_path / "crafted.pt"
    write_structure(path, structure)
    with pytest.raises(CheckpointError, match=words):
        ms.load(path, weights_only=False)
    assert "antigravity" not in sys.modules  # the file never gets a module imported


def test_functions_outside_mlseries_need_registering(tmp_path):
    path = tmp_path / "m.pt"
    with pytest.raises(TypeError, match="add_safe_globals"):
        ms.save(HoldsUserFunction(), path)
    model = nn.Sequential(nn.Linear(2, 2))
    model.act = lambda x: x
    with pytest.raises(TypeError, match="lambda"):
        ms.save(model, path)
    with ms.serialization.safe_globals([my_activation]):
        ms.save(HoldsUserFunction(), path)
        loaded = ms.load(path, weights_only=False)
    assert loaded.fn is my_activation and loaded(ms.ones(1)).tolist() == [2.0]
    with pytest.raises(CheckpointError, match="not part of mlseries"):
        ms.load(path, weights_only=False)  # registration was only for the block
    with pytest.raises(TypeError, match="cannot store a object"):
        ms.save({"w": ms.ones(1), "thing": object()}, path)


def test_locally_defined_module_class_is_refused_at_save(tmp_path):
    class Local(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="inside a function"):
        ms.save(Local(), tmp_path / "m.pt")


def test_optimizer_scheduler_and_scaler_state_resume_exactly(tmp_path):
    def make():
        ms.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        opt = ms.optim.Adamax(model.parameters(), lr=0.01)
        sched = ms.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
        return model, opt, sched

    x, y = ms.randn(6, 3, dtype=ms.float64), ms.randn(6, 1, dtype=ms.float64)

    def train(model, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
            sched.step()

    model, opt, sched = make()
    train(model, opt, sched, 4)
    scaler = ms.amp.GradScaler("cpu", init_scale=256.0)
    ms.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "scaler": scaler.state_dict(), "epoch": 4}, tmp_path / "ckpt.pt")
    train(model, opt, sched, 3)
    model2, opt2, sched2 = make()
    ckpt = ms.load(tmp_path / "ckpt.pt", map_location="cpu")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    scaler2 = ms.amp.GradScaler("cpu")
    scaler2.load_state_dict(ckpt["scaler"])
    assert ckpt["epoch"] == 4 and scaler2.get_scale() == 256.0
    assert isinstance(ckpt["model"], collections.OrderedDict)
    train(model2, opt2, sched2, 3)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_nested_containers_and_shared_tensors_round_trip(tmp_path):
    shared = ms.arange(4.0)
    obj = {"list": [1, 2.5, "three", None, [ms.ones(2), (ms.zeros(1, dtype=ms.int64), True)]],
           "tuple": (1, (2, 3)), "ordered": collections.OrderedDict(b=1, a=2), "int_keys": {0: "x", 7: ms.ones(1)},
           "size": ms.Size([3, 4]), "dtype": ms.float64, "device": ms.device("cpu"), "set": {1, 2},
           "a": shared, "b": shared, "view": shared.detach(), "param": nn.Parameter(ms.ones(2)),
           "array": np.arange(3), "inf": float("inf"), "big": 2 ** 70}
    ms.save(obj, tmp_path / "nested.pt")
    got = ms.load(tmp_path / "nested.pt")
    assert got["list"][:4] == [1, 2.5, "three", None] and got["list"][4][0].tolist() == [1.0, 1.0]
    assert got["list"][4][1][0].dtype == ms.int64 and got["list"][4][1][1] is True
    assert got["tuple"] == (1, (2, 3)) and list(got["ordered"]) == ["b", "a"]
    assert type(got["ordered"]) is collections.OrderedDict and got["int_keys"][0] == "x"
    assert got["size"] == ms.Size([3, 4]) and got["dtype"] is ms.float64 and got["device"] == ms.device("cpu")
    assert got["set"] == {1, 2} and got["inf"] == float("inf") and got["big"] == 2 ** 70
    assert got["a"] is got["b"] and np.shares_memory(got["a"].numpy(), got["view"].numpy())
    assert isinstance(got["param"], nn.Parameter) and got["param"].requires_grad
    assert isinstance(got["array"], np.ndarray) and got["array"].tolist() == [0, 1, 2]


def test_tied_state_dict_entries_come_back_sharing_memory(tmp_path):
    model = TiedNet()
    ms.save(model.state_dict(), tmp_path / "sd.pt")
    sd = ms.load(tmp_path / "sd.pt")
    assert np.shares_memory(sd["embed.weight"].numpy(), sd["head.weight"].numpy())
    fresh = TiedNet()
    fresh.load_state_dict(sd)
    np.testing.assert_array_equal(fresh.head.weight.numpy(), model.embed.weight.numpy())


@pytest.mark.parametrize("location", ["cpu", ms.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage])
def test_map_location_to_the_cpu_is_accepted(tmp_path, location):
    ms.save({"w": ms.ones(2)}, tmp_path / "w.pt")
    assert ms.load(tmp_path / "w.pt", map_location=location)["w"].tolist() == [1.0, 1.0]


def test_map_location_to_a_gpu_is_refused(tmp_path):
    ms.save({"w": ms.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(RuntimeError, match="CPU only"):
        ms.load(tmp_path / "w.pt", map_location="cuda:0")
