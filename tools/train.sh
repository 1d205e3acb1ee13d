#!/usr/bin/env bash
# The main job: builds the reference trainer and runs it on its embedded default data (one
# configuration). Extra arguments go to longtail-train (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
build=${BUILD_DIR:-build-train}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLONGTAIL_BUILD_TESTS=OFF -DLONGTAIL_BUILD_BENCHMARKS=OFF \
  -DLONGTAIL_CUDA=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target longtail-train
exec "$build/examples/longtail-train" "$@"
