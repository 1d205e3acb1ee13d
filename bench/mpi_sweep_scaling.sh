#!/usr/bin/env bash
# Wall time of the default 10-configuration sweep on the embedded data with N = 1 process and
# N = 2 MPI ranks, one job and one thread each (issue 13's target: N = 2 <= 0.6x N = 1).
# Runs alternate (1, 2, 1, 2, ...) so that a change in the machine's load hits both. For each run
# it prints the wall time, the load average before it, and the CPU time (user + system) of every
# process: on a machine shared with other work the busiest rank's CPU time is what the wall time
# would be on cores of its own. Then the medians and their ratios, and a check that N = 1 and
# N = 2 wrote the same sweep.csv.
# Usage: bench/mpi_sweep_scaling.sh [LONGTAIL_TRAIN] [REPEATS] [extra sweep flags...]
#   (default: build/examples/longtail-train, 2 repeats). KEEP=DIR keeps the last runs' outputs.
set -euo pipefail
bin=$(realpath "${1:-build/examples/longtail-train}")
repeats=${2:-2}
shift $(($# > 2 ? 2 : $#))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
flags=(sweep --jobs 1 --threads 1 "$@")

# run N: one sweep on N ranks; leaves $work/nN.{wall,cpu.R,log} and $work/nN/ (its outputs).
run() {
  local n=$1 out=$work/n$1 t0 t1
  rm -rf "$out" "$out".cpu.*
  t0=$(date +%s.%N)
  # Each process reports its own CPU time (GNU time, user + system seconds).
  if [ "$n" = 1 ]; then
    /usr/bin/time -f "%U %S" -o "$out.cpu.0" "$bin" "${flags[@]}" --out "$out" > "$out.log" 2>&1
  else
    mpirun -np "$n" --oversubscribe bash -c '/usr/bin/time -f "%U %S" -o "$0.cpu.$OMPI_COMM_WORLD_RANK" "$@"' \
      "$out" "$bin" "${flags[@]}" --out "$out" > "$out.log" 2>&1
  fi
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc > "$out.wall"
}

cpu_of() { awk '{ print $1 + $2 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "longtail-train sweep scaling: $("$bin" --version); $(nproc) cores; flags: ${flags[*]}"
for i in $(seq "$repeats"); do
  for n in 1 2; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    run "$n"
    wall=$(cat "$work/n$n.wall")
    cpus=""
    busiest=0
    for r in $(seq 0 $((n - 1))); do
      c=$(cpu_of "$work/n$n.cpu.$r")
      cpus="$cpus $(printf '%.1f' "$c")"
      busiest=$(echo "if ($c > $busiest) $c else $busiest" | bc)
    done
    echo "$wall" >> "$work/wall$n"
    echo "$busiest" >> "$work/busiest$n"
    printf 'run %d  N = %d  wall %6.1f s  CPU s per rank:%s  (load average before: %s)\n' "$i" "$n" "$wall" "$cpus" \
      "$load"
  done
done
w1=$(median < "$work/wall1")
w2=$(median < "$work/wall2")
b1=$(median < "$work/busiest1")
b2=$(median < "$work/busiest2")
printf 'median wall       N = 1: %6.1f s   N = 2: %6.1f s   N = 2 / N = 1 = %.2f\n' "$w1" "$w2" "$(echo "$w2 / $w1" | bc -l)"
printf 'median busiest-rank CPU   N = 1: %6.1f s   N = 2: %6.1f s   N = 2 / N = 1 = %.2f\n' "$b1" "$b2" \
  "$(echo "$b2 / $b1" | bc -l)"
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  cp -r "$work"/n1 "$work"/n1.log "$work"/n2 "$work"/n2.log "$KEEP"/
fi
# The two sweeps' results must agree (timing fields aside).
strip() { awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; ++i) if ($i ~ /seconds/) d[i] = 1 }
                   { for (i in d) $i = "-"; print }' "$1"; }
if diff <(strip "$work/n1/sweep.csv") <(strip "$work/n2/sweep.csv") > /dev/null; then
  echo "sweep.csv of N = 1 and N = 2: identical (timing columns aside)"
else
  echo "sweep.csv of N = 1 and N = 2 DIFFER" >&2
  exit 1
fi
