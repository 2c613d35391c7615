"""nn.ParameterList and nn.ParameterDict, weight tying (one Parameter in two layers) and
persistent / non-persistent buffers, each checked against what PyTorch does."""
import collections

import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn as nn


# ---- ParameterList ---------------------------------------------------------------------------------------
def test_parameter_list_registers_and_wraps_tensors():
    for T, nn_ in ((ms, nn), (torch, torch.nn)):
        pl = nn_.ParameterList([nn_.Parameter(T.ones(3, 4)), T.zeros(5)])
        pl.append(T.ones(2))
        pl.extend([T.ones(1)])
        pl += [T.ones(6)]
        assert len(pl) == 5
        assert all(isinstance(p, nn_.Parameter) and p.requires_grad for p in pl)
        assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3", "4"]
        assert pl[-1].shape == (6,) and pl[1].shape == (5,)
        assert isinstance(pl[1:3], nn_.ParameterList) and len(pl[1:3]) == 2 and pl[1:3][0] is pl[1]
        pl[0] = T.zeros(2, 2)
        assert isinstance(pl[0], nn_.Parameter) and pl[0].shape == (2, 2)
        model = nn_.Module()
        model.pl = pl
        assert list(model.state_dict()) == ["pl.0", "pl.1", "pl.2", "pl.3", "pl.4"]
        assert len(list(model.parameters())) == 5
        with pytest.raises(IndexError):
            pl[5]


def test_parameter_list_shares_memory_with_a_plain_tensor_and_trains():
    t = ms.ones(3)
    pl = nn.ParameterList([t])
    assert np.shares_memory(pl[0].numpy(), t.numpy())
    opt = ms.optim.SGD(pl.parameters(), lr=0.1)
    (pl[0] * ms.tensor([1.0, 2.0, 3.0])).sum().backward()
    opt.step()
    assert np.allclose(pl[0].numpy(), [0.9, 0.8, 0.7])


def test_parameter_list_repr_and_errors():
    pl = nn.ParameterList([ms.zeros(3, 4), ms.zeros(2, dtype=ms.float64)])
    assert repr(pl) == ("ParameterList(\n  (0): Parameter containing: [mlseries.float32 of size 3x4]\n"
                        "  (1): Parameter containing: [mlseries.float64 of size 2]\n)")
    assert repr(nn.ParameterList()) == "ParameterList()"
    with pytest.raises(TypeError, match="holds tensors"):
        pl.append(3)
    with pytest.raises(TypeError, match="iterable"):
        pl.extend(ms.ones(2))


# ---- ParameterDict ---------------------------------------------------------------------------------------
def test_parameter_dict_behaves_like_torch():
    for T, nn_ in ((ms, nn), (torch, torch.nn)):
        pd = nn_.ParameterDict({"b": T.zeros(2), "a": nn_.Parameter(T.ones(3))})
        assert list(pd.keys()) == ["a", "b"]  # a plain dict is sorted
        ordered = nn_.ParameterDict(collections.OrderedDict([("z", T.ones(1)), ("y", T.ones(1))]))
        assert list(ordered) == ["z", "y"]
        pairs = nn_.ParameterDict([("q", T.ones(1)), ("p", T.ones(1))])
        assert list(pairs) == ["q", "p"]
        assert isinstance(pd["b"], nn_.Parameter) and "a" in pd and "zz" not in pd
        assert pd.get("zz") is None and len(pd) == 2
        pd["c"] = T.ones(4)
        assert [k for k, _ in pd.named_parameters()] == ["a", "b", "c"]
        assert pd.pop("a").shape == (3,) and list(pd) == ["b", "c"]
        assert pd.setdefault("d", T.ones(1)).shape == (1,)
        copy = pd.copy()
        assert isinstance(copy, nn_.ParameterDict) and copy["b"] is pd["b"]
        pd.update({"e": T.ones(2)})
        assert list(pd.values())[-1].shape == (2,)
        del pd["e"]
        model = nn_.Module()
        model.pd = pd
        assert list(model.state_dict()) == ["pd.b", "pd.c", "pd.d"]
        pd.clear()
        assert len(pd) == 0


def test_parameter_dict_errors_and_repr():
    pd = nn.ParameterDict({"w": ms.zeros(2, 3)})
    assert repr(pd) == "ParameterDict(\n  (w): Parameter containing: [mlseries.float32 of size 2x3]\n)"
    with pytest.raises(KeyError, match="no parameter 'x'"):
        pd["x"]
    with pytest.raises(KeyError, match=r'contain "\.", got: a\.b'):
        pd["a.b"] = ms.ones(1)
    with pytest.raises(TypeError, match="holds tensors"):
        pd["n"] = 1.0


# ---- weight tying ------------------------------------------------------------------------------------------
class _TinyLM:
    """wte -> mean over time -> lm_head, with lm_head.weight tied to wte.weight (GPT-2's tying)."""

    @staticmethod
    def build(T, nn_):
        class LM(nn_.Module):
            def __init__(self):
                super().__init__()
                self.wte = nn_.Embedding(7, 4)
                self.lm_head = nn_.Linear(4, 7, bias=False)
                self.lm_head.weight = self.wte.weight

            def forward(self, idx):
                return self.lm_head(self.wte(idx).tanh())

        T.manual_seed(0)
        model = LM()
        with T.no_grad():
            model.wte.weight.copy_(T.tensor(np.random.default_rng(0).standard_normal((7, 4)), dtype=T.float32))
        return model


def test_tied_weight_is_listed_once_and_saved_under_both_names():
    model, tmodel = _TinyLM.build(ms, nn), _TinyLM.build(torch, torch.nn)
    assert model.lm_head.weight is model.wte.weight
    assert len(list(model.parameters())) == len(list(tmodel.parameters())) == 1
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in tmodel.named_parameters()] == ["wte.weight"]
    assert list(model.state_dict()) == list(tmodel.state_dict()) == ["wte.weight", "lm_head.weight"]
    # loading a state dict with both keys fills the one shared parameter
    sd = {k: ms.tensor(np.full((7, 4), 0.5, dtype=np.float32)) for k in model.state_dict()}
    model.load_state_dict(sd)
    assert model.lm_head.weight is model.wte.weight and float(model.wte.weight.sum()) == 14.0


def test_tied_weight_gradients_add_up_and_the_optimiser_steps_it_once():
    idx = np.random.default_rng(1).integers(0, 7, (5, 3))
    weights = []
    for T, nn_ in ((ms, nn), (torch, torch.nn)):
        model = _TinyLM.build(T, nn_)
        opt = (ms.optim if T is ms else torch.optim).Adam(model.parameters(), lr=0.1)
        for _ in range(3):
            out = model(T.tensor(idx))
            loss = (out ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        weights.append((model.wte.weight.detach().numpy().copy(), model.wte.weight.grad.numpy().copy()))
    (mw, mg), (tw, tg) = weights
    np.testing.assert_allclose(mg, tg, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mw, tw, rtol=1e-4, atol=1e-6)


def test_untying_by_assigning_a_new_parameter():
    model = _TinyLM.build(ms, nn)
    model.lm_head.weight = nn.Parameter(model.wte.weight.detach().clone())
    assert len(list(model.parameters())) == 2


# ---- buffers ---------------------------------------------------------------------------------------------------
def test_persistent_and_non_persistent_buffers_as_torch():
    def build(T, nn_):
        m = nn_.Module()
        m.register_buffer("mask", T.ones(3, 3).tril())
        m.register_buffer("cache", T.zeros(2), persistent=False)
        m.register_buffer("nothing", None)
        m.child = nn_.Module()
        m.child.register_buffer("pos", T.arange(4), persistent=False)
        return m

    m, tm = build(ms, nn), build(torch, torch.nn)
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()] == ["mask", "cache", "child.pos"]
    assert list(m.state_dict()) == list(tm.state_dict()) == ["mask"]
    assert list(m.parameters()) == []
    m.load_state_dict({"mask": ms.zeros(3, 3)})
    assert float(m.mask.sum()) == 0.0
    # re-registering as persistent puts it into the state dict
    m.register_buffer("cache", ms.ones(2), persistent=True)
    tm.register_buffer("cache", torch.ones(2), persistent=True)
    assert list(m.state_dict()) == list(tm.state_dict())
    # a buffer follows the module's dtype; an integer buffer keeps its own
    m.double()
    assert m.mask.dtype == ms.float64 and m.child.pos.dtype == ms.int64
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("child", ms.ones(1))
