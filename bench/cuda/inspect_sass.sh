#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compiles bench/cuda/sass_probe.cu for one architecture (default sm_75, the T4) and reports, per
# stage-1 kernel: registers and spills (ptxas), SASS instructions, 128-bit global loads/stores
# (vectorised access) and local-memory loads/stores (LDL/STL: spills or stack arrays).
#
# Disassembler: cuobjdump/nvdisasm from the CUDA toolkit when they are on PATH. The toolkit used
# here (pip wheels of CUDA 13) ships neither; Debian's nvidia-cuda-toolkit 11.8 (non-free) has
# nvdisasm, which decodes sm_75 code but not the CUDA 13 ELF header: with NVDISASM pointing at
# it, the script rewrites the cubin header's ABI version and e_flags into the CUDA 11 layout
# (inspection only; the instruction encoding of sm_75 is unchanged).
#
# Usage: bench/cuda/inspect_sass.sh [ARCH] (e.g. 75, 90); NVCC, NVDISASM override the tools.
set -euo pipefail
arch=${1:-75}
root=$(cd "$(dirname "$0")/../.." && pwd)
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$nvcc" -std=c++17 -O3 -I"$root/include" -I"$root/cuda" -arch=sm_$arch -cubin -Xptxas -v \
  "$root/bench/cuda/sass_probe.cu" -o "$work/probe.cubin" 2>"$work/ptxas.txt"
echo "== ptxas (sm_$arch): registers and spills of the stage-1 kernels"
grep -A2 "elementwise_loss_kernel" "$work/ptxas.txt" | grep -E "entry|spill|Used" | sed 's/ptxas info *: //'

disasm() {
  if command -v cuobjdump >/dev/null && cuobjdump -sass "$work/probe.cubin" >"$work/probe.sass" 2>/dev/null; then
    return 0
  fi
  local nvd=${NVDISASM:-$(command -v nvdisasm || true)}
  [[ -n "$nvd" ]] || { echo "no cuobjdump/nvdisasm: set NVDISASM (see the header of this script)"; return 1; }
  if ! "$nvd" -c "$work/probe.cubin" >"$work/probe.sass" 2>/dev/null; then
    python3 - "$work/probe.cubin" "$work/probe_old.cubin" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
flags = struct.unpack_from("<I", b, 0x30)[0]
sm = (flags >> 8) & 0xFF                 # CUDA 12.8+/13 layout: SM in bits 8..15, ELF ABI version 8
b[8] = 7                                 # CUDA 11 layout: ABI version 7,
struct.pack_into("<I", b, 0x30, (sm << 16) | 0x500 | sm)  # EF_CUDA_SM | VIRTUAL_SM | 64BIT | TEXMODE
open(sys.argv[2], "wb").write(b)
PY
    "$nvd" -c "$work/probe_old.cubin" >"$work/probe.sass"
  fi
}
disasm || exit 1
echo "== SASS (sm_$arch) per stage-1 kernel: static instruction count, vector loads/stores, local memory"
awk '
  /^\.text\./ { kernel = ($0 ~ /elementwise_loss_kernel/) ? $0 : ""; next }
  kernel != "" && /^ +\/\*[0-9a-f]+\*\// {
    n[kernel]++
    if ($0 ~ /LDG[A-Z.]*\.128/) l128[kernel]++
    if ($0 ~ /STG[A-Z.]*\.128/) s128[kernel]++
    if ($0 ~ /LDG[A-Z.]*\.64/) l64[kernel]++
    if ($0 ~ /[^A-Z](LDL|STL)[ .]/) local_[kernel]++
  }
  END {
    for (k in n) {
      name = k; sub(/^\.text\._ZN8longtail4cuda6detail23elementwise_loss_kernelI/, "", name); sub(/EEvT_.*/, "", name)
      printf "%-52s %6d instr %3d LDG.128 %3d LDG.64 %3d STG.128 %2d LDL/STL\n", name, n[k], l128[k], l64[k], s128[k], local_[k]
    }
  }' "$work/probe.sass"
echo "== SASS (sm_$arch) per element: the math of one 16-element lane tile (tile_math_probe), instructions / 16"
awk '
  /^\.text\./ { kernel = ($0 ~ /tile_math_probe/) ? $0 : ""; next }
  kernel != "" && /^ +\/\*[0-9a-f]+\*\// && $0 !~ / NOP/ {
    n[kernel]++
    if ($0 ~ /MUFU/) mufu[kernel]++
  }
  END {
    for (k in n) {
      name = k; sub(/^\.text\._Z15tile_math_probeIN8longtail4math[0-9]+/, "", name); sub(/EE?vT_.*/, "", name)
      printf "%-30s %5d instr per tile, %5.1f per element (%3.1f MUFU)\n", name, n[k], n[k] / 16.0, mufu[k] / 16.0
    }
  }' "$work/probe.sass"
