#!/usr/bin/env bash
# Wall time of the default 10-configuration sweep on the embedded data with N = 1 process and
# N = 2 MPI ranks, one job and one thread each (issue 13's target: N = 2 <= 0.6x N = 1).
# Runs alternate (1, 2, 1, 2, ...) so that a change in the machine's load hits both; prints each
# run with the load average before it, then the medians and their ratio.
# Usage: bench/mpi_sweep_scaling.sh [LONGTAIL_TRAIN] [REPEATS] [extra sweep flags...]
#   (default: build/examples/longtail-train, 2 repeats)
set -euo pipefail
bin=${1:-build/examples/longtail-train}
repeats=${2:-2}
shift $(($# > 2 ? 2 : $#))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
flags=(sweep --jobs 1 --threads 1 --progress none "$@")

run() {  # run N: prints the wall seconds of one sweep on N ranks
  local n=$1 out=$work/n$1 t0 t1
  rm -rf "$out"
  t0=$(date +%s.%N)
  if [ "$n" = 1 ]; then
    "$bin" "${flags[@]}" --out "$out" > "$out.log" 2>&1
  else
    mpirun -np "$n" --oversubscribe "$bin" "${flags[@]}" --out "$out" > "$out.log" 2>&1
  fi
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "longtail-train sweep scaling: $("$bin" --version); $(nproc) cores"
: > "$work/t1"
: > "$work/t2"
for i in $(seq "$repeats"); do
  for n in 1 2; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    t=$(run "$n")
    echo "$t" >> "$work/t$n"
    printf 'run %d  N = %d  %7.1f s  (load average before: %s)\n' "$i" "$n" "$t" "$load"
  done
done
m1=$(median < "$work/t1")
m2=$(median < "$work/t2")
printf 'median  N = 1: %.1f s   N = 2: %.1f s   N = 2 / N = 1 = %.2f\n' "$m1" "$m2" "$(echo "$m2 / $m1" | bc -l)"
# The two sweeps' results must agree (timing fields aside).
strip() { awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; ++i) if ($i ~ /seconds/) d[i] = 1 }
                   { for (i in d) $i = "-"; print }' "$1"; }
if diff <(strip "$work/n1/sweep.csv") <(strip "$work/n2/sweep.csv") > /dev/null; then
  echo "sweep.csv of N = 1 and N = 2: identical (timing columns aside)"
else
  echo "sweep.csv of N = 1 and N = 2 DIFFER" >&2
  exit 1
fi
