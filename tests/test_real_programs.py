"""PyTorch programs in the style of well-known ones (nanoGPT, the word-language-model, translation
and MNIST examples), kept in tests/programs/ exactly as a PyTorch user would write them, run twice:
as they are, and with only their `import torch...` lines pointed at mlseries. From the same
weights and batches, in float64, the two training runs must give the same losses step by step.
"""
import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import mlseries as ms

PROGRAMS = Path(__file__).parent / "programs"
RTOL = 1e-13  # float64: the two frameworks differ only in summation order (measured: at most 5e-16)

_IMPORT_RULES = [
    (re.compile(r"^import torch$"), "import mlseries as torch"),
    (re.compile(r"^import torch\.([\w.]+) as (\w+)$"), r"import mlseries.\1 as \2"),
    (re.compile(r"^from torch(\.[\w.]+)? import "), r"from mlseries\1 import "),
]


def point_imports_at_mlseries(source):
    """The program with its torch imports rewritten, and how many lines changed (only imports may)."""
    lines, changed = [], 0
    for line in source.splitlines():
        new = line
        for pattern, repl in _IMPORT_RULES:
            new = pattern.sub(repl, new)
        changed += new != line
        lines.append(new)
    return "\n".join(lines) + "\n", changed


def load(name, framework):
    path = PROGRAMS / f"{name}.py"
    source = path.read_text()
    if framework == "mlseries":
        source, changed = point_imports_at_mlseries(source)
        assert 0 < changed == sum(line.startswith(("import torch", "from torch")) for line in path.read_text().splitlines())
    module_name = f"_program_{name}_{framework}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses look their module up
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    ms.set_default_dtype(ms.float64)
    yield
    torch.set_default_dtype(torch.float32)
    ms.set_default_dtype(ms.float32)


def copy_weights(src, dst):
    """PyTorch's state dict, as arrays, into the mlseries model (strict: every key must match)."""
    dst.load_state_dict({k: v.detach().numpy() for k, v in src.state_dict().items()})


def assert_same_losses(ours, theirs, rtol=RTOL):
    assert len(ours) == len(theirs) and len(ours) > 1
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0)


# ---- nanoGPT-style character model -----------------------------------------------------------
@pytest.mark.parametrize("flash", [True, False], ids=["sdpa", "masked_softmax"])
def test_char_gpt_trains_like_torch(float64, flash):
    th, ms_prog = load("char_gpt", "torch"), load("char_gpt", "mlseries")
    rng = np.random.default_rng(0)
    text = rng.integers(0, 20, 2000)
    starts = rng.integers(0, len(text) - 17, (12, 6))

    def batches_for(T):
        def batches(it):
            ix = starts[it % len(starts)]
            x = np.stack([text[i:i + 16] for i in ix])
            y = np.stack([text[i + 1:i + 17] for i in ix])
            return T.tensor(x), T.tensor(y)
        return batches

    torch.manual_seed(0)
    model_t = th.GPT(th.GPTConfig(flash=flash))
    model_m = ms_prog.GPT(ms_prog.GPTConfig(flash=flash))
    copy_weights(model_t, model_m)
    assert model_m.get_num_params() == model_t.get_num_params()
    assert [n for n, _ in model_m.named_parameters()] == [n for n, _ in model_t.named_parameters()]
    theirs = th.train(model_t, batches_for(torch), 12)
    ours = ms_prog.train(model_m, batches_for(ms), 12)
    assert_same_losses(ours, theirs)
    assert theirs[-1] < theirs[0]
    np.testing.assert_allclose(ms_prog.estimate_loss(model_m, batches_for(ms), 3),
                               th.estimate_loss(model_t, batches_for(torch), 3), rtol=RTOL)
    ms.manual_seed(0)
    out = model_m.generate(ms.zeros((2, 1), dtype=ms.long), max_new_tokens=20, temperature=0.8, top_k=5)
    assert tuple(out.shape) == (2, 21) and 0 <= int(out.min()) and int(out.max()) < 20


# ---- word-level recurrent language model -----------------------------------------------------
TEXT = """the quick brown fox jumps over the lazy dog
a stitch in time saves nine and the early bird catches the worm
all that glitters is not gold but the quick brown fox is quick
the lazy dog sleeps while the fox jumps over the fence again""".splitlines()


@pytest.mark.parametrize("rnn_type,tie", [("LSTM", True), ("GRU", False), ("RNN_TANH", False)])
def test_word_language_model_trains_like_torch(float64, rnn_type, tie):
    th, ms_prog = load("word_lstm_lm", "torch"), load("word_lstm_lm", "mlseries")
    corpus_t, corpus_m = th.Corpus(TEXT * 3), ms_prog.Corpus(TEXT * 3)
    assert corpus_m.train.tolist() == corpus_t.train.tolist()
    data_t = th.batchify(corpus_t.train, 4, "cpu")
    data_m = ms_prog.batchify(corpus_m.train, 4, ms.device("cpu"))
    ntokens = len(corpus_t.dictionary)
    torch.manual_seed(0)
    model_t = th.RNNModel(rnn_type, ntokens, 12, 12, 2, dropout=0.0, tie_weights=tie)
    model_m = ms_prog.RNNModel(rnn_type, ntokens, 12, 12, 2, dropout=0.0, tie_weights=tie)
    copy_weights(model_t, model_m)
    theirs = th.train_epoch(model_t, data_t) + th.train_epoch(model_t, data_t)
    ours = ms_prog.train_epoch(model_m, data_m) + ms_prog.train_epoch(model_m, data_m)
    assert_same_losses(ours, theirs)
    np.testing.assert_allclose(ms_prog.evaluate(model_m, data_m), th.evaluate(model_t, data_t), rtol=RTOL)


def test_word_language_model_with_dropout_learns_as_torch_does():
    # Dropout masks come from each framework's own generator, so the runs differ step by step;
    # what must agree is where training gets to.
    finals = {}
    for framework, T in (("torch", torch), ("mlseries", ms)):
        prog = load("word_lstm_lm", framework)
        corpus = prog.Corpus(TEXT * 3)
        data = prog.batchify(corpus.train, 4, "cpu")
        T.manual_seed(0)
        model = prog.RNNModel("LSTM", len(corpus.dictionary), 16, 16, 2, dropout=0.2)
        first = prog.evaluate(model, data)[0]
        for _ in range(4):
            prog.train_epoch(model, data)
        finals[framework] = prog.evaluate(model, data)[0]
        assert finals[framework] < first - 0.15
    assert abs(finals["mlseries"] - finals["torch"]) < 0.02 * finals["torch"]


# ---- seq2seq with attention ------------------------------------------------------------------
def test_seq2seq_with_attention_trains_like_torch(float64):
    th, ms_prog = load("seq2seq_attention", "torch"), load("seq2seq_attention", "mlseries")
    src, tgt = th.make_pairs(32, 7, 12, torch.Generator().manual_seed(0))
    src_m, tgt_m = ms_prog.make_pairs(32, 7, 12, ms.Generator().manual_seed(0))  # its own RNG: runs, differs
    assert tuple(src_m.shape) == (32, 7) and (tgt_m[:, 0] >= 2).all()
    torch.manual_seed(0)
    enc_t, dec_t = th.EncoderRNN(12, 10, dropout_p=0.0), th.AttnDecoderRNN(10, 12, 7, dropout_p=0.0)
    enc_m, dec_m = ms_prog.EncoderRNN(12, 10, dropout_p=0.0), ms_prog.AttnDecoderRNN(10, 12, 7, dropout_p=0.0)
    copy_weights(enc_t, enc_m)
    copy_weights(dec_t, dec_m)
    theirs = th.train(enc_t, dec_t, src, tgt, n_epochs=2)
    ours = ms_prog.train(enc_m, dec_m, ms.tensor(src.numpy()), ms.tensor(tgt.numpy()), n_epochs=2)
    assert_same_losses(ours, theirs)
    pred_t, attn_t = th.evaluate(enc_t, dec_t, src[:5])
    pred_m, attn_m = ms_prog.evaluate(enc_m, dec_m, ms.tensor(src[:5].numpy()))
    assert pred_m.tolist() == pred_t.tolist()
    np.testing.assert_allclose(attn_m.numpy(), attn_t.numpy(), rtol=1e-10, atol=1e-12)


# ---- MNIST-example trainer -------------------------------------------------------------------
def test_mnist_example_trains_like_torch(float64):
    from sklearn.datasets import load_digits
    th, ms_prog = load("mnist_cnn", "torch"), load("mnist_cnn", "mlseries")
    digits = load_digits()
    images = np.kron(digits.images[:96], np.ones((2, 2)))[:, None] / 16.0  # (96, 1, 16, 16)
    labels = digits.target[:96]
    torch.manual_seed(0)
    model_t, model_m = th.Net(), ms_prog.Net()
    copy_weights(model_t, model_m)
    for model in (model_t, model_m):
        model.dropout1.p = model.dropout2.p = 0.0  # random masks differ between frameworks
    theirs, (loss_t, acc_t) = th.main(model_t, torch.tensor(images), torch.tensor(labels))
    ours, (loss_m, acc_m) = ms_prog.main(model_m, ms.tensor(images), ms.tensor(labels))
    assert_same_losses(ours, theirs)
    np.testing.assert_allclose([loss_m, acc_m], [loss_t, acc_t], rtol=1e-10)


def test_import_rewriting_changes_only_import_lines():
    source = "import torch\nimport torch.nn as nn\nfrom torch.nn import functional as F\nx = torch.zeros(2)\n"
    new, changed = point_imports_at_mlseries(source)
    assert changed == 3
    assert new.splitlines() == ["import mlseries as torch", "import mlseries.nn as nn",
                                "from mlseries.nn import functional as F", "x = torch.zeros(2)"]
    assert importlib.util.find_spec("mlseries.nn.functional") is not None
