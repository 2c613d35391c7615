"""The engine's speed devices must not change any result: the branch-free select behind `where`,
and the BLAS thread count fitted to a busy machine."""
import numpy as np
import pytest

import mlseries as ms
from mlseries import _threads
from mlseries._ops import _select


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
