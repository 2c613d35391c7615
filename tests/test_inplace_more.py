"""The generated in-place methods of `_inplace_more.py` (`relu_`, `clamp_min_`, `sqrt_`, ...) and the
in-place shape methods, against PyTorch: the values they write, the gradients that flow through them
on a non-leaf, the version counter, and the errors (a leaf that requires grad, a saved tensor changed
before backward, a float result into an integer tensor)."""
import numpy as np
import pytest
import torch

import mlseries as ms

RNG = np.random.default_rng(11)


def _data(shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def _run(T, fn, x_np, w_np):
    """x (a leaf) -> a = x * 1.5 (a non-leaf) -> fn(a) in place -> loss = sum(a * w)."""
    x = T.tensor(x_np, requires_grad=True)
    a = x * 1.5
    out = fn(T, a)
    assert out is a  # in-place methods return self
    loss = (a * T.tensor(w_np)).sum()
    loss.backward()
    g = x.grad
    if T is torch and g._is_zerotensor():  # sgn_'s gradient is PyTorch's lazily-zero tensor
        g = torch.zeros_like(x)
    return a.detach().numpy().copy(), g.numpy().copy()


def _check(fn, shape=(3, 4), low=-2.0, high=2.0, tol=1e-10):
    x_np, w_np = _data(shape, low, high), _data(shape)
    va, ga = _run(ms, fn, x_np, w_np)
    vb, gb = _run(torch, fn, x_np, w_np)
    np.testing.assert_allclose(va, vb, rtol=tol, atol=tol)
    np.testing.assert_allclose(ga, gb, rtol=tol, atol=tol)


# (name, call, input range): each run on a non-leaf in float64 in both frameworks
UNARY = [
    ("abs_", lambda T, a: a.abs_(), (-2, 2)),
    ("sqrt_", lambda T, a: a.sqrt_(), (0.1, 2)),
    ("exp_", lambda T, a: a.exp_(), (-2, 2)),
    ("log_", lambda T, a: a.log_(), (0.1, 2)),
    ("neg_", lambda T, a: a.neg_(), (-2, 2)),
    ("reciprocal_", lambda T, a: a.reciprocal_(), (0.5, 2)),
    ("sigmoid_", lambda T, a: a.sigmoid_(), (-2, 2)),
    ("tanh_", lambda T, a: a.tanh_(), (-2, 2)),
    ("relu_", lambda T, a: a.relu_(), (-2, 2)),
    ("log1p_", lambda T, a: a.log1p_(), (-0.5, 2)),
    ("expm1_", lambda T, a: a.expm1_(), (-2, 2)),
    ("sin_", lambda T, a: a.sin_(), (-2, 2)),
    ("cos_", lambda T, a: a.cos_(), (-2, 2)),
    ("erf_", lambda T, a: a.erf_(), (-2, 2)),
    ("frac_", lambda T, a: a.frac_(), (-2, 2)),
    ("deg2rad_", lambda T, a: a.deg2rad_(), (-2, 2)),
    ("rad2deg_", lambda T, a: a.rad2deg_(), (-2, 2)),
    ("rsqrt_", lambda T, a: a.rsqrt_(), (0.2, 2)),
    ("square_", lambda T, a: a.square_(), (-2, 2)),
    ("tan_", lambda T, a: a.tan_(), (-0.6, 0.6)),
    ("sinh_", lambda T, a: a.sinh_(), (-2, 2)),
    ("atan_", lambda T, a: a.atan_(), (-2, 2)),
    ("asin_", lambda T, a: a.asin_(), (-0.5, 0.5)),
    ("log2_", lambda T, a: a.log2_(), (0.1, 2)),
    ("exp2_", lambda T, a: a.exp2_(), (-2, 2)),
    ("nan_to_num_", lambda T, a: a.nan_to_num_(), (-2, 2)),
    ("pow_scalar", lambda T, a: a.pow_(3), (-2, 2)),
    ("pow_tensor", lambda T, a: a.pow_(T.tensor(_EXP)), (0.2, 2)),
    ("clamp_min_", lambda T, a: a.clamp_min_(0.3), (-2, 2)),
    ("clamp_max_", lambda T, a: a.clamp_max_(-0.2), (-2, 2)),
    ("clip_", lambda T, a: a.clip_(-1, 1), (-2, 2)),
    ("fmod_", lambda T, a: a.fmod_(0.7), (-2, 2)),
    ("remainder_", lambda T, a: a.remainder_(0.7), (-2, 2)),
    ("hypot_", lambda T, a: a.hypot_(T.tensor(_EXP)), (-2, 2)),
    ("copysign_", lambda T, a: a.copysign_(T.tensor(_SIGNS)), (-2, 2)),
    ("float_power_", lambda T, a: a.float_power_(2), (-2, 2)),
    ("true_divide_", lambda T, a: a.true_divide_(T.tensor(_EXP)), (-2, 2)),
    ("multiply_", lambda T, a: a.multiply_(T.tensor(_EXP)), (-2, 2)),
    # float exponents: with integer ones PyTorch's gradient computes 2**e in integers (0 for e < 0)
    ("ldexp_", lambda T, a: a.ldexp_(T.tensor(_INTS.astype(np.float64))), (-2, 2)),
    # no gradient: the old value gets a zero gradient, as PyTorch
    ("floor_", lambda T, a: a.floor_(), (-2, 2)),
    ("ceil_", lambda T, a: a.ceil_(), (-2, 2)),
    ("round_", lambda T, a: a.round_(), (-2, 2)),
    ("trunc_", lambda T, a: a.trunc_(), (-2, 2)),
    ("fix_", lambda T, a: a.fix_(), (-2, 2)),
    ("sign_", lambda T, a: a.sign_(), (-2, 2)),
    ("sgn_", lambda T, a: a.sgn_(), (-2, 2)),
    ("lt_", lambda T, a: a.lt_(0.5), (-2, 2)),
    ("ge_", lambda T, a: a.ge_(T.tensor(_EXP)), (-2, 2)),
    # shape and triangle methods on a non-leaf
    ("tril_", lambda T, a: a.tril_(), (-2, 2)),
    ("triu_", lambda T, a: a.triu_(1), (-2, 2)),
    ("tril_neg", lambda T, a: a.tril_(-1), (-2, 2)),
    ("fill_diagonal_", lambda T, a: a.fill_diagonal_(5.0), (-2, 2)),
]
_EXP = RNG.uniform(0.5, 2.0, size=(3, 4))
_SIGNS = np.where(RNG.uniform(size=(4,)) < 0.5, -1.0, 1.0)
_INTS = RNG.integers(-2, 3, size=(3, 4))


@pytest.mark.parametrize("name,fn,rng", UNARY, ids=[c[0] for c in UNARY])
def test_inplace_values_and_gradients(name, fn, rng):
    _check(fn, low=rng[0], high=rng[1])


@pytest.mark.parametrize("fn", [lambda T, a: a.unsqueeze_(0), lambda T, a: a.unsqueeze_(-1),
                                lambda T, a: a.squeeze_(1).t_(), lambda T, a: a.transpose_(0, -1),
                                lambda T, a: a.swapaxes_(1, 0), lambda T, a: a.squeeze_(),
                                lambda T, a: a.squeeze_(1)])
def test_shape_methods(fn):
    x_np = _data((3, 1, 2))
    out = []
    for T in (ms, torch):
        x = T.tensor(x_np, requires_grad=True)
        a = x * 2.0
        r = fn(T, a)
        assert r is a
        w = T.tensor(np.arange(a.numel(), dtype=np.float64).reshape(tuple(a.shape)))
        (a * w).sum().backward()
        out.append((tuple(a.shape), a.detach().numpy().copy(), x.grad.numpy().copy()))
    assert out[0][0] == out[1][0]
    np.testing.assert_allclose(out[0][1], out[1][1])
    np.testing.assert_allclose(out[0][2], out[1][2])


def test_shape_methods_outside_the_graph_share_memory_and_bump_version():
    for T in (ms, torch):
        base = T.zeros(2, 3)
        v = base.view(6)
        base.t_()
        assert tuple(base.shape) == (3, 2)
        assert base._version == 1
        base[0, 1] = 7.0  # still the same memory: the flat view sees it
        assert v[3].item() == 7.0


def test_t_refuses_3d():
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.zeros(2, 2, 2).t_()


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), False), ((7, 3), True), ((3, 5), True),
                                        ((2, 2, 2), False)])
def test_fill_diagonal(shape, wrap):
    got = ms.zeros(*shape).fill_diagonal_(2.5, wrap=wrap)
    want = torch.zeros(*shape).fill_diagonal_(2.5, wrap=wrap)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_fill_diagonal_errors():
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.zeros(3).fill_diagonal_(1.0)
        with pytest.raises(RuntimeError):
            T.zeros(2, 3, 2).fill_diagonal_(1.0)


@pytest.mark.parametrize("op", ["relu_", "abs_", "sqrt_", "clamp_min_", "unsqueeze_", "tril_", "floor_"])
def test_leaf_requiring_grad_is_refused(op):
    args = {"clamp_min_": (0.0,), "unsqueeze_": (0,)}.get(op, ())
    for T in (ms, torch):
        x = T.rand(2, 2, dtype=T.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(x, op)(*args)
        with T.no_grad():  # allowed outside the graph, as PyTorch
            getattr(x, op)(*args)


@pytest.mark.parametrize("op,args", [("relu_", ()), ("exp_", ()), ("clamp_min_", (0.0,)), ("sigmoid_", ()),
                                     ("pow_", (2,)), ("floor_", ()), ("unsqueeze_", (0,))])
def test_version_counter_bumped(op, args):
    for T in (ms, torch):
        x = T.tensor([0.5, -1.0, 2.0])
        v0 = x._version
        getattr(x, op)(*args)
        assert x._version == v0 + 1


@pytest.mark.parametrize("op", ["relu_", "sigmoid_", "exp_", "abs_", "floor_"])
def test_saved_tensor_edited_makes_backward_raise(op):
    # y is saved by y * y, then changed in place: both frameworks refuse the backward pass
    for T in (ms, torch):
        x = T.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x * 2.0
        z = (y * y).sum()
        getattr(y, op)()
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            z.backward()


def test_saved_output_edited_makes_backward_raise():
    # exp saves its output; sqrt_ on it must make exp's backward fail, as in PyTorch
    for T in (ms, torch):
        x = T.tensor([0.5, -1.0], requires_grad=True)
        e = (x * 1.0).exp()
        e.sqrt_()
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            e.sum().backward()


def test_unrelated_use_before_inplace_keeps_working():
    # y + 1 needs no values of y: editing y afterwards is harmless in both
    grads = []
    for T in (ms, torch):
        x = T.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x * 2.0
        z = (y + 1.0).sum()
        y.relu_()
        (z + y.sum()).backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1])


@pytest.mark.parametrize("op,args", [("sqrt_", ()), ("exp_", ()), ("true_divide_", (2,)), ("pow_", (0.5,)),
                                     ("sigmoid_", ())])
def test_float_result_into_integer_tensor_is_refused(op, args):
    for T in (ms, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(T.tensor([1, 4, 9]), op)(*args)


def test_floor_divide_inplace_values():
    x_np = _data((3, 4))
    got, want = ms.tensor(x_np).floor_divide_(0.7), torch.tensor(x_np).floor_divide_(0.7)
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_integer_and_bool_inplace():
    for op, args in [("abs_", ()), ("neg_", ()), ("relu_", ()), ("clamp_min_", (0,)), ("pow_", (2,)),
                     ("remainder_", (3,)), ("floor_divide_", (2,)), ("bitwise_and_", (6,)),
                     ("bitwise_left_shift_", (1,)), ("sign_", ())]:
        got = getattr(ms.tensor([-3, 0, 5, 7]), op)(*args)
        want = getattr(torch.tensor([-3, 0, 5, 7]), op)(*args)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=op)
        assert got.dtype == ms.int64
    got = ms.tensor([True, False]).logical_not_()
    assert got.tolist() == torch.tensor([True, False]).logical_not_().tolist() and got.dtype == ms.bool


def test_broadcast_to_a_bigger_shape_is_refused():
    for T in (ms, torch):
        with pytest.raises((RuntimeError, ValueError)):
            T.zeros(3).copysign_(T.zeros(2, 3))


def test_top_level_inplace_functions():
    for T in (ms, torch):
        x = T.tensor([-1.0, 0.5, 3.0])
        assert T.relu_(x) is x
        T.clamp_(x, 0.2, 1.0)
        T.sqrt_(x)
        T.sigmoid_(x)
    np.testing.assert_allclose(ms.tensor([-1.0, 0.5, 3.0]).relu_().clamp_(0.2, 1.0).sqrt_().sigmoid_().numpy(),
                               x.numpy(), rtol=1e-6)


def test_views_see_the_change_outside_the_graph():
    for T in (ms, torch):
        x = T.tensor([[-1.0, 2.0], [3.0, -4.0]])
        row = x[1]
        x.relu_()
        assert row.tolist() == [3.0, 0.0]
        assert row._version == x._version == 1


def test_float32_chain_matches():
    x_np = _data((5, 6)).astype(np.float32)
    outs = []
    for T in (ms, torch):
        x = T.tensor(x_np, requires_grad=True)
        h = x * 3.0
        h.clamp_min_(-1.0).sigmoid_()
        (h * 2.0).sum().backward()
        outs.append((h.detach().numpy().copy(), x.grad.numpy().copy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
