"""Module paths and small modules PyTorch programs import: torch.autograd.Variable, torch.nn.modules.*,
torch.utils.tensorboard, torch.testing, torch.func, torch.profiler, torch.utils.hooks, torch.types —
each checked against PyTorch where there are numbers."""
import csv
import importlib
import importlib.util
import json
import warnings

import numpy as np
import pytest
import torch

import mlseries as ms
from mlseries import nn

# ---- 1. the import paths exist, in both, and give the engine's own objects -----------------------------
PATHS = [
    ("autograd", "Variable", None),
    ("autograd.variable", "Variable", None),
    ("autograd.grad_mode", "no_grad", ms.no_grad),
    ("autograd.grad_mode", "enable_grad", ms.enable_grad),
    ("autograd.grad_mode", "set_grad_enabled", ms.set_grad_enabled),
    ("autograd.grad_mode", "inference_mode", ms.inference_mode),
    ("nn.modules.module", "Module", nn.Module),
    ("nn.modules.loss", "_Loss", None),
    ("nn.modules.loss", "_WeightedLoss", None),
    ("nn.modules.loss", "MSELoss", nn.MSELoss),
    ("nn.modules.loss", "CrossEntropyLoss", nn.CrossEntropyLoss),
    ("nn.modules.loss", "TripletMarginLoss", nn.TripletMarginLoss),
    ("nn.modules.conv", "Conv1d", nn.Conv1d),
    ("nn.modules.conv", "Conv2d", nn.Conv2d),
    ("nn.modules.conv", "Conv3d", nn.Conv3d),
    ("nn.modules.conv", "ConvTranspose1d", nn.ConvTranspose1d),
    ("nn.modules.conv", "ConvTranspose2d", nn.ConvTranspose2d),
    ("nn.modules.conv", "ConvTranspose3d", nn.ConvTranspose3d),
    ("nn.modules.conv", "_ConvNd", None),
    ("nn.modules.linear", "Linear", nn.Linear),
    ("nn.modules.linear", "Identity", nn.Identity),
    ("nn.modules.linear", "Bilinear", nn.Bilinear),
    ("nn.modules.activation", "ReLU", nn.ReLU),
    ("nn.modules.activation", "GELU", nn.GELU),
    ("nn.modules.activation", "PReLU", nn.PReLU),
    ("nn.modules.activation", "MultiheadAttention", nn.MultiheadAttention),
    ("nn.modules.batchnorm", "_BatchNorm", None),
    ("nn.modules.batchnorm", "BatchNorm1d", nn.BatchNorm1d),
    ("nn.modules.batchnorm", "BatchNorm2d", nn.BatchNorm2d),
    ("nn.modules.batchnorm", "BatchNorm3d", nn.BatchNorm3d),
    ("nn.modules.pooling", "MaxPool2d", nn.MaxPool2d),
    ("nn.modules.pooling", "AdaptiveAvgPool1d", nn.AdaptiveAvgPool1d),
    ("nn.modules.pooling", "MaxPool3d", nn.MaxPool3d),
    ("nn.modules.dropout", "Dropout", nn.Dropout),
    ("nn.modules.dropout", "Dropout2d", nn.Dropout2d),
    ("nn.modules.container", "Sequential", nn.Sequential),
    ("nn.modules.container", "ModuleList", nn.ModuleList),
    ("nn.modules.container", "ParameterDict", nn.ParameterDict),
    ("nn.modules.rnn", "LSTM", nn.LSTM),
    ("nn.modules.rnn", "RNNBase", nn.RNNBase),
    ("nn.modules.rnn", "GRUCell", nn.GRUCell),
    ("nn.modules.normalization", "LayerNorm", nn.LayerNorm),
    ("nn.modules.normalization", "GroupNorm", nn.GroupNorm),
    ("nn.modules.transformer", "TransformerEncoderLayer", nn.TransformerEncoderLayer),
    ("nn.modules.sparse", "Embedding", nn.Embedding),
    ("nn.modules.sparse", "EmbeddingBag", nn.EmbeddingBag),
    ("nn.modules.padding", "ZeroPad2d", nn.ZeroPad2d),
    ("nn.modules.padding", "ReflectionPad1d", nn.ReflectionPad1d),
    ("nn.modules.utils", "_pair", None),
    ("nn.modules.flatten", "Flatten", nn.Flatten),
    ("nn.modules.pixelshuffle", "PixelShuffle", nn.PixelShuffle),
    ("nn.modules.upsampling", "Upsample", nn.Upsample),
    ("nn.modules.distance", "CosineSimilarity", nn.CosineSimilarity),
    ("nn.modules.instancenorm", "InstanceNorm2d", nn.InstanceNorm2d),
    ("nn.modules.fold", "Unfold", nn.Unfold),
    ("nn.modules", "Linear", nn.Linear),
    ("utils.tensorboard", "SummaryWriter", None),
    ("utils.hooks", "RemovableHandle", None),
    ("testing", "assert_close", None),
    ("testing", "make_tensor", None),
    ("func", "functional_call", None),
    ("func", "grad", None),
    ("func", "vmap", None),
    ("profiler", "profile", None),
    ("profiler", "record_function", None),
    ("profiler", "ProfilerActivity", None),
    ("types", "Number", None),
    ("types", "_size", None),
]


@pytest.mark.parametrize("path,name,engine", PATHS, ids=[f"{p}.{n}" for p, n, _ in PATHS])
def test_import_path(path, name, engine):
    if path == "utils.tensorboard":  # PyTorch's needs the tensorboard package, absent here
        assert importlib.util.find_spec("torch.utils.tensorboard") is not None
    else:
        assert hasattr(importlib.import_module(f"torch.{path}"), name)  # the path is PyTorch's
    mod = importlib.import_module(f"mlseries.{path}")
    obj = getattr(mod, name)
    if engine is not None:
        assert obj is engine
    # reachable as attributes after `import mlseries as torch`
    owner = ms
    for part in path.split("."):
        owner = getattr(owner, part)
    assert getattr(owner, name) is obj


def test_same_objects_across_paths():
    from mlseries.nn.modules import conv, loss, batchnorm
    from mlseries.nn import loss as engine_loss, batchnorm as engine_bn, conv as engine_conv
    assert loss._Loss is engine_loss._Loss and loss._WeightedLoss is engine_loss._WeightedLoss
    assert batchnorm._BatchNorm is engine_bn._BatchNorm
    assert conv._ConvNd is engine_conv._ConvNdBase
    assert issubclass(nn.Conv2d, conv._ConvNd) and issubclass(nn.Conv3d, conv._ConvNd)
    assert issubclass(nn.BatchNorm2d, batchnorm._BatchNorm)
    assert issubclass(nn.MSELoss, loss._Loss) and issubclass(nn.CrossEntropyLoss, loss._WeightedLoss)
    assert ms.vmap is ms.func.vmap
    assert ms.utils.hooks.RemovableHandle is ms._hooks.RemovableHandle
    h = ms.ones(2, requires_grad=True).register_hook(lambda g: g)
    assert isinstance(h, ms.utils.hooks.RemovableHandle)


@pytest.mark.parametrize("fn", ["_single", "_pair", "_triple", "_quadruple"])
@pytest.mark.parametrize("value", [3, (1, 2), [4, 5, 6], 2.5])
def test_ntuple_helpers(fn, value):
    from torch.nn.modules import utils as tu
    from mlseries.nn.modules import utils as mu
    assert getattr(mu, fn)(value) == getattr(tu, fn)(value)
    assert mu._ntuple(5)(7) == tu._ntuple(5)(7)


# ---- Variable -------------------------------------------------------------------------------------------
def test_variable_semantics():
    from torch.autograd import Variable as TV
    from mlseries.autograd import Variable as MV
    for lib, V in ((torch, TV), (ms, MV)):
        t = lib.ones(3)
        v = V(t, requires_grad=True)
        assert type(v) is lib.Tensor and v is not t
        assert v.requires_grad and not t.requires_grad and v.grad_fn is None
        assert isinstance(t, V) and isinstance(v, V) and not isinstance(3.0, V)
        v.data[0] = 5.0  # shares memory with the tensor it wraps
        assert t[0].item() == 5.0
        a = lib.ones(2, requires_grad=True)
        b = V(a * 2)  # detached: no grad, no history
        assert not b.requires_grad and b.grad_fn is None
        assert tuple(V().shape) == (0,)
        p = lib.nn.Parameter(lib.ones(2))
        assert type(V(p)) is lib.Tensor
        with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
            V([1.0, 2.0])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            V(t, volatile=True)
        assert any("volatile was removed" in str(x.message) for x in w)
    # an old-style training step, both frameworks
    torch.manual_seed(0)
    w0 = torch.randn(3, 1, dtype=torch.float64)
    x0 = torch.randn(5, 3, dtype=torch.float64)
    grads = []
    for lib, V in ((torch, TV), (ms, MV)):
        w = V(lib.tensor(w0.numpy()), requires_grad=True)
        x = V(lib.tensor(x0.numpy()))
        loss = (x.mm(w) ** 2).mean()
        loss.backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


# ---- a user's loss on _Loss / _WeightedLoss --------------------------------------------------------------
def _loss_classes(lib):
    from importlib import import_module
    base = import_module(f"{lib.__name__}.nn.modules.loss")

    class WeightedL1(base._WeightedLoss):
        def forward(self, input, target):
            err = (input - target).abs() * self.weight
            if self.reduction == "mean":
                return err.mean()
            if self.reduction == "sum":
                return err.sum()
            return err

    class LogCosh(base._Loss):
        def __init__(self, reduction="mean", scale=1.0):
            super().__init__(reduction=reduction)
            self.scale = scale

        def forward(self, input, target):
            v = self.scale * lib.log(lib.cosh(input - target))
            return v.mean() if self.reduction == "mean" else v.sum() if self.reduction == "sum" else v

    return WeightedL1, LogCosh


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_custom_loss_subclass(reduction):
    rng = np.random.default_rng(0)
    x, y, w = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform(size=3)
    out = {}
    for lib in (torch, ms):
        WeightedL1, LogCosh = _loss_classes(lib)
        a = lib.tensor(x, requires_grad=True)
        l1 = WeightedL1(weight=lib.tensor(w), reduction=reduction)
        lc = LogCosh(reduction=reduction, scale=0.5)
        assert l1.reduction == reduction and lc.reduction == reduction
        assert "weight" in dict(l1.named_buffers())
        total = l1(a, lib.tensor(y)).sum() + lc(a, lib.tensor(y)).sum()
        total.backward()
        out[lib.__name__] = (total.item(), a.grad.numpy())
    np.testing.assert_allclose(out["mlseries"][0], out["torch"][0], rtol=1e-12)
    np.testing.assert_allclose(out["mlseries"][1], out["torch"][1], rtol=1e-10)


def test_loss_legacy_size_average_and_bad_reduction():
    for lib in (torch, ms):
        _, LogCosh = _loss_classes(lib)
        base = importlib.import_module(f"{lib.__name__}.nn.modules.loss")
        assert base._Loss(size_average=False).reduction == "sum"
        assert base._Loss(reduce=False).reduction == "none"
    with pytest.raises(ValueError):
        torch.nn.MSELoss(reduction="avg")(torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError):
        ms.nn.MSELoss(reduction="avg")(ms.ones(2), ms.ones(2))


# ---- SummaryWriter ---------------------------------------------------------------------------------------
def test_summary_writer_files(tmp_path):
    from mlseries.utils.tensorboard import SummaryWriter
    logdir = tmp_path / "run1"
    with SummaryWriter(log_dir=str(logdir), comment="ignored", flush_secs=5, filename_suffix=".x") as w:
        assert w.get_logdir() == str(logdir)
        w.add_scalar("loss/train", ms.tensor(0.5), 1)
        w.add_scalar("loss/train", np.float32(0.25), global_step=2, walltime=123.0)
        w.add_scalar("lr", 0.1)
        # the CSV is on disk while the writer is open
        rows = list(csv.reader(open(logdir / "scalars.csv")))
        assert rows[0] == ["tag", "step", "value", "wall_time"] and len(rows) == 4
        w.add_scalars("acc", {"train": 0.9, "val": ms.tensor([0.8])}, 3)
        w.add_histogram("weights", ms.tensor([0.0, 1.0, 1.0, 2.0, 3.0]), 0, bins=3)
        w.add_image("chw", ms.ones(3, 4, 5) * 0.5, 7)
        w.add_image("hw", np.arange(20, dtype=np.uint8).reshape(4, 5), 0, dataformats="HW")
        w.add_image("hwc", ms.rand(4, 5, 1), 0, dataformats="HWC")
        w.add_images("batch", ms.rand(10, 1, 4, 5), 2)
        w.add_text("note", "hello", 4)
        w.add_hparams({"lr": 0.1, "opt": "sgd"}, {"hparam/acc": ms.tensor(0.75)})
        w.add_graph(nn.Linear(2, 3), ms.zeros(1, 2))
        w.add_embedding(ms.randn(4, 3), metadata=["a", "b", "c", "d"], global_step=1)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = plt.figure()
        plt.plot([1, 2, 3])
        w.add_figure("fig", fig, 5)
        with pytest.raises(ValueError, match="single number"):
            w.add_scalar("bad", ms.ones(3))
        with pytest.raises(ValueError, match="dataformats"):
            w.add_image("bad", ms.ones(3, 4, 5), dataformats="NCHW")
    rows = list(csv.DictReader(open(logdir / "scalars.csv")))
    got = [(r["tag"], int(r["step"]), float(r["value"])) for r in rows]
    assert got == [("loss/train", 1, 0.5), ("loss/train", 2, 0.25), ("lr", 0, 0.1), ("acc/train", 3, 0.9),
                   ("acc/val", 3, float(np.float32(0.8))), ("hparam/acc", 0, 0.75)]
    assert float(rows[1]["wall_time"]) == 123.0
    hist = json.loads(open(logdir / "histograms.jsonl").readline())
    assert hist["tag"] == "weights" and hist["bucket_counts"] == [1, 2, 2] and hist["num"] == 5
    assert hist["bin_edges"] == [0.0, 1.0, 2.0, 3.0]
    from PIL import Image
    img = np.asarray(Image.open(logdir / "images" / "chw" / "7.png"))
    assert img.shape == (4, 5, 3) and (img == 128).all()
    hw = np.asarray(Image.open(logdir / "images" / "hw" / "0.png"))
    assert hw.shape == (4, 5, 3) and (hw[..., 0] == np.arange(20).reshape(4, 5)).all()
    assert np.asarray(Image.open(logdir / "images" / "batch" / "2.png")).shape == (8, 40, 3)  # 8 per row, 2 rows
    assert (logdir / "images" / "fig" / "5.png").exists()
    text = json.loads(open(logdir / "text.jsonl").readline())
    assert (text["tag"], text["step"], text["text"]) == ("note", 4, "hello")
    hp = json.loads(open(logdir / "hparams.jsonl").readline())
    assert hp["hparams"] == {"lr": 0.1, "opt": "sgd"} and hp["metrics"] == {"hparam/acc": 0.75}
    notes = [json.loads(line) for line in open(logdir / "notes.jsonl")]
    assert notes[0]["kind"] == "graph" and "Linear" in notes[0]["model"] and notes[0]["input_shapes"] == [[1, 2]]
    assert np.loadtxt(logdir / "embeddings" / "default" / "1" / "tensors.tsv").shape == (4, 3)
    with pytest.raises(RuntimeError, match="closed"):
        w.add_scalar("x", 1.0)
    # appending to an existing run keeps one header
    with SummaryWriter(str(logdir)) as w2:
        w2.add_scalar("lr", 0.2, 1)
    rows = list(csv.reader(open(logdir / "scalars.csv")))
    assert sum(r[0] == "tag" for r in rows) == 1 and rows[-1][:3] == ["lr", "1", "0.2"]


def test_summary_writer_default_logdir(tmp_path, monkeypatch):
    import socket
    from mlseries.utils.tensorboard import SummaryWriter
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.close()
    assert w.log_dir.startswith("runs") and w.log_dir.endswith(f"_{socket.gethostname()}_exp")
    assert (tmp_path / w.log_dir / "scalars.csv").exists()


# ---- torch.testing.assert_close: passes and fails where torch's does, with its message ----------------------
def _cases(lib):
    f64 = lib.float64
    nan, inf = float("nan"), float("inf")
    T = lib.tensor
    return [
        (T([1., 2., 3.]), T([1., 2.1, 3.]), {}),
        (T([1., 2., 3.]), T([1., 2. + 1e-6, 3.]), {}),
        (T([1, 2, 3]), T([1, 3, 3]), {}),
        (T([1, 2, 3]), T([1, 2, 3]), {}),
        (T([1., 2.]), T([1., 2., 3.]), {}),
        (T([1., 2.]), T([1., 2.], dtype=f64), {}),
        (T([1., 2.]), T([1., 2.], dtype=f64), {"check_dtype": False}),
        (T(1.), 1.0, {}),
        (1.0, 1.1, {}),
        (1.0, 1.0 + 1e-8, {}),
        (1, 2, {}),
        (1, 1.0, {}),
        (True, False, {}),
        ([T([1.]), T([2.])], [T([1.]), T([3.])], {}),
        ({"a": T([1., 2.])}, {"a": T([1., 3.])}, {}),
        ({"a": 1}, {"b": 1}, {}),
        ([1, 2], [1, 2, 3]),
        ([1, [2]], [1, [3]], {}),
        ((1, 2), [1, 2], {}),
        (T([nan]), T([nan]), {}),
        (T([nan]), T([nan]), {"equal_nan": True}),
        (T([1., 2., nan], dtype=f64), T([1., 1., 1.], dtype=f64), {}),
        (T([1., inf]), T([1., inf]), {}),
        (T([1., inf]), T([1., -inf]), {}),
        (T([0., 2.]), T([1e-3, 0.]), {}),
        (T([[1., 2.], [3., 4.]]), T([[1.5, 2.], [3., 4.1]]), {}),
        (lib.ones(2, 3), lib.ones(2, 3) * (1 + 1e-6), {}),
        (lib.zeros(2, 3, dtype=f64), lib.ones(2, 3, dtype=f64) * 1e-5, {}),
        (lib.ones(2, dtype=f64), lib.ones(2, dtype=f64) + 3e-7, {}),
        (lib.ones(2), lib.ones(2) * 1.5, {"rtol": 0.1, "atol": 0.1}),
        (lib.ones(2), lib.ones(2) * 1.5, {"rtol": 0.5, "atol": 0}),
        (lib.ones(2), lib.ones(2) * 2, {"rtol": 0, "atol": 0}),
        (lib.ones(2), lib.ones(2) * 2, {"msg": "custom"}),
        (lib.ones(2), lib.ones(2) * 2, {"msg": lambda m: "X" + m}),
        (lib.ones(2, dtype=lib.float16), lib.ones(2, dtype=lib.float16) * 1.0005, {}),
        (lib.ones(2, dtype=lib.float16), lib.ones(2, dtype=lib.float16) * 1.002, {}),
        (T([1, 2]), T([1., 2.5]), {"check_dtype": False}),
        (T([True, False]), T([True, True]), {}),
        (T(True), T(False), {"rtol": 0, "atol": 0}),
        (T(1.0), T(2.0), {}),
        (lib.zeros(0), lib.zeros(0), {}),
        (lib.ones(2, requires_grad=True), lib.ones(2), {}),
        (lib.ones(2), lib.nn.Parameter(lib.ones(2)), {}),
        (T([1, 2], dtype=lib.int64), T([1, 2], dtype=lib.int32), {}),
        (np.array([1., 2.]), np.array([1., 2.1]), {}),
        (np.array([1., 2.]), T([1., 2.], dtype=f64), {}),
        ("a", "a", {}),
        (None, None, {}),
    ]


@pytest.mark.parametrize("i", range(48))
def test_assert_close_matches_torch(i):
    tcase, mcase = _cases(torch)[i], _cases(ms)[i]
    if len(tcase) == 2:
        tcase, mcase = tcase + ({},), mcase + ({},)
    outcome = []
    for fn, (a, e, kw) in ((torch.testing.assert_close, tcase), (ms.testing.assert_close, mcase)):
        try:
            fn(a, e, **kw)
            outcome.append((None, None))
        except Exception as err:  # noqa: BLE001  (the type and words are what is compared)
            outcome.append((type(err), str(err)))
    (t_type, t_msg), (m_type, m_msg) = outcome
    assert m_type is t_type, (t_msg, m_msg)
    if t_msg is not None:
        expect = t_msg.replace("torch.", "mlseries.").replace("<class 'mlseries.Tensor'>",
                                                               "<class 'mlseries._tensor.Tensor'>")
        assert m_msg == expect


def test_assert_close_case_count():
    assert len(_cases(ms)) == len(_cases(torch)) == 48


def test_assert_close_tolerance_arguments():
    for lib in (torch, ms):
        with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified or omitted, but got no atol"):
            lib.testing.assert_close(lib.ones(2), lib.ones(2), rtol=1e-3)
        with pytest.raises(ValueError, match="got no rtol"):
            lib.testing.assert_close(lib.ones(2), lib.ones(2), atol=1e-3)


def test_make_tensor():
    ms.manual_seed(0)
    a = ms.testing.make_tensor(3, 4, dtype=ms.float32, device="cpu")
    assert tuple(a.shape) == (3, 4) and a.dtype == ms.float32
    assert (a.numpy() >= -9).all() and (a.numpy() < 9).all()
    b = ms.testing.make_tensor((5,), dtype=ms.int64, device="cpu", low=0, high=3, exclude_zero=True)
    assert b.dtype == ms.int64 and set(b.tolist()) <= {1, 2}
    c = ms.testing.make_tensor(2, dtype=ms.float64, device="cpu", requires_grad=True)
    assert c.requires_grad
    ms.manual_seed(0)
    assert ms.testing.make_tensor(3, 4, dtype=ms.float32, device="cpu").tolist() == a.tolist()
    with pytest.raises(ValueError):
        ms.testing.make_tensor(2, dtype=ms.float32, device="cpu", low=3, high=1)


# ---- torch.func --------------------------------------------------------------------------------------------
def _mlp(lib, seed=0):
    lib.manual_seed(seed)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()


def _same_weights(tm, mm):
    mm.load_state_dict({k: ms.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def test_functional_call_matches_torch():
    tm, mm = _mlp(torch), _mlp(ms)
    _same_weights(tm, mm)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3))
    new = {k: rng.normal(size=tuple(v.shape)) for k, v in tm.named_parameters()}
    res = {}
    for lib, model in ((torch, tm), (ms, mm)):
        params = {k: lib.tensor(v, requires_grad=True) for k, v in new.items()}
        out = lib.func.functional_call(model, params, (lib.tensor(x),))
        loss = (out ** 2).sum()
        loss.backward()
        res[lib.__name__] = (out.detach().numpy(), {k: p.grad.numpy() for k, p in params.items()},
                             [p.grad for p in model.parameters()])
    np.testing.assert_allclose(res["mlseries"][0], res["torch"][0], rtol=1e-12)
    for k in new:
        np.testing.assert_allclose(res["mlseries"][1][k], res["torch"][1][k], rtol=1e-10, atol=1e-12)
    assert all(g is None for g in res["mlseries"][2])  # the module's own parameters were not used
    # the module has its own parameters back
    for (k, p), (_, q) in zip(tm.named_parameters(), mm.named_parameters()):
        assert type(q) is ms.nn.Parameter
        np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


def test_functional_call_maml_second_order():
    """MAML's inner step: adapted = params - lr * grad(loss, params, create_graph=True); the outer
    loss is differentiated through the inner step, in both frameworks."""
    tm, mm = _mlp(torch, 3), _mlp(ms, 3)
    _same_weights(tm, mm)
    rng = np.random.default_rng(2)
    xs, ys, xq, yq = (rng.normal(size=s) for s in ((6, 3), (6, 2), (4, 3), (4, 2)))
    res = {}
    for lib, model in ((torch, tm), (ms, mm)):
        params = dict(model.named_parameters())
        inner = ((lib.func.functional_call(model, params, lib.tensor(xs)) - lib.tensor(ys)) ** 2).mean()
        grads = lib.autograd.grad(inner, list(params.values()), create_graph=True)
        adapted = {k: p - 0.1 * g for (k, p), g in zip(params.items(), grads)}
        outer = ((lib.func.functional_call(model, adapted, (lib.tensor(xq),)) - lib.tensor(yq)) ** 2).mean()
        outer.backward()
        res[lib.__name__] = (outer.item(), [p.grad.numpy() for p in model.parameters()])
    np.testing.assert_allclose(res["mlseries"][0], res["torch"][0], rtol=1e-12)
    for a, b in zip(res["mlseries"][1], res["torch"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_functional_call_restores_on_error_and_checks_keys():
    model = _mlp(ms)
    before = {k: v for k, v in model.named_parameters()}

    class Boom(ms.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = ms.nn.Linear(2, 2)

        def forward(self, x):
            raise RuntimeError("boom")
    boom = Boom()
    w = boom.lin.weight
    with pytest.raises(RuntimeError, match="boom"):
        ms.func.functional_call(boom, {"lin.weight": ms.zeros(2, 2)}, (ms.ones(2),))
    assert boom.lin.weight is w
    for lib, m in ((torch, _mlp(torch)), (ms, model)):
        x = lib.ones(1, 3, dtype=lib.float64)
        with pytest.raises(RuntimeError, match=r"Unexpected key\(s\): 'nope'.\n\tMissing key\(s\): '0.bias', "):
            lib.func.functional_call(m, {"nope": lib.zeros(1)}, (x,), strict=True)
        with pytest.raises(RuntimeError, match=r"reparametrizing for Sequential:\n\tMissing key\(s\): '0.bias', '2.bias'"):
            lib.func.functional_call(m, {"0.weight": lib.zeros(4, 3, dtype=lib.float64)}, (x,), strict=True)
        lib.func.functional_call(m, {"nope": lib.zeros(1)}, (x,))  # not strict: set for the call, then removed
        assert not hasattr(m, "nope")
    for k, v in model.named_parameters():
        assert v is before[k]


def test_functional_call_plain_tensor_attribute():
    out = []
    for lib in (torch, ms):
        class Scaled(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(2, 2)
                self.scale = lib.tensor(2.0)

            def forward(self, x):
                return self.lin(x) * self.scale
        lib.manual_seed(0)
        m = Scaled()
        y = lib.func.functional_call(m, {"scale": lib.tensor(10.0), "lin.bias": lib.zeros(2)}, lib.ones(1, 2))
        assert m.scale.item() == 2.0
        out.append((y / 10).tolist() == (m.lin(lib.ones(1, 2)) - m.lin.bias).tolist())
    assert out == [True, True]


def test_functional_call_buffers_and_tied_weights():
    for lib in (torch, ms):
        bn = lib.nn.BatchNorm1d(3).double().eval()
        out = lib.func.functional_call(bn, {"running_mean": lib.ones(3, dtype=lib.float64)},
                                       lib.ones(2, 3, dtype=lib.float64))
        assert out.abs().max().item() < 1e-4  # (1 - 1) / sqrt(1 + eps)
        assert bn.running_mean.sum().item() == 0

        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(2, 2, bias=False)
                self.b = lib.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight

            def forward(self, x):
                return self.b(self.a(x))
        m = Tied()
        y = lib.func.functional_call(m, {"a.weight": lib.eye(2) * 2}, lib.ones(1, 2))
        assert y.tolist() == [[4.0, 4.0]]  # both uses replaced


def test_func_grad_and_friends_match_torch():
    rng = np.random.default_rng(4)
    x0, y0 = rng.normal(size=(3,)), rng.normal(size=(3,))

    def f(lib):
        return lambda x, y: (lib.sin(x) * y).sum() + (x ** 3).sum()

    res = {}
    for lib in (torch, ms):
        x, y = lib.tensor(x0), lib.tensor(y0)
        g = lib.func.grad(f(lib))(x, y)
        gx, gy = lib.func.grad(f(lib), argnums=(0, 1))(x, y)
        gv, v = lib.func.grad_and_value(f(lib))(x, y)
        ga, aux = lib.func.grad(lambda x: ((x ** 2).sum(), x.mean()), has_aux=True)(x)
        gg = lib.func.grad(lambda x: lib.func.grad(lambda z: (z ** 3).sum())(x).sum())(x)  # nested: 6x
        jac = lib.func.jacrev(lambda x: lib.tanh(x) * x.sum())(x)
        hess = lib.func.hessian(lambda x: (x ** 2 * x.flip(0)).sum())(x)
        out, vjp_fn = lib.func.vjp(lambda x, y: x * y.exp(), x, y)
        vx, vy = vjp_fn(lib.ones(3, dtype=lib.float64))
        gd = lib.func.grad(lambda p: (p["w"] * p["b"]).sum())({"w": x, "b": y})
        assert not g.requires_grad
        res[lib.__name__] = [t.detach().numpy() for t in (g, gx, gy, gv, v, ga, aux, gg, jac, hess, out, vx, vy,
                                                           gd["w"], gd["b"])]
    for a, b in zip(res["mlseries"], res["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_func_grad_errors():
    for lib in (torch, ms):
        with pytest.raises(RuntimeError, match="scalar Tensor"):
            lib.func.grad(lambda x: x * 2)(lib.ones(3))


def test_func_grad_unused_input_is_zero():
    for lib in (torch, ms):
        gx, gy = lib.func.grad(lambda x, y: (x * 2).sum(), argnums=(0, 1))(lib.ones(2), lib.ones(3))
        assert gy.tolist() == [0.0, 0.0, 0.0] and gx.tolist() == [2.0, 2.0]


def test_vmap_matches_torch():
    rng = np.random.default_rng(5)
    a0, b0, w0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    res = {}
    for lib in (torch, ms):
        a, b, w = lib.tensor(a0), lib.tensor(b0), lib.tensor(w0)
        r1 = lib.vmap(lambda v: v @ w)(a)  # (4, 2)
        r2 = lib.vmap(lib.dot, in_dims=(0, 1))(a, b)  # (4,)
        r3 = lib.vmap(lambda v, m: v @ m, in_dims=(0, None))(a, w)
        r4 = lib.func.vmap(lambda v: (v.sum(), v * 2), out_dims=(0, 1))(a)
        r5 = lib.vmap(lib.vmap(lambda s: s * s))(a)
        per_sample = lib.vmap(lib.func.grad(lambda wt, x: (x @ wt).sum()), in_dims=(None, 0))(w, a)  # (4, 3, 2)
        res[lib.__name__] = [t.numpy() for t in (r1, r2, r3, r4[0], r4[1], r5, per_sample)]
    for x, y in zip(res["mlseries"], res["torch"]):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-12)
    for lib in (torch, ms):
        with pytest.raises(ValueError, match="same size"):
            lib.vmap(lambda p, q: p + q)(lib.ones(2), lib.ones(3))


def test_vmap_is_differentiable():
    x0 = np.random.default_rng(6).normal(size=(3, 2))
    grads = []
    for lib in (torch, ms):
        x = lib.tensor(x0, requires_grad=True)
        lib.vmap(lambda v: (v.sin() * v).sum())(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


# ---- profiler ------------------------------------------------------------------------------------------
def test_profiler_table_and_trace(tmp_path):
    from mlseries.profiler import ProfilerActivity, profile, record_function
    model = ms.nn.Linear(8, 4)
    x = ms.randn(16, 8)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(3):
            with record_function("forward"):
                with record_function("matmul_inner"):
                    y = model(x)
                loss = y.sum()
            with record_function("backward"):
                loss.backward()
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["forward"].count == 3 and rows["backward"].count == 3 and rows["matmul_inner"].count == 3
    f = rows["forward"]
    assert f.cpu_time_total >= rows["matmul_inner"].cpu_time_total
    assert abs(f.self_cpu_time_total - (f.cpu_time_total - rows["matmul_inner"].cpu_time_total)) < 1e-3
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=2)
    assert "Name" in table and "# of Calls" in table and "Self CPU time total" in table
    body = [line for line in table.splitlines() if line.startswith(("forward", "backward", "matmul_inner"))]
    assert len(body) == 2
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.load(open(path))
    names = [e["name"] for e in trace["traceEvents"]]
    assert names.count("forward") == 3 and all(e["ph"] == "X" and e["dur"] >= 0 for e in trace["traceEvents"])
    with pytest.raises(ValueError, match="sort_by"):
        prof.key_averages().table(sort_by="nonsense")
    # outside a profiler record_function does nothing
    with record_function("alone"):
        pass


def test_profiler_schedule_and_handler(tmp_path):
    from mlseries import profiler
    sched = profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    tsched = torch.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [sched(i).name for i in range(7)] == [tsched(i).name for i in range(7)]
    seen = []
    with profiler.profile(schedule=sched, on_trace_ready=lambda p: seen.append(p.key_averages())) as prof:
        for step in range(6):
            with profiler.record_function(f"work{step}"):
                pass
            prof.step()
    assert len(seen) == 1
    assert sorted(r.key for r in seen[0] if r.key.startswith("work")) == ["work2", "work3"]
    handler = profiler.tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w0")
    with profiler.profile(on_trace_ready=handler):
        with profiler.record_function("x"):
            pass
    files = list((tmp_path / "tb").iterdir())
    assert len(files) == 1 and files[0].name.startswith("w0.") and files[0].name.endswith(".pt.trace.json")
    assert json.load(open(files[0]))["traceEvents"][0]["name"] == "x"


# ---- a real program -------------------------------------------------------------------------------------
def _program(lib, tmp_path, x0, y0, state):
    """What an old tutorial plus a newer logging habit look like together."""
    from importlib import import_module
    Variable = import_module(f"{lib.__name__}.autograd").Variable
    _Loss = import_module(f"{lib.__name__}.nn.modules.loss")._Loss

    class RMSELoss(_Loss):
        def __init__(self, eps=1e-8, reduction="mean"):
            super().__init__(reduction=reduction)
            self.eps = eps

        def forward(self, pred, target):
            return lib.sqrt(lib.nn.functional.mse_loss(pred, target, reduction=self.reduction) + self.eps)

    model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1)).double()
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    crit = RMSELoss()
    writer = None
    if lib is ms:
        from mlseries.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(log_dir=str(tmp_path / "runs" / "rmse"))
    losses = []
    for step in range(8):
        xb, yb = Variable(lib.tensor(x0)), Variable(lib.tensor(y0))
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if writer is not None:
            writer.add_scalar("train/rmse", loss, step)
    if writer is not None:
        writer.close()
    with lib.no_grad():
        final = model(lib.tensor(x0))
    return losses, final.numpy()


def test_real_program_step_by_step(tmp_path):
    rng = np.random.default_rng(7)
    x0, y0 = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).double()
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    t_losses, t_final = _program(torch, tmp_path, x0, y0, state)
    m_losses, m_final = _program(ms, tmp_path, x0, y0, state)
    for step, (a, b) in enumerate(zip(m_losses, t_losses)):
        assert abs(a - b) <= 1e-10 * max(1.0, abs(b)), f"step {step}: {a} vs {b}"
    assert t_losses[-1] < t_losses[0]
    ms.testing.assert_close(ms.tensor(m_final), ms.tensor(t_final), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(torch.tensor(m_final), torch.tensor(t_final), rtol=1e-9, atol=1e-12)
    rows = list(csv.DictReader(open(tmp_path / "runs" / "rmse" / "scalars.csv")))
    assert [int(r["step"]) for r in rows] == list(range(8))
    np.testing.assert_allclose([float(r["value"]) for r in rows], t_losses, rtol=1e-10)
