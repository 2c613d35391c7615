"""Real English → Chinese sentence pairs: the interface strings of Debian programs.

Programs that speak Chinese ship gettext catalogs (`/usr/share/locale/zh_CN/LC_MESSAGES/*.mo`)
written by human translators. From the catalogs of a fixed list of Debian packages (installed by
`scripts/setup.sh`) we keep the strings that read as a short sentence:

- one line, no tab; keyboard mnemonics removed ("_Open" → "Open", "打开(_O)" → "打开");
- no format codes (%s, %1$d, {name}, $VAR …): a pair with one is dropped rather than patched,
  because the Chinese word order around a removed code is often no longer a sentence;
- 3 to 12 English words, letters and ordinary punctuation only (no options, paths, markup,
  file names or keyword lists);
- the Chinese has Chinese characters, and any Latin word in it also appears in the English
  (names such as GPG or URL), so half-translated strings are left out;
- identical English strings (compared without case and final punctuation) are kept once,
  with their most common translation.

The split is fixed by a hash of the English (CRC-32 modulo 20: 0 → test, 1 → validation, the
rest training), so it does not change when a catalog gains or loses strings. These are
interface strings ("Could not open the file", "Show hidden files"), not everyday sentences.
"""

import re
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ..utils.data import Dataset
from ._convert import to_tensor
from ._install import SETUP
from .errors import DatasetNotFoundError
from .gettext_mo import read_mo
from .text import Vocab, pad_sequences

LOCALE_DIR = Path("/usr/share/locale/zh_CN/LC_MESSAGES")

# Debian package -> its catalogs (domain names), in the order their pairs are taken.
# Small packages with light dependencies; most are on every Debian system already.
PACKAGES = {
    "coreutils": ("coreutils",),
    "tar": ("tar",),
    "grep": ("grep",),
    "sed": ("sed",),
    "findutils": ("findutils",),
    "diffutils": ("diffutils",),
    "dpkg": ("dpkg",),
    "apt": ("apt",),
    "libapt-pkg6.0": ("libapt-pkg6.0",),
    "bash": ("bash",),
    "wget": ("wget",),
    "gnupg-l10n": ("gnupg2",),
    "libc-l10n": ("libc",),
    "make": ("make",),
    "gettext": ("gettext-tools",),
    "login": ("shadow",),
    "libglib2.0-data": ("glib20",),
    "libgtk-3-common": ("gtk30", "gtk30-properties"),
    "gnome-desktop3-data": ("gnome-desktop-3.0",),
    "nautilus-data": ("nautilus",),
    "gedit-common": ("gedit",),
    "evince-common": ("evince",),
    "totem-common": ("totem",),
    "rhythmbox-data": ("rhythmbox",),
    "gnome-control-center-data": ("gnome-control-center-2.0",),
    "gnome-shell-common": ("gnome-shell",),
    "gnome-software-common": ("gnome-software",),
    "thunar-data": ("thunar",),
    "vlc-l10n": ("vlc",),
    "gimp-data": ("gimp20", "gimp20-std-plug-ins"),
}
INSTALL = "sudo apt-get install " + " ".join(PACKAGES)

_FORMAT = re.compile(r"%(\d+\$)?[-+ #0']*(\*|\d+)?(\.(\*|\d+))?(hh|h|ll|l|L|q|j|z|Z|t|I)?"
                     r"[diouxXeEfFgGaAcsSpnmC%]|%[<(]|\{[^}]*\}|\$\{?[A-Za-z_]")
_MNEMONIC_ZH = re.compile(r"\s*[(（]\s*[_&][A-Za-z0-9]\s*[)）]")   # 打开(_O)
_MNEMONIC = re.compile(r"[_&](?=\w)")
_ENGLISH_OK = re.compile(r"^[A-Za-z][A-Za-z0-9 ,.:'’!?()\-…]*$")
_CODE_LIKE = re.compile(r"--|\(\?|\w\.\w")          # options, regex syntax, file.c names
_CHINESE = re.compile(r"[\u3400-\u9fff]")
_CHINESE_BAD = re.compile(r"[<>=\\|{}\[\]@#*_/;]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_TRAILING = re.compile(r"[\s.。…:：!！?？]+$")
SPLITS = ("train", "validation", "test")


def clean_pair(english, chinese):
    """(english, chinese) cleaned, or None when the pair is not a short sentence pair."""
    if not english or not chinese or english == chinese:
        return None
    if any(c in s for s in (english, chinese) for c in "\n\t"):
        return None
    if _FORMAT.search(english) or _FORMAT.search(chinese):
        return None
    chinese = _MNEMONIC.sub("", _MNEMONIC_ZH.sub("", chinese))
    english = _MNEMONIC.sub("", english)
    english, chinese = " ".join(english.split()), " ".join(chinese.split())
    if (not 3 <= len(english.split()) <= 12 or not _ENGLISH_OK.match(english)
            or _CODE_LIKE.search(english)):
        return None
    if not _CHINESE.search(chinese) or _CHINESE_BAD.search(chinese):
        return None
    english_words = {w.lower() for w in _LATIN_WORD.findall(english)}
    if any(w.lower() not in english_words for w in _LATIN_WORD.findall(chinese)):
        return None
    return english, chinese


def _key(english):
    return _TRAILING.sub("", english).lower()


def split_of(english):
    """"train", "validation" or "test": fixed by the CRC-32 of the normalised English."""
    bucket = zlib.crc32(_key(english).encode("utf-8")) % 20
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def collect_pairs(catalogs):
    """Catalog paths (in priority order) -> (sorted [(english, chinese)], counts)."""
    found = defaultdict(Counter)      # key -> Counter of (english, chinese)
    first_seen = {}
    counts = Counter()
    for path in catalogs:
        for _, msgid, forms in read_mo(path):
            counts["strings"] += 1
            pair = clean_pair(msgid, forms[0])
            if pair is None:
                continue
            counts["kept"] += 1
            key = _key(pair[0])
            found[key][pair] += 1
            first_seen.setdefault(pair, len(first_seen))
    pairs = []
    for key, options in found.items():
        # the most common translation; among equals, the one met first
        pairs.append(min(options, key=lambda p: (-options[p], first_seen[p])))
    counts["unique"] = len(pairs)
    return sorted(pairs), dict(counts)


def installed_catalogs(locale_dir=LOCALE_DIR, packages=PACKAGES):
    """(paths of the catalogs present, names of the packages whose catalogs are missing)."""
    paths, missing = [], []
    for package, domains in packages.items():
        here = [Path(locale_dir) / f"{d}.mo" for d in domains]
        present = [p for p in here if p.is_file()]
        if len(present) < len(here):
            missing.append(package)
        paths += present
    return paths, missing


class SoftwareTranslations(Dataset):
    """English → simplified Chinese pairs from Debian programs' interface strings.

    split: "train", "validation", "test" (fixed by a hash of the English, about 90 / 5 / 5) or
    "all". Item i is (english, chinese). Words are the source tokens (lower-cased, punctuation
    split off) and characters the target tokens; `source_vocab` / `target_vocab` are built on
    the training split. `locale_dir` reads the catalogs from elsewhere (e.g. a test's).
    `.missing` names packages of the list whose catalogs are not installed (their pairs are
    simply absent); with none of them installed it is an error that says what to install.
    """

    def __init__(self, split="train", locale_dir=LOCALE_DIR, packages=PACKAGES, min_freq=1):
        if split not in SPLITS + ("all",):
            raise ValueError(f"SoftwareTranslations: split must be one of {SPLITS + ('all',)}, "
                             f"got {split!r}")
        catalogs, self.missing = installed_catalogs(locale_dir, packages)
        if not catalogs:
            raise DatasetNotFoundError(
                f"SoftwareTranslations: none of the zh_CN catalogs of {len(packages)} Debian "
                f"packages are in {locale_dir}; install them with `{INSTALL}` (or run `{SETUP}` "
                f"in the mlseries checkout)")
        pairs, counts = collect_pairs(catalogs)
        by_split = {s: [p for p in pairs if split_of(p[0]) == s] for s in SPLITS}
        counts.update({s: len(v) for s, v in by_split.items()}, catalogs=len(catalogs))
        self.split, self.counts = split, counts
        self.pairs = pairs if split == "all" else by_split[split]
        train_pairs = by_split["train"]
        self.source_vocab = Vocab.build((source_tokens(e) for e, _ in train_pairs), min_freq=min_freq)
        self.target_vocab = Vocab.build((list(z) for _, z in train_pairs), min_freq=min_freq)

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        return self.pairs[i]

    def tensors(self, max_source=None, max_target=None):
        """(source ids (N, S) ending in <eos>, target ids (N, T) as <bos> … <eos>), int64."""
        src = [self.source_vocab.encode(source_tokens(e), eos=True) for e, _ in self.pairs]
        tgt = [self.target_vocab.encode(list(z), bos=True, eos=True) for _, z in self.pairs]
        return (to_tensor(pad_sequences(src, max_source)[0]),
                to_tensor(pad_sequences(tgt, max_target)[0]))

    def summary(self):
        c = self.counts
        return (f"SoftwareTranslations: {c['catalogs']} catalogs, {c['strings']:,} strings, "
                f"{c['kept']:,} short sentence pairs, {c['unique']:,} unique; split train "
                f"{c['train']:,} / validation {c['validation']:,} / test {c['test']:,}"
                + (f"; not installed: {', '.join(self.missing)}" if self.missing else ""))

    def __repr__(self):
        return f"SoftwareTranslations(split={self.split!r}, {len(self)} pairs)"


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[^\sA-Za-z0-9]")


def source_tokens(english):
    """English -> lower-cased word and punctuation tokens: "Can't open it." -> can't open it ."""
    return _TOKEN.findall(english.lower())


def lengths(pairs):
    """(English word counts, Chinese character counts) as arrays, for the docs' statistics."""
    return (np.array([len(e.split()) for e, _ in pairs]), np.array([len(z) for _, z in pairs]))
