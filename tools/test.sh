#!/usr/bin/env bash
# Builds everything (library tests, trainer, benchmarks; CUDA targets too when nvcc is found) and
# runs the whole test suite with CTest. The one test command of README.md and .ci/run.
# Environment: BUILD_DIR (default build), JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLONGTAIL_WARNINGS_AS_ERRORS=ON "$@"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

bash tools/check-test-discovery.sh "$build"
