"""3-D convolution and pooling, unpooling, LP pooling, pdist, the 3-D norms and dropout, and
ChainDataset / StackDataset: values and gradients against PyTorch (float64), state_dicts loaded
across, errors, and a tiny 3-D CNN trained under both frameworks from the same weights."""
import numpy as np
import pytest
import torch

import mlseries as ms
import mlseries.nn.functional as F

TF = torch.nn.functional
# PyTorch warns that its own even-kernel padding='same' copies the input; nothing to check there.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _pair(*shape, seed=0, scale=1.0):
    a = np.random.default_rng(seed).standard_normal(shape) * scale
    return ms.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(m, t, tol=1e-10):
    np.testing.assert_allclose(m.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def _check(fm, ft, *pairs, seed=7, tol=1e-10):
    """Forward equal, and the gradients of every input under a random output weighting."""
    ym, yt = fm(*[p[0] for p in pairs]), ft(*[p[1] for p in pairs])
    _close(ym, yt, tol)
    g = np.random.default_rng(seed).standard_normal(tuple(yt.shape))
    (ym * ms.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    for m, t in pairs:
        _close(m.grad, t.grad, tol)


# ---- convolution ------------------------------------------------------------------------------
CONV3D = [  # (N, C, O, size, kernel, stride, padding, dilation, groups)
    (2, 3, 4, (5, 6, 7), 3, 1, 0, 1, 1),
    (1, 4, 6, (7, 5, 6), (2, 3, 1), (2, 1, 3), (1, 0, 0), 1, 2),
    (2, 2, 2, (6, 7, 5), 3, 2, 1, (2, 1, 1), 2),
    (1, 3, 2, (4, 5, 5), (3, 2, 2), 1, "same", (1, 2, 1), 1),
    (1, 2, 3, (5, 4, 6), (2, 2, 3), 1, "valid", 1, 1),
    (2, 2, 4, (3, 4, 5), 1, 1, 0, 1, 1),
]


@pytest.mark.parametrize("n,c,o,size,k,s,p,d,g", CONV3D)
def test_conv3d_matches_torch(n, c, o, size, k, s, p, d, g):
    kk = (k,) * 3 if isinstance(k, int) else k
    x, w, b = _pair(n, c, *size), _pair(o, c // g, *kk, seed=1), _pair(o, seed=2)
    _check(lambda x, w, b: F.conv3d(x, w, b, s, p, d, g), lambda x, w, b: TF.conv3d(x, w, b, s, p, d, g), x, w, b)


CONVT3D = [  # (N, C, O, size, kernel, stride, padding, output_padding, dilation, groups)
    (2, 3, 4, (3, 4, 5), 3, 1, 0, 0, 1, 1),
    (1, 4, 2, (3, 2, 4), (2, 3, 2), (2, 1, 3), (1, 0, 1), (1, 0, 2), 1, 2),
    (1, 2, 4, (2, 3, 3), 3, 2, 2, 1, (2, 1, 1), 2),
    (2, 2, 3, (4, 3, 2), (3, 1, 2), (3, 2, 1), (2, 0, 0), (0, 1, 0), (1, 1, 2), 1),
]


@pytest.mark.parametrize("n,c,o,size,k,s,p,op,d,g", CONVT3D)
def test_conv_transpose3d_matches_torch(n, c, o, size, k, s, p, op, d, g):
    kk = (k,) * 3 if isinstance(k, int) else k
    x, w, b = _pair(n, c, *size), _pair(c, o // g, *kk, seed=1), _pair(o, seed=2)
    _check(lambda x, w, b: F.conv_transpose3d(x, w, b, s, p, op, g, d),
           lambda x, w, b: TF.conv_transpose3d(x, w, b, s, p, op, g, d), x, w, b)


def test_conv3d_unbatched_float32_and_second_derivative():
    a = np.random.default_rng(3).standard_normal((2, 4, 5, 3)).astype(np.float32)
    wa = np.random.default_rng(4).standard_normal((3, 2, 2, 3, 2)).astype(np.float32)
    ym = F.conv3d(ms.tensor(a), ms.tensor(wa), padding=1)
    yt = TF.conv3d(torch.tensor(a), torch.tensor(wa), padding=1)
    np.testing.assert_allclose(ym.numpy(), yt.numpy(), rtol=1e-5, atol=1e-5)
    # d/dx of ||d(sum conv²)/dw||² goes through the weight gradient's own derivative.
    (xm, xt), (wm, wt) = _pair(1, 2, 3, 4, 3), _pair(2, 2, 2, 2, 2, seed=5)
    gm = ms.autograd.grad((F.conv3d(xm, wm, stride=(1, 2, 1)) ** 2).sum(), wm, create_graph=True)[0]
    gt = torch.autograd.grad((TF.conv3d(xt, wt, stride=(1, 2, 1)) ** 2).sum(), wt, create_graph=True)[0]
    (gm ** 2).sum().backward()
    (gt ** 2).sum().backward()
    _close(xm.grad, xt.grad, 1e-9)


def test_conv_modules_load_torch_state_dict():
    torch.manual_seed(0)
    for tm, mm in ((torch.nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=(1, 0, 2), groups=2),
                    ms.nn.Conv3d(4, 6, (3, 2, 3), stride=(1, 2, 1), padding=(1, 0, 2), groups=2)),
                   (torch.nn.Conv3d(2, 3, 3, padding="same", padding_mode="reflect", bias=False),
                    ms.nn.Conv3d(2, 3, 3, padding="same", padding_mode="reflect", bias=False)),
                   (torch.nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1),
                    ms.nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1))):
        tm.double()
        sd = tm.state_dict()
        assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in mm.state_dict().values()]
        mm.load_state_dict({k: ms.tensor(v.numpy()) for k, v in sd.items()})
        mm.double()
        c = tm.weight.shape[0] if isinstance(tm, torch.nn.ConvTranspose3d) else tm.in_channels
        xm, xt = _pair(2, c, 4, 5, 6, seed=9)
        _close(mm(xm), tm(xt))
        assert repr(mm) == repr(tm)
    up_t, up_m = torch.nn.ConvTranspose3d(2, 2, 3, stride=2).double(), ms.nn.ConvTranspose3d(2, 2, 3, stride=2)
    up_m.load_state_dict({k: ms.tensor(v.numpy()) for k, v in up_t.state_dict().items()})
    up_m.double()
    xm, xt = _pair(1, 2, 3, 3, 3)
    assert tuple(up_m(xm, output_size=(8, 7, 8)).shape) == tuple(up_t(xt, output_size=(8, 7, 8)).shape) == (1, 2, 8, 7, 8)


def test_conv3d_errors():
    x, w = ms.randn(1, 3, 4, 4, 4), ms.randn(2, 3, 3, 3, 3)
    with pytest.raises(RuntimeError, match="channels"):
        F.conv3d(ms.randn(1, 2, 4, 4, 4), w)
    with pytest.raises(RuntimeError, match="5-D"):
        F.conv3d(x, ms.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="3-D layer"):
        F.conv3d(x, w, stride=(1, 2))
    with pytest.raises(RuntimeError, match="strided"):
        F.conv3d(x, w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="smaller than the kernel"):
        F.conv3d(ms.randn(1, 3, 2, 4, 4), w)
    with pytest.raises(RuntimeError, match="output_padding"):
        F.conv_transpose3d(ms.randn(1, 2, 3, 3, 3), ms.randn(2, 2, 3, 3, 3), stride=2, output_padding=2)
    with pytest.raises(TypeError, match="float"):
        F.conv3d(x, w.double())
    with pytest.raises(ValueError, match="divisible by groups"):
        ms.nn.Conv3d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError):  # and PyTorch refuses the same
        TF.conv3d(torch.randn(1, 3, 2, 4, 4), torch.randn(2, 3, 3, 3, 3))


# ---- pooling ----------------------------------------------------------------------------------
POOL3D = [  # (size, kernel, stride, padding, dilation, ceil_mode)
    ((5, 6, 7), 2, None, 0, 1, False),
    ((5, 6, 7), 3, 2, 1, 1, True),
    ((7, 5, 6), (3, 2, 2), (2, 1, 2), (1, 0, 1), (2, 1, 1), False),
    ((6, 6, 5), (2, 3, 2), (3, 2, 2), (1, 1, 0), 1, True),
]


@pytest.mark.parametrize("size,k,s,p,d,ceil", POOL3D)
def test_max_pool3d_matches_torch(size, k, s, p, d, ceil):
    x = _pair(2, 3, *size)
    _check(lambda x: F.max_pool3d(x, k, s, p, d, ceil), lambda x: TF.max_pool3d(x, k, s, p, d, ceil), x)
    ym, im = F.max_pool3d(x[0], k, s, p, d, ceil, return_indices=True)
    yt, it = TF.max_pool3d(x[1], k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    assert im.dtype == ms.int64


def test_max_pool3d_ties_and_nan_follow_torch():
    a = np.zeros((1, 1, 4, 4, 4))
    a[0, 0, 1, 2, 3] = np.nan
    ym, im = F.max_pool3d(ms.tensor(a), 2, return_indices=True)
    yt, it = TF.max_pool3d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    np.testing.assert_array_equal(np.isnan(ym.numpy()), np.isnan(yt.numpy()))


@pytest.mark.parametrize("size,k,s,p,ceil,cip,div", [
    ((5, 6, 7), 2, None, 0, False, True, None),
    ((5, 6, 7), 3, 2, 1, True, False, None),
    ((7, 5, 6), (3, 2, 2), (2, 1, 2), (1, 0, 1), True, True, None),
    ((4, 5, 6), (2, 3, 2), 2, (1, 1, 0), False, True, 5),
])
def test_avg_pool3d_matches_torch(size, k, s, p, ceil, cip, div):
    x = _pair(2, 3, *size)
    _check(lambda x: F.avg_pool3d(x, k, s, p, ceil, cip, div), lambda x: TF.avg_pool3d(x, k, s, p, ceil, cip, div), x)


@pytest.mark.parametrize("out", [1, (2, 3, 4), (3, None, 2), (4, 5, 6)])
def test_adaptive_pools_3d_match_torch(out):
    x = _pair(2, 3, 5, 6, 7)
    _check(lambda x: F.adaptive_avg_pool3d(x, out), lambda x: TF.adaptive_avg_pool3d(x, out), x)
    x = _pair(2, 3, 5, 6, 7, seed=3)
    _check(lambda x: F.adaptive_max_pool3d(x, out), lambda x: TF.adaptive_max_pool3d(x, out), x)
    im = F.adaptive_max_pool3d(x[0], out, return_indices=True)[1]
    it = TF.adaptive_max_pool3d(x[1], out, return_indices=True)[1]
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    # Modules, unbatched input.
    _close(ms.nn.AdaptiveAvgPool3d(out)(x[0][0]), torch.nn.AdaptiveAvgPool3d(out)(x[1][0]))
    _close(ms.nn.AdaptiveMaxPool3d(out)(x[0][0]), torch.nn.AdaptiveMaxPool3d(out)(x[1][0]))


def test_pool3d_errors():
    x = ms.randn(1, 2, 4, 4, 4)
    with pytest.raises(RuntimeError, match="half"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="positive"):
        F.avg_pool3d(x, 0)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool3d(ms.randn(1, 2, 1, 4, 4), 2)
    with pytest.raises(RuntimeError, match="5-D"):
        F.max_pool3d(ms.randn(4, 4, 4), 2)
    with pytest.raises(RuntimeError, match="non-zero"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError):  # the same misuse in PyTorch
        TF.max_pool3d(torch.randn(1, 2, 4, 4, 4), 2, padding=2)


# ---- unpooling --------------------------------------------------------------------------------
@pytest.mark.parametrize("nd,size,k,s,p", [
    (1, (9,), 3, 2, 1), (1, (8,), 2, None, 0),
    (2, (5, 7), 2, None, 0), (2, (7, 6), 3, 2, 1),
    (3, (4, 5, 6), 2, None, 0), (3, (5, 4, 5), (3, 2, 2), (2, 2, 1), (1, 0, 1)),
])
def test_max_unpool_round_trip(nd, size, k, s, p):
    pool_m, pool_t = getattr(F, f"max_pool{nd}d"), getattr(TF, f"max_pool{nd}d")
    unpool_m, unpool_t = getattr(F, f"max_unpool{nd}d"), getattr(TF, f"max_unpool{nd}d")
    xm, xt = _pair(2, 3, *size)
    ym, im = pool_m(xm, k, s, p, return_indices=True)
    yt, it = pool_t(xt, k, s, p, return_indices=True)
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    _check(lambda y: unpool_m(y, im, k, s, p, output_size=xm.shape), lambda y: unpool_t(y, it, k, s, p, output_size=xt.shape),
           _pair(*ym.shape, seed=5))
    g = np.random.default_rng(6).standard_normal(tuple(xt.shape))
    (unpool_m(ym, im, k, s, p, output_size=xm.shape) * ms.tensor(g)).sum().backward()
    (unpool_t(yt, it, k, s, p, output_size=xt.shape) * torch.tensor(g)).sum().backward()
    _close(xm.grad, xt.grad)  # through the pool too
    # The round trip keeps every maximum in place and zeros the rest.
    back = unpool_m(ym, im, k, s, p, output_size=xm.shape[2:]).detach().numpy()
    kept = back != 0
    np.testing.assert_array_equal(back[kept], xm.detach().numpy()[kept])
    # Modules, unbatched; the default output size where it is the pooled input's.
    mod_m = getattr(ms.nn, f"MaxUnpool{nd}d")(k, s, p)
    mod_t = getattr(torch.nn, f"MaxUnpool{nd}d")(k, s, p)
    _close(mod_m(ym[0], im[0], output_size=size), mod_t(yt[0], it[0], output_size=size))
    if all(n % 2 == 0 for n in size) and k == 2:
        _close(mod_m(ym, im), mod_t(yt, it))


def test_max_unpool_errors():
    y, i = F.max_pool2d(ms.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool2d(y, i, 2, output_size=(9, 4))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(y, i + 100, 2)
    with pytest.raises(RuntimeError, match="shape of indices"):
        F.max_unpool2d(y, i[:, :, :1], 2)
    with pytest.raises(ValueError):
        TF.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.long), 2, output_size=(9, 4))


# ---- LP pooling, pdist ------------------------------------------------------------------------
@pytest.mark.parametrize("nd,p,k,s,ceil", [(1, 2.0, 3, None, False), (1, 3.0, 3, 2, True), (2, 2.0, 2, None, False),
                                           (2, 1.5, (3, 2), (2, 1), True), (3, 2.0, 2, 1, False)])
def test_lp_pool_matches_torch(nd, p, k, s, ceil):
    size = {1: (9,), 2: (7, 6), 3: (4, 5, 5)}[nd]
    a = np.abs(np.random.default_rng(0).standard_normal((2, 3) + size)) + 0.1  # fractional powers need x > 0
    xm, xt = ms.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    _check(lambda x: getattr(F, f"lp_pool{nd}d")(x, p, k, s, ceil), lambda x: getattr(TF, f"lp_pool{nd}d")(x, p, k, s, ceil),
           (xm, xt))
    _close(getattr(ms.nn, f"LPPool{nd}d")(p, k, s, ceil)(xm), getattr(torch.nn, f"LPPool{nd}d")(p, k, s, ceil)(xt))


@pytest.mark.parametrize("p", [2, 1, 3.5, 0, float("inf")])
def test_pdist_matches_torch(p):
    a = np.random.default_rng(1).standard_normal((5, 4))
    a[3] = a[1]  # a zero distance: its gradient is zero in both
    xm, xt = ms.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    if p == 0:
        _close(F.pdist(xm, p), TF.pdist(xt, p))
    else:
        _check(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), (xm, xt))
    assert F.pdist(ms.randn(1, 3)).shape == TF.pdist(torch.randn(1, 3)).shape == (0,)
    with pytest.raises(RuntimeError, match="2D"):
        F.pdist(ms.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        F.pdist(ms.randn(2, 3), -1)


# ---- norms, dropout ---------------------------------------------------------------------------
def test_batch_and_instance_norm_3d():
    torch.manual_seed(0)
    tb, mb = torch.nn.BatchNorm3d(3).double(), ms.nn.BatchNorm3d(3)
    mb.double()
    with torch.no_grad():
        tb.weight.uniform_(0.5, 1.5)
        tb.bias.uniform_(-1, 1)
    mb.load_state_dict({k: ms.tensor(v.numpy()) for k, v in tb.state_dict().items()})
    x = _pair(2, 3, 3, 4, 5)
    _check(mb, tb, x)
    _close(mb.running_var, tb.running_var)
    _close(mb.eval()(x[0]), tb.eval()(x[1]))
    with pytest.raises(ValueError, match="5D"):
        mb(ms.randn(2, 3, 4, 5))
    ti, mi = torch.nn.InstanceNorm3d(3, affine=True).double(), ms.nn.InstanceNorm3d(3, affine=True)
    mi.double()
    _check(mi, ti, _pair(2, 3, 3, 4, 5, seed=4))
    _close(mi(_pair(3, 2, 4, 5)[0]), ti(_pair(3, 2, 4, 5)[1]))  # unbatched


def test_dropout3d_drops_whole_volumes():
    ms.manual_seed(0)
    x = ms.ones(4, 6, 2, 3, 3)
    y = ms.nn.Dropout3d(0.5)(x).numpy()
    per_volume = y.reshape(4, 6, -1)
    assert set(np.unique(per_volume)) <= {0.0, 2.0}
    assert (per_volume.min(-1) == per_volume.max(-1)).all()  # each (sample, channel) volume whole
    assert 0 < (per_volume[..., 0] == 0).sum() < 24
    u = F.dropout3d(ms.ones(6, 2, 3, 3), 0.5).numpy().reshape(6, -1)  # unbatched: per channel
    assert (u.min(-1) == u.max(-1)).all()
    assert ms.nn.Dropout3d(0.5).eval()(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout3d(x, 1.5)


# ---- data utilities ---------------------------------------------------------------------------
class _Stream(ms.utils.data.IterableDataset):
    def __init__(self, start, n):
        self.start, self.n = start, n

    def __iter__(self):
        return iter(range(self.start, self.start + self.n))

    def __len__(self):
        return self.n


def test_chain_and_stack_datasets():
    D = ms.utils.data
    chain = D.ChainDataset([_Stream(0, 3), _Stream(10, 2)])
    assert list(chain) == [0, 1, 2, 10, 11] and len(chain) == 5
    assert [int(b) for batch in D.DataLoader(chain, batch_size=2) for b in batch] == [0, 1, 2, 10, 11]
    assert list(_Stream(0, 2) + _Stream(5, 1)) == [0, 1, 5]              # `+` chains streams, as in PyTorch
    with pytest.raises(AssertionError):
        list(D.ChainDataset([_Stream(0, 1), D.TensorDataset(ms.zeros(2))]))
    x, y = ms.arange(10.0).reshape(5, 2), ms.arange(5)
    s = D.StackDataset(D.TensorDataset(x), y)
    assert len(s) == 5 and s[2][0][0].tolist() == [4.0, 5.0] and int(s[2][1]) == 2
    sd = D.StackDataset(image=x, label=y)
    batch = next(iter(D.DataLoader(sd, batch_size=3)))
    assert set(batch) == {"image", "label"} and batch["image"].shape == (3, 2) and batch["label"].tolist() == [0, 1, 2]
    assert [int(item["label"]) for item in sd.__getitems__([4, 0])] == [4, 0]
    with pytest.raises(ValueError, match="Size mismatch"):
        D.StackDataset(x, ms.arange(4))
    with pytest.raises(ValueError, match="both"):
        D.StackDataset(x, label=y)
    with pytest.raises(ValueError, match="At least one"):
        D.StackDataset()


# ---- a real program ---------------------------------------------------------------------------
def _video_net(nn):
    return nn.Sequential(
        nn.Conv3d(3, 6, kernel_size=3, padding=1), nn.BatchNorm3d(6), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
        nn.Conv3d(6, 8, kernel_size=(3, 3, 3), stride=(1, 2, 2), padding=1, groups=2), nn.ReLU(),
        nn.AvgPool3d(2, ceil_mode=True), nn.ConvTranspose3d(8, 4, 2, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 5))


def test_tiny_video_cnn_trains_like_torch():
    torch.manual_seed(0)
    tnet = _video_net(torch.nn).double()
    mnet = _video_net(ms.nn)
    mnet.load_state_dict({k: ms.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    mnet.double()
    topt, mopt = torch.optim.Adam(tnet.parameters(), lr=1e-2), ms.optim.Adam(mnet.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    for _ in range(4):
        clips = rng.standard_normal((3, 3, 4, 12, 12))  # (N, C, T, H, W)
        labels = rng.integers(0, 5, 3)
        losses = []
        for torch_like, net, opt in ((torch, tnet, topt), (ms, mnet, mopt)):
            opt.zero_grad()
            loss = torch_like.nn.functional.cross_entropy(net(torch_like.tensor(clips)), torch_like.tensor(labels))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-10, losses
    for (k, tv), mv in zip(tnet.state_dict().items(), mnet.state_dict().values()):
        np.testing.assert_allclose(mv.numpy(), tv.numpy(), rtol=1e-8, atol=1e-10, err_msg=k)
