#!/usr/bin/env bash
# Sets up everything mlseries needs on a fresh Debian/Ubuntu machine, idempotently:
#   - Debian data packages (Fashion-MNIST) and a CJK font for Chinese figure titles;
#   - a virtual environment in .venv with PyTorch's CPU build (for parity tests and
#     benchmarks only; lessons train on mlseries) and mlseries itself, editable, with test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(dataset-fashion-mnist fonts-noto-cjk)
missing=()
for p in "${debs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = none ]; then
    echo "setup: cannot install ${missing[*]} (not root, no sudo); Fashion-MNIST lessons will say how to install it." >&2
  else
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
echo "setup: done (.venv ready)"
