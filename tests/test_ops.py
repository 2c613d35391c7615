"""Every differentiable op: forward and gradient equal PyTorch's (float64 to 1e-8, float32 to 1e-4)
and central finite differences (float64). Each case is one function run with `T` = mlseries or torch."""
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
from mlseries._functions import pad as ms_pad
from op_harness import compare, finite_difference_check, make_inputs


def _pad(T, x, p, mode="constant"):
    return TF.pad(x, p, mode=mode) if T is torch else ms_pad(x, p, mode=mode)


# (name, function of (T, *inputs), input shapes, options)
CASES = [
    # elementwise, with broadcasting and reused inputs
    ("add", lambda T, a, b: a + b, [(3, 4), (3, 4)], {}),
    ("add_broadcast", lambda T, a, b: a + b, [(2, 1, 4), (3, 1)], {}),
    ("add_scalar", lambda T, a: a + 1.5, [(3, 4)], {}),
    ("radd_scalar", lambda T, a: 1.5 + a, [(3, 4)], {}),
    ("add_alpha", lambda T, a, b: T.add(a, b, alpha=2.0), [(3, 4), (4,)], {}),
    ("sub_broadcast", lambda T, a, b: a - b, [(3, 4), (4,)], {}),
    ("rsub_scalar", lambda T, a: 2.0 - a, [(5,)], {}),
    ("mul_broadcast", lambda T, a, b: a * b, [(2, 3, 4), (1, 4)], {}),
    ("mul_scalar", lambda T, a: a * 3.0, [(3, 4)], {}),
    ("div", lambda T, a, b: a / b, [(3, 4), (3, 4)], {"positive": True}),
    ("div_broadcast", lambda T, a, b: a / b, [(3, 4), (3, 1)], {"positive": True}),
    ("rdiv_scalar", lambda T, a: 2.0 / a, [(3, 4)], {"positive": True}),
    ("neg", lambda T, a: -a, [(3, 4)], {}),
    ("reuse_square", lambda T, a: a * a + a, [(4,)], {}),
    ("reuse_twice", lambda T, a: (a + a) * a - a / 3.0, [(2, 3)], {}),
    ("pow_2", lambda T, a: a ** 2, [(3, 4)], {}),
    ("pow_3", lambda T, a: a ** 3, [(3, 4)], {}),
    ("pow_half", lambda T, a: a ** 0.5, [(3, 4)], {"positive": True}),
    ("pow_neg", lambda T, a: a ** -1.5, [(3, 4)], {"positive": True}),
    ("pow_tensor", lambda T, a, b: a ** b, [(3, 4), (3, 4)], {"positive": True}),
    ("pow_tensor_broadcast", lambda T, a, b: T.pow(a, b), [(3, 4), (4,)], {"positive": True}),
    ("rpow", lambda T, a: 2.0 ** a, [(3, 4)], {}),
    ("exp", lambda T, a: T.exp(a), [(3, 4)], {}),
    ("log", lambda T, a: T.log(a), [(3, 4)], {"positive": True}),
    ("log1p", lambda T, a: T.log1p(a), [(3, 4)], {"positive": True}),
    ("sqrt", lambda T, a: T.sqrt(a), [(3, 4)], {"positive": True}),
    ("abs", lambda T, a: T.abs(a), [(3, 4)], {}),
    ("sin", lambda T, a: T.sin(a), [(3, 4)], {}),
    ("cos", lambda T, a: a.cos(), [(3, 4)], {}),
    ("tanh", lambda T, a: T.tanh(a), [(3, 4)], {}),
    ("sigmoid", lambda T, a: T.sigmoid(a), [(3, 4)], {}),
    ("sigmoid_large", lambda T, a: T.sigmoid(a * 40.0), [(3, 4)], {}),
    ("relu", lambda T, a: T.relu(a), [(3, 4)], {}),
    ("erf", lambda T, a: T.erf(a), [(3, 4)], {}),
    ("clamp", lambda T, a: T.clamp(a, -0.5, 0.7), [(3, 4)], {}),
    ("clamp_min", lambda T, a: a.clamp(min=0.1), [(3, 4)], {}),
    ("clamp_max", lambda T, a: a.clamp(max=0.1), [(3, 4)], {}),
    ("maximum", lambda T, a, b: T.maximum(a, b), [(3, 4), (4,)], {}),
    ("minimum", lambda T, a, b: T.minimum(a, b), [(3, 4), (3, 1)], {}),
    ("where", lambda T, a, b: T.where(a > 0, a, b), [(3, 4), (3, 4)], {}),
    ("where_broadcast", lambda T, a, b: T.where(b > 0, a, b * 2.0), [(3, 4), (4,)], {}),
    ("where_scalar", lambda T, a: T.where(a > 0, a, 0.0), [(3, 4)], {}),
    # reductions
    ("sum_all", lambda T, a: a.sum(), [(3, 4)], {}),
    ("sum_dim", lambda T, a: a.sum(1), [(3, 4, 2)], {}),
    ("sum_dims_keepdim", lambda T, a: T.sum(a, (0, 2), keepdim=True), [(3, 4, 2)], {}),
    ("sum_neg_dim", lambda T, a: a.sum(dim=-1), [(3, 4, 2)], {}),
    ("mean_all", lambda T, a: a.mean(), [(3, 4)], {}),
    ("mean_dim", lambda T, a: a.mean(0), [(3, 4)], {}),
    ("mean_dims_keepdim", lambda T, a: a.mean((1, 2), keepdim=True), [(2, 3, 4)], {}),
    ("max_all", lambda T, a: a.max(), [(3, 4)], {}),
    ("max_dim", lambda T, a: a.max(1).values, [(3, 4)], {}),
    ("max_dim_keepdim", lambda T, a: a.max(dim=0, keepdim=True)[0], [(3, 4)], {}),
    ("min_all", lambda T, a: T.min(a), [(3, 4)], {}),
    ("min_dim", lambda T, a: a.min(-1).values, [(2, 3, 4)], {}),
    ("amax", lambda T, a: T.amax(a, (0, 2)), [(2, 3, 4)], {}),
    ("amin", lambda T, a: T.amin(a, 1, keepdim=True), [(2, 3, 4)], {}),
    ("max_binary", lambda T, a, b: T.max(a, b), [(3, 4), (3, 4)], {}),
    ("var_all", lambda T, a: a.var(), [(3, 4)], {}),
    ("var_dim", lambda T, a: a.var(1), [(3, 4)], {}),
    ("var_biased", lambda T, a: a.var(dim=0, correction=0), [(3, 4)], {}),
    ("var_unbiased_false", lambda T, a: T.var(a, 1, unbiased=False, keepdim=True), [(3, 4)], {}),
    ("std_all", lambda T, a: a.std(), [(3, 4)], {}),
    ("std_dim", lambda T, a: a.std(dim=1, keepdim=True), [(3, 4)], {}),
    ("logsumexp", lambda T, a: T.logsumexp(a, 1), [(3, 4)], {}),
    ("logsumexp_keepdim", lambda T, a: a.logsumexp(dim=(0, 1), keepdim=True), [(3, 4)], {}),
    ("norm", lambda T, a: a.norm(), [(3, 4)], {}),
    ("cumsum", lambda T, a: a.cumsum(1), [(3, 4)], {}),
    # shape
    ("reshape", lambda T, a: a.reshape(4, 3), [(3, 4)], {}),
    ("reshape_infer", lambda T, a: a.reshape(-1), [(3, 4)], {}),
    ("view", lambda T, a: a.view(2, 6) * 2.0, [(3, 4)], {}),
    ("flatten", lambda T, a: a.flatten(), [(2, 3, 4)], {}),
    ("flatten_start", lambda T, a: T.flatten(a, 1), [(2, 3, 4)], {}),
    ("squeeze", lambda T, a: a.squeeze(), [(3, 1, 4, 1)], {}),
    ("squeeze_dim", lambda T, a: a.squeeze(1), [(3, 1, 4, 1)], {}),
    ("unsqueeze", lambda T, a: a.unsqueeze(1) * a.unsqueeze(-1), [(3, 4)], {}),
    ("permute", lambda T, a: a.permute(2, 0, 1), [(2, 3, 4)], {}),
    ("transpose", lambda T, a: a.transpose(0, 2), [(2, 3, 4)], {}),
    ("T", lambda T, a: a.T, [(3, 4)], {}),
    ("t", lambda T, a: a.t() @ a, [(3, 4)], {}),
    ("mT", lambda T, a: a.mT, [(2, 3, 4)], {}),
    ("expand", lambda T, a: a.expand(3, 4), [(1, 4)], {}),
    ("expand_new_dims", lambda T, a: a.expand(2, 3, -1), [(3, 4)], {}),
    ("expand_as", lambda T, a, b: a.expand_as(b) * b, [(3, 1), (3, 4)], {}),
    ("repeat", lambda T, a: a.repeat(2, 3), [(2, 3)], {}),
    ("cat", lambda T, a, b: T.cat([a, b], 0), [(2, 4), (3, 4)], {}),
    ("cat_dim1", lambda T, a, b: T.cat([a, b, a], dim=1), [(2, 4), (2, 1)], {}),
    ("stack", lambda T, a, b: T.stack([a, b], 1), [(2, 4), (2, 4)], {}),
    ("split", lambda T, a: a.split(2, dim=1), [(3, 5)], {}),
    ("split_sections", lambda T, a: T.split(a, [1, 3, 1], 1), [(3, 5)], {}),
    ("chunk", lambda T, a: a.chunk(3, 0), [(7, 2)], {}),
    ("unbind", lambda T, a: a.unbind(1), [(3, 2)], {}),
    ("flip", lambda T, a: T.flip(a, (0, 1)), [(3, 4)], {}),
    ("pad_constant", lambda T, a: _pad(T, a, (1, 2, 0, 1)), [(2, 3, 4)], {}),
    ("pad_reflect", lambda T, a: _pad(T, a, (2, 1), mode="reflect"), [(2, 3, 4)], {}),
    ("pad_replicate", lambda T, a: _pad(T, a, (1, 1, 2, 0), mode="replicate"), [(1, 2, 3, 4)], {}),
    ("narrow", lambda T, a: a.narrow(1, 1, 2), [(3, 4)], {}),
    ("tril", lambda T, a: T.tril(a), [(4, 4)], {}),
    ("triu", lambda T, a: a.triu(1), [(2, 4, 4)], {}),
    # indexing
    ("index_int", lambda T, a: a[1], [(3, 4)], {}),
    ("index_slices", lambda T, a: a[:, 1:3], [(3, 4)], {}),
    ("index_step_ellipsis", lambda T, a: a[..., ::2], [(2, 3, 4)], {}),
    ("index_none", lambda T, a: a[None, :, 1], [(3, 4)], {}),
    ("index_negative", lambda T, a: a[-1, -2:], [(3, 4)], {}),
    ("index_int_array_dups", lambda T, a: a[T.tensor([0, 2, 0, 0])], [(3, 4)], {}),
    ("index_two_arrays", lambda T, a: a[T.tensor([0, 2, 2]), T.tensor([1, 1, 3])], [(3, 4)], {}),
    ("index_bool_mask", lambda T, a: a[a > 0], [(3, 4)], {}),
    ("index_mixed", lambda T, a: a[1:, T.tensor([0, 0, 3])], [(3, 4)], {}),
    ("gather", lambda T, a: T.gather(a, 1, T.tensor([[0, 0], [3, 1], [2, 2]])), [(3, 4)], {}),
    ("gather_dim0", lambda T, a: a.gather(0, T.tensor([[0, 1, 2, 0], [2, 2, 2, 2]])), [(3, 4)], {}),
    ("index_select", lambda T, a: T.index_select(a, 1, T.tensor([3, 0, 3])), [(3, 4)], {}),
    ("masked_fill", lambda T, a: a.masked_fill(a < 0, -1.0), [(3, 4)], {}),
    # linear algebra and normalised exponentials
    ("matmul", lambda T, a, b: a @ b, [(3, 4), (4, 5)], {}),
    ("matmul_batched", lambda T, a, b: T.matmul(a, b), [(2, 3, 4), (2, 4, 5)], {}),
    ("matmul_batch_broadcast", lambda T, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)], {}),
    ("matmul_3d_2d", lambda T, a, b: a @ b, [(2, 3, 4), (4, 5)], {}),
    ("matmul_vec_mat", lambda T, a, b: a @ b, [(4,), (4, 5)], {}),
    ("matmul_mat_vec", lambda T, a, b: a @ b, [(3, 4), (4,)], {}),
    ("matmul_vec_vec", lambda T, a, b: T.matmul(a, b), [(4,), (4,)], {}),
    ("bmm", lambda T, a, b: T.bmm(a, b), [(2, 3, 4), (2, 4, 2)], {}),
    ("mlp_reuse", lambda T, x, w: T.tanh(x @ w) @ w.T, [(3, 4), (4, 4)], {}),
    ("softmax", lambda T, a: T.softmax(a, 1), [(3, 4)], {}),
    ("softmax_dim0", lambda T, a: a.softmax(dim=0), [(3, 4)], {}),
    ("log_softmax", lambda T, a: T.log_softmax(a, -1), [(2, 3, 4)], {}),
    ("log_softmax_large", lambda T, a: T.log_softmax(a * 100.0, 1), [(3, 4)], {}),
]


def _run(T, fn):
    return lambda *xs: fn(T, *xs)


@pytest.mark.parametrize("name,fn,shapes,opts", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_parity_with_torch(name, fn, shapes, opts, dtype):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = make_inputs(shapes, rng, positive=opts.get("positive", False))
    compare(_run(ms, fn), arrays, dtype=dtype, torch_fn=_run(torch, fn), name=name)


@pytest.mark.parametrize("name,fn,shapes,opts", CASES, ids=[c[0] for c in CASES])
def test_finite_differences(name, fn, shapes, opts):
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 7)
    arrays = make_inputs(shapes, rng, positive=opts.get("positive", False))
    if name.startswith(("max", "min", "amax", "amin", "maximum", "minimum", "where", "clamp", "relu", "abs",
                        "index_bool", "masked")):
        # Kinks: keep values apart so a step of eps never crosses one.
        arrays = [np.round(a, 1) + rng.uniform(-0.02, 0.02, a.shape) for a in arrays]
        arrays = [np.where(np.abs(a) < 0.05, 0.3, a) for a in arrays]
    finite_difference_check(_run(ms, fn), arrays, name=name)


def test_linear_primitive_matches_torch():
    from mlseries._ops import Linear
    rng = np.random.default_rng(0)
    for xshape in [(5, 4), (2, 3, 4)]:
        x, w, b = make_inputs([xshape, (3, 4), (3,)], rng)
        compare(lambda x, w, b: Linear.apply(x, w, b), [x, w, b], torch_fn=TF.linear, name="linear")
        compare(lambda x, w: Linear.apply(x, w), [x, w], torch_fn=TF.linear, name="linear_nobias")


def test_setitem_on_non_leaf_matches_torch():
    def fn(T, x, v):
        y = x * 2.0
        y[0] = v
        y[:, 1] = y[:, 1] * 3.0
        return y

    rng = np.random.default_rng(3)
    compare(_run(ms, fn), make_inputs([(3, 4), (4,)], rng), torch_fn=_run(torch, fn), name="setitem")


NO_GRAD_CASES = [
    ("argmax", lambda T, a: a.argmax()),
    ("argmax_dim", lambda T, a: T.argmax(a, dim=1)),
    ("argmax_keepdim", lambda T, a: a.argmax(0, keepdim=True)),
    ("argmin_dim", lambda T, a: a.argmin(dim=-1)),
    ("max_indices", lambda T, a: a.max(1).indices),
    ("compare", lambda T, a: T.stack([(a > 0).long(), (a <= 0.5).long(), (a == a).long(), (a != 0).long()])),
    ("sign_floor", lambda T, a: T.sign(a) + T.floor(a * 3.0)),
]


@pytest.mark.parametrize("name,fn", NO_GRAD_CASES, ids=[c[0] for c in NO_GRAD_CASES])
def test_forward_only_ops_match_torch(name, fn):
    a = np.random.default_rng(zlib.crc32(name.encode())).uniform(-2, 2, (3, 4))
    got = fn(ms, ms.tensor(a)).numpy()
    want = fn(torch, torch.tensor(a)).numpy()
    assert got.dtype == want.dtype and np.array_equal(got, want), name
