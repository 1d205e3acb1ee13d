#!/usr/bin/env bash
# Installs the Debian packages longtail needs to build, test and run, when they are missing.
# Usage: tools/install-deps.sh [--with-python]   (python: OpenBLAS's threaded runtime for the
# golden files and the PyTorch comparisons; not needed to build or test). The default list
# includes libtorch, pybind11, Debian's PyTorch and clang-format (CI's formatting check), and
# scikit-learn, which the adapter's metrics are checked against.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libeigen3-dev catch2 libbenchmark-dev libopenblas-dev
      # the PyTorch adapter (torch/README.md): libtorch, the Python module and its tests
      libtorch-dev pybind11-dev python3-dev python3-torch python3-torchvision python3-numpy python3-pytest
      python3-sklearn clang-format
      # distributed runs of longtail-train (examples/trainer/distributed) and their tests
      libopenmpi-dev openmpi-bin)
if [[ "${1:-}" == "--with-python" ]]; then
  pkgs+=(libopenblas0-pthread)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
