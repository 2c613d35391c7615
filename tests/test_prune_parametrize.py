"""nn.utils.prune, nn.utils.parametrize and nn.utils.parametrizations against PyTorch (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune  # noqa: F401  (a submodule PyTorch does not import by itself)

import mlseries as ms
from mlseries.nn.utils import parametrizations as P
from mlseries.nn.utils import parametrize, prune


def pair_linear(i=5, o=4, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((o, i)), rng.standard_normal(o)
    m = ms.nn.Linear(i, o, bias=bias).double()
    t = torch.nn.Linear(i, o, bias=bias).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        if bias:
            t.bias.copy_(torch.tensor(b))
    m.weight.data = w.copy()
    if bias:
        m.bias.data = b.copy()
    return m, t


def pair_conv(seed=1):
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((6, 3, 3, 3)), rng.standard_normal(6)
    m, t = ms.nn.Conv2d(3, 6, 3).double(), torch.nn.Conv2d(3, 6, 3).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w))
        t.bias.copy_(torch.tensor(b))
    m.weight.data, m.bias.data = w.copy(), b.copy()
    return m, t


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---- prune ---------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", [0.3, 7, 0, 1.0, 0.25])
def test_l1_unstructured_mask_and_layout(amount):
    m, t = pair_linear()
    prune.l1_unstructured(m, "weight", amount=amount)
    torch.nn.utils.prune.l1_unstructured(t, "weight", amount=amount)
    close(m.weight_mask, t.weight_mask)
    close(m.weight, t.weight)
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert list(m.state_dict()) == list(t.state_dict())
    assert prune.is_pruned(m) and not prune.is_pruned(ms.nn.Linear(2, 2))


def test_iterative_pruning_combines_masks():
    m, t = pair_conv()
    for mod, lib in ((m, prune), (t, torch.nn.utils.prune)):
        lib.l1_unstructured(mod, "weight", amount=0.2)
        lib.ln_structured(mod, "weight", amount=2, n=2, dim=0)
        lib.l1_unstructured(mod, "weight", amount=0.5)
        lib.ln_structured(mod, "weight", amount=0.34, n=1, dim=1)
    close(m.weight_mask, t.weight_mask)
    hook = [h for h in m._forward_pre_hooks.values()][0]
    assert isinstance(hook, prune.PruningContainer) and len(hook) == 4
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 5))
    close(m(ms.tensor(x)), t(torch.tensor(x)))


@pytest.mark.parametrize("n,dim", [(2, 0), (1, -1), (float("inf"), 1), (3, 0), (-float("inf"), 0)])
def test_ln_structured(n, dim):
    m, t = pair_conv(3)
    prune.ln_structured(m, "weight", amount=0.5, n=n, dim=dim)
    torch.nn.utils.prune.ln_structured(t, "weight", amount=0.5, n=n, dim=dim)
    close(m.weight_mask, t.weight_mask)


def test_global_unstructured_and_importance_scores():
    (m1, t1), (m2, t2) = pair_linear(seed=4), pair_linear(seed=5)
    for a, b, lib in (((m1, m2), None, prune), ((t1, t2), None, torch.nn.utils.prune)):
        lib.l1_unstructured(a[0], "bias", amount=1)
        lib.global_unstructured([(a[0], "weight"), (a[1], "weight"), (a[0], "bias")],
                                pruning_method=lib.L1Unstructured, amount=0.4)
    for mm, tt in ((m1, t1), (m2, t2)):
        close(mm.weight_mask, tt.weight_mask)
    close(m1.bias_mask, t1.bias_mask)
    scores = np.random.default_rng(9).random((4, 5))
    m, t = pair_linear(seed=6)
    prune.l1_unstructured(m, "weight", amount=5, importance_scores=ms.tensor(scores))
    torch.nn.utils.prune.l1_unstructured(t, "weight", amount=5, importance_scores=torch.tensor(scores))
    close(m.weight_mask, t.weight_mask)


def test_random_identity_custom_remove():
    m, _ = pair_conv()
    prune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask.numpy() == 0).sum()) == round(0.25 * 162)
    prune.random_structured(m, "weight", amount=2, dim=0)
    zero_channels = (m.weight_mask.numpy().reshape(6, -1).sum(1) == 0).sum()
    assert zero_channels >= 2
    lin, tl = pair_linear()
    prune.identity(lin, "bias")
    assert np.all(lin.bias_mask.numpy() == 1)
    mask = np.random.default_rng(0).random((4, 5)) > 0.5
    prune.custom_from_mask(lin, "weight", ms.tensor(mask))
    torch.nn.utils.prune.custom_from_mask(tl, "weight", torch.tensor(mask))
    close(lin.weight, tl.weight)
    prune.remove(lin, "weight")
    assert "weight" in dict(lin.named_parameters()) and "weight_mask" not in dict(lin.named_buffers())
    close(lin.weight, tl.weight)
    with pytest.raises(ValueError, match="has to be pruned"):
        prune.remove(lin, "weight")


def test_prune_bad_input():
    m, _ = pair_linear()
    with pytest.raises(ValueError, match="float in the range"):
        prune.l1_unstructured(m, "weight", amount=1.5)
    with pytest.raises(ValueError, match="smaller than the number"):
        prune.l1_unstructured(m, "weight", amount=100)
    with pytest.raises(TypeError):
        prune.l1_unstructured(m, "weight", amount="a lot")
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(m, "bias", amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured([(m, "weight")], prune.LnStructured, amount=1, n=2, dim=0)


def test_prune_then_finetune_program():
    """A typical program: prune 50% by magnitude, fine-tune with SGD, make it permanent."""
    losses = {}
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 5)), rng.standard_normal((16, 4))
    m, t = pair_linear()
    for lib, model in ((ms, m), (torch, t)):
        lib.nn.utils.prune.l1_unstructured(model, "weight", amount=0.5)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            out.append(loss.item())
        lib.nn.utils.prune.remove(model, "weight")
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["mlseries"], losses["torch"], rtol=1e-10)
    close(m.weight, t.weight)
    assert (m.weight.detach().numpy() == 0).sum() == 10


# ---- parametrize ---------------------------------------------------------------------------
class Symmetric:
    @staticmethod
    def make(lib):
        class Sym(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()
        return Sym()


def test_register_parametrization_layout_and_grad():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 4))
    mods = []
    for lib in (ms, torch):
        lin = lib.nn.Linear(4, 4).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w))
            lin.bias.zero_()
        orig = lin.weight
        lib.nn.utils.parametrize.register_parametrization(lin, "weight", Symmetric.make(lib))
        assert lin.parametrizations.weight.original is orig     # same Parameter object is kept
        assert type(lin).__name__ == "ParametrizedLinear"
        assert lib.nn.utils.parametrize.is_parametrized(lin, "weight")
        assert not lib.nn.utils.parametrize.is_parametrized(lin, "bias")
        mods.append(lin)
    m, t = mods
    close(m.weight, t.weight)
    close(m.parametrizations.weight.original, t.parametrizations.weight.original)
    assert list(m.state_dict()) == list(t.state_dict())
    x = rng.standard_normal((3, 4))
    m(ms.tensor(x)).pow(2).sum().backward()
    t(torch.tensor(x)).pow(2).sum().backward()
    close(m.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad)
    # assignment goes through right_inverse
    a = rng.standard_normal((4, 4))
    a = a + a.T
    m.weight = ms.tensor(a)
    t.weight = torch.tensor(a)
    close(m.parametrizations.weight.original, t.parametrizations.weight.original)
    with parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    parametrize.remove_parametrizations(m, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(m) is ms.nn.Linear and "weight" in dict(m.named_parameters())
    close(m.weight, t.weight)
    assert list(m.state_dict()) == list(t.state_dict())


def test_parametrize_errors_and_leave_unparametrized():
    lin = ms.nn.Linear(3, 3).double()
    with pytest.raises(ValueError, match="does not have a parameter"):
        parametrize.register_parametrization(lin, "nope", Symmetric.make(ms))

    class Shrink(ms.nn.Module):
        def forward(self, x):
            return x[:2]
    with pytest.raises(ValueError, match="shape"):
        parametrize.register_parametrization(lin, "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(lin, "weight")
    before = lin.weight.detach().numpy().copy()
    parametrize.register_parametrization(lin, "weight", Symmetric.make(ms))
    parametrize.register_parametrization(lin, "weight", Symmetric.make(ms))    # stacked
    assert len(lin.parametrizations.weight) == 2
    parametrize.remove_parametrizations(lin, "weight", leave_parametrized=False)
    close(lin.weight, np.triu(before))
    P.weight_norm(lin)
    with pytest.raises(ValueError, match="leave unparametrized"):
        parametrize.remove_parametrizations(lin, "weight", leave_parametrized=False)


@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_weight_norm_values_grads_and_keys(dim):
    m, t = pair_conv()
    P.weight_norm(m, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(t, dim=dim)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        close(m.state_dict()[k], v)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    ym, yt = m(ms.tensor(x)), t(torch.tensor(x))
    close(ym, yt)
    ym.sum().backward()
    yt.sum().backward()
    close(m.parametrizations.weight.original0.grad, t.parametrizations.weight.original0.grad)
    close(m.parametrizations.weight.original1.grad, t.parametrizations.weight.original1.grad)


def test_weight_norm_training_program_loads_into_torch():
    """Train a weight-normed MLP a few steps in both frameworks; load mlseries' state_dict into torch."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 2))
    nets, losses = [], []
    for lib in (ms, torch):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(5, 6), lib.nn.Tanh(), lib.nn.Linear(6, 2)).double()
        nets.append(net)
    with torch.no_grad():
        for (k, p) in nets[1].state_dict().items():
            nets[0].state_dict()[k].copy_(ms.tensor(p.numpy()))
    for lib, net in zip((ms, torch), nets):
        lib.nn.utils.parametrizations.weight_norm(net[0])
        lib.nn.utils.parametrizations.weight_norm(net[2], dim=None)
        opt = lib.optim.Adam(net.parameters(), lr=0.05)
        out = []
        for _ in range(6):
            opt.zero_grad()
            loss = ((net(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses.append(out)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-9)
    fresh = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    torch.nn.utils.parametrizations.weight_norm(fresh[0])
    torch.nn.utils.parametrizations.weight_norm(fresh[2], dim=None)
    fresh.load_state_dict({k: torch.tensor(v.numpy()) for k, v in nets[0].state_dict().items()})
    close(fresh(torch.tensor(x)), nets[1](torch.tensor(x)), 1e-9)


def test_spectral_norm_parametrization():
    m, t = pair_linear(6, 5, seed=7)
    P.spectral_norm(m)
    torch.nn.utils.parametrizations.spectral_norm(t)
    assert list(m.state_dict()) == list(t.state_dict())
    # start both from the same power-iteration vectors (their random starts differ)
    for name in ("_u", "_v"):
        getattr(m.parametrizations.weight[0], name).data = getattr(t.parametrizations.weight[0], name).numpy().copy()
    x = np.random.default_rng(0).standard_normal((3, 6))
    for _ in range(3):  # training mode: one power iteration per forward
        ym, yt = m(ms.tensor(x)), t(torch.tensor(x))
        close(ym, yt)
    close(m.parametrizations.weight[0]._u, t.parametrizations.weight[0]._u)
    ym.sum().backward()
    yt.sum().backward()
    close(m.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad)
    m.eval(), t.eval()
    close(m.weight, t.weight)
    sv = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)
    assert abs(sv[0] - 1) < 1e-6
    with pytest.raises(ValueError, match="no parameter or buffer"):
        P.spectral_norm(ms.nn.Linear(2, 2), name="nope")
    with pytest.raises(IndexError, match="out of range"):
        P.spectral_norm(ms.nn.Linear(2, 2), dim=3)


def test_parametrized_module_deepcopies_and_averages():
    """AveragedModel deep-copies its model: a parametrized layer must survive that."""
    net = ms.nn.Sequential(P.weight_norm(ms.nn.Linear(3, 2).double()))
    swa = ms.optim.swa_utils.AveragedModel(net)
    swa.update_parameters(net)
    x = ms.tensor(np.ones((1, 3)))
    close(swa(x), net(x))
    assert list(swa.module.state_dict()) == list(net.state_dict())
    swa.module[0].parametrizations.weight.original0.data = np.zeros((2, 1))
    assert np.abs(net[0].weight.detach().numpy()).sum() > 0
