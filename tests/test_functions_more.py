"""The tensor functions and Tensor methods of `_functions_more.py`, `_functions_stats.py` and
`_tensor_methods_more.py`, against PyTorch: values and gradients (float64 to 1e-8 through
`compare`, float32 to 1e-4), integer results exactly, errors by kind; in-place methods bump the
version counter and refuse leaves that require grad; random fills by their statistics."""
import zlib

import numpy as np
import pytest
import torch

import mlseries as ms
from op_harness import compare, make_inputs

RNG = np.random.default_rng(7)


def _x(*shape, dtype=np.float64):
    return RNG.uniform(-2, 2, size=shape).astype(dtype)


CASES = [
    # stacking and dimensions
    ("hstack_1d", lambda T, a, b: T.hstack([a, b]), [(3,), (4,)]),
    ("hstack_2d", lambda T, a, b: T.hstack((a, b)), [(2, 3), (2, 1)]),
    ("vstack", lambda T, a, b: T.vstack([a, b]), [(3,), (2, 3)]),
    ("row_stack", lambda T, a, b: T.row_stack([a, b]), [(3,), (3,)]),
    ("dstack", lambda T, a, b: T.dstack([a, b]), [(2, 3), (2, 3)]),
    ("dstack_1d", lambda T, a, b: T.dstack([a, b]), [(3,), (3,)]),
    ("column_stack", lambda T, a, b, c: T.column_stack([a, b, c]), [(3,), (3, 2), (3,)]),
    ("atleast_1d", lambda T, a: T.atleast_1d(a), [()]),
    ("atleast_2d", lambda T, a, b: T.atleast_2d(a, b), [(3,), ()]),
    ("atleast_3d", lambda T, a, b, c: T.atleast_3d([a, b, c]), [(3,), (2, 3), ()]),
    ("broadcast_tensors", lambda T, a, b: T.broadcast_tensors(a, b), [(3, 1), (1, 4)]),
    ("diff", lambda T, a: T.diff(a), [(3, 5)]),
    ("diff_n2_dim0", lambda T, a: T.diff(a, n=2, dim=0), [(5, 3)]),
    ("diff_neg_dim", lambda T, a, p, q: T.diff(a, dim=-2, prepend=p, append=q), [(3, 4, 2), (3, 1, 2), (3, 2, 2)]),
    # products
    ("tensordot_int", lambda T, a, b: T.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)]),
    ("tensordot_lists", lambda T, a, b: T.tensordot(a, b, dims=([1, 0], [0, 2])), [(3, 4, 5), (4, 2, 3)]),
    ("tensordot_zero", lambda T, a, b: T.tensordot(a, b, dims=0), [(2, 3), (4,)]),
    ("kron", lambda T, a, b: T.kron(a, b), [(2, 3), (3, 2)]),
    ("kron_mixed_nd", lambda T, a, b: a.kron(b), [(2,), (2, 3, 2)]),
    ("cross", lambda T, a, b: T.cross(a, b, dim=1), [(4, 3), (4, 3)]),
    ("cross_neg_broadcast", lambda T, a, b: a.cross(b, dim=-1), [(2, 1, 3), (1, 4, 3)]),
    ("rot90", lambda T, a: T.rot90(a), [(2, 3)]),
    ("rot90_k", lambda T, a: T.rot90(a, 3, [1, -1]), [(2, 3, 4)]),
    ("rot90_k2_neg", lambda T, a: a.rot90(-2, (0, 1)), [(2, 3)]),
    ("cartesian_prod", lambda T, a, b: T.cartesian_prod(a, b), [(3,), (2,)]),
    ("combinations", lambda T, a: T.combinations(a, 2), [(4,)]),
    ("combinations_repl", lambda T, a: T.combinations(a, r=3, with_replacement=True), [(3,)]),
    ("block_diag", lambda T, a, b, c: T.block_diag(a, b, c), [(2, 3), (3,), ()]),
    ("addmm", lambda T, i, a, b: T.addmm(i, a, b), [(3, 5), (3, 4), (4, 5)]),
    ("addmm_scaled_bcast", lambda T, i, a, b: T.addmm(i, a, b, beta=0.5, alpha=-2.0), [(5,), (3, 4), (4, 5)]),
    ("addmm_method", lambda T, i, a, b: i.addmm(a, b, alpha=3), [(1, 5), (3, 4), (4, 5)]),
    ("addmv", lambda T, i, a, v: T.addmv(i, a, v, beta=2.0), [(3,), (3, 4), (4,)]),
    ("addbmm", lambda T, i, a, b: T.addbmm(i, a, b, alpha=0.5), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    ("baddbmm", lambda T, i, a, b: T.baddbmm(i, a, b, beta=0.25, alpha=2), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
    # selecting
    ("masked_select", lambda T, a: T.masked_select(a, a > 0), [(3, 4)]),
    ("masked_select_bcast", lambda T, a: a.masked_select(T.tensor([True, False, True])), [(2, 3)]),
    ("take", lambda T, a: T.take(a, T.tensor([[0, 5], [-1, 2]])), [(2, 3)]),
    ("take_repeat", lambda T, a: a.take(T.tensor([1, 1, 4])), [(5,)]),
    # statistics
    ("median_all", lambda T, a: T.median(a), [(3, 5)]),
    ("median_dim", lambda T, a: T.median(a, 1), [(3, 6)]),
    ("median_neg_keep", lambda T, a: a.median(dim=-2, keepdim=True), [(5, 3)]),
    ("nanmedian_dim", lambda T, a: T.nanmedian(a, 0), [(4, 3)]),
    ("quantile_scalar", lambda T, a: T.quantile(a, 0.3), [(3, 5)]),
    ("quantile_dim", lambda T, a: T.quantile(a, T.tensor([0.1, 0.5, 1.0], dtype=a.dtype), dim=1), [(3, 5)]),
    ("quantile_keep", lambda T, a: a.quantile(T.tensor([0.25, 0.75], dtype=a.dtype), dim=-1, keepdim=True),
     [(2, 3, 4)]),
    ("quantile_all_keep", lambda T, a: T.quantile(a, T.tensor([0.4], dtype=a.dtype), keepdim=True), [(2, 3)]),
    ("quantile_lower", lambda T, a: T.quantile(a, 0.4, dim=0, interpolation="lower"), [(6, 3)]),
    ("quantile_higher", lambda T, a: T.quantile(a, 0.4, dim=0, interpolation="higher"), [(6, 3)]),
    ("quantile_midpoint", lambda T, a: T.quantile(a, 0.4, dim=0, interpolation="midpoint"), [(6, 3)]),
    ("quantile_nearest", lambda T, a: T.quantile(a, T.tensor([0.1, 0.5, 0.9], dtype=a.dtype), dim=0,
                                                 interpolation="nearest"), [(6, 3)]),
    ("nanquantile", lambda T, a: T.nanquantile(a, 0.7, dim=1), [(3, 5)]),
    ("mode", lambda T, a: T.mode(T.cat([a, a[:, :2]], 1)), [(3, 5)]),
    ("mode_dim0_keep", lambda T, a: T.mode(T.cat([a[1:], a], 0), 0, keepdim=True), [(3, 2)]),
    ("var_mean", lambda T, a: T.var_mean(a, 1), [(3, 5)]),
    ("var_mean_corr", lambda T, a: T.var_mean(a, dim=(0, -1), correction=0, keepdim=True), [(3, 4, 2)]),
    ("std_mean", lambda T, a: T.std_mean(a, unbiased=False), [(3, 5)]),
    ("std_mean_dim", lambda T, a: T.std_mean(a, -1, True), [(3, 5)]),
    ("nanmean", lambda T, a: T.nanmean(T.where(a > 1, T.tensor(float("nan"), dtype=a.dtype), a), 1), [(3, 6)]),
    ("nanmean_all", lambda T, a: a.nanmean(), [(3, 4)]),
    ("cummax", lambda T, a: T.cummax(a, 1), [(3, 6)]),
    ("cummin_neg", lambda T, a: a.cummin(-2), [(5, 3)]),
    ("logcumsumexp", lambda T, a: T.logcumsumexp(a, 1), [(3, 6)]),
    ("logcumsumexp_wide", lambda T, a: T.logcumsumexp(a * 400, dim=0), [(6, 2)]),
    # elementwise
    ("erfinv", lambda T, a: T.erfinv(a * 0.45), [(3, 4)]),
    ("renorm", lambda T, a: T.renorm(a, 2, 0, 2.0), [(4, 3)]),
    ("renorm_p1_dim1", lambda T, a: a.renorm(1, -1, 3.0), [(4, 3)]),
    ("type_as", lambda T, a: (a.float() * 2).type_as(a), [(2, 3)]),
    # views
    ("unfold", lambda T, a: a.unfold(1, 3, 2), [(2, 8)]),
    ("unfold_overlap", lambda T, a: a.unfold(-2, 2, 1) * 3, [(5, 3)]),
    ("unfold_window_last", lambda T, a: a.unfold(0, 4, 1).sum(-1), [(4,)]),
    ("as_strided", lambda T, a: a.as_strided((3, 3), (1, 1)), [(6,)]),
    ("as_strided_offset", lambda T, a: a.as_strided((2, 2), (3, 1), 1), [(3, 3)]),
    # in-place forms used out of place, and their non-in-place twins
    ("index_put", lambda T, a, v: a.index_put((T.tensor([0, 2]), T.tensor([1, 1])), v), [(3, 4), (2,)]),
    ("index_put_acc", lambda T, a, v: a.index_put((T.tensor([0, 0, 2]),), v, accumulate=True), [(3, 4), (3, 4)]),
    ("index_put_bcast", lambda T, a, v: a.index_put((T.tensor([1]),), v), [(3, 4), (4,)]),
    ("masked_scatter", lambda T, a, s: a.masked_scatter(a > 0, s), [(3, 4), (14,)]),
    ("masked_scatter_bcast", lambda T, a, s: a.masked_scatter(T.tensor([False, True, True, False]), s),
     [(3, 4), (3, 3)]),
    ("put", lambda T, a, s: a.put(T.tensor([0, 5, -1]), s), [(2, 3), (3,)]),
    ("put_acc", lambda T, a, s: a.put(T.tensor([1, 1, 2]), s, accumulate=True), [(2, 3), (3,)]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_torch(name, fn, shapes, dtype):
    compare(lambda *xs: fn(ms, *xs), make_inputs(shapes, np.random.default_rng(zlib.crc32(name.encode()))),
            dtype=dtype, torch_fn=lambda *xs: fn(torch, *xs), name=name)


@pytest.mark.parametrize("n,increasing", [(None, False), (3, True), (1, False)])
def test_vander(n, increasing):
    """Values against torch.vander; gradients against explicit powers (PyTorch's own vander
    backward fails: its cumprod result is edited in place)."""
    compare(lambda x: ms.vander(x, N=n, increasing=increasing), [_x(4)], grad=n != 1,
            torch_fn=lambda x: torch.stack([x ** k for k in (range(n or 4) if increasing else
                                                             reversed(range(n or 4)))], 1))
    v = _x(4)
    np.testing.assert_allclose(ms.vander(ms.tensor(v), N=n, increasing=increasing).numpy(),
                               torch.vander(torch.tensor(v), N=n, increasing=increasing).numpy(), rtol=1e-12)


def test_second_derivatives():
    for f in (lambda T, x: T.erfinv(x * 0.5), lambda T, x: T.logcumsumexp(x, 0), lambda T, x: x.unfold(0, 2, 1)):
        xs = _x(5)
        got, want = [], []
        for T, out in ((ms, got), (torch, want)):
            x = T.tensor(xs, requires_grad=True)
            (g,) = T.autograd.grad((f(T, x) ** 3).sum(), x, create_graph=True)
            (h,) = T.autograd.grad((g * g).sum(), x)
            out.append(h.detach().numpy())
        np.testing.assert_allclose(got[0], want[0], rtol=1e-8)


# ---- exact (integer and non-differentiable) results -------------------------------------------
def _same(a, b):
    a = [a] if not isinstance(a, (tuple, list)) else list(a)
    b = [b] if not isinstance(b, (tuple, list)) else list(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.numpy().dtype == y.numpy().dtype, (x.numpy().dtype, y.numpy().dtype)
        np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("fn", [
    lambda T: T.count_nonzero(T.tensor([[0, 1, 2], [0, 0, 3]])),
    lambda T: T.count_nonzero(T.tensor([[0.0, 1, 2], [0, 0, 3]]), dim=-1),
    lambda T: T.count_nonzero(T.tensor([[[0, 1], [2, 0]]]), dim=(0, 2)),
    lambda T: T.triu_indices(3, 4),
    lambda T: T.triu_indices(4, 3, offset=-1),
    lambda T: T.tril_indices(3, 3, 1),
    lambda T: T.tril_indices(4, 2, -1, dtype=T.int32),
    lambda T: T.searchsorted(T.tensor([1, 3, 5, 7, 9]), T.tensor([[3, 6, 9], [0, 10, 5]])),
    lambda T: T.searchsorted(T.tensor([1, 3, 5, 7, 9]), T.tensor([3, 6, 9]), right=True),
    lambda T: T.searchsorted(T.tensor([1.0, 3, 5, 7]), 5.0, side="right"),
    lambda T: T.searchsorted(T.tensor([[1, 3, 5], [2, 4, 6]]), T.tensor([[3, 7], [1, 4]]), out_int32=True),
    lambda T: T.searchsorted(T.tensor([5, 1, 3]), T.tensor([2, 4]), sorter=T.tensor([1, 2, 0])),
    lambda T: T.bucketize(T.tensor([[1, 5], [7, 9]]), T.tensor([1, 3, 5, 7, 9])),
    lambda T: T.bucketize(T.tensor([1.0, 5, 6]), T.tensor([1.0, 3, 5]), right=True),
    lambda T: T.unique_consecutive(T.tensor([1, 1, 2, 2, 3, 1, 1, 2])),
    lambda T: T.unique_consecutive(T.tensor([[1, 1], [2, 2], [2, 2]]), return_inverse=True, return_counts=True),
    lambda T: T.tensor([[1, 1, 2], [1, 1, 2]]).unique_consecutive(return_counts=True, dim=1),
    lambda T: T.unique_consecutive(T.tensor([[1, 2], [1, 2], [3, 4]]), return_inverse=True, dim=0),
    lambda T: T.gcd(T.tensor([12, -18, 0, 7]), T.tensor([8, 12, 0, 3])),
    lambda T: T.lcm(T.tensor([4, -6, 0]), T.tensor([6, 4, 5])),
    lambda T: T.tensor([4, 6]).gcd(T.tensor(4)),
    lambda T: T.heaviside(T.tensor([-1.5, 0.0, 2.0]), T.tensor([0.5])),
    lambda T: T.histc(T.tensor([1.0, 2, 1, 4, 2.5, 0.1]), bins=4, min=0, max=3),
    lambda T: T.histc(T.tensor([[1.0, 2, 1], [7, 2.5, 4.25]]), bins=5),
    lambda T: T.histc(T.tensor([3.0, 3.0]), bins=3),
    lambda T: T.tensor([0.3, 0.1, 0.7, 0.9, 0.5, 0.31]).histc(bins=7, min=0.1, max=0.9),
    lambda T: T.cummax(T.tensor([1.0, 3, 3, float("nan"), 2, float("nan")]), 0),
    lambda T: T.cummin(T.tensor([[1, 0, 0, 2], [5, 6, 4, 4]]), 1),
    lambda T: T.mode(T.tensor([[3.0, 1, 1, 3, 2], [2, 2, 0, 0, 5]])),
    lambda T: T.mode(T.tensor([[1, 2], [1, 3], [4, 3]]), 0, keepdim=True),
    lambda T: T.median(T.tensor([[1.0, float("nan"), 3, float("nan")], [4, 2, 3, 1]]), 1),
    lambda T: T.median(T.tensor([1.0, float("nan"), 3])),
    lambda T: T.nanmedian(T.tensor([[1.0, float("nan"), 3, 2], [float("nan"), 5, 4, 6]]), 1),
    lambda T: T.nanmedian(T.tensor([[float("nan")] * 4]), 1).values,  # which NaN's index: unspecified
    lambda T: T.nanmedian(T.tensor([1.0, float("nan"), 3, 2])),
    lambda T: T.median(T.tensor([[3, 1, 2], [9, 7, 8]]), -1),
    lambda T: T.quantile(T.tensor([[1.0, float("nan"), 3], [4.0, 2, 3]]), 0.5, dim=1),
    lambda T: T.nanquantile(T.tensor([[1.0, float("nan"), 3], [float("nan")] * 3]), T.tensor([0.0, 0.6]), dim=1),
    lambda T: T.quantile(T.tensor([1.0, 2, 3, 4]), 0.5, interpolation="nearest"),
    lambda T: T.quantile(T.tensor([1.0, 2, 3, 4, 5]), T.tensor([0.125, 0.375]), interpolation="nearest"),
    lambda T: T.nanmean(T.tensor([[float("nan"), float("nan")], [1.0, 2.0]]), dim=1),
    lambda T: T.diff(T.tensor([True, True, False, True])),
    lambda T: T.diff(T.tensor([1, 4, 9, 16]), n=2, prepend=T.tensor([0])),
    lambda T: T.diff(T.tensor([[1, 2], [3, 5]]), n=3),
    lambda T: T.combinations(T.tensor([1, 2]), r=3),
    lambda T: T.combinations(T.tensor([1, 2, 3]), r=0),
    lambda T: T.cartesian_prod(T.tensor([1, 2]), T.tensor([3, 4]), T.tensor([5])),
    lambda T: T.cartesian_prod(T.tensor([1, 2])),
    lambda T: T.vander(T.tensor([1, 2, 3])),
    lambda T: T.vander(T.tensor([0.0, 2.0]), N=4, increasing=True),
    lambda T: T.block_diag(T.tensor([[1, 2]]), T.tensor([[3.0], [4.0]])),
    lambda T: T.kron(T.tensor([[1, 2], [3, 4]]), T.eye(2, dtype=T.int64)),
    lambda T: T.take(T.tensor([[4, 5], [6, 7]]), T.tensor([3, 0])),
    lambda T: T.hstack([T.tensor([1, 2]), T.tensor([3.0])]),
    lambda T: T.erfinv(T.tensor([-1.0, 1.0, 0.0, 1.5])),
    lambda T: T.erfinv(T.tensor([0, 1])),
    lambda T: T.tensordot(T.tensor([[1, 2], [3, 4]]), T.tensor([[5, 6], [7, 8]]), dims=([0], [1])),
    lambda T: T.addmm(T.full((2, 2), float("nan")), T.ones(2, 3), T.ones(3, 2), beta=0),
    lambda T: T.tensor([1, 2, 3]).type_as(T.tensor([1.5], dtype=T.float64)),
    lambda T: T.arange(12.0).reshape(3, 4).unfold(0, 2, 1),
    lambda T: T.arange(12.0).reshape(3, 4).t().unfold(1, 2, 1),
    lambda T: T.arange(5.0).unfold(0, 2, 3),
    lambda T: T.arange(12).reshape(3, 4)[1:].as_strided((2, 2), (1, 4)),
    lambda T: T.arange(12).reshape(3, 4)[1:].as_strided((3,), (2,), 1),
    lambda T: T.tensor(2.5).unfold(0, 1, 1),
], ids=lambda f: None)
def test_exact(fn):
    _same(fn(ms), fn(torch))


def test_layout_answers():
    data = np.arange(24.0).reshape(2, 3, 4)
    for make in (lambda T, x: x, lambda T, x: x.transpose(0, 2), lambda T, x: x[:, 1:, ::2],
                 lambda T, x: x[1], lambda T, x: x[1, 2:], lambda T, x: x[0].expand(2, 3, 4),
                 lambda T, x: x.unfold(2, 2, 1), lambda T, x: x.reshape(6, 4)[2:4]):
        a, b = make(ms, ms.tensor(data)), make(torch, torch.tensor(data))
        assert a.stride() == b.stride()
        assert a.stride(-1) == b.stride(-1)
        assert a.is_contiguous() == b.is_contiguous()
        assert a.storage_offset() == b.storage_offset()
        assert a.ndimension() == b.ndimension()
        assert a.nbytes == b.nbytes and a.itemsize == b.itemsize
    x = ms.arange(10.0)
    assert x[3:].data_ptr() == x.data_ptr() + 3 * 4  # float32: 4 bytes per element
    with pytest.raises(IndexError):
        x.stride(1)


def test_as_strided_on_memory_numpy_cannot_flatten():
    """A Fortran-ordered array from NumPy: its elements in row-major order act as the storage."""
    data = np.arange(6.0).reshape(2, 3)
    x = ms.from_numpy(np.asfortranarray(data)).requires_grad_()
    t = torch.tensor(data, requires_grad=True)
    y, u = x.as_strided((2, 2), (1, 1)), t.as_strided((2, 2), (1, 1))
    np.testing.assert_array_equal(y.detach().numpy(), u.detach().numpy())
    (y * y).sum().backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_data_ptr_and_views_share_memory():
    x = ms.zeros(4, 3)
    assert x[2:].data_ptr() - x.data_ptr() == 2 * 3 * x.element_size()
    assert x.view(12).data_ptr() == x.data_ptr()
    w = x.unfold(0, 2, 1)
    w[0, 0, 0] = 5.0  # a view: the write lands in x
    assert x[0, 0].item() == 5.0
    s = x.as_strided((2,), (4,))
    s[1] = 7.0
    assert x[1, 1].item() == 7.0


def test_version_counter_and_leaf_refusal():
    cases = [
        lambda x: x.index_put_((ms.tensor([0]),), ms.tensor(1.0)),
        lambda x: x.masked_scatter_(x > 0, ms.ones(6)),
        lambda x: x.addcmul_(x, x, value=0.5),
        lambda x: x.addcdiv_(x, x + 10, value=2),
        lambda x: x.lerp_(ms.zeros(2, 3), 0.5),
        lambda x: x.put_(ms.tensor([1]), ms.tensor([9.0])),
        lambda x: x.bernoulli_(0.3),
        lambda x: x.exponential_(),
        lambda x: x.geometric_(0.5),
        lambda x: x.cauchy_(),
        lambda x: x.log_normal_(),
        lambda x: x.random_(0, 5),
        lambda x: x.apply_(lambda v: v * 2),
        lambda x: x.map_(ms.ones(3), lambda a, b: a + b),
        lambda x: x.addmm_(ms.ones(2, 2), ms.ones(2, 3)),
    ]
    for op in cases:
        x = ms.ones(2, 3)
        v = x.view(6)
        before = x._version
        assert op(x) is x
        assert x._version == before + 1 and v._version == x._version
        leaf = ms.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            op(leaf)
        with ms.no_grad():
            op(leaf)


def test_inplace_values_match_torch():
    a, b, c = _x(2, 3), _x(2, 3), _x(2, 3) + 5
    for make in (lambda T, x: x.addcmul_(T.tensor(b), T.tensor(c), value=0.3),
                 lambda T, x: x.addcdiv_(T.tensor(b), T.tensor(c), value=-2),
                 lambda T, x: x.lerp_(T.tensor(b), 0.25),
                 lambda T, x: x.lerp_(T.tensor(b), T.tensor(c) / 10),
                 lambda T, x: x.index_put_((T.tensor([1, 1]), T.tensor([0, 2])), T.tensor([5.0, 6.0], dtype=T.float64)),
                 lambda T, x: x.index_put_((T.tensor([1, 1]),), T.tensor(1.0, dtype=T.float64), accumulate=True),
                 lambda T, x: x.index_put_((T.tensor([[True, False, True], [False, False, True]]),),
                                           T.tensor([1.0, 2, 3], dtype=T.float64)),
                 lambda T, x: x.masked_scatter_(T.tensor([True, False, True]), T.tensor(c)),
                 lambda T, x: x.put_(T.tensor([5, 0]), T.tensor([1.0, 2.0], dtype=T.float64), accumulate=True),
                 lambda T, x: x.apply_(lambda v: v * v - 1),
                 lambda T, x: x.map_(T.tensor(b[0]), lambda p, q: p * q + 1),
                 lambda T, x: x.addmm_(T.tensor(b), T.tensor(c.T @ c), beta=0.5, alpha=-1)):
        got, want = make(ms, ms.tensor(a)), make(torch, torch.tensor(a))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_inplace_in_graph_gives_torch_gradients():
    a, b = _x(2, 3), _x(2, 3)
    grads = []
    for T in (ms, torch):
        w = T.tensor(a, requires_grad=True)
        s = T.tensor(b, requires_grad=True)
        y = w * 2
        y.index_put_((T.tensor([0]),), s[1] * 3)
        y.masked_scatter_(T.tensor([False, True, False]), s[0])
        y.addcmul_(s, s, value=0.5)
        (y ** 2).sum().backward()
        grads.append((w.grad.numpy().copy(), s.grad.numpy().copy()))
    for g, h in zip(*grads):
        np.testing.assert_allclose(g, h, rtol=1e-10)


def test_resize():
    x = ms.arange(6.0)
    same = x.view(2, 3)
    x.resize_(3, 2)
    assert tuple(x.shape) == (3, 2)
    x[0, 0] = 9.0
    assert same[0, 0].item() == 9.0  # the same memory
    x.resize_(4)
    np.testing.assert_array_equal(x.numpy(), [9.0, 1, 2, 3])
    x.resize_as_(ms.zeros(2, 2))
    assert tuple(x.shape) == (2, 2)
    with pytest.raises(RuntimeError, match="growing"):
        x.resize_(10)
    with pytest.raises(RuntimeError, match="requires grad"):
        ms.ones(3, requires_grad=True).resize_(3)


def test_random_fills_statistics_and_seed():
    n = 200_000
    ms.manual_seed(3)
    x = ms.empty(n).exponential_(2.0)
    assert abs(x.mean().item() - 0.5) < 0.01
    ms.manual_seed(3)
    np.testing.assert_array_equal(ms.empty(n).exponential_(2.0).numpy(), x.numpy())
    b = ms.empty(n).bernoulli_(0.3)
    assert set(np.unique(b.numpy())) <= {0.0, 1.0} and abs(b.mean().item() - 0.3) < 0.01
    pb = ms.empty(n, 2).bernoulli_(ms.tensor([0.1, 0.9]))
    np.testing.assert_allclose(pb.mean(0).numpy(), [0.1, 0.9], atol=0.01)
    g = ms.empty(n, dtype=ms.float64).geometric_(0.25)
    assert g.min().item() == 1 and abs(g.mean().item() - 4.0) < 0.1
    c = ms.empty(n).cauchy_(1.0, 2.0)
    assert abs(c.median().item() - 1.0) < 0.05
    assert abs(((c - 1).abs() < 2).double().mean().item() - 0.5) < 0.01  # half within one scale
    ln = ms.empty(n, dtype=ms.float64).log_normal_(0.5, 0.25)
    assert abs(ln.log().mean().item() - 0.5) < 0.01 and abs(ln.log().std().item() - 0.25) < 0.01
    r = ms.empty(n, dtype=ms.int64).random_(3, 7)
    assert set(np.unique(r.numpy())) == {3, 4, 5, 6}
    r2 = ms.zeros(n).random_(5)
    assert r2.min().item() == 0 and r2.max().item() == 4 and r2.dtype == ms.float32
    r3 = ms.zeros(1000, dtype=ms.uint8).random_()
    assert r3.max().item() > 200
    r4 = ms.zeros(1000).random_(**{"from": -2, "to": 0})
    assert set(np.unique(r4.numpy())) == {-2.0, -1.0}
    for bad in (lambda: ms.empty(3).bernoulli_(1.5), lambda: ms.empty(3).random_(5, 2),
                lambda: ms.empty(3).exponential_(-1), lambda: ms.empty(3).geometric_(0)):
        with pytest.raises(ValueError):
            bad()


# ---- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,kind", [
    (lambda T: T.masked_select(T.ones(3), T.tensor([1, 0, 1])), (TypeError, RuntimeError)),
    (lambda T: T.masked_select(T.ones(3), T.tensor([True, False])), (ValueError, RuntimeError)),
    (lambda T: T.take(T.ones(3), T.tensor([3])), (IndexError, RuntimeError)),
    (lambda T: T.quantile(T.ones(3), 1.5), (ValueError, RuntimeError)),
    (lambda T: T.quantile(T.ones(3, dtype=T.int64), 0.5), (TypeError, RuntimeError)),
    (lambda T: T.quantile(T.ones(3), 0.5, interpolation="cubic"), (ValueError, RuntimeError)),
    (lambda T: T.median(T.ones(2, 3), 2), IndexError),
    (lambda T: T.tensordot(T.ones(2, 3), T.ones(4, 5), dims=1), (ValueError, RuntimeError)),
    (lambda T: T.cross(T.ones(2, 4), T.ones(2, 4), dim=1), (ValueError, RuntimeError)),
    (lambda T: T.rot90(T.ones(3), 1), (ValueError, RuntimeError)),
    (lambda T: T.rot90(T.ones(2, 3), 1, [0, 0]), (ValueError, RuntimeError)),
    (lambda T: T.addmm(T.ones(2, 2), T.ones(2, 3), T.ones(2, 3)), (ValueError, RuntimeError)),
    (lambda T: T.addmm(T.ones(3, 3), T.ones(2, 3), T.ones(3, 2)), (ValueError, RuntimeError)),
    (lambda T: T.baddbmm(T.ones(2, 2), T.ones(2, 3), T.ones(3, 2)), (ValueError, RuntimeError)),
    (lambda T: T.broadcast_tensors(T.ones(2), T.ones(3)), (ValueError, RuntimeError)),
    (lambda T: T.gcd(T.ones(2), T.ones(2)), (TypeError, RuntimeError)),
    (lambda T: T.searchsorted(T.tensor([1, 2]), T.tensor([1]), side="left", right=True), (ValueError, RuntimeError)),
    (lambda T: T.ones(5).unfold(0, 6, 1), (ValueError, RuntimeError)),
    (lambda T: T.ones(5).unfold(0, 2, 0), (ValueError, RuntimeError)),
    (lambda T: T.ones(5).unfold(1, 2, 1), IndexError),
    (lambda T: T.ones(5).as_strided((3,), (3,)), RuntimeError),
    (lambda T: T.ones(5).masked_scatter(T.ones(5, dtype=T.bool), T.ones(3)), (ValueError, RuntimeError)),
    (lambda T: T.ones(3).index_put_((T.tensor([5]),), T.tensor(1.0)), (IndexError, RuntimeError)),
    (lambda T: T.diff(T.tensor(1.0)), (ValueError, RuntimeError)),
    (lambda T: T.histc(T.ones(3), bins=0), (ValueError, RuntimeError)),
    (lambda T: T.histc(T.ones(3), min=2, max=1), (ValueError, RuntimeError)),
])
def test_errors(call, kind):
    """The same kind of error in both (mlseries: ValueError/TypeError/IndexError where PyTorch
    raises RuntimeError, as elsewhere in the engine)."""
    with pytest.raises(kind) as got:
        call(ms)
    assert str(got.value)
    with pytest.raises(Exception):
        call(torch)


def test_refusals_explain():
    with pytest.raises(TypeError, match="bfloat16"):
        ms.ones(2).bfloat16()
    with pytest.raises(NotImplementedError, match="storage"):
        ms.ones(2).storage()
    with pytest.raises(NotImplementedError, match="complex"):
        ms.polar(ms.ones(2), ms.zeros(2))


def test_methods_exist_where_torch_has_them():
    names = ["masked_select", "median", "nanmedian", "quantile", "nanquantile", "mode", "nanmean", "count_nonzero",
             "diff", "take", "kron", "cross", "rot90", "erfinv", "erfinv_", "addmm", "addmm_", "addmv", "addbmm",
             "baddbmm", "baddbmm_", "histc", "unique_consecutive", "gcd", "lcm", "heaviside", "logcumsumexp", "cummax",
             "cummin", "renorm", "renorm_", "type_as", "is_contiguous", "stride", "storage_offset", "data_ptr",
             "nbytes", "itemsize", "ndimension", "as_strided", "unfold", "index_put_", "index_put", "masked_scatter_",
             "masked_scatter", "addcmul_", "addcdiv_", "lerp_", "bernoulli_", "exponential_", "geometric_", "cauchy_",
             "log_normal_", "random_", "put_", "put", "apply_", "map_", "resize_", "resize_as_", "bfloat16"]
    for n in names:
        assert hasattr(torch.Tensor, n), n
        assert hasattr(ms.Tensor, n), n
    for n in ["hstack", "vstack", "dstack", "column_stack", "row_stack", "atleast_1d", "atleast_2d", "atleast_3d",
              "broadcast_tensors", "tensordot", "triu_indices", "tril_indices", "searchsorted", "bucketize",
              "cartesian_prod", "combinations", "block_diag", "std_mean", "var_mean", "vander", "polar"]:
        assert hasattr(torch, n) and hasattr(ms, n), n


def test_median_all_spreads_gradient_over_ties():
    data = np.array([[1.0, 2.0, 2.0], [3.0, 2.0, 0.0]])
    grads = []
    for T in (ms, torch):
        x = T.tensor(data, requires_grad=True)
        T.median(x).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


# ---- a real program --------------------------------------------------------------------------------
def _train(T, weights, steps=5):
    """A small model written as people write them: features stacked with hstack, a masked loss
    over the valid entries with masked_select, the bias added with addmm, labels cast with
    type_as, a quantile-clipped target, and an optimiser step."""
    w1 = T.tensor(weights["w1"], requires_grad=True)
    b1 = T.tensor(weights["b1"], requires_grad=True)
    w2 = T.tensor(weights["w2"], requires_grad=True)
    opt = T.optim.SGD([w1, b1, w2], lr=0.05, momentum=0.9)
    x_num = T.tensor(weights["x"])
    x_cat = T.tensor(weights["cat"])                      # int64 codes
    y = T.tensor(weights["y"])
    losses = []
    for _ in range(steps):
        feats = T.hstack([x_num, x_cat.type_as(x_num), T.diff(x_num, dim=1)])
        h = T.addmm(b1, feats, w1).tanh()
        pred = (h @ w2).squeeze(-1)
        hi = T.quantile(y, 0.9)
        target = T.minimum(y, hi)
        valid = T.isfinite(y) & (y > -1.5)
        err = T.masked_select(pred - target, valid)
        loss = (err ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_real_program_matches_torch():
    rng = np.random.default_rng(0)
    weights = dict(w1=rng.normal(size=(7, 8)) * 0.3, b1=rng.normal(size=8) * 0.1, w2=rng.normal(size=(8, 1)) * 0.3,
                   x=rng.normal(size=(16, 3)), cat=rng.integers(0, 3, size=(16, 2)), y=rng.normal(size=16))
    got, want = _train(ms, weights), _train(torch, weights)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got[-1] < got[0]
