"""mlseries.utils.data: datasets, random_split, samplers, collation and the DataLoader."""
import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import mlseries as ms
from mlseries.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                                 SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                 WeightedRandomSampler, default_collate, random_split)


def xy(n=10, d=3):
    x = ms.tensor(np.arange(n * d, dtype=np.float32).reshape(n, d))
    y = ms.arange(n)
    return x, y


class ItemByItem(Dataset):
    """The same samples as a TensorDataset but only through __getitem__ (no fast path)."""

    def __init__(self, *tensors):
        self.tensors = tensors

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


# ---- datasets -------------------------------------------------------------------------------------
def test_tensor_dataset_indexing_and_length():
    x, y = xy()
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [9.0, 10.0, 11.0] and yi.item() == 3
    with pytest.raises(ValueError, match="same size in their first dimension"):
        TensorDataset(x, ms.arange(9))


def test_subset_concat_and_add():
    x, y = xy()
    ds = TensorDataset(x, y)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[1][1].item() == 2
    both = ConcatDataset([sub, ds])
    assert len(both) == 13 and both[2][1].item() == 5 and both[3][1].item() == 0 and both[-1][1].item() == 9
    assert both.cumulative_sizes == [3, 13]
    assert len(sub + ds) == 13


# ---- random_split ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n,lengths", [(10, [3, 7]), (11, [0.3, 0.3, 0.4]), (100, [0.8, 0.2]), (7, [0.5, 0.5])])
def test_random_split_sizes_match_torch_and_parts_are_disjoint(n, lengths):
    ds = TensorDataset(ms.arange(n))
    parts = random_split(ds, lengths, generator=ms.Generator().manual_seed(0))
    expected = [len(p) for p in tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))]
    assert [len(p) for p in parts] == expected
    indices = [i for p in parts for i in p.indices]
    assert sorted(indices) == list(range(n))


def test_random_split_is_seeded_and_checks_lengths():
    ds = TensorDataset(ms.arange(20))
    ms.manual_seed(5)
    a = random_split(ds, [15, 5])
    ms.manual_seed(5)
    b = random_split(ds, [15, 5])
    assert a[0].indices == b[0].indices
    c = random_split(ds, [15, 5], generator=ms.Generator().manual_seed(5))
    d = random_split(ds, [15, 5], generator=ms.Generator().manual_seed(5))
    assert c[1].indices == d[1].indices
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [10, 5])


# ---- collation ------------------------------------------------------------------------------------
def test_default_collate_types_and_nesting():
    Point = collections.namedtuple("Point", "a b")
    batch = [{"img": np.ones((2, 2), np.uint8) * i, "label": i, "w": 0.5, "name": f"s{i}",
              "pair": (ms.tensor([1.0, 2.0]), True), "pt": Point(i, 2.0)} for i in range(3)]
    out = default_collate(batch)
    assert out["img"].shape == (3, 2, 2) and out["img"].dtype == ms.uint8
    assert out["label"].dtype == ms.int64 and out["label"].tolist() == [0, 1, 2]
    assert out["w"].dtype == ms.float32  # mlseries' default float, as mlseries.tensor([0.5]) gives
    assert out["name"] == ["s0", "s1", "s2"]
    assert isinstance(out["pair"], list) and out["pair"][0].shape == (3, 2) and out["pair"][1].dtype == ms.bool
    assert isinstance(out["pt"], Point) and out["pt"].a.tolist() == [0, 1, 2]
    torch_out = tdata.default_collate([{"img": np.ones((2, 2), np.uint8) * i, "label": i} for i in range(3)])
    assert np.array_equal(out["img"].numpy(), torch_out["img"].numpy())
    assert np.array_equal(out["label"].numpy(), torch_out["label"].numpy())


def test_default_collate_explains_ragged_samples():
    with pytest.raises(RuntimeError, match=r"sample 0 has shape \(2,\) and sample 1 has shape \(3,\)"):
        default_collate([ms.zeros(2), ms.zeros(3)])


# ---- the loader -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n,batch,drop_last,expected", [(10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]),
                                                        (8, 4, True, [4, 4]), (3, 5, False, [3]), (3, 5, True, [])])
def test_loader_batches_and_len(n, batch, drop_last, expected):
    x, y = xy(n)
    for dataset in (TensorDataset(x, y), ItemByItem(x, y)):
        loader = DataLoader(dataset, batch_size=batch, drop_last=drop_last)
        batches = list(loader)
        assert len(loader) == len(expected) == len(batches)
        assert [len(b[1]) for b in batches] == expected
        for xb, yb in batches:
            assert xb.shape == (len(yb), 3) and xb.dtype == ms.float32 and yb.dtype == ms.int64
        assert len(loader) == len(tdata.DataLoader(range(n), batch_size=batch, drop_last=drop_last))


def test_loader_without_shuffle_keeps_order_and_batches_are_copies():
    x, y = xy()
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    assert [i for _, yb in loader for i in yb.tolist()] == list(range(10))
    xb, _ = next(iter(loader))
    xb.add_(100)
    assert x[0, 0].item() == 0.0  # changing a batch never changes the dataset


def test_shuffle_is_reproducible_with_manual_seed_and_generator():
    x, y = xy(50)
    ds = TensorDataset(x, y)

    def order(loader):
        return [i for _, yb in loader for i in yb.tolist()]

    ms.manual_seed(42)
    first = DataLoader(ds, batch_size=8, shuffle=True)
    epoch1, epoch2 = order(first), order(first)
    assert sorted(epoch1) == list(range(50)) and epoch1 != epoch2  # a new order each epoch
    ms.manual_seed(42)
    again = DataLoader(ds, batch_size=8, shuffle=True)
    assert order(again) == epoch1 and order(again) == epoch2
    g1, g2 = ms.Generator().manual_seed(3), ms.Generator().manual_seed(3)
    assert order(DataLoader(ds, batch_size=8, shuffle=True, generator=g1)) == \
        order(DataLoader(ds, batch_size=8, shuffle=True, generator=g2))


def test_fast_path_gives_the_same_batches_as_item_by_item():
    x, y = xy(23)
    for make in (lambda d: d, lambda d: Subset(d, list(range(20, 2, -1)))):
        fast, slow = make(TensorDataset(x, y)), make(ItemByItem(x, y))
        ms.manual_seed(1)
        a = list(DataLoader(fast, batch_size=5, shuffle=True))
        ms.manual_seed(1)
        b = list(DataLoader(slow, batch_size=5, shuffle=True))
        assert len(a) == len(b)
        for (xa, ya), (xb, yb) in zip(a, b):
            assert np.array_equal(xa.numpy(), xb.numpy()) and np.array_equal(ya.numpy(), yb.numpy())


def test_random_split_subsets_load_through_the_loader():
    x, y = xy(30)
    train, val = random_split(TensorDataset(x, y), [0.8, 0.2], generator=ms.Generator().manual_seed(0))
    seen = [i for _, yb in DataLoader(train, batch_size=7) for i in yb.tolist()]
    assert seen == train.indices
    assert len(DataLoader(val, batch_size=4)) == 2


def test_custom_collate_sampler_batch_sampler_and_no_batching():
    x, y = xy(6)
    ds = TensorDataset(x, y)
    sums = list(DataLoader(ds, batch_size=4, collate_fn=lambda samples: sum(s[1].item() for s in samples)))
    assert sums == [0 + 1 + 2 + 3, 4 + 5]
    picked = [yb.tolist() for _, yb in DataLoader(ds, batch_size=2, sampler=[5, 4, 3])]
    assert picked == [[5, 4], [3]]
    bs = BatchSampler(SequentialSampler(ds), batch_size=4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5]] and len(bs) == 2
    assert [yb.tolist() for _, yb in DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 3], [4, 5]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 6 and single[2][0].shape == (3,)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)


def test_samplers():
    ds = list(range(10))
    ms.manual_seed(0)
    assert sorted(RandomSampler(ds)) == list(range(10))
    with_replacement = list(RandomSampler(ds, replacement=True, num_samples=30))
    assert len(with_replacement) == 30 and set(with_replacement) <= set(range(10))
    assert sorted(SubsetRandomSampler([2, 4, 6])) == [2, 4, 6]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0], num_samples=5))
    assert weighted == [1] * 5


def test_iterable_dataset_is_batched_in_stream_order():
    class Count(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    loader = DataLoader(Count(), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    assert [b.tolist() for b in DataLoader(Count(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError):
        DataLoader(Count(), shuffle=True)


def test_training_loop_end_to_end():
    """The pieces together: DataLoader batches into a model, loss, backward, optimizer."""
    import mlseries.nn as nn
    import mlseries.optim as optim
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], np.float32) > 0).astype(np.int64)
    ms.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(ms.tensor(x), ms.tensor(y)), batch_size=32, shuffle=True)
    for _ in range(10):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with ms.no_grad():
        accuracy = (model(ms.tensor(x)).argmax(1) == ms.tensor(y)).float().mean().item()
    assert accuracy > 0.95
