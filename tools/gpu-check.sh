#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The one GPU check of longtail's CUDA kernels, for a machine with a CUDA device:
#   1. configure + build the CUDA tests and benchmarks (deps from .deps/, see
#      ../shared/tools/device-deps.sh; the system's when .deps/ is absent), and the CUDA usage
#      example (examples/cuda_quickstart.cu)
#   2. the GPU tests (all of them, including the 4.3e9-element 64-bit test) and the example
#   3. compute-sanitizer memcheck and racecheck on the GPU tests (without the [large] and [big]
#      cases, which would take minutes under instrumentation)
#   4. the GPU benchmarks (JSON) and 5. the PyTorch comparison (eager, torch.compile)
# then one summary: each step's status and time, and the issue's targets computed from the
# benchmark JSON. Logs go to $OUT (when set) or ./gpu-check-logs. Budget: under 6 minutes; later
# steps get what is left and the PyTorch step stops starting torch.compile rows when time runs
# short.
#
# Usage: tools/gpu-check.sh [--build-only]
#   --build-only   steps 1 only (a dry run on a machine without a GPU)
# Prebuilt binaries: the build takes ~150 s of a lent device's budget. Build here instead with
#   LONGTAIL_GPU_ARCH=90 bash tools/gpu-check.sh --build-only
# carry build-gpu/tests/cuda/longtail_cuda_tests, build-gpu/bench/cuda/longtail_cuda_bench and
# build-gpu/examples/longtail_cuda_quickstart (and .deps, for libbenchmark) to the device and
# run with LONGTAIL_GPU_PREBUILT=1: the build
# step is skipped when both binaries start there (libcudart.so.13 from the device's CUDA 13), and
# runs as usual when they do not.
# Environment: LONGTAIL_GPU_ARCH (default: the device's compute capability, else 90),
#              LONGTAIL_GPU_BUDGET (seconds, default 345), PYTHON (default: python3 with torch),
#              COMPUTE_SANITIZER (default: on PATH or in $CUDA_HOME/bin; skipped if absent).
set -uo pipefail

start=$(date +%s)
budget=${LONGTAIL_GPU_BUDGET:-345}
build_only=0
[[ "${1:-}" == "--build-only" ]] && build_only=1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
logs=${OUT:-$root/gpu-check-logs}
mkdir -p "$logs"
build=$root/build-gpu
summary=()

elapsed() { echo $(( $(date +%s) - start )); }
left() { echo $(( budget - $(elapsed) )); }
# step NAME TIMEOUT LOG COMMAND...: runs with a timeout, records status and seconds.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  if (( limit < 5 )); then
    summary+=("$(printf '%-22s %-8s %5s  %s' "$name" SKIPPED - 'no time left')")
    return 1
  fi
  local t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$logs/$log" 2>&1
  local rc=$?
  local status=PASS
  (( rc == 124 || rc == 137 )) && status=TIMEOUT
  (( rc != 0 && rc != 124 && rc != 137 )) && status="FAIL($rc)"
  summary+=("$(printf '%-22s %-8s %4ss  %s' "$name" "$status" $(( $(date +%s) - t0 )) "$log")")
  echo "[$(elapsed)s] $name: $status (log: $logs/$log)"
  return $rc
}

# ---- 1. build ------------------------------------------------------------------------------------
deps=$root/.deps/usr
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DLONGTAIL_CUDA=ON -DLONGTAIL_BUILD_EXAMPLES=OFF -DLONGTAIL_INSTALL=OFF)
if [[ -d "$deps" ]]; then
  cmake_args+=(-DCMAKE_PREFIX_PATH="$deps" -DEigen3_DIR="$deps/share/eigen3/cmake")
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
arch=${LONGTAIL_GPU_ARCH:-}
if [[ -z "$arch" ]] && command -v nvidia-smi >/dev/null; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
fi
arch=${arch:-90}
nvidia-smi >"$logs/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi / no driver" >"$logs/nvidia-smi.txt"
jobs=$(nproc)
tests=$build/tests/cuda/longtail_cuda_tests
bench=$build/bench/cuda/longtail_cuda_bench
quickstart=$build/examples/longtail_cuda_quickstart  # examples/cuda_quickstart.cu, built by nvcc directly
for d in "${CUDA_HOME:-/usr/local/cuda}"/lib64 "${CUDA_HOME:-/usr/local/cuda}"/lib; do
  [[ -d "$d" ]] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
# (Catch2's list commands exit with a count, so "starts" means "lists its tests".)
if [[ -n "${LONGTAIL_GPU_PREBUILT:-}" ]] && (( ! build_only )) && [[ -x "$tests" && -x "$bench" ]] &&
   { "$tests" --list-test-names-only 2>/dev/null || true; } | grep -q "cuda device math" &&
   { "$bench" --benchmark_list_tests 2>/dev/null || true; } | grep -q "focal_fwd_bwd"; then
  summary+=("$(printf '%-22s %-8s %5s  %s' build PREBUILT - 'carried binaries start here')")
  echo "[$(elapsed)s] build: prebuilt binaries"
  built=0
else
  step configure 120 configure.log cmake -S . -B "$build" "${cmake_args[@]}" -DCMAKE_CUDA_ARCHITECTURES="$arch"
  build_limit=$(( $(left) < 240 ? $(left) : 240 ))
  (( build_only )) && build_limit=7200  # a dry run on a slow machine: no budget
  step build $build_limit build.log \
    cmake --build "$build" -j"$jobs" --target longtail_cuda_tests longtail_cuda_bench
  built=$?
  # The CUDA usage example, outside CMake (the examples folder also builds the trainer): a failure
  # here fails only this step.
  nvcc=$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
  mkdir -p "$(dirname "$quickstart")"
  step "example build" $(( $(left) < 60 ? $(left) : 60 )) example-build.log \
    "${nvcc:-nvcc}" -std=c++17 -O2 -I"$root/include" -I"$root/cuda" -arch=sm_"$arch" \
    "$root/examples/cuda_quickstart.cu" -o "$quickstart"
fi

if (( build_only )); then
  printf '\n==== gpu-check (build only, sm_%s) ====\n' "$arch"
  printf '%s\n' "${summary[@]}"
  exit $built
fi

# ---- 2-5. run ------------------------------------------------------------------------------------
sanitizer=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer ||
  ls "${CUDA_HOME:-/usr/local/cuda}"/bin/compute-sanitizer /usr/local/cuda*/bin/compute-sanitizer \
     /opt/nvidia/*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)}
python=${PYTHON:-}
if [[ -z "$python" ]]; then
  for p in python3 /usr/bin/python3 python; do
    if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then python=$p; break; fi
  done
fi
if (( built == 0 )); then
  step "gpu tests" $(( $(left) < 120 ? $(left) : 120 )) tests.log "$tests" --durations yes
  # Its float loss should equal the CPU's to 1e-5: examples/quickstart.cpp prints 0.098124.
  [[ -x "$quickstart" ]] && step "cuda quickstart" 30 quickstart.log "$quickstart"
  if [[ -n "$sanitizer" ]]; then
    step memcheck $(( $(left) - 150 < 75 ? $(left) - 150 : 75 )) memcheck.log \
      "$sanitizer" --tool memcheck --error-exitcode 99 --print-limit 20 "$tests" '[cuda]~[large]~[big]~[host]'
    step racecheck $(( $(left) - 130 < 40 ? $(left) - 130 : 40 )) racecheck.log \
      "$sanitizer" --tool racecheck --error-exitcode 99 --print-limit 20 "$tests" '[cuda][gpu]~[large]~[big]~[parity]'
  else
    summary+=("$(printf '%-22s %-8s %5s  %s' sanitizers SKIPPED - 'compute-sanitizer not found')")
  fi
  step benchmarks $(( $(left) - 70 < 100 ? $(left) - 70 : 100 )) bench.log \
    "$bench" --benchmark_min_time=0.1 --benchmark_out="$logs/bench.json" --benchmark_out_format=json
  if [[ -n "$python" ]]; then
    compile_budget=$(( $(left) - 45 ))
    step "pytorch compare" $(( $(left) - 5 )) pytorch.log \
      "$python" bench/compare_pytorch_cuda.py --longtail-json "$logs/bench.json" --json "$logs/pytorch.json" \
      --budget-seconds $(( compile_budget > 10 ? compile_budget : 10 )) --repeats 20
  else
    summary+=("$(printf '%-22s %-8s %5s  %s' 'pytorch compare' SKIPPED - 'no python with torch')")
  fi
fi

# ---- summary -------------------------------------------------------------------------------------
printf '\n==== gpu-check summary (%ss, sm_%s, %s) ====\n' "$(elapsed)" "$arch" \
  "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
printf '%s\n' "${summary[@]}"
[[ -f "$logs/tests.log" ]] && grep -E "^(All tests passed|test cases:)" "$logs/tests.log" | tail -1
[[ -f "$logs/quickstart.log" ]] && sed 's/^/cuda quickstart: /' "$logs/quickstart.log"
for tool in memcheck racecheck; do
  [[ -f "$logs/$tool.log" ]] && echo "$tool: $(grep -E 'ERROR SUMMARY' "$logs/$tool.log" | tail -1)"
done
if [[ -f "$logs/bench.json" && -n "$python" ]]; then
  "$python" - "$logs/bench.json" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
rows = {b["name"].replace("/manual_time", ""): b for b in data["benchmarks"]
        if not b.get("error_occurred") and b.get("run_type") == "iteration"}
rate = {name: b.get("bytes_per_second") for name, b in rows.items()}
print(f"device: {data['context'].get('cuda_device', '?')}")
print("time: per call within back-to-back calls that rotate through input sets larger than L2 together;")
print("one call: a lone call's latency (host launch included); L2 hot: back-to-back calls on one input set")
print(f"{'benchmark':52} {'time us':>8} {'one call':>8} {'GB/s':>7} {'copy GB/s':>9} {'of copy':>7} "
      f"{'L2 hot us':>9} {'of copy':>7}")
for name, r in rate.items():
    if name.startswith("copy_same_bytes") or r is None:
        continue
    copy_name = "copy_same_bytes/" + name.split("/", 1)[1]
    copy = rate.get(copy_name)
    frac = f"{r / copy:7.1%}" if copy else "      -"
    b = rows[name]
    hot = b.get("l2_hot_us", float("nan"))
    copy_hot = rows[copy_name].get("l2_hot_us") if copy_name in rows else None
    hot_frac = f"{copy_hot / hot:7.1%}" if copy_hot and hot else "      -"
    mark = ""
    if name.startswith("focal_fwd_bwd/float/uint8/") and copy:
        mark = "  target >= 80%: " + ("met" if r / copy >= 0.8 else "NOT met")
    print(f"{name:52} {b['real_time']:8.1f} {b.get('one_call_us', float('nan')):8.1f} {r / 1e9:7.0f} "
          f"{copy / 1e9 if copy else float('nan'):9.0f} {frac:>7} {hot:9.1f} {hot_frac:>7}{mark}")
EOF
fi
if [[ -f "$logs/pytorch.json" && -n "$python" ]]; then
  "$python" - "$logs/pytorch.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
for r in rows:
    if r["loss"] == "focal" and r["rows"] == 65536 and r["ratio"]:
        need = {"eager": 10, "compile": 3}.get(r["variant"])
        verdict = f"  target >= {need}x: " + ("met" if r["ratio"] >= need else "NOT met") if need else ""
        print(f"65536x698 focal vs PyTorch {r['variant']}: longtail is {r['ratio']:.1f}x faster{verdict}")
EOF
fi
echo "logs: $logs"
failed=0
for line in "${summary[@]}"; do [[ "$line" == *FAIL* || "$line" == *TIMEOUT* ]] && failed=1; done

# ==== PyTorch adapter (torch/, tests/torch/test_cuda.py, bench/bench_torch_adapter.py) ============
# Its own budget (LONGTAIL_GPU_TORCH_BUDGET, default 240 s) after the kernels' checks above:
# builds longtail._C with CUDA against the device's PyTorch (Torch's CMake config from
# torch.utils.cmake_prefix_path; pybind11 from its CMake package, else the headers PyTorch ships),
# runs the adapter's GPU tests (parity with the CPU path and torchvision on CUDA tensors, gradient
# vs the float64 reference, storage types, graph capture) and the PyTorch-level benchmark, whose
# "adapter overhead vs raw" rows are the adapter's share of the launcher's throughput (target: the
# adapter reaches >= 90% of the raw kernel's throughput, i.e. overhead <= 11%).
# Skipped with --build-only (above) and when no python with a CUDA-enabled torch is found.
torch_start=$(date +%s)
torch_budget=${LONGTAIL_GPU_TORCH_BUDGET:-240}
torch_left() { echo $(( torch_budget - ($(date +%s) - torch_start) )); }
torch_summary=()
torch_step() {  # like step(), into torch_summary
  local name=$1 limit=$2 log=$3
  shift 3
  if (( limit < 5 )); then torch_summary+=("$(printf '%-22s %-8s' "$name" SKIPPED)"); return 1; fi
  local t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$logs/$log" 2>&1
  local rc=$? status=PASS
  (( rc == 124 || rc == 137 )) && status=TIMEOUT
  (( rc != 0 && rc != 124 && rc != 137 )) && status="FAIL($rc)"
  torch_summary+=("$(printf '%-22s %-8s %4ss  %s' "$name" "$status" $(( $(date +%s) - t0 )) "$log")")
  echo "[torch $(( $(date +%s) - torch_start ))s] $name: $status (log: $logs/$log)"
  return $rc
}
if [[ -n "$python" ]] && "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  torch_build=$root/build-gpu-torch
  torch_prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  pybind_dir=$("$python" -c 'import pybind11; print(pybind11.get_cmake_dir())' 2>/dev/null || true)
  torch_step "torch configure" $(( $(torch_left) < 90 ? $(torch_left) : 90 )) torch-configure.log     cmake -S . -B "$torch_build" -DCMAKE_BUILD_TYPE=Release -DLONGTAIL_CUDA=ON -DLONGTAIL_TORCH=ON       -DLONGTAIL_BUILD_TESTS=OFF -DLONGTAIL_BUILD_BENCHMARKS=OFF -DLONGTAIL_BUILD_EXAMPLES=OFF -DLONGTAIL_INSTALL=OFF       -DCMAKE_CUDA_ARCHITECTURES="$arch" "-DCMAKE_PREFIX_PATH=$torch_prefix${deps:+;$deps}"       -DPython3_EXECUTABLE="$(command -v "$python")" ${pybind_dir:+-Dpybind11_DIR="$pybind_dir"} &&
  torch_step "torch build" $(( $(torch_left) - 60 )) torch-build.log     cmake --build "$torch_build" -j"$jobs" --target longtail_python &&
  "$python" -c "import sys; sys.path.insert(0, '$torch_build/python'); import longtail; sys.exit(0 if longtail.with_cuda else 1)" &&
  {
    PYTHONPATH="$torch_build/python:$root/tests/torch" torch_step "torch gpu tests" $(( $(torch_left) - 40 ))       torch-tests.log "$python" -m pytest -q -p no:cacheprovider tests/torch/test_cuda.py
    PYTHONPATH="$torch_build/python" torch_step "torch gpu bench" $(( $(torch_left) )) torch-bench.log       "$python" bench/bench_torch_adapter.py --device cuda --repeats 10 --json "$logs/torch-bench.json"
  }
  [[ ${#torch_summary[@]} -gt 0 ]] || torch_summary+=("torch adapter: built without CUDA (is torch's libtorch CUDA-enabled?)")
else
  torch_summary+=("$(printf '%-22s %-8s %5s  %s' 'torch adapter' SKIPPED - 'no python with a CUDA-enabled torch')")
fi
printf '\n==== gpu-check: PyTorch adapter ====\n'
printf '%s\n' "${torch_summary[@]}"
[[ -f "$logs/torch-tests.log" ]] && tail -3 "$logs/torch-tests.log"
[[ -f "$logs/torch-bench.log" ]] && grep -E "^- |^\| " "$logs/torch-bench.log"
for line in "${torch_summary[@]}"; do [[ "$line" == *FAIL* || "$line" == *TIMEOUT* ]] && failed=1; done
exit $failed
