#!/usr/bin/env bash
# Builds everything (library tests, trainer, benchmarks; CUDA targets too when nvcc is found; the
# PyTorch adapter when libtorch is found) with the `release` preset of CMakePresets.json and runs
# the whole test suite with CTest. The one test command of README.md and .ci/run.
# Environment: BUILD_DIR (default: the preset's build/), JOBS (default: all cores). Extra
# arguments go to the configure step (e.g. -DLONGTAIL_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake --preset release -B "$build" "$@"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

bash tools/check-test-discovery.sh "$build"
