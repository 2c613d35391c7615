"""nn.Embedding and F.embedding against PyTorch: lookups and table gradients (padding_idx,
scale_grad_by_freq, max_norm), initialisation, from_pretrained, errors; and F.one_hot."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
import mlseries.nn as nn
import mlseries.nn.functional as F
from op_harness import compare, finite_difference_check

RNG = np.random.default_rng(0)
IDX_2D = RNG.integers(0, 11, (7, 5))
IDX_2D[0, :3] = 4  # repeats, so that gradients add up and frequencies differ


def _emb(T, idx, **kw):
    fn = F.embedding if T is ms else TF.embedding
    return lambda w: fn(T.tensor(idx), w, **kw)


LOOKUPS = [
    ("rows_2d", IDX_2D, {}),
    ("rows_1d", IDX_2D[0], {}),
    ("rows_0d", np.array(3), {}),
    ("rows_3d", IDX_2D.reshape(7, 5, 1), {}),
    ("empty", np.zeros((0, 4), dtype=np.int64), {}),
    ("padding_idx", IDX_2D, {"padding_idx": 4}),
    ("padding_idx_negative", IDX_2D, {"padding_idx": -7}),
    ("scale_grad_by_freq", IDX_2D, {"scale_grad_by_freq": True}),
    ("padding_and_scale", IDX_2D, {"padding_idx": 0, "scale_grad_by_freq": True}),
    ("int32_indices", IDX_2D.astype(np.int32), {}),
]


@pytest.mark.parametrize("name,idx,kw", LOOKUPS, ids=[c[0] for c in LOOKUPS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_embedding_matches_torch(name, idx, kw, dtype):
    w = np.random.default_rng(1).standard_normal((11, 6))
    compare(_emb(ms, idx, **kw), [w], dtype=dtype, torch_fn=_emb(torch, idx, **kw), name=name)


# padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the
# derivative), so only plain lookups are checked by finite differences
@pytest.mark.parametrize("name,idx,kw", LOOKUPS[:4], ids=[c[0] for c in LOOKUPS[:4]])
def test_embedding_finite_differences(name, idx, kw):
    w = np.random.default_rng(2).standard_normal((11, 3))
    finite_difference_check(_emb(ms, idx, **kw), [w], name=name)


def _grad_of_grad(T, grad, w0, **kw):
    w = T.tensor(w0, requires_grad=True)
    fn = F.embedding if T is ms else TF.embedding
    out = fn(T.tensor(IDX_2D), w, **kw)
    (g,) = grad((out ** 3).sum(), [w], create_graph=True)
    (gg,) = grad((g * g).sum(), [w])
    return gg.detach().numpy()


def test_double_backward_through_embedding_matches_torch():
    w0 = np.random.default_rng(3).standard_normal((11, 4))
    np.testing.assert_allclose(_grad_of_grad(ms, ms.autograd.grad, w0, padding_idx=2),
                               _grad_of_grad(torch, torch.autograd.grad, w0, padding_idx=2), rtol=1e-10)


def test_double_backward_with_scale_grad_by_freq_matches_torch_and_finite_differences():
    # with 1/count factors the first gradient is not a derivative, so "second derivative" means
    # the derivative of that first gradient: checked by central differences, and against PyTorch
    w0 = np.random.default_rng(3).standard_normal((11, 4))
    kw = dict(padding_idx=2, scale_grad_by_freq=True)

    def first_grad_norm(w_arr):
        w = ms.tensor(w_arr, requires_grad=True)
        (g,) = ms.autograd.grad((F.embedding(ms.tensor(IDX_2D), w, **kw) ** 3).sum(), [w])
        return float((g.numpy() ** 2).sum())

    numeric = np.zeros_like(w0)
    for i in np.ndindex(*w0.shape):
        up, down = w0.copy(), w0.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (first_grad_norm(up) - first_grad_norm(down)) / 2e-6
    got = _grad_of_grad(ms, ms.autograd.grad, w0, **kw)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, _grad_of_grad(torch, torch.autograd.grad, w0, **kw), rtol=1e-10)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5])
def test_max_norm_renormalises_used_rows_in_place_as_torch(norm_type):
    w0 = np.random.default_rng(4).standard_normal((11, 6)) * 2
    results = []
    for T in (ms, torch):
        w = T.tensor(w0, requires_grad=True)
        fn = F.embedding if T is ms else TF.embedding
        out = fn(T.tensor(IDX_2D), w, max_norm=1.5, norm_type=norm_type)
        (out * T.tensor(np.arange(6.0))).sum().backward()
        results.append((w.detach().numpy().copy(), out.detach().numpy(), w.grad.numpy(), w._version))
    (mw, mo, mg, mv), (tw, to, tg, tv) = results
    np.testing.assert_allclose(mw, tw, rtol=1e-12)
    np.testing.assert_allclose(mo, to, rtol=1e-12)
    np.testing.assert_allclose(mg, tg, rtol=1e-12)
    used = np.unique(IDX_2D)
    unused = np.setdiff1d(np.arange(11), used)
    np.testing.assert_array_equal(mw[unused], w0[unused])  # rows not looked up are left alone
    assert mv == 1 and tv >= 1  # counted as an in-place change


def test_module_matches_torch_and_keeps_padding_row_at_zero():
    ms.manual_seed(0)
    emb = nn.Embedding(11, 6, padding_idx=3)
    temb = torch.nn.Embedding(11, 6, padding_idx=3)
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(emb.weight.numpy()))
    assert emb.weight[3].tolist() == [0.0] * 6
    opt = ms.optim.SGD(emb.parameters(), lr=0.5)
    topt = torch.optim.SGD(temb.parameters(), lr=0.5)
    for step in range(3):
        idx = np.random.default_rng(step).integers(0, 11, (4, 9))
        loss = (emb(ms.tensor(idx)) ** 2).mean()
        tloss = (temb(torch.tensor(idx)) ** 2).mean()
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        assert emb.weight.grad[3].tolist() == [0.0] * 6
        opt.step()
        topt.step()
    np.testing.assert_allclose(emb.weight.numpy(), temb.weight.detach().numpy(), rtol=1e-5, atol=1e-7)
    assert emb.weight[3].tolist() == [0.0] * 6
    assert list(emb.state_dict()) == ["weight"]


def test_init_is_standard_normal_from_the_default_generator():
    ms.manual_seed(123)
    a = nn.Embedding(2000, 64)
    ms.manual_seed(123)
    b = nn.Embedding(2000, 64)
    assert np.array_equal(a.weight.numpy(), b.weight.numpy())
    w = a.weight.numpy()
    assert w.dtype == np.float32 and a.weight.requires_grad
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01
    assert nn.Embedding(5, 2, dtype=ms.float64).weight.dtype == ms.float64


@pytest.mark.parametrize("kw", [{}, {"padding_idx": -1, "max_norm": 1.0, "norm_type": 1.0,
                                     "scale_grad_by_freq": True, "sparse": True}, {"padding_idx": 0}])
def test_repr_matches_torch(kw):
    want = repr(torch.nn.Embedding(10, 3, **kw))
    assert repr(nn.Embedding(10, 3, **kw)) == want
    assert nn.Embedding(10, 3, **kw).padding_idx == torch.nn.Embedding(10, 3, **kw).padding_idx


def test_from_pretrained_shares_and_freezes():
    table = ms.tensor(np.arange(12.0).reshape(4, 3))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    assert frozen(ms.tensor([2])).tolist() == [[6.0, 7.0, 8.0]]
    table[0, 0] = 100.0  # shared memory, as PyTorch
    assert frozen.weight[0, 0].item() == 100.0
    assert list(frozen.parameters())[0] is frozen.weight
    trainable = nn.Embedding.from_pretrained(ms.ones(4, 3), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert trainable.weight[1].tolist() == [1.0, 1.0, 1.0]  # the padding row is left as given
    trainable(ms.tensor([1, 2, 1])).sum().backward()
    assert trainable.weight.grad.tolist() == [[0.0] * 3, [0.0] * 3, [1.0] * 3, [0.0] * 3]


def test_errors_in_user_terms():
    emb = nn.Embedding(5000, 128)
    with pytest.raises(IndexError, match=r"Embedding\(5000, 128\): index 5003 is out of range"):
        emb(ms.tensor([[1, 5003], [2, 3]]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(ms.tensor([-1]))
    with pytest.raises(TypeError, match="integer tensor"):
        emb(ms.tensor([1.0]))
    with pytest.raises(IndexError, match=r"^embedding: index 7 is out of range \(valid indices are 0 to 4\)"):
        F.embedding(ms.tensor([7]), ms.ones(5, 2))
    with pytest.raises(ValueError, match="padding_idx 10 must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match="padding_idx -11"):
        nn.Embedding(10, 3, padding_idx=-11)
    with pytest.raises(ValueError, match=r"_weight has shape \(4, 3\)"):
        nn.Embedding(10, 3, _weight=ms.zeros(4, 3))
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(ms.ones(4))
    with pytest.raises(ValueError, match="must be 2-D"):
        F.embedding(ms.tensor([0]), ms.ones(4))


def test_tied_embedding_and_output_layer_match_torch():
    """GPT-style: the output layer reuses the embedding table; the table's gradient is the sum of
    the lookup's and the output layer's."""
    def run(T, nn_):
        T.manual_seed(0)
        emb = nn_.Embedding(13, 4)
        head = nn_.Linear(4, 13, bias=False)
        with T.no_grad():
            emb.weight.copy_(T.tensor(np.random.default_rng(9).standard_normal((13, 4)), dtype=T.float32))
        head.weight = emb.weight
        idx = T.tensor(IDX_2D)
        logits = head(emb(idx))
        loss = (TF if T is torch else F).cross_entropy(logits.reshape(-1, 13), T.tensor(IDX_2D[:, ::-1].copy()).reshape(-1))
        loss.backward()
        return emb.weight.grad.numpy()

    np.testing.assert_allclose(run(ms, nn), run(torch, torch.nn), rtol=1e-4, atol=1e-6)


# ---- one_hot ---------------------------------------------------------------------------------------------
ONE_HOT = [
    ("explicit", lambda T, F_: F_.one_hot(T.tensor([1, 3, 0]), 5)),
    ("inferred", lambda T, F_: F_.one_hot(T.tensor([[1], [3]]))),
    ("zero_d", lambda T, F_: F_.one_hot(T.tensor(2), 3)),
    ("empty_with_classes", lambda T, F_: F_.one_hot(T.zeros(0, dtype=T.int64), 3)),
]


@pytest.mark.parametrize("name,fn", ONE_HOT, ids=[c[0] for c in ONE_HOT])
def test_one_hot_matches_torch(name, fn):
    got, want = fn(ms, F).numpy(), fn(torch, TF).numpy()
    assert got.dtype == want.dtype == np.int64 and np.array_equal(got, want)


def test_one_hot_errors():
    with pytest.raises(ValueError, match="class values must be in"):
        F.one_hot(ms.tensor([-1, 3]), 5)
    with pytest.raises(ValueError, match="class values must be in"):
        F.one_hot(ms.tensor([1, 5]), 5)
    with pytest.raises(ValueError, match="cannot infer the number of classes"):
        F.one_hot(ms.zeros(0, dtype=ms.int64))
    with pytest.raises(TypeError, match="index tensors"):
        F.one_hot(ms.tensor([1.0]), 3)
