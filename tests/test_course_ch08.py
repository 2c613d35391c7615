"""Chapter 8: the hand-written RNN's BPTT against PyTorch and the engine, the n-gram baselines,
the attention layer and beam search, the engine LM against PyTorch, and each lesson's quick run."""
import numpy as np
import pytest
import torch

import mlseries as ms
from mlseries import course, datasets
from mlseries.course.ch08 import lm as ch08_lm
from mlseries.course.ch08 import lstm as ch08_lstm
from mlseries.course.ch08 import reviews as ch08_reviews
from mlseries.course.ch08 import rnn as ch08_rnn
from mlseries.course.ch08 import seq2seq as ch08_seq2seq

from lesson_checks import quick_run_suite

torch.set_num_threads(1)  # torch's threads would starve NumPy's BLAS in this process

LESSONS = ("ch08.rnn", "ch08.lstm", "ch08.lm", "ch08.seq2seq")


# ---------------------------------------------------------------- ch08.rnn: the network by hand

def _batch(rng, vocab=30, batch=5, steps=9):
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0] = steps
    ids = rng.integers(4, vocab, (batch, steps))
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return ids, lengths, rng.integers(0, 2, batch)


def _torch_rnn_loss(params, ids, lengths, y, readout):
    """The same network written with torch ops and a Python loop over time."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x = t["E"][torch.tensor(ids)]
    mask = torch.tensor(np.arange(ids.shape[1])[None, :] < lengths[:, None])
    h = torch.zeros(len(ids), params["W_hh"].shape[0], dtype=torch.float64)
    states = []
    for step in range(ids.shape[1]):
        new = torch.tanh(x[:, step] @ t["W_xh"] + h @ t["W_hh"] + t["b_h"])
        h = torch.where(mask[:, step, None], new, h)
        states.append(h)
    if readout == "last":
        summary = h
    elif readout == "mean":
        summary = (torch.stack(states, 1) * mask[..., None]).sum(1) / torch.tensor(lengths)[:, None]
    else:
        summary = torch.stack(states, 1).masked_fill(~mask[..., None], -torch.inf).max(1).values
    loss = torch.nn.functional.cross_entropy(summary @ t["W_hy"] + t["b_y"], torch.tensor(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("readout", ["last", "mean", "max"])
def test_hand_bptt_equals_torch(readout):
    rng = np.random.default_rng(0)
    params = ch08_rnn.init_params(rng, 30, 6, 7)
    params["W_hy"] = rng.normal(size=params["W_hy"].shape)  # non-zero, so every path is exercised
    params["b_h"] = rng.normal(size=7) * 0.1
    ids, lengths, y = _batch(rng)
    logits, cache = ch08_rnn.rnn_forward(params, ids, lengths, readout)
    loss, grad_logits = ch08_rnn.softmax_cross_entropy(logits, y)
    grads = ch08_rnn.rnn_backward(params, cache, grad_logits)
    torch_loss, torch_grads = _torch_rnn_loss(params, ids, lengths, y, readout)
    assert loss == pytest.approx(torch_loss, abs=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k], torch_grads[k], atol=1e-12, err_msg=k)


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_hand_bptt_equals_the_engines_packed_rnn(readout):
    rng = np.random.default_rng(1)
    params = ch08_rnn.init_params(rng, 25, 5, 6)
    params["W_hy"] = rng.normal(size=params["W_hy"].shape)
    ids, lengths, y = _batch(rng, vocab=25, batch=6, steps=11)
    logits, cache = ch08_rnn.rnn_forward(params, ids, lengths, readout)
    loss, grad_logits = ch08_rnn.softmax_cross_entropy(logits, y)
    grads = ch08_rnn.rnn_backward(params, cache, grad_logits)
    engine_loss, engine = ch08_rnn.engine_gradients(params, ids, lengths, y, readout)
    assert engine_loss == pytest.approx(loss, abs=1e-12)
    for k in params:
        np.testing.assert_allclose(engine[k], grads[k], atol=1e-12, err_msg=k)


def test_padding_never_changes_a_review():
    rng = np.random.default_rng(2)
    params = ch08_rnn.init_params(rng, 20, 4, 5)
    params["W_hy"] = rng.normal(size=params["W_hy"].shape)
    ids = np.array([[5, 6, 7]])
    for readout in ("last", "mean", "max"):
        short, _ = ch08_rnn.rnn_forward(params, ids, np.array([3]), readout)
        padded, _ = ch08_rnn.rnn_forward(params, np.array([[5, 6, 7, 0, 0, 0]]), np.array([3]), readout)
        np.testing.assert_allclose(short, padded, atol=1e-14)


def test_hand_adam_equals_torch_adam():
    rng = np.random.default_rng(3)
    params = {"w": rng.normal(size=(3, 4))}
    ref = torch.tensor(params["w"].copy(), requires_grad=True)
    mine, theirs = ch08_rnn.Adam(params, lr=0.01), torch.optim.Adam([ref], lr=0.01)
    for _ in range(5):
        g = rng.normal(size=(3, 4))
        mine.step(params, {"w": g.copy()})
        ref.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(params["w"], ref.detach().numpy(), atol=1e-12)


def test_clip_by_norm_scales_all_gradients_together():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([4.0])}
    assert ch08_rnn.clip_by_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [0.8])


def test_encoding_keeps_the_end_and_batches_cover_everything():
    vocab = datasets.Vocab.build(["abcdef"])
    ids, lengths = ch08_reviews.encode(["abcdef", "ab", ""], vocab, ch08_reviews.chars, max_len=4)
    assert ids[0].tolist() == vocab.encode("cdef") and lengths.tolist() == [4, 2, 1]
    assert ids[2, 0] == datasets.text.UNK  # an empty review still has one step
    batches = ch08_reviews.length_batches(np.array([5, 1, 9, 2, 7, 3, 8]), 3, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(7))


# ---------------------------------------------------------------- ch08.lstm

def test_review_classifier_ignores_padding_in_both_directions():
    ms.manual_seed(0)
    model = ch08_lstm.ReviewClassifier(20, 6, 5, "LSTM", bidirectional=True, dropout=0.0)
    model.eval()
    short = model(ms.tensor(np.array([[4, 5, 6]])), ms.tensor(np.array([3])))
    padded = model(ms.tensor(np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11]])), ms.tensor(np.array([3, 5])))
    np.testing.assert_allclose(short.numpy()[0], padded.numpy()[0], atol=1e-6)


def test_gradient_through_time_is_larger_near_the_end():
    ms.manual_seed(0)
    rnn = ms.nn.RNN(4, 8, batch_first=True)
    norms = ch08_lstm.gradient_through_time(rnn, np.random.default_rng(0).normal(size=(3, 30, 4)).astype(np.float32),
                                            np.random.default_rng(1))
    assert norms.shape == (30,) and norms[-1] > norms[0]


# ---------------------------------------------------------------- ch08.lm

def test_ngram_baselines():
    train = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    uni, log_p = ch08_lm.unigram_loss(train, train, 2)
    assert uni == pytest.approx(np.log(2))
    bi, lam = ch08_lm.bigram_loss(train, train, 2, log_p)
    assert bi < 0.1 and lam > 0.9  # the alternation is certain once the previous character is known


def test_engine_char_lstm_follows_torch():
    ms.manual_seed(0)
    model = ch08_lm.CharLSTM(12, 5, 8)
    ids = np.random.default_rng(0).integers(0, 12, 400)
    curves = ch08_lm.compare_with_torch(_Ctx(), model, ids, dict(block=10, batch=4, torch_steps=5))
    assert len(curves["engine"]) == 5
    np.testing.assert_allclose(curves["engine"], curves["torch"], atol=1e-5)


def test_poem_has_seven_characters_a_line():
    vocab = datasets.Vocab.build(["春风花草香，江山丽日长。\n\n"])
    ms.manual_seed(0)
    model = ch08_lm.CharLSTM(len(vocab), 4, 8)
    text = ch08_lm.poem(model, vocab, np.random.default_rng(0), 1.0)
    lines = text.split("\n")
    assert len(lines) == 2
    for line in lines:
        assert len(line) == 16 and line[7] == "，" and line[15] == "。"
        assert all("\u4e00" <= c <= "\u9fff" for c in line[:7] + line[8:15])


class _Ctx:
    def rng(self, stream=None):
        return np.random.default_rng(stream)

    def log(self, message=""):
        pass


# ---------------------------------------------------------------- ch08.seq2seq

def test_bahdanau_attention_equals_torch_and_ignores_padding():
    ms.manual_seed(0)
    att = ch08_seq2seq.BahdanauAttention(4, 6, 5)
    rng = np.random.default_rng(0)
    q, values = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(2, 3, 6)).astype(np.float32)
    mask = np.array([[True, True, False], [True, True, True]])
    keys = att.W_k(ms.tensor(values))
    context, weights = att(ms.tensor(q), keys, ms.tensor(values), ms.tensor(mask))
    w = {k: torch.tensor(v.detach().numpy()) for k, v in att.state_dict().items()}
    tq, tv = torch.tensor(q), torch.tensor(values)
    scores = (torch.tanh(tv @ w["W_k.weight"].T + (tq @ w["W_q.weight"].T + w["W_q.bias"])[:, None]) @ w["v.weight"].T)[..., 0]
    expected = torch.softmax(scores.masked_fill(~torch.tensor(mask), -torch.inf), -1)
    np.testing.assert_allclose(weights.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(context.numpy(), (expected[..., None] * tv).sum(1).numpy(), atol=1e-5)
    assert weights.numpy()[0, 2] == 0.0


def test_beam_search_with_one_beam_is_greedy():
    ms.manual_seed(0)
    model = ch08_seq2seq.Seq2Seq(10, 9, 4, 6, attention=True)
    src = np.array([[4, 5, 6, 3], [7, 3, 0, 0], [8, 9, 4, 3]])
    greedy, weights = ch08_seq2seq.greedy(model, src, max_len=6)
    assert ch08_seq2seq.beam_search(model, src, max_len=6, k=1) == greedy
    assert weights[0].shape[1] == 4 and weights[1].shape[1] == 2
    best = ch08_seq2seq.beam_search(model, src, max_len=6, k=3)
    assert len(best) == 3 and all(isinstance(h, list) for h in best)


def test_bleu_uses_chinese_tokens():
    assert ch08_seq2seq.bleu(["打开文件"], ["打开文件"]) == pytest.approx(100.0)
    assert ch08_seq2seq.bleu(["无法打开文件"], ["打开文件"]) < 100.0


# ---------------------------------------------------------------- the lessons in quick mode

def test_ids_resolve_to_the_chapter_and_day6():
    assert [les.id for les in course.resolve("ch08")] == list(LESSONS)
    assert [les.id for les in course.resolve("day6")] == ["ch08.rnn"]


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_rnn_quick_numbers(runs):
    m = runs("ch08.rnn")[2]["metrics"]
    assert m["bptt_max_error"] <= 1e-8
    assert m["test_acc"] > m["last_state_test_acc"] and m["test_acc"] >= 0.72


def test_lstm_quick_numbers(runs):
    m = runs("ch08.lstm")[2]["metrics"]
    assert m["clip_on_final_loss"] < m["clip_off_final_loss"] and m["clip_off_max_norm"] > 100
    assert m["best_test_acc"] > 0.6 and m["tfidf_test_acc"] > 0.75


def test_lm_quick_numbers(runs):
    m = runs("ch08.lm")[2]["metrics"]
    assert m["torch_max_loss_difference"] <= 1e-3
    assert m["shakespeare_val_loss"] < m["shakespeare_bigram"] < m["shakespeare_unigram"]


def test_seq2seq_quick_numbers(runs):
    m = runs("ch08.seq2seq")[2]["metrics"]
    assert m["exact_match_attention"] > m["exact_match_no_attention"]
    assert m["first_epoch_loss_attention"] < m["first_epoch_loss_no_attention"]
