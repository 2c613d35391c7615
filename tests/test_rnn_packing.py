"""`nn.utils.rnn` against `torch.nn.utils.rnn`: pad_sequence, pack_padded_sequence (lists and
tensors of lengths, sorted or not, batch_first), pad_packed_sequence (total_length,
padding_value), pack_sequence, unpad/unpack_sequence; values, indices and gradients."""
import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import mlseries as ms
from mlseries.nn.utils import rnn as mrnn

torch.set_num_threads(1)


def _seqs(lengths, trailing=(3,), seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + trailing) for n in lengths]
    return ([ms.tensor(a, requires_grad=True) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays])


def _same_packed(mp, tp):
    np.testing.assert_allclose(mp.data.numpy(), tp.data.detach().numpy(), atol=0)
    np.testing.assert_array_equal(mp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    assert mp.batch_sizes.dtype == ms.int64
    for a, b in ((mp.sorted_indices, tp.sorted_indices), (mp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def _backward_same(ms_out, th_out, ms_leaves, th_leaves):
    w = np.random.default_rng(9).standard_normal(tuple(th_out.shape))
    (ms_out * ms.tensor(w)).sum().backward()
    (th_out * torch.tensor(w)).sum().backward()
    for m, t in zip(ms_leaves, th_leaves):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True), dict(padding_value=-1.5),
                                dict(batch_first=True, padding_side="left"), dict(padding_side="left")],
                         ids=["default", "batch_first", "padding_value", "left-batch_first", "left"])
def test_pad_sequence_matches_torch(kw):
    ms_s, th_s = _seqs([3, 5, 1, 5])
    mo, to = mrnn.pad_sequence(ms_s, **kw), trnn.pad_sequence(th_s, **kw)
    np.testing.assert_array_equal(mo.numpy(), to.detach().numpy())
    _backward_same(mo, to, ms_s, th_s)


def test_pad_sequence_of_vectors_and_single_sequence():
    ms_s, th_s = _seqs([2, 4], trailing=())
    np.testing.assert_array_equal(mrnn.pad_sequence(ms_s, True).numpy(), trnn.pad_sequence(th_s, True).detach().numpy())
    ms_s, th_s = _seqs([3], trailing=(2, 2))
    np.testing.assert_array_equal(mrnn.pad_sequence(ms_s).numpy(), trnn.pad_sequence(th_s).detach().numpy())


@pytest.mark.parametrize("lengths,enforce_sorted,batch_first,as_tensor", [
    ([5, 3, 3, 1], True, False, False),
    ([5, 3, 3, 1], True, True, True),
    ([2, 5, 3, 5, 1], False, False, True),
    ([2, 5, 3, 5, 1], False, True, False),
    ([4, 4], False, False, False),
])
def test_pack_and_pad_packed_match_torch(lengths, enforce_sorted, batch_first, as_tensor):
    B, T = len(lengths), max(lengths) + 1  # one step of padding beyond the longest
    x = np.random.default_rng(1).standard_normal((B, T, 2) if batch_first else (T, B, 2))
    mx, tx = ms.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ml = ms.tensor(lengths) if as_tensor else lengths
    tl = torch.tensor(lengths) if as_tensor else lengths
    mp = mrnn.pack_padded_sequence(mx, ml, batch_first=batch_first, enforce_sorted=enforce_sorted)
    tp = trnn.pack_padded_sequence(tx, tl, batch_first=batch_first, enforce_sorted=enforce_sorted)
    _same_packed(mp, tp)
    for total_length in (None, T + 2):
        mo, mlen = mrnn.pad_packed_sequence(mp, batch_first=batch_first, padding_value=0.5, total_length=total_length)
        to, tlen = trnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=0.5, total_length=total_length)
        np.testing.assert_array_equal(mo.numpy(), to.detach().numpy())
        np.testing.assert_array_equal(mlen.numpy(), tlen.numpy())
        assert mlen.dtype == ms.int64
    _backward_same(mo, to, [mx], [tx])


def test_pack_sequence_and_unpack_sequence_match_torch():
    ms_s, th_s = _seqs([2, 4, 3])
    mp = mrnn.pack_sequence(ms_s, enforce_sorted=False)
    tp = trnn.pack_sequence(th_s, enforce_sorted=False)
    _same_packed(mp, tp)
    for m, t in zip(mrnn.unpack_sequence(mp), trnn.unpack_sequence(tp)):
        np.testing.assert_array_equal(m.numpy(), t.detach().numpy())
    padded, lengths = mrnn.pad_packed_sequence(mp, batch_first=True)
    for m, t in zip(mrnn.unpad_sequence(padded, lengths, batch_first=True), th_s):
        np.testing.assert_array_equal(m.numpy(), t.detach().numpy())
    _backward_same(mp.data, tp.data, ms_s, th_s)


def test_packed_sequence_is_a_named_tuple_like_torchs():
    mp = mrnn.pack_sequence(_seqs([3, 1])[0])
    data, batch_sizes, sorted_indices, unsorted_indices = mp
    assert mp._fields == trnn.PackedSequence._fields
    assert sorted_indices is None and unsorted_indices is None
    assert mp.double().data.dtype == ms.float64 and mp.float().data.dtype == ms.float32
    assert mp.to(ms.float64).batch_sizes is mp.batch_sizes
    p = mrnn.PackedSequence(data, batch_sizes, ms.tensor([1, 2, 0]))
    np.testing.assert_array_equal(p.unsorted_indices.numpy(), [2, 0, 1])


def test_packing_errors_are_clear():
    x = ms.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order.*enforce_sorted=False"):
        mrnn.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="at least 1"):
        mrnn.pack_padded_sequence(x, [2, 0, 1], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="got 2 lengths for a batch of 3"):
        mrnn.pack_padded_sequence(x, [2, 1])
    with pytest.raises(RuntimeError, match="longer than the input's 4 time steps"):
        mrnn.pack_padded_sequence(x, [5, 1, 1])
    packed = mrnn.pack_padded_sequence(x, [3, 2, 1])
    with pytest.raises(ValueError, match="total_length to be at least the length of the longest sequence"):
        mrnn.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(ValueError, match="same shape"):
        mrnn.pad_sequence([ms.zeros(2, 3), ms.zeros(2, 4)])
