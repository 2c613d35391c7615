"""Chapter 12: the language models' parts against PyTorch (the same code on both libraries), the
KV cache, LoRA merging, BPE truncation, the --engine/--device options, each lesson's quick run,
and data-parallel training under torchrun matching one process."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import mlseries as ms
from mlseries import course
from mlseries.cli import main
from mlseries.course import engines
from mlseries.course.ch12 import tokenizer as ch12_tokenizer
from mlseries.course.ch12.bert_model import MASK, BertConfig, bert_classes, mask_tokens
from mlseries.course.ch12.bert_model import init_arrays as bert_init
from mlseries.course.ch12.gpt_model import GPTConfig, configure_optimizer, gpt_classes
from mlseries.course.ch12.gpt_model import init_arrays as gpt_init
from mlseries.course.ch12.llama_model import KVCache, LlamaConfig, generate, llama_classes
from mlseries.course.ch12.llama_model import init_arrays as llama_init
from mlseries.course.ch12.lm_training import get_lr
from mlseries.course.ch12.lora_layers import add_lora
from mlseries.course.training import accuracy, train_epoch
from mlseries.datasets import ByteLevelBPE

from lesson_checks import quick_run_suite

torch.set_num_threads(1)  # torch's threads would starve NumPy's BLAS in this process

LESSONS = ("ch12.tokenizer", "ch12.gpt", "ch12.llama", "ch12.bert", "ch12.lora")
ENG = engines.Engine("mlseries", ms, "cpu")
REF = engines.Engine("torch", torch, "cpu")


def _both(classes, build, init):
    """The same model built in both libraries from the same NumPy weights: name -> model."""
    out = {}
    for eng in (ENG, REF):
        model = build(classes(eng.T))
        arrays = init(model)
        eng.load_arrays(model, arrays)
        out[eng.name] = model
    return out


# ---------------------------------------------------------------- GPT

def test_gpt_is_the_same_function_and_gradient_in_both_libraries():
    cfg = GPTConfig(vocab_size=20, block_size=12, n_layer=2, n_head=2, n_embd=16)
    x, y = np.random.default_rng(0).integers(0, 20, (2, 2, 12))
    models = _both(gpt_classes, lambda c: c.GPT(cfg), lambda m: gpt_init(m, np.random.default_rng(1), 2))
    results = {}
    for eng in (ENG, REF):
        logits, loss = models[eng.name](eng.tensor(x), eng.tensor(y))
        loss.backward()
        results[eng.name] = (eng.numpy(logits), loss.item(),
                             {n: eng.numpy(p.grad) for n, p in models[eng.name].named_parameters()})
    np.testing.assert_allclose(results["mlseries"][0], results["torch"][0], atol=1e-5)
    assert results["mlseries"][1] == pytest.approx(results["torch"][1], abs=1e-6)
    for name, grad in results["torch"][2].items():
        np.testing.assert_allclose(results["mlseries"][2][name], grad, atol=1e-5, err_msg=name)


def test_gpt_ties_the_output_layer_and_decays_matrices_only():
    model = gpt_classes(ms).GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8))
    assert model.lm_head.weight is model.transformer.wte.weight
    assert "lm_head.weight" not in dict(model.named_parameters())   # counted once
    opt = configure_optimizer(ms, model, 1e-3, 0.1, (0.9, 0.99))
    decay, no_decay = opt.param_groups
    assert all(p.dim() >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0


def test_learning_rate_warms_up_then_follows_a_cosine_to_the_floor():
    lrs = [get_lr(it, 1e-3, 10, 100, 1e-4) for it in range(120)]
    assert lrs[0] == pytest.approx(1e-3 / 11) and lrs[9] == pytest.approx(1e-3 * 10 / 11)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[55] == pytest.approx(1e-4 + 0.5 * 0.9e-3)                # half way down the cosine
    assert lrs[100] == pytest.approx(1e-4) and lrs[119] == 1e-4
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


# ---------------------------------------------------------------- Llama

def _llama(T, cfg, seed=1):
    model = llama_classes(T).Llama(cfg)
    engines.Engine("x", T, "cpu").load_arrays(model, llama_init(model, np.random.default_rng(seed), cfg.n_layer))
    return model


LLAMA = LlamaConfig(vocab_size=30, block_size=16, max_len=64, n_layer=2, n_head=4, n_kv_head=2, dim=16, hidden=32)


def test_llama_is_the_same_function_in_both_libraries():
    x, y = np.random.default_rng(0).integers(0, 30, (2, 3, 10))
    out = {}
    for eng in (ENG, REF):
        logits, loss = _llama(eng.T, LLAMA)(eng.tensor(x), eng.tensor(y))
        out[eng.name] = (eng.numpy(logits), loss.item())
    np.testing.assert_allclose(out["mlseries"][0], out["torch"][0], atol=1e-5)
    assert out["mlseries"][1] == pytest.approx(out["torch"][1], abs=1e-6)


def test_rmsnorm_equals_torchs():
    norm = llama_classes(ms).RMSNorm(8, 1e-5)
    x = np.random.default_rng(2).normal(size=(3, 5, 8)).astype(np.float32)
    ref = torch.nn.RMSNorm(8, eps=1e-5)
    np.testing.assert_allclose(norm(ms.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
                               atol=1e-6)


def test_rope_scores_depend_only_on_the_distance():
    apply_rope = llama_classes(ms).apply_rope
    model = _llama(ms, LLAMA)
    q = ms.tensor(np.random.default_rng(3).normal(size=(1, 1, 1, 4)).astype(np.float32))
    k = ms.tensor(np.random.default_rng(4).normal(size=(1, 1, 1, 4)).astype(np.float32))

    def score(p_q, p_k):
        cq, sq = model.rope_cos[p_q:p_q + 1], model.rope_sin[p_q:p_q + 1]
        ck, sk = model.rope_cos[p_k:p_k + 1], model.rope_sin[p_k:p_k + 1]
        return float((apply_rope(q, cq, sq) * apply_rope(k, ck, sk)).sum().item())

    assert score(7, 3) == pytest.approx(score(20, 16), abs=1e-5)
    assert score(7, 3) != pytest.approx(score(7, 5), abs=1e-3)


def test_grouped_query_attention_equals_full_attention_with_shared_heads():
    """GQA with 2 key/value heads = multi-head attention whose key/value weights repeat per group."""
    cfg = LlamaConfig(vocab_size=30, max_len=16, n_layer=1, n_head=4, n_kv_head=2, dim=16, hidden=32)
    full = LlamaConfig(**{**cfg.__dict__, "n_kv_head": 4})
    gqa, mha = _llama(ms, cfg), _llama(ms, full)
    state = {k: v.numpy() for k, v in gqa.state_dict().items()}
    hs = cfg.dim // cfg.n_head
    for name in ("wk", "wv"):
        w = state[f"layers.0.attention.{name}.weight"].reshape(2, hs, cfg.dim)
        state[f"layers.0.attention.{name}.weight"] = np.repeat(w, 2, axis=0).reshape(4 * hs, cfg.dim)
    mha.load_state_dict({k: ms.tensor(v) for k, v in state.items()})
    x = ms.tensor(np.random.default_rng(5).integers(0, 30, (2, 9)))
    np.testing.assert_allclose(gqa(x)[0].detach().numpy(), mha(x)[0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("eng", [ENG, REF], ids=["mlseries", "torch"])
def test_kv_cache_generation_equals_full_recomputation(eng):
    model = _llama(eng.T, LLAMA).double()
    prompt = np.random.default_rng(6).integers(0, 30, (1, 5))
    a, la = generate(eng.T, model, prompt, 20, cached=True, temperature=0, keep_logits=True)
    b, lb = generate(eng.T, model, prompt, 20, cached=False, temperature=0, keep_logits=True)
    np.testing.assert_array_equal(a, b)
    assert np.abs(la - lb).max() <= 1e-10
    # a multi-token step through the cache (the prompt after a cached prefix) is masked correctly too
    cache = KVCache(LLAMA.n_layer)
    ids = eng.tensor(np.random.default_rng(7).integers(0, 30, (1, 12)))
    with eng.T.no_grad():
        model(ids[:, :4], cache=cache)
        part, _ = model(ids[:, 4:], cache=cache)
        whole, _ = model(ids)
    np.testing.assert_allclose(eng.numpy(part), eng.numpy(whole)[:, 4:], atol=1e-10)


# ---------------------------------------------------------------- BERT

def test_bert_is_the_same_function_in_both_libraries():
    cfg = BertConfig(vocab_size=40, max_len=12, n_layer=2, n_head=2, dim=16, hidden=32)
    ids = np.random.default_rng(8).integers(5, 40, (3, 12))
    ids[0, 9:] = 0   # padding
    inputs, targets = mask_tokens(ids, 40, np.random.default_rng(9), rate=0.3)
    out = {}
    for eng in (ENG, REF):
        model = bert_classes(eng.T).Bert(cfg)
        eng.load_arrays(model, bert_init(model, np.random.default_rng(10)))
        out[eng.name] = (model.mlm_loss(eng.tensor(inputs), eng.tensor(targets)).item(),
                         eng.numpy(model.classify(eng.tensor(ids))))
    assert out["mlseries"][0] == pytest.approx(out["torch"][0], abs=1e-5)
    np.testing.assert_allclose(out["mlseries"][1], out["torch"][1], atol=1e-5)


def test_bert_masking_follows_80_10_10_and_never_touches_specials():
    ids = np.random.default_rng(11).integers(5, 500, (400, 50))
    ids[:, 0], ids[:, -1] = 2, 3                                  # [CLS], [SEP]
    inputs, targets = mask_tokens(ids, 500, np.random.default_rng(12))
    chosen = targets != -100
    assert 0.13 < chosen[:, 1:-1].mean() < 0.17 and not chosen[:, [0, -1]].any()
    assert 0.77 < (inputs[chosen] == MASK).mean() < 0.83
    assert 0.07 < (inputs[chosen] == ids[chosen]).mean() < 0.13  # kept as they were (plus a few random hits)
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])


# ---------------------------------------------------------------- LoRA

@pytest.mark.parametrize("eng", [ENG, REF], ids=["mlseries", "torch"])
def test_lora_starts_at_the_base_trains_only_adapters_and_merges_exactly(eng):
    cfg = GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)
    model = gpt_classes(eng.T).GPT(cfg)
    eng.load_arrays(model, gpt_init(model, np.random.default_rng(13), 2))
    x, y = (eng.tensor(a) for a in np.random.default_rng(14).integers(0, 20, (2, 3, 8)))
    with eng.T.no_grad():
        before, _ = model(x)
    layers = add_lora(eng.T, model, rank=4, alpha=8)
    assert len(layers) == 4 * cfg.n_layer                           # c_attn, attn.c_proj, c_fc, mlp.c_proj
    with eng.T.no_grad():
        np.testing.assert_allclose(eng.numpy(model(x)[0]), eng.numpy(before), atol=0)   # B = 0
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.endswith(("lora_A", "lora_B")) for n in trainable)
    opt = eng.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p.grad is None for n, p in model.named_parameters() if not p.requires_grad)
    with eng.T.no_grad():
        adapted, _ = model(x)
        for layer in layers:
            layer.merge()
        merged, _ = model(x)
    assert np.abs(eng.numpy(adapted) - eng.numpy(before)).max() > 1e-4    # it learned something
    np.testing.assert_allclose(eng.numpy(merged), eng.numpy(adapted), atol=1e-5)


# ---------------------------------------------------------------- the tokenizer lesson

def test_the_first_merges_of_a_larger_vocabulary_are_the_smaller_tokenizer():
    text = "the theme of the thesis: then there were three thin thieves; 天地玄黄，宇宙洪荒。" * 20
    small, large = ByteLevelBPE.train(text, 290), ByteLevelBPE.train(text, 320)
    cut = ch12_tokenizer.truncated(large, 290 - 257)
    assert cut.merges == small.merges and len(cut) == len(small)
    for line in ("the thieves were there", "宇宙天地", "unseen words: zebra!"):
        assert cut.encode(line) == small.encode(line) and cut.decode(cut.encode(line)) == line


def test_token_text_shows_partial_characters_as_hex():
    gpt2 = ch12_tokenizer.datasets.gpt2_tokenizer()
    assert [ch12_tokenizer.token_text(t) for t in gpt2.tokens("床")] == ["<e5 ba>", "<8a>"]
    assert [ch12_tokenizer.token_text(t) for t in gpt2.tokens("光")] == ["光"]
    assert ch12_tokenizer.token_text(gpt2.tokens(" world")[0]) == " world"


# ---------------------------------------------------------------- engines and the shared loop

def test_engine_options_are_checked_before_running():
    engines.check("mlseries", "cpu")
    engines.check("torch", "cpu")
    with pytest.raises(engines.EngineError, match="CPU only.*--engine torch --device cuda"):
        engines.check("mlseries", "cuda")
    with pytest.raises(engines.EngineError, match="--engine must be one of"):
        engines.check("jax", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(engines.EngineError, match="no CUDA GPU.*use --device cpu"):
            engines.check("torch", "cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_refuses_cuda_without_a_gpu_and_names_the_fix():
    result = CliRunner().invoke(main, ["run", "ch12.gpt", "--quick", "--engine", "torch", "--device", "cuda"])
    assert result.exit_code == 2
    assert "no CUDA GPU" in result.output and "--device cpu" in result.output


def test_shared_image_loop_trains_a_torch_model_too():
    rng = np.random.default_rng(15)
    x, y = rng.normal(size=(60, 1, 4, 4)).astype(np.float32), rng.integers(0, 3, 60)
    x[np.arange(60), 0, 0, 0] = 3.0 * y                                     # learnable from one pixel
    for T in (ms, torch):
        model = T.nn.Sequential(T.nn.Flatten(), T.nn.Linear(16, 3))
        opt = T.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(20):
            train_epoch(model, opt, x, y, 10, np.random.default_rng(16))
        assert accuracy(model, x, y)[0] > 0.8


# ---------------------------------------------------------------- the lessons in quick mode

def test_ids_resolve_to_the_chapter():
    assert [les.id for les in course.resolve("ch12")] == list(LESSONS)


runs, test_quick_run_reaches_its_targets = quick_run_suite(LESSONS)


def test_bert_quick_numbers(runs):
    m = runs("ch12.bert")[2]["metrics"]
    assert m["mlm_loss_end"] < m["unigram_entropy"] < m["mlm_loss_start"]
    assert min(m["pretrained_accuracy"], m["scratch_accuracy"]) > m["majority_accuracy"]
