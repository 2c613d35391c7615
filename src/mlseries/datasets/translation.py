"""A generated English → Chinese parallel corpus: numbers, dates and clock times in words.

Real translation data is a download; this corpus is made by rules, so every pair is correct,
the task has real structure (reordering, "and", zeros, 万 grouping, ordinals), and the lessons
can check exact match. Examples:

    three hundred and twenty-one               → 三百二十一
    twenty thousand three hundred              → 二万零三百
    the twenty-first of March two thousand and five → 二〇〇五年三月二十一日
    quarter to four                            → 三点四十五分

Conventions: English is British ("and" before the last part below 100); Chinese writes 二, not
两, inside numbers (二百, 二千, 二万) — a single written convention, easy to learn — except for
the hour, where Chinese always says 两点. Years are read digit by digit with 〇 for zero.
"""

import re

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor
from .text import Vocab, pad_sequences

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_SPECIAL = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                    "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ("January February March April May June July August September October "
           "November December").split()
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CN_DIGITS = "零一二三四五六七八九"
_CN_YEAR_DIGITS = "〇一二三四五六七八九"
MAX_NUMBER = 999_999
YEARS = range(1950, 2050)


def _below_100(n):
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _below_1000(n):
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_100(rest)
    words = f"{_ONES[hundreds]} hundred"
    return words + (f" and {_below_100(rest)}" if rest else "")


def english_number(n):
    """0 ≤ n ≤ 999 999 in British English words: 1005 → "one thousand and five"."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"english_number: {n} is outside 0..{MAX_NUMBER}")
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts.append(f"{_below_1000(thousands)} thousand")
    if rest:
        parts.append(f"and {_below_100(rest)}" if thousands and rest < 100 else _below_1000(rest))
    return " ".join(parts)


def _cn_group(n):
    """1 ≤ n ≤ 9999 in Chinese; one 零 stands for any run of zeros between digits."""
    out, zero_pending = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        out += _CN_DIGITS[d] + unit
    return out


def chinese_number(n):
    """0 ≤ n ≤ 999 999 in Chinese numerals: 15 → 十五, 105 → 一百零五, 110 → 一百一十,
    1005 → 一千零五, 20300 → 二万零三百, 100000 → 十万."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"chinese_number: {n} is outside 0..{MAX_NUMBER}")
    if n == 0:
        return "零"
    wan, rest = divmod(n, 10_000)
    out = f"{_cn_group(wan)}万" if wan else ""
    if rest:
        # a gap in the thousands place after 万 is spoken: 二万零三百
        out += ("零" if wan and rest < 1000 else "") + _cn_group(rest)
    # a leading 一十 is said 十 (十五, 十万), but not inside a number (一百一十)
    return out[1:] if out.startswith("一十") else out


def english_ordinal(n):
    """1 ≤ n ≤ 99: "first", "twenty-first", "thirtieth"."""
    words = _below_100(n)
    head, _, last = words.rpartition("-")
    if last in _ORDINAL_SPECIAL:
        last = _ORDINAL_SPECIAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}-{last}" if head else last


def english_year(year):
    """1950–2049 as spoken: "nineteen ninety-nine", "two thousand and five", "twenty twenty-one"."""
    if year not in YEARS:
        raise ValueError(f"english_year: {year} is outside {YEARS.start}..{YEARS.stop - 1}")
    if year == 2000:
        return "two thousand"
    if year < 2010 and year > 2000:
        return f"two thousand and {_ONES[year - 2000]}"
    high, low = divmod(year, 100)  # 1950–1999 and 2010–2049: two two-digit numbers
    return f"{_below_100(high)} {_below_100(low)}"


def date_pair(month, day, year=None):
    """(English, Chinese) for a date: ("the third of March", "三月三日")."""
    en = f"the {english_ordinal(day)} of {_MONTHS[month - 1]}"
    zh = f"{chinese_number(month)}月{chinese_number(day)}日"
    if year is not None:
        en += f" {english_year(year)}"
        zh = "".join(_CN_YEAR_DIGITS[int(c)] for c in str(year)) + "年" + zh
    return en, zh


def time_pair(hour, minute):
    """(English, Chinese) for a 12-hour clock time: ("twenty past three", "三点二十分")."""
    next_hour = hour % 12 + 1
    if minute == 0:
        en = f"{_ONES[hour]} o'clock"
    elif minute == 15:
        en = f"quarter past {_ONES[hour]}"
    elif minute == 30:
        en = f"half past {_ONES[hour]}"
    elif minute == 45:
        en = f"quarter to {_ONES[next_hour]}"
    elif minute < 30:
        unit = "" if minute % 5 == 0 else (" minute" if minute == 1 else " minutes")
        en = f"{_below_100(minute)}{unit} past {_ONES[hour]}"
    else:
        left = 60 - minute
        unit = "" if left % 5 == 0 else (" minute" if left == 1 else " minutes")
        en = f"{_below_100(left)}{unit} to {_ONES[next_hour]}"
    zh_hour = "两" if hour == 2 else chinese_number(hour)
    if minute == 0:
        zh = f"{zh_hour}点"
    elif minute == 30:
        zh = f"{zh_hour}点半"
    else:
        zh = f"{zh_hour}点{'零' if minute < 10 else ''}{chinese_number(minute)}分"
    return en, zh


def number_pair(n):
    return english_number(n), chinese_number(n)


def source_tokens(text):
    """English words, with the hyphen of "twenty-one" as its own token."""
    return re.findall(r"[A-Za-z']+|-", text)


def target_tokens(text):
    """Chinese: one token per character."""
    return list(text)


def _all_dates():
    return [(m, d) for m in range(1, 13) for d in range(1, _DAYS_IN_MONTH[m - 1] + 1)]


def _sample_numbers(rng, count):
    """`count` distinct numbers, as many of each length (1–6 digits) as there are room for, so
    small numbers are not drowned by six-digit ones."""
    chosen = set()
    lows = [0, 10, 100, 1000, 10_000, 100_000]
    highs = [9, 99, 999, 9999, 99_999, 999_999]
    while len(chosen) < count:
        k = rng.integers(0, 6)
        chosen.add(int(rng.integers(lows[k], highs[k] + 1)))
    return sorted(chosen)


def _all_dated():
    """Every valid (month, day, year or None) with a year from YEARS or no year."""
    out = []
    for year in [None, *YEARS]:
        leap = year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
        out += [(m, d, year) for m, d in _all_dates() if leap or (m, d) != (2, 29)]
    return out


def _sample_dates(rng, count):
    universe = _all_dated()
    if count > len(universe):
        raise ValueError(f"NumberTranslation: asked for {count} dates, only {len(universe)} exist")
    return [universe[i] for i in sorted(rng.choice(len(universe), size=count, replace=False))]


class NumberTranslation(Dataset):
    """English number words, dates and times → Chinese; item i is (english, chinese).

    `n_numbers`, `n_dates`, `n_times` distinct pairs of each kind (times: at most 720) are
    generated from `seed` and split per kind; train and test never share an English source.
    """

    KINDS = ("number", "date", "time")

    def __init__(self, split="train", n_numbers=16_000, n_dates=6_000, n_times=720,
                 test_fraction=0.1, seed=0):
        if split not in ("train", "test", "all"):
            raise ValueError(f"NumberTranslation: split must be 'train', 'test' or 'all', got {split!r}")
        if not 0 <= n_times <= 720:
            raise ValueError(f"NumberTranslation: n_times must be in 0..720 (12 × 60), got {n_times}")
        if not 0 <= n_numbers <= MAX_NUMBER + 1:
            raise ValueError(f"NumberTranslation: n_numbers must be in 0..{MAX_NUMBER + 1}, got {n_numbers}")
        rng = np.random.default_rng(seed)
        pools = {
            "number": [number_pair(n) for n in _sample_numbers(rng, n_numbers)],
            "date": [date_pair(*d) for d in _sample_dates(rng, n_dates)],
            "time": [time_pair(h, m) for h in range(1, 13) for m in range(60)],
        }
        pools["time"] = [pools["time"][i] for i in sorted(rng.permutation(720)[:n_times])]
        self.split, self.pairs, self.kinds = split, [], []
        self.counts = {}
        for kind in self.KINDS:
            pool = pools[kind]
            order = rng.permutation(len(pool))
            n_test = int(round(test_fraction * len(pool)))
            chosen = {"test": order[:n_test], "train": order[n_test:], "all": order}[split]
            self.counts[kind] = {"train": len(pool) - n_test, "test": n_test}
            self.pairs += [pool[i] for i in chosen]
            self.kinds += [kind] * len(chosen)
        self.source_vocab, self.target_vocab = translation_vocabs()

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, index):
        return self.pairs[index]

    def tensors(self, src_len=None, tgt_len=None):
        """(src ids (N, S), src lengths, tgt ids (N, T), tgt lengths) as int64 tensors.

        Sources end in <eos>; targets are <bos> … <eos> (teacher forcing feeds tgt[:, :-1] and
        predicts tgt[:, 1:]). Padding is 0 (<pad>).
        """
        src = [self.source_vocab.encode(source_tokens(en), eos=True) for en, _ in self.pairs]
        tgt = [self.target_vocab.encode(target_tokens(zh), bos=True, eos=True) for _, zh in self.pairs]
        src_ids, src_lengths = pad_sequences(src, src_len)
        tgt_ids, tgt_lengths = pad_sequences(tgt, tgt_len)
        return to_tensor(src_ids), to_tensor(src_lengths), to_tensor(tgt_ids), to_tensor(tgt_lengths)


def translation_vocabs():
    """The source and target vocabularies: built from a set of pairs that uses every word and
    character the generators can produce, so they never depend on the split or the seed."""
    pairs = [number_pair(n) for n in range(1100)]
    pairs += [number_pair(k * 1000) for k in range(1, 1000)]
    pairs += [date_pair(m, d, 2000) for m, d in _all_dates()]
    pairs += [date_pair(1, 1, y) for y in YEARS] + [date_pair(1, 1)]
    pairs += [time_pair(h, m) for h in range(1, 13) for m in range(60)]
    return (Vocab.build(source_tokens(en) for en, _ in pairs),
            Vocab.build(target_tokens(zh) for _, zh in pairs))
