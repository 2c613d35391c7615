"""The engine's speed devices must not change any result: the branch-free select behind `where`,
and the BLAS thread count fitted to a busy machine."""
import numpy as np
import pytest

import mlseries as ms
from mlseries import _threads
from mlseries._ops import _select, _sum_outer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_branch_free_select_equals_np_where_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 32, 33)).astype(dtype)
    b = rng.standard_normal((32, 1)).astype(dtype)
    a[0, 0, :4] = [np.inf, -np.inf, np.nan, -0.0]
    b[3, 0] = np.nan
    cond = rng.random(a.shape) > 0.5
    cases = [(a, b), (a, np.zeros((), dtype)), (np.zeros((), dtype), a), (a, np.asarray(-0.0, dtype)),
             (a.transpose(2, 0, 1), np.ones((), dtype)), (np.asarray(-np.inf, dtype), a)]
    for x, y in cases:
        c = cond if cond.ndim == 0 or np.broadcast_shapes(np.shape(x), np.shape(y)) == cond.shape \
            else cond.transpose(2, 0, 1)
        got, want = _select(c, x, y), np.where(c, x, y)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.array_equal(np.ascontiguousarray(got).view(np.uint8), np.ascontiguousarray(want).view(np.uint8))


def test_select_with_a_mask_smaller_than_the_values():
    # nanoGPT's att.masked_fill(mask[:T, :T] == 0, -inf): the mask broadcasts over the batch.
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((2, 3, 64, 64)).astype(np.float32)
    mask = np.tril(np.ones((64, 64), bool))
    for a, b in [(np.asarray(-np.inf, np.float32), scores), (scores, np.asarray(-1.0, np.float32))]:
        np.testing.assert_array_equal(_select(mask, a, b), np.where(mask, a, b))
    got = ms.tensor(scores).masked_fill(ms.tensor(~mask), float("-inf"))
    np.testing.assert_array_equal(got.numpy(), np.where(~mask, -np.inf, scores))


def test_relu_gradient_on_a_large_channels_last_tensor():
    rng = np.random.default_rng(1)
    x = ms.tensor(rng.standard_normal((4, 16, 16, 8)).astype(np.float32)).permute(0, 3, 1, 2)
    x.requires_grad_(False)
    leaf = ms.tensor(x.numpy(), requires_grad=True)
    g = rng.standard_normal(leaf.shape).astype(np.float32)
    (leaf.relu() * ms.tensor(g)).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.where(leaf.numpy() > 0, g, 0))


@pytest.mark.parametrize("layout,dim", [
    ("nhwc", (0, 2, 3)), ("nhwc", (-4, -2, -1)), ("rows", 0), ("rows", (0,)), ("nchw", (0, 1)),
])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_over_the_outer_axes_as_a_matrix_vector_product(layout, dim, keepdim):
    # A conv bias gradient sums a channels-last image gradient over (N, H, W): done as ones @ M.
    rng = np.random.default_rng(3)
    a = {"nhwc": lambda: rng.standard_normal((8, 16, 16, 48)).transpose(0, 3, 1, 2),
         "rows": lambda: rng.standard_normal((700, 130)),
         "nchw": lambda: rng.standard_normal((16, 3, 40, 40))}[layout]()
    got = _sum_outer(a, dim, keepdim)
    assert got is not None  # the layout allows the product; the test is about its result
    want = a.sum(axis=dim, keepdims=keepdim)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)
    t = ms.tensor(a.astype(np.float32))  # float32 through the public op: within float32 rounding of float64
    np.testing.assert_allclose(t.sum(dim, keepdim=keepdim).numpy(), want, rtol=1e-5, atol=1e-3)


def test_sum_keeps_numpy_where_the_layout_does_not_fit():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((30, 40, 60))
    for dim in [(1, 2), (0, 2), 1]:  # kept axes outside the summed ones, or split by them
        assert _sum_outer(a, dim, False) is None
    assert _sum_outer(a[:, :, ::2], (0, 1), False) is None  # not a view M can be made from
    assert _sum_outer(a.astype(np.int64), (0,), False) is None
    assert _sum_outer(a[:2], (0,), False) is None  # too small to pay


def test_conv_bias_gradient_on_a_channels_last_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 3, 20, 20))
    conv = ms.nn.Conv2d(3, 32, 3, padding=1).double()
    ref = torch.nn.Conv2d(3, 32, 3, padding=1).double()
    ref.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in conv.state_dict().items()})
    for m, X in [(conv, ms.tensor(x)), (ref, torch.from_numpy(x))]:
        m(X).relu().pow(2).sum().backward()
    np.testing.assert_allclose(conv.bias.grad.numpy(), ref.bias.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("others,cores,cap,want", [
    (0.0, 2, 2, 2),   # idle machine: every core
    (0.2, 2, 2, 2),   # a little background work is not worth giving a core up
    (0.5, 2, 2, 1),   # half a core busy elsewhere: one thread
    (1.0, 2, 2, 1),   # one competing process: one thread
    (3.0, 2, 2, 1),   # never fewer than one
    (3.2, 16, 16, 13),
    (0.0, 16, 4, 4),  # an explicit cap wins
])
def test_threads_for_a_busy_machine(others, cores, cap, want):
    assert _threads.threads_for(others, cores, cap) == want


def test_set_num_threads_is_the_cap():
    before = ms.get_num_threads()
    try:
        ms.set_num_threads(1)
        assert ms.get_num_threads() == 1
    finally:
        ms.set_num_threads(before)


@pytest.fixture
def two_workers(monkeypatch):
    """Pretend the machine has two idle cores (and two cores in all), so large work is split."""
    monkeypatch.setattr(_threads, "cores", lambda: 2)
    monkeypatch.setitem(_threads._state, "threads", 2)
    monkeypatch.setitem(_threads._state, "enabled", True)
    monkeypatch.setitem(_threads._state, "next", float("inf"))  # no look at the real machine
    from mlseries import _parallel
    assert _parallel.workers() == 2


def _training_step(seed):
    """A conv-pool-linear step large enough that convolution, pooling and the linear layer split."""
    rng = np.random.default_rng(seed)
    x = ms.tensor(rng.standard_normal((40, 3, 16, 16)).astype(np.float32), requires_grad=True)
    conv = ms.nn.Conv2d(3, 32, 3, padding=1)
    fc = ms.nn.Linear(32 * 8 * 8, 512)
    with ms.no_grad():
        for p in list(conv.parameters()) + list(fc.parameters()):
            p.copy_(ms.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.1))
    z = fc(ms.nn.functional.max_pool2d(conv(x).relu(), 2).flatten(1))
    (z * z).sum().backward()
    return [z.numpy().copy(), x.grad.numpy().copy(), conv.weight.grad.numpy().copy(), fc.weight.grad.numpy().copy()]


def test_results_do_not_depend_on_how_many_threads_ran_the_parts(two_workers):
    # The split is fixed by shapes and core count; only whether parts run at once depends on the
    # machine's load. So one thread and two must agree bit for bit (same seed, same result).
    together = _training_step(0)
    _threads._state["threads"] = 1
    in_turn = _training_step(0)
    for a, b in zip(together, in_turn):
        np.testing.assert_array_equal(a, b)
