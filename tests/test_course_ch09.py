"""Chapter 9: attention pooling and scoring functions against PyTorch, the hand-written
multi-head attention, the Transformer blocks against the engine's (and so PyTorch's) layers,
decoding, the ViT's parts, and each lesson's quick run."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import mlseries as ms
from mlseries import course, nn
from mlseries.course.ch09 import attention as ch09_attention
from mlseries.course.ch09 import decoding, model as ch09_model, seq_training, vit as ch09_vit
from mlseries.datasets.text import BOS, EOS, PAD

from lesson_checks import quick_run_suite

torch.set_num_threads(1)

LESSONS = ("ch09.attention", "ch09.transformer", "ch09.vit")


# ---------------------------------------------------------------- ch09.attention's pieces

def test_masked_softmax_equals_torch_and_zeroes_padding():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(3, 2, 5))
    lens = np.array([1, 3, 5])
    got = ch09_attention.masked_softmax(ms.tensor(scores), ms.tensor(lens)).numpy()
    masked = np.arange(5)[None, None, :] >= lens[:, None, None]
    expected = TF.softmax(torch.tensor(scores).masked_fill(torch.tensor(masked), -math.inf), dim=-1).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got[0, :, 1:].max() == 0.0
    per_query = ch09_attention.masked_softmax(ms.tensor(scores), ms.tensor(np.array([[1, 2], [3, 4], [5, 5]])))
    assert per_query.numpy()[0, 1, 2:].max() == 0.0 and per_query.numpy()[0, 1, :2].min() > 0


def test_gaussian_pooling_gradient_equals_torch():
    rng = np.random.default_rng(1)
    x, y = np.sort(rng.uniform(0, 5, 12)), rng.normal(size=12)
    w = ms.tensor([1.7], dtype=ms.float64, requires_grad=True)
    pred = ch09_attention.attention_pool(ch09_attention.gaussian_weights(ms.tensor(x), ms.tensor(x), w, True),
                                         ms.tensor(y))
    ((pred - ms.tensor(y)) ** 2).mean().backward()
    tw = torch.tensor([1.7], dtype=torch.float64, requires_grad=True)
    tx, ty = torch.tensor(x), torch.tensor(y)
    scores = -(((tx[:, None] - tx[None, :]) * tw) ** 2) / 2
    scores = scores.masked_fill(torch.eye(12, dtype=torch.bool), -math.inf)
    ((TF.softmax(scores, -1) @ ty - ty) ** 2).mean().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-10)


def test_dot_product_attention_equals_torch_sdpa_with_mask():
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 6, 8)), rng.normal(size=(2, 6, 4))
    lens = np.array([2, 6])
    got = ch09_attention.DotProductAttention()(ms.tensor(q), ms.tensor(k), ms.tensor(v), ms.tensor(lens)).numpy()
    take_part = torch.tensor(np.arange(6)[None, None, :] < lens[:, None, None])
    expected = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=take_part)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-12)


def test_additive_attention_shapes_and_mask():
    rng = np.random.default_rng(3)
    att = ch09_attention.AdditiveAttention(query_size=5, key_size=3, hidden=7, dtype=ms.float64)
    out = att(ms.tensor(rng.normal(size=(2, 4, 5))), ms.tensor(rng.normal(size=(2, 6, 3))),
              ms.tensor(rng.normal(size=(2, 6, 2))), ms.tensor([3, 6]))
    assert tuple(out.shape) == (2, 4, 2) and tuple(att.weights.shape) == (2, 4, 6)
    assert att.weights.numpy()[0, :, 3:].max() == 0.0
    np.testing.assert_allclose(att.weights.numpy().sum(-1), 1.0, atol=1e-12)


def test_hand_multi_head_attention_equals_torch():
    """The hand-written version with the engine layer's weights against torch.nn.MultiheadAttention."""
    rng = np.random.default_rng(4)
    E, H = 12, 3
    mha = nn.MultiheadAttention(E, H, batch_first=True, dtype=ms.float64)
    ref = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(torch.tensor(dict(mha.named_parameters())[name].detach().numpy()))
    xq, xkv = rng.normal(size=(2, 4, E)), rng.normal(size=(2, 5, E))
    pad = np.array([[False] * 5, [False] * 3 + [True] * 2])
    causal = np.triu(np.ones((4, 5), dtype=bool), 1)
    out, w = ch09_attention.multi_head_attention(ms.tensor(xq), ms.tensor(xkv), mha, ms.tensor(pad), ms.tensor(causal))
    t_out, t_w = ref(torch.tensor(xq), torch.tensor(xkv), torch.tensor(xkv), key_padding_mask=torch.tensor(pad),
                     attn_mask=torch.tensor(causal), average_attn_weights=False)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w.numpy(), t_w.detach().numpy(), atol=1e-12)


def test_lesson_mha_comparison_is_exact():
    errors, weights, padding = ch09_attention.compare_with_engine_mha(np.random.default_rng(5))
    assert max(errors.values()) <= 1e-12
    assert weights[1][:, :, padding[1]].max() == 0.0


# ---------------------------------------------------------------- the Transformer's parts

def test_positional_encoding_is_the_papers_formula():
    table = ch09_model.sinusoidal_table(50, 16)
    pos, i = 7, 3
    assert table[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 16)), abs=1e-6)
    assert table[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 16)), abs=1e-6)
    # the code of pos + k is the code of pos turned by a rotation that depends on k only
    k, rate = 5, 1 / 10000 ** (2 * i / 16)
    rot = np.array([[math.cos(k * rate), -math.sin(k * rate)], [math.sin(k * rate), math.cos(k * rate)]])
    for p in (0, 11, 30):
        np.testing.assert_allclose(table[p, 2 * i:2 * i + 2] @ rot, table[p + k, 2 * i:2 * i + 2], atol=1e-5)


def _copy_block(block, layer):
    """Load an EncoderBlock/DecoderBlock's weights into nn.Transformer{Encoder,Decoder}Layer."""
    names = {"ff.0": "linear1", "ff.3": "linear2", "cross_attn": "multihead_attn"}
    state = {}
    for key, value in block.state_dict().items():
        for mine, theirs in names.items():
            if key.startswith(mine + "."):
                key = theirs + key[len(mine):]
        state[key] = value
    layer.load_state_dict(state)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_block_equals_engine_encoder_layer(norm_first):
    ms.manual_seed(0)
    block = ch09_model.EncoderBlock(16, 4, 32, dropout=0.0, norm_first=norm_first)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    _copy_block(block, layer)
    x = ms.randn(3, 5, 16)
    pad = ms.tensor(np.array([[False] * 5, [False] * 4 + [True], [False] * 2 + [True] * 3]))
    block.eval(), layer.eval()
    np.testing.assert_allclose(block(x, pad).numpy(), layer(x, src_key_padding_mask=pad).numpy(), atol=1e-5)


def test_decoder_block_equals_engine_decoder_layer():
    ms.manual_seed(1)
    block = ch09_model.DecoderBlock(16, 4, 32, dropout=0.0)
    layer = nn.TransformerDecoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    _copy_block(block, layer)
    y, memory = ms.randn(2, 6, 16), ms.randn(2, 4, 16)
    pad = ms.tensor(np.array([[False] * 4, [False] * 3 + [True]]))
    causal = ch09_model.causal_mask(6)
    block.eval(), layer.eval()
    expected = layer(y, memory, tgt_mask=causal, memory_key_padding_mask=pad).numpy()
    np.testing.assert_allclose(block(y, memory, causal, pad).numpy(), expected, atol=1e-5)
    block.keep_weights = True   # the explicit path (weights kept) gives the same numbers
    np.testing.assert_allclose(block(y, memory, causal, pad).numpy(), expected, atol=1e-5)
    assert block.weights.numpy()[:, :, np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]].max() == 0.0


def test_translator_does_not_look_ahead_and_ties_weights():
    ms.manual_seed(2)
    model = ch09_model.Translator(20, 15, d_model=16, heads=2, layers=2, d_ff=32, dropout=0.0)
    model.eval()
    assert model.out.weight is model.tgt_embed.weight
    src = ms.tensor(np.array([[5, 6, 7, EOS, PAD]]))
    tgt = np.array([[BOS, 4, 5, 6, 7]])
    changed = tgt.copy()
    changed[0, 3:] = [9, 10]
    a, b = model(src, ms.tensor(tgt)).numpy(), model(src, ms.tensor(changed)).numpy()
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)   # positions before the change see no difference
    assert np.abs(a[:, 3:] - b[:, 3:]).max() > 1e-4


def test_beam_of_one_is_greedy_and_beams_rank_finished_hypotheses():
    ms.manual_seed(3)
    model = ch09_model.Translator(20, 15, d_model=16, heads=2, layers=1, d_ff=32, dropout=0.0)
    src = np.random.default_rng(6).integers(4, 20, size=(5, 6))
    src[:, -1] = EOS
    greedy = decoding.greedy_decode(model, src, 8)
    beam1 = decoding.beam_search(model, src, 8, beam=1, alpha=0.0)
    np.testing.assert_array_equal(beam1[:, :greedy.shape[1]], greedy)
    wide = decoding.beam_search(model, src, 8, beam=4)
    assert wide.shape[0] == 5


def test_exact_match_and_bleu():
    assert decoding.exact_match(["一", "二"], ["一", "三"]) == 0.5
    assert decoding.bleu(["打开文件"], ["打开文件"]).score == pytest.approx(100.0)


def test_length_batches_cover_every_row_once_and_trim_padding():
    rng = np.random.default_rng(7)
    lengths = rng.integers(2, 9, 100)
    tgt = np.zeros((100, 10), dtype=np.int64)
    src = np.zeros((100, 7), dtype=np.int64)
    for i, n in enumerate(lengths):
        tgt[i, :n] = np.arange(1, n + 1) + 100 * i   # every row unique
        src[i, :3] = i + 1
    seen = []
    for s, t in seq_training.length_batches(src, tgt, 16, rng):
        assert t.shape[1] == (t != PAD).sum(1).max() and s.shape[1] == 3
        seen += [int(row[0]) // 100 for row in t]
    assert sorted(seen) == list(range(100))


# ---------------------------------------------------------------- the ViT's parts

def test_patch_embedding_is_a_strided_convolution():
    rng = np.random.default_rng(8)
    images = rng.normal(size=(2, 1, 28, 28))
    weight, bias = rng.normal(size=(8, 16)), rng.normal(size=8)
    tokens = ch09_vit.patchify(ms.tensor(images), 4).numpy() @ weight.T + bias            # (2, 49, 8)
    conv = TF.conv2d(torch.tensor(images), torch.tensor(weight.reshape(8, 1, 4, 4)), torch.tensor(bias), stride=4)
    np.testing.assert_allclose(tokens, conv.flatten(2).transpose(1, 2).numpy(), atol=1e-10)


def test_rollout_of_identity_attention_is_identity_and_rows_sum_to_one():
    eye = np.broadcast_to(np.eye(5), (2, 5, 5))
    np.testing.assert_allclose(ch09_vit.rollout([eye, eye]), eye)
    a = np.random.default_rng(9).random((2, 5, 5))
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(ch09_vit.rollout([a, a, a]).sum(-1), 1.0)


def test_vit_shapes():
    model = ch09_vit.ViT(patch=4, d_model=16, heads=2, depth=2, d_ff=32)
    assert tuple(model(ms.zeros(3, 1, 28, 28)).shape) == (3, 10)
    maps = model.attention_maps(np.zeros((2, 1, 28, 28), dtype=np.float32))
    assert len(maps) == 2 and maps[0].shape == (2, 50, 50)


# ---------------------------------------------------------------- the lessons in quick mode

def test_ids_resolve_to_the_chapter_and_day7():
    assert [les.id for les in course.resolve("ch09")] == list(LESSONS)
    assert [les.id for les in course.resolve("day7")] == ["ch09.transformer"]


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_vit_quick_numbers(runs):
    m = runs("ch09.vit")[2]["metrics"]
    assert m["vit_test_acc"] >= 0.6 and m["cnn_test_acc"] > m["vit_test_acc"]
    assert m["vit_parameters"] < m["cnn_parameters"]
