#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Python package `longtail` (the PyTorch adapter, torch/README.md) into
# BUILD_DIR/python (default build-python/python). After it:
#   PYTHONPATH=build-python/python /usr/bin/python3 -c "import longtail"
# Needs the packages of tools/install-deps.sh (libtorch-dev, pybind11-dev, python3-dev, python3-torch).
# Usage: tools/build-python.sh [BUILD_DIR] [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-python}
shift || true
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLONGTAIL_TORCH=ON -DLONGTAIL_CUDA=OFF \
  -DLONGTAIL_BUILD_TESTS=OFF -DLONGTAIL_BUILD_BENCHMARKS=OFF -DLONGTAIL_BUILD_EXAMPLES=OFF "$@"
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target longtail_python
echo "built: PYTHONPATH=$build/python /usr/bin/python3 -c 'import longtail'"
