#!/usr/bin/env bash
# Installs the Debian packages longtail needs to build, test and run, when they are missing.
# Usage: tools/install-deps.sh [--with-python]   (python: PyTorch etc. for the golden files and
# the PyTorch comparisons; not needed to build or test).
set -euo pipefail
pkgs=(cmake g++ make pkg-config libeigen3-dev catch2 libbenchmark-dev libopenblas-dev)
if [[ "${1:-}" == "--with-python" ]]; then
  pkgs+=(python3-torch python3-torchvision python3-numpy python3-sklearn libopenblas0-pthread)
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
