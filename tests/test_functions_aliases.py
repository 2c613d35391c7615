"""PyTorch's other spellings (divide, greater, ravel, ...), small compositions (nansum, fmax, cov,
corrcoef, trapezoid, hsplit, ...), the in-place functional forms (F.relu_, ...) and nn.Buffer:
values and gradients against PyTorch 2.13 in float64."""
import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn.functional as F

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 5))
B = rng.standard_normal((3, 5))
V = rng.standard_normal(4)
W = rng.standard_normal(6)


def run(T, fn, *arrays):
    """fn on float64 leaves of `arrays` under framework T; the result and each input's gradient
    of result.sum() (None when the result is not differentiable)."""
    xs = [T.tensor(a, dtype=T.float64, requires_grad=True) for a in arrays]
    out = fn(T, *xs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    values = [o.detach().numpy() for o in outs]
    if outs[0].requires_grad:
        sum(o.sum() for o in outs).backward()
        return values, [x.grad.numpy() if x.grad is not None else None for x in xs]
    return values, None


CASES = {
    "divide": (lambda T, a, b: T.divide(a, b + 3), [A, B]),
    "multiply": (lambda T, a, b: T.multiply(a, b), [A, B]),
    "subtract": (lambda T, a, b: T.subtract(a, b, alpha=2), [A, B]),
    "negative": (lambda T, a: T.negative(a), [A]),
    "positive": (lambda T, a: T.positive(a) * 2, [A]),
    "greater": (lambda T, a, b: T.greater(a, b), [A, B]),
    "less_equal": (lambda T, a, b: T.less_equal(a, b), [A, B]),
    "not_equal": (lambda T, a, b: a.not_equal(b), [A, B]),
    "ravel": (lambda T, a: T.ravel(a.t()) * T.arange(15), [A]),
    "ravel_method": (lambda T, a: a.ravel()[3:], [A]),
    "nansum": (lambda T, a: T.nansum(T.where(a > 1, a * float("nan"), a), dim=1), [A]),
    "nansum_all": (lambda T, a: T.where(a > 1, a * float("nan"), a).nansum(), [A]),
    "fmax": (lambda T, a, b: T.fmax(T.where(a > 1, a * float("nan"), a), b), [A, B]),
    "fmin": (lambda T, a, b: a.fmin(T.where(b > 0, b * float("nan"), b)), [A, B]),
    "diagflat": (lambda T, v: T.diagflat(v, 1), [V]),
    "vdot": (lambda T, v, w: T.vdot(v, w[:4]), [V, W]),
    "ger": (lambda T, v, w: T.ger(v, w), [V, W]),
    "addr": (lambda T, a, v, w: T.addr(a[:, :4].t(), v, w[:3], beta=0.5, alpha=2), [A, V, W]),
    "logaddexp2": (lambda T, a, b: T.logaddexp2(a, b * 30), [A, B]),
    "trapezoid_dx": (lambda T, a: T.trapezoid(a, dx=0.5), [A]),
    "trapezoid_x": (lambda T, a, w: T.trapezoid(a, T.cumsum(w[:5].abs(), 0)), [A, W]),
    "trapezoid_dim0": (lambda T, a: T.trapz(a, dim=0), [A]),
    "cov": (lambda T, a: T.cov(a), [A]),
    "cov_correction0": (lambda T, a: T.cov(a, correction=0), [A]),
    "cov_weights": (lambda T, a: T.cov(a, fweights=T.tensor([1, 2, 1, 3, 1]),
                                        aweights=T.tensor([0.5, 1.0, 2.0, 1.0, 0.3], dtype=T.float64)), [A]),
    "cov_1d": (lambda T, w: T.cov(w), [W]),
    "corrcoef": (lambda T, a: T.corrcoef(a), [A]),
    "hsplit": (lambda T, a: T.hsplit(a[:, :4], 2), [A]),
    "hsplit_indices": (lambda T, a: a.hsplit([1, 3]), [A]),
    "vsplit": (lambda T, a: T.vsplit(a, [1]), [A]),
    "dsplit": (lambda T, a: T.dsplit(a.reshape(1, 3, 5), [2]), [A]),
    "split_with_sizes": (lambda T, a: a.split_with_sizes([2, 3], dim=1), [A]),
    "conv2d_top_level": (lambda T, a, b: T.conv2d(a.reshape(1, 1, 3, 5), b[:2, :2].reshape(1, 1, 2, 2)), [A, B]),
    "selu_top_level": (lambda T, a: T.selu(a), [A]),
    "threshold_top_level": (lambda T, a: T.threshold(a, 0.1, -1.0), [A]),
    "isposinf": (lambda T, a: T.isposinf(a / T.where(a > 0, 0.0, 1.0)), [A]),
    "isneginf": (lambda T, a: (a / T.where(a < 0, 0.0, 1.0)).isneginf(), [A]),
    "isreal": (lambda T, a: T.isreal(a), [A]),
    "asarray": (lambda T, a: T.asarray(a.detach().numpy(), dtype=T.float32), [A]),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_pytorch(name):
    fn, arrays = CASES[name]
    (tv, tg), (mv, mg) = run(torch, fn, *arrays), run(ms, fn, *arrays)
    assert len(tv) == len(mv)
    for t, m in zip(tv, mv):
        assert t.shape == m.shape and t.dtype == m.dtype, name
        np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-12, equal_nan=True)
    assert (tg is None) == (mg is None), name
    for t, m in zip(tg or [], mg or []):
        assert (t is None) == (m is None), name
        if t is not None:
            np.testing.assert_allclose(m, t, rtol=1e-9, atol=1e-12)


def test_split_errors_say_what_to_use():
    with pytest.raises(ValueError, match="not divisible by 2; use tensor_split"):
        ms.hsplit(ms.zeros(3, 5), 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        ms.dsplit(ms.zeros(3, 5), 1)
    with pytest.raises(ValueError, match="fweights must be 1-D with one weight per observation"):
        ms.cov(ms.zeros(3, 5), fweights=ms.tensor([1, 2]))


def test_tensor_predicates_and_bernoulli():
    x = ms.tensor([0.0, 1.0, 0.0, 1.0])
    assert x.bernoulli().tolist() == [0.0, 1.0, 0.0, 1.0]                # probabilities 0 and 1
    assert x.bernoulli(0.0).tolist() == [0.0] * 4
    assert ms.ones(2).is_signed() and not ms.ones(2, dtype=ms.uint8).is_signed()
    assert ms.ones(2, 3).is_same_size(ms.zeros(2, 3)) and not ms.ones(2).is_same_size(ms.ones(3))
    assert x.real is x and not x.is_inference()


@pytest.mark.parametrize("name,args", [("relu_", ()), ("leaky_relu_", (0.2,)), ("elu_", ()), ("hardtanh_", (-0.5, 0.5)),
                                       ("threshold_", (0.1, 2.0)), ("selu_", ()), ("celu_", (0.7,))])
def test_inplace_functional_changes_its_input_and_trains(name, args):
    out = {}
    for T, Fn in ((torch, torch.nn.functional), (ms, F)):
        w = T.tensor(A, dtype=T.float64, requires_grad=True)
        h = w * 1.5
        got = getattr(Fn, name)(h, *args)
        assert got is h
        (h * T.tensor(B, dtype=T.float64)).sum().backward()
        out[T.__name__] = (h.detach().numpy(), w.grad.numpy())
        with pytest.raises(RuntimeError):
            getattr(Fn, name)(w, *args)                                  # a leaf that requires grad
    # PyTorch's celu_ takes alpha as a float32 scalar (1e-8 apart from its own celu); the rest agree to 1e-12
    np.testing.assert_allclose(out["mlseries"][0], out["torch"][0], rtol=1e-7)
    np.testing.assert_allclose(out["mlseries"][1], out["torch"][1], rtol=1e-7)


def test_max_pool_with_indices():
    x = rng.standard_normal((1, 2, 4, 6))
    tv, ti = torch.nn.functional.max_pool2d_with_indices(torch.tensor(x), 2)
    mv, mi = F.max_pool2d_with_indices(ms.tensor(x), 2)
    np.testing.assert_array_equal(mv.numpy(), tv.numpy())
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())


def test_buffer_assignment_registers_a_buffer():
    for T in (torch, ms):
        class Norm(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.mean = T.nn.Buffer(T.zeros(3))
                self.scratch = T.nn.Buffer(T.ones(2), persistent=False)
                self.scale = T.nn.Parameter(T.ones(3))

            def forward(self, x):
                return (x - self.mean) * self.scale

        m = Norm()
        assert list(m.state_dict()) == ["scale", "mean"], T.__name__
        assert [n for n, _ in m.named_buffers()] == ["mean", "scratch"]
        assert [n for n, _ in m.named_parameters()] == ["scale"]
        assert not m.mean.requires_grad
        m.load_state_dict({"scale": T.ones(3) * 2, "mean": T.ones(3)})
        assert m(T.ones(3) * 3).tolist() == [4.0, 4.0, 4.0]
