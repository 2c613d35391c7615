"""`_functions_basic.py` against PyTorch: kthvalue, aminmax, tensor_split, tile, inner, mv, bincount,
the dtype questions (finfo, iinfo, result_type, can_cast, promote_types), bitwise and sign functions,
windows, print options; values, gradients (float64 to 1e-10), errors; and a short real program."""
import numpy as np
import pytest
import torch

import mlseries as ms

RNG = np.random.default_rng(5)


def _both(fn, *arrays, grad=True, tol=1e-10):
    """Run fn(T, *tensors) in both frameworks; compare outputs and the gradients of sum(out * w)."""
    res = []
    for T in (ms, torch):
        xs = [T.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(T, *xs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        vals = [o.detach().numpy().copy() for o in outs]
        grads = []
        diff = [o for o in outs if o.requires_grad]
        if grad and diff:
            loss = sum((o * T.tensor(np.cos(np.arange(o.numel())).reshape(tuple(o.shape)))).sum() for o in diff)
            loss.backward()
            grads = [x.grad.numpy().copy() if x.grad is not None else None for x in xs]
        res.append((vals, grads))
    (va, ga), (vb, gb) = res
    assert len(va) == len(vb)
    for a, b in zip(va, vb):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert len(ga) == len(gb)
    for a, b in zip(ga, gb):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _x(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("k,dim,keepdim", [(1, -1, False), (3, 0, True), (2, 1, False), (4, -2, False)])
def test_kthvalue(k, dim, keepdim):
    _both(lambda T, a: a.kthvalue(k, dim, keepdim), _x(4, 5))
    _both(lambda T, a: T.kthvalue(a, k, dim=dim, keepdim=keepdim), _x(4, 5, 2))


def test_kthvalue_errors_and_0d():
    _both(lambda T, a: a.kthvalue(1), np.array(2.5))
    for T in (ms, torch):
        with pytest.raises(RuntimeError, match="out of range"):
            T.tensor([1.0, 2.0]).kthvalue(3)
    r = ms.tensor([[3.0, 1.0]]).kthvalue(1, 1)
    assert r.values.tolist() == [1.0] and r.indices.tolist() == [1]


@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"dim": -1, "keepdim": True}])
def test_aminmax(kw):
    a = _x(3, 4)
    a[0, 1] = a[0, 2] = 9.0  # a tie: the gradient is shared, as in PyTorch
    _both(lambda T, x: T.aminmax(x, **kw), a)
    _both(lambda T, x: x.aminmax(**kw), a)
    r = ms.aminmax(ms.tensor(a))
    assert r.min.item() == a.min() and r.max.item() == 9.0


@pytest.mark.parametrize("ios,dim", [(3, 0), (4, 1), (1, -1), ([1, 3], 0), ((0, 2, 2, 9), -1), ([-2], 1)])
def test_tensor_split(ios, dim):
    _both(lambda T, a: T.tensor_split(a, ios, dim), _x(7, 5))
    _both(lambda T, a: a.tensor_split(ios, dim=dim), _x(7, 5))


def test_tensor_split_tensor_arg_and_errors():
    _both(lambda T, a: T.tensor_split(a, T.tensor(3)), _x(7))
    _both(lambda T, a: T.tensor_split(a, T.tensor([2, 5])), _x(7))
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.tensor_split(T.zeros(4), 0)
        with pytest.raises(RuntimeError):
            T.tensor_split(T.tensor(1.0), 2)


@pytest.mark.parametrize("dims", [(2,), (2, 3), (2, 1, 2), [1, 1]])
def test_tile(dims):
    _both(lambda T, a: a.tile(dims), _x(2, 3))
    _both(lambda T, a: T.tile(a, dims), _x(3))


def test_inner_and_mv():
    _both(lambda T, a, b: T.inner(a, b), _x(2, 3, 4), _x(5, 4))
    _both(lambda T, a, b: a.inner(b), _x(4), _x(4))
    _both(lambda T, a, b: T.inner(a, b), np.array(2.0), _x(3, 2))
    _both(lambda T, a, b: T.mv(a, b), _x(3, 4), _x(4))
    _both(lambda T, a, b: a.mv(b), _x(1, 2), _x(2))
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.inner(T.zeros(3), T.zeros(4))
        with pytest.raises(RuntimeError):
            T.mv(T.zeros(3, 4), T.zeros(3))


def test_bincount():
    idx = np.array([0, 3, 3, 1, 7, 3])
    for w in (None, RNG.uniform(size=6), RNG.uniform(size=6).astype(np.float32), np.arange(6)):
        for minlength in (0, 10):
            got = ms.bincount(ms.tensor(idx), None if w is None else ms.tensor(w), minlength)
            want = torch.bincount(torch.tensor(idx), None if w is None else torch.tensor(w), minlength)
            assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
            np.testing.assert_allclose(got.numpy(), want.numpy())
    assert ms.tensor(idx).bincount().tolist() == torch.tensor(idx).bincount().tolist()
    assert ms.bincount(ms.tensor([], dtype=ms.int64)).tolist() == []
    for T in (ms, torch):
        for bad in (T.tensor([1, -1]), T.tensor([[1]]), T.tensor([1.0])):
            with pytest.raises(RuntimeError):
                T.bincount(bad)


def test_casts_and_tensor_attributes():
    for T in (ms, torch):
        x = T.tensor([1.7, -2.2, 300.0])
        assert x.char().dtype == T.int8 and x.short().dtype == T.int16 and x.byte().dtype == T.uint8
        assert x.short().tolist() == [1, -2, 300]
        assert x.is_complex() is False and T.is_complex(x) is False
        assert x.layout == T.strided
        assert T.is_floating_point(x) and not T.is_floating_point(x.long())
    assert ms.zeros(2, 3).names == (None, None)
    assert repr(ms.strided) == "mlseries.strided"


def test_sum_to_size():
    _both(lambda T, a: a.sum_to_size(3, 1), _x(2, 3, 4))
    _both(lambda T, a: a.sum_to_size((1, 4)), _x(2, 3, 4))
    _both(lambda T, a: a.sum_to_size(2, 3, 4), _x(2, 3, 4))
    for T in (ms, torch):
        with pytest.raises(RuntimeError, match="expandable"):
            T.zeros(2, 3).sum_to_size(2)


def test_poisson_from_the_engine_generator():
    ms.manual_seed(0)
    a = ms.poisson(ms.full((2000,), 3.0))
    ms.manual_seed(0)
    b = ms.poisson(ms.full((2000,), 3.0))
    assert a.tolist() == b.tolist() and a.dtype == ms.float32
    assert abs(a.mean().item() - 3.0) < 0.2 and abs(a.var().item() - 3.0) < 0.4
    assert ms.poisson(ms.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_frombuffer_and_as_strided():
    buf = bytearray(np.arange(6, dtype=np.float32).tobytes())
    for T in (ms, torch):
        t = T.frombuffer(buf, dtype=T.float32, count=4, offset=4)
        assert t.tolist() == [1.0, 2.0, 3.0, 4.0]
        t[0] = 10.0  # shares memory with the buffer
        assert np.frombuffer(buf, np.float32)[1] == 10.0
        buf[4:8] = np.float32(1.0).tobytes()
    _both(lambda T, a: T.as_strided(a, (2, 2), (1, 2), 1), _x(6))


def test_is_nonzero():
    for T in (ms, torch):
        assert T.is_nonzero(T.tensor([1.5])) and not T.is_nonzero(T.tensor(0))
        with pytest.raises(RuntimeError, match="ambiguous"):
            T.is_nonzero(T.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="ambiguous"):
            T.is_nonzero(T.tensor([]))


_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_promote_types_and_can_cast():
    for a in _DTYPES:
        for b in _DTYPES:
            pa, pb = getattr(ms, a), getattr(ms, b)
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert ms.promote_types(pa, pb).name == str(torch.promote_types(ta, tb)).split(".")[1], (a, b)
            assert ms.can_cast(pa, pb) == torch.can_cast(ta, tb), (a, b)


@pytest.mark.parametrize("a,b", [("t_i8", 1000), ("t_i8", 2.5), ("t_f64", "t_f32"), ("t_i32", "z_f64"),
                                 ("z_i64", "t_i8"), (1, 2.0), (True, 3), ("t_b", True), ("z_f64", 1.0),
                                 ("t_f16", "z_f64"), ("t_u8", "t_i8")])
def test_result_type(a, b):
    def make(T, v):
        if not isinstance(v, str):
            return v
        kind, code = v.split("_")
        dt = {"i8": T.int8, "i32": T.int32, "i64": T.int64, "f16": T.float16, "f32": T.float32, "f64": T.float64,
              "b": T.bool, "u8": T.uint8}[code]
        return T.ones(2, dtype=dt) if kind == "t" else T.tensor(1, dtype=dt)
    got = ms.result_type(make(ms, a), make(ms, b))
    want = torch.result_type(make(torch, a), make(torch, b))
    assert got.name == str(want).split(".")[1]


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "bfloat16", None])
def test_finfo(name):
    got = ms.finfo() if name is None else ms.finfo(getattr(ms, name))
    want = torch.finfo() if name is None else torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(got, attr) == pytest.approx(getattr(want, attr), rel=1e-6), attr
    assert got.dtype == want.dtype
    ms.set_default_dtype(ms.float64)
    try:
        assert ms.finfo().dtype == "float64"
    finally:
        ms.set_default_dtype(ms.float32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name):
    got, want = ms.iinfo(getattr(ms, name)), torch.iinfo(getattr(torch, name))
    assert (got.bits, got.min, got.max, got.dtype) == (want.bits, want.min, want.max, want.dtype)


def test_finfo_iinfo_wrong_kind():
    for T in (ms, torch):
        with pytest.raises(TypeError):
            T.finfo(T.int32)
        with pytest.raises(TypeError):
            T.iinfo(T.float32)


def test_isin_and_argwhere():
    e = np.array([[1, 5, 3], [7, 3, 0]])
    for kw in ({}, {"invert": True}):
        assert ms.isin(ms.tensor(e), ms.tensor([3, 7]), **kw).tolist() == \
            torch.isin(torch.tensor(e), torch.tensor([3, 7]), **kw).tolist()
    assert ms.isin(ms.tensor(e), 3).tolist() == torch.isin(torch.tensor(e), 3).tolist()
    assert ms.isin(5, ms.tensor(e)).tolist() == torch.isin(5, torch.tensor(e)).tolist()
    assert ms.argwhere(ms.tensor(e)).tolist() == torch.argwhere(torch.tensor(e)).tolist()
    assert ms.tensor(e).argwhere().dtype == ms.int64


def test_divisions():
    a, b = _x(3, 4) * 3, _x(4) + 3.0
    _both(lambda T, x, y: T.true_divide(x, y), a, b)
    _both(lambda T, x, y: x.true_divide(y), a, b)
    _both(lambda T, x, y: T.floor_divide(x, y), a, b, grad=False)
    i, j = np.array([-7, 7, 5, -5]), np.array([2, -2, 3, 3])
    assert ms.floor_divide(ms.tensor(i), ms.tensor(j)).tolist() == torch.floor_divide(torch.tensor(i), torch.tensor(j)).tolist()
    assert ms.true_divide(ms.tensor(i), 2).dtype == ms.float32


def test_sign_functions():
    a = np.array([0.0, -0.0, 1.5, -2.0, 4.0, -3.0])  # (at ±inf PyTorch's gradient is NaN, ours ±1)
    o = np.array([1.0, -1.0, -0.0, 2.0, -1.0, 0.0])
    assert ms.signbit(ms.tensor(a)).tolist() == torch.signbit(torch.tensor(a)).tolist()
    _both(lambda T, x, y: T.copysign(x, y), a, o)
    _both(lambda T, x: T.copysign(x, -1.0), a)
    _both(lambda T, x, y: x.copysign(y), _x(3, 4), _x(4))
    _both(lambda T, x, y: T.nextafter(x, y), _x(5), _x(5), grad=False, tol=0)
    _both(lambda T, x, y: T.ldexp(x, y), _x(3, 4), RNG.uniform(-2, 2, (3, 4)))
    _both(lambda T, x: T.frexp(x), np.array([3.0, 0.5, -6.0, 0.0, 1e-3]), grad=False)
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.frexp(T.tensor([1, 2]))


def test_float_power():
    _both(lambda T, x: T.float_power(x, 3), _x(3, 4))
    _both(lambda T, x, y: T.float_power(x, y), RNG.uniform(0.5, 2, (3,)), _x(3))
    _both(lambda T, x: x.float_power(2.5), RNG.uniform(0.5, 2, (4,)).astype(np.float32), tol=1e-6)
    assert ms.float_power(ms.tensor([2, 3]), 2).dtype == ms.float64


def test_logical_and_bitwise():
    p, q = np.array([5, -3, 0, 12]), np.array([3, 6, 7, 2])
    bp, bq = np.array([True, False, True, False]), np.array([True, True, False, False])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
                 "logical_xor"):
        for x, y in ((p, q), (bp, bq)) if "shift" not in name else ((p, q),):
            got = getattr(ms, name)(ms.tensor(x), ms.tensor(y))
            want = getattr(torch, name)(torch.tensor(x), torch.tensor(y))
            assert got.tolist() == want.tolist() and got.dtype.name == str(want.dtype).split(".")[1], name
            assert getattr(ms.tensor(x), name)(ms.tensor(y)).tolist() == want.tolist()
    assert ms.bitwise_not(ms.tensor(p)).tolist() == torch.bitwise_not(torch.tensor(p)).tolist()
    assert ms.bitwise_not(ms.tensor(bp)).tolist() == torch.bitwise_not(torch.tensor(bp)).tolist()
    for T in (ms, torch):
        t = T.tensor(p)
        assert (t << 2).tolist() == (p << 2).tolist() and (t >> 1).tolist() == (p >> 1).tolist()
        assert (1 << T.tensor([1, 2])).tolist() == [2, 4]
        assert (6 & t).tolist() == (6 & p).tolist() and (True | T.tensor(bq)).tolist() == [True] * 4
        u = T.tensor(p)
        u &= 6
        u |= 1
        u ^= 2
        u <<= 1
        assert u.tolist() == (((((p & 6) | 1) ^ 2) << 1)).tolist()
        with pytest.raises((RuntimeError, TypeError)):
            T.bitwise_and(T.tensor([1.0]), T.tensor([2.0]))


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "bartlett_window", "blackman_window",
                                  "kaiser_window"])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 16])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, n, periodic):
    got = getattr(ms, name)(n, periodic, dtype=ms.float64)
    want = getattr(torch, name)(n, periodic, dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    got32, want32 = getattr(ms, name)(n), getattr(torch, name)(n)
    assert got32.dtype == ms.float32
    np.testing.assert_allclose(got32.numpy(), want32.numpy(), rtol=1e-5, atol=1e-6)


def test_window_options_and_errors():
    np.testing.assert_allclose(ms.hamming_window(9, True, 0.5, 0.5).numpy(),
                               torch.hamming_window(9, True, 0.5, 0.5).numpy(), atol=1e-6)
    np.testing.assert_allclose(ms.kaiser_window(9, False, 5.0).numpy(), torch.kaiser_window(9, False, 5.0).numpy(),
                               atol=1e-6)
    for T in (ms, torch):
        with pytest.raises(RuntimeError):
            T.hann_window(-1)
        with pytest.raises(RuntimeError):
            T.hann_window(4, dtype=T.int64)


def test_set_printoptions():
    x_np = np.array([[1.123456789, -2.5, 1e-3], [4.0, 5.0, 6.0]])
    big = np.arange(2000, dtype=np.float64)
    try:
        for kw in ({"precision": 2}, {"precision": 6}, {"sci_mode": True}, {"profile": "short"}):
            for T in (ms, torch):
                T.set_printoptions(profile="default")
                T.set_printoptions(**kw)
            s_ms = repr(ms.tensor(x_np)).replace("mlseries", "torch")
            s_t = repr(torch.tensor(x_np))
            assert s_ms == s_t, (kw, s_ms, s_t)
        for T in (ms, torch):
            T.set_printoptions(profile="default")
        assert "..." in repr(ms.tensor(big)) and "..." in repr(torch.tensor(big))
        for T in (ms, torch):
            T.set_printoptions(profile="full")
        assert "..." not in repr(ms.tensor(big)) and "..." not in repr(torch.tensor(big))
        for T in (ms, torch):
            T.set_printoptions(threshold=5, edgeitems=2)
        assert repr(ms.tensor(big)).count(",") == repr(torch.tensor(big)).count(",")
        with pytest.raises(ValueError):
            ms.set_printoptions(profile="long")
    finally:
        for T in (ms, torch):
            T.set_printoptions(profile="default", sci_mode=None)
    assert repr(ms.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"


def test_real_program_inplace_activations():
    """A small MLP in the style people write: clamp_min_ and relu_ on hidden activations, eps from
    finfo for a safe log, tiled inputs, class weights from bincount; losses compared step by step."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=12)
    W1 = (rng.standard_normal((6, 8)) * 0.3).astype(np.float32)
    W2 = (rng.standard_normal((8, 3)) * 0.3).astype(np.float32)
    losses = []
    for T in (ms, torch):
        w1, w2 = T.tensor(W1, requires_grad=True), T.tensor(W2, requires_grad=True)
        opt = T.optim.SGD([w1, w2], lr=0.1)
        xb, yb = T.tensor(X).tile((1, 2)), T.tensor(y)          # (12, 6), (12,)
        counts = T.bincount(yb, minlength=3).float()            # (3,)
        cw = counts.sum() / (3 * counts.clamp_min(1))           # (3,) inverse-frequency weights
        eps = T.finfo(T.float32).eps
        run = []
        for _ in range(5):
            h = xb @ w1                                          # (12, 8)
            h.clamp_min_(-0.5)
            h = h * 1.5
            h.relu_()
            p = (h @ w2).softmax(-1)                             # (12, 3)
            nll = -(p.gather(1, yb[:, None]).squeeze(1) + eps).log()
            loss = (nll * cw[yb]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
