"""Chapter 7: convolution and pooling by hand against PyTorch, the hand-written CNN's gradients,
local response normalisation, the U-Net and ResNet building blocks, and each lesson's quick run."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
from mlseries import course
from mlseries.course.ch07 import alexnet as ch07_alexnet
from mlseries.course.ch07 import cnn as ch07_cnn
from mlseries.course.ch07 import conv as ch07_conv
from mlseries.course.ch07 import resnet as ch07_resnet
from mlseries.course.ch07 import unet as ch07_unet

from lesson_checks import quick_run_suite

torch.set_num_threads(1)  # torch's threads would starve NumPy's BLAS in this process

LESSONS = ("ch07.conv", "ch07.cnn", "ch07.alexnet", "ch07.unet", "ch07.resnet")


def _t(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


# ---------------------------------------------------------------- by-hand loops vs PyTorch

@pytest.mark.parametrize("n,c,o,h,w,k,stride,padding", [
    (1, 1, 1, 5, 5, 3, 1, 0), (2, 3, 4, 9, 11, 3, 1, 1), (1, 2, 3, 10, 8, 5, 2, 2), (2, 2, 2, 7, 6, 2, 3, 1)])
def test_conv_loops_and_im2col_equal_torch(n, c, o, h, w, k, stride, padding):
    rng = np.random.default_rng(0)
    x, weight, bias = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, k, k)), rng.normal(size=o)
    expected = TF.conv2d(_t(x), _t(weight), _t(bias), stride=stride, padding=padding).numpy()
    np.testing.assert_allclose(ch07_conv.conv2d_loops(x, weight, bias, stride, padding), expected, atol=1e-12)
    np.testing.assert_allclose(ch07_conv.conv2d_im2col(x, weight, bias, stride, padding), expected, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pool_loops_equal_torch(kernel, stride, padding):
    x = np.random.default_rng(1).normal(size=(2, 3, 9, 10))
    for mode, op in (("max", TF.max_pool2d), ("avg", TF.avg_pool2d)):
        got = ch07_conv.pool2d_loops(x, kernel, stride, padding, mode)
        np.testing.assert_allclose(got, op(_t(x), kernel, stride, padding).numpy(), atol=1e-12)


def test_backward_loops_equal_torch():
    rng = np.random.default_rng(2)
    x, weight, bias = rng.normal(size=(2, 3, 8, 9)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    tx, tw, tb = _t(x, True), _t(weight, True), _t(bias, True)
    out = TF.conv2d(tx, tw, tb, stride=2, padding=1)
    grad_out = rng.normal(size=tuple(out.shape))
    out.backward(_t(grad_out))
    by_hand = ch07_conv.conv2d_backward_loops(x, weight, grad_out, stride=2, padding=1)
    for mine, theirs in zip(by_hand, (tx, tw, tb)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), atol=1e-12)

    x = rng.normal(size=(2, 3, 9, 9))
    tx = _t(x, True)
    out = TF.max_pool2d(tx, 3, 2)
    grad_out = rng.normal(size=tuple(out.shape))
    out.backward(_t(grad_out))
    np.testing.assert_allclose(ch07_conv.max_pool2d_backward_loops(x, grad_out, 3, 2), tx.grad.numpy())


def test_im2col_rows_are_the_windows():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols, (n, h, w) = ch07_conv.im2col(x, 3, 3)
    assert cols.shape == (4, 9) and (n, h, w) == (1, 2, 2)
    np.testing.assert_array_equal(cols[1], x[0, 0, 0:3, 1:4].ravel())   # second window: row 0, column 1
    np.testing.assert_array_equal(cols[2], x[0, 0, 1:4, 0:3].ravel())


def test_conv_loops_name_a_channel_mismatch():
    with pytest.raises(ValueError, match="expects 2 input channels, the input has 3"):
        ch07_conv.conv2d_loops(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)))


# ---------------------------------------------------------------- the hand-written CNN

def test_hand_cnn_gradients_equal_torch_and_engine():
    rng = np.random.default_rng(3)
    params = ch07_cnn.init_hand_cnn(rng, channels=4, size=8)
    params["w2"] = rng.normal(size=params["w2"].shape)  # non-zero, so every path is exercised
    x, y = rng.normal(size=(5, 1, 8, 8)), rng.integers(0, 10, 5)
    logits, cache = ch07_cnn.hand_forward(params, x)
    loss, grad_logits = ch07_cnn.softmax_cross_entropy(logits, y)
    by_hand = ch07_cnn.hand_backward(params, cache, grad_logits)

    t = {k: _t(v, True) for k, v in params.items()}
    h = TF.max_pool2d(TF.relu(TF.conv2d(_t(x), t["w1"], t["b1"], padding=1)), 2).flatten(1)
    torch_loss = TF.cross_entropy(h @ t["w2"] + t["b2"], torch.tensor(y))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), abs=1e-12)
    engine_loss, engine = ch07_cnn.engine_gradients(params, x, y)
    assert engine_loss == pytest.approx(loss, abs=1e-12)
    for k in params:
        np.testing.assert_allclose(by_hand[k], t[k].grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(engine[k], by_hand[k], atol=1e-12)


def test_hand_max_pool_takes_the_first_of_equal_values():
    a = np.zeros((1, 1, 2, 2))
    pooled, winner = ch07_cnn.max_pool_2x2(a)
    assert pooled.shape == (1, 1, 1, 1) and winner.item() == 0
    grad = ch07_cnn.max_pool_2x2_backward(np.ones((1, 1, 1, 1)), winner)
    np.testing.assert_array_equal(grad[0, 0], [[1, 0], [0, 0]])


def test_the_lesson_cnn_is_the_agreed_architecture():
    model = ch07_cnn.make_cnn()
    assert sum(p.numel() for p in model.parameters()) == 421_642  # the same network in torch.nn
    out = model(ms.zeros(2, 1, 28, 28))
    assert tuple(out.shape) == (2, 10)


# ---------------------------------------------------------------- AlexNet, U-Net, ResNet parts

def test_local_response_norm_equals_torch():
    x = np.random.default_rng(4).normal(size=(2, 7, 4, 5)) * 3
    got = ms.tensor(x, dtype=ms.float64, requires_grad=True)
    ref = _t(x, True)
    out = ch07_alexnet.local_response_norm(got, size=5, alpha=0.5, beta=0.75, k=1.0)
    expected = TF.local_response_norm(ref, 5, alpha=0.5, beta=0.75, k=1.0)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(5).normal(size=x.shape)
    out.backward(ms.tensor(g, dtype=ms.float64))
    expected.backward(_t(g))
    np.testing.assert_allclose(got.grad.numpy(), ref.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("overlap", [True, False])
def test_mini_alexnet_pooling_keeps_the_sizes(overlap):
    model = ch07_alexnet.MiniAlexNet((4, 4, 4, 4, 4), 8, overlap=overlap)
    assert tuple(model.features(ms.zeros(1, 1, 28, 28)).shape) == (1, 4, 3, 3)


def test_unet_keeps_the_image_size_and_iou_counts_overlap():
    model = ch07_unet.UNet(width=2)
    assert tuple(model(ms.zeros(2, 1, 32, 32)).shape) == (2, 4, 32, 32)
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2], b[1:3] = True, True
    assert ch07_unet.iou(a, b) == pytest.approx(4 / 12)
    assert ch07_unet.iou(a, a) == 1.0 and ch07_unet.iou(~a & a, ~b & b) == 1.0  # both empty


def test_plain_and_residual_nets_differ_only_in_the_shortcut():
    plain, residual = ch07_resnet.Net(2, False, (2, 4, 8)), ch07_resnet.Net(2, True, (2, 4, 8))
    assert plain.depth == residual.depth == 14
    assert [tuple(p.shape) for p in plain.parameters()] == [tuple(p.shape) for p in residual.parameters()]
    block = ch07_resnet.Block(2, 4, 2, True)
    x = ms.tensor(np.random.default_rng(6).normal(size=(1, 2, 6, 6)).astype(np.float32))
    shortcut = block.shortcut(x).numpy()
    assert shortcut.shape == (1, 4, 3, 3)
    np.testing.assert_array_equal(shortcut[:, :2], x.numpy()[:, :, ::2, ::2])
    assert not shortcut[:, 2:].any()  # the new channels are zeros: option A has no parameters
    assert tuple(residual(ms.zeros(3, 1, 14, 14)).shape) == (3, 10)


# ---------------------------------------------------------------- the lessons in quick mode

def test_ids_resolve_to_the_chapter_and_day5():
    assert [les.id for les in course.resolve("ch07")] == list(LESSONS)
    assert [les.id for les in course.resolve("day5")] == ["ch07.conv", "ch07.cnn"]


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_unet_quick_run_tells_the_shapes_apart(runs):
    m = runs("ch07.unet")[2]["metrics"]
    assert min(m["iou_circle"], m["iou_square"], m["iou_triangle"]) >= 0.7, m
    assert m["foreground_iou"] > m["threshold_foreground_iou"]
