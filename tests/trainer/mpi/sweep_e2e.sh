#!/usr/bin/env bash
# End-to-end checks of `longtail-train sweep` under mpirun on a small embedded data set (a few
# seconds per sweep). Usage: sweep_e2e.sh MODE MPIEXEC LONGTAIL_TRAIN WORKDIR
#   matches  mpirun -np 2 gives the single-process sweep.csv / sweep.json (timing fields aside;
#            sweep.json's weights_fnv1a makes it a bit-for-bit check of every model's weights)
#   killed   a rank killed with SIGKILL mid-sweep ends the job with mpirun's message (no hang);
#            sweep --resume then keeps the finished configurations, continues the others, and
#            gives the uninterrupted sweep's files; a resume with other settings is refused,
#            naming the setting
#   failure  a configuration that fails (its checkpoint cannot be written) is listed as failed
#            with its message, the others are ranked with their usual numbers, the exit status is 1
set -euo pipefail
mode=$1
mpiexec=$2
bin=$3
work=$4
rm -rf "$work"
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# 5 configurations (bce, cap_6.0, cap_6.0_focal_g3, cap_7.0, cap_7.0_focal_g3), 4 epochs each.
small=(--generator head_topic_count=40,tail_topic_count=3,vocabulary_size=400 --hidden 32 --epochs 4
       --patience 0 --cap 6,7 --gamma none,3 --jobs 1 --threads 1 --gemm eigen --progress lines)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The CSV and JSON without what depends on the machine's speed and the job layout.
normalise_csv() {
  awk -F, 'BEGIN { OFS = "," }
    NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "seconds" || $i == "train_seconds_per_epoch") drop[i] = 1 }
    { for (i in drop) $i = "-"; print }' "$1/sweep.csv"
}
normalise() {
  normalise_csv "$1"
  sed -E 's/"(seconds|train_seconds_per_epoch|jobs|ranks)": [^,}]*/"\1": -/g' "$1/sweep.json"
}

same_results() {
  diff <(normalise "$1") <(normalise "$2") > "$work/diff.txt" || {
    cat "$work/diff.txt" >&2
    fail "$1 and $2 differ (diff above)"
  }
}

sweep() {  # sweep OUT [extra flags]: one process
  local out=$1
  shift
  "$bin" sweep "${small[@]}" --out "$out" "$@"
}

mpi_sweep() {  # mpi_sweep OUT [extra flags]: two ranks
  local out=$1
  shift
  timeout 120 "$mpiexec" -np 2 --oversubscribe "$bin" sweep "${small[@]}" --out "$out" "$@"
}

case $mode in
  matches)
    sweep "$work/single" > "$work/single.txt"
    mpi_sweep "$work/mpi" > "$work/mpi.txt" 2> "$work/mpi.err" || { cat "$work/mpi.err" >&2; fail "mpirun sweep failed"; }
    same_results "$work/single" "$work/mpi"
    grep -q '"ranks": 2' "$work/mpi/sweep.json" || fail "sweep.json does not say 2 ranks"
    grep -q 'on 2 ranks, 1 in parallel on each' "$work/mpi.txt" || fail "the table does not say 2 ranks"
    grep -q '^\[rank 1\] sweep: 2 configuration(s) here: cap_6.0, cap_7.0$' "$work/mpi.err" ||
      fail "rank 1 did not train positions 1 and 3 of the grid"
    # Only the root prints the table.
    [ "$(grep -c '^rank ' "$work/mpi.txt")" = 1 ] || fail "the table was printed more than once"
    echo "OK: mpirun -np 2 gives the single-process sweep.csv and sweep.json"
    ;;

  killed)
    sweep "$work/reference" > /dev/null 2>&1
    # Rank 1 trains cap_6.0 then cap_7.0: it is killed once cap_6.0 has finished and cap_7.0 has a
    # checkpoint (so the resume has a finished configuration to keep and one to continue).
    ck=$work/killed/checkpoints
    start=$(date +%s)
    set +e
    timeout 120 "$mpiexec" -np 2 --oversubscribe bash -c '
      if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then
        ( for _ in $(seq 5000); do
            [ -e "$1/cap_6.0.result" ] && [ -e "$1/cap_7.0.ltck" ] && kill -9 $$ && break
            sleep 0.02
          done ) &
      fi
      shift
      exec "$@"' _ "$ck" "$bin" sweep "${small[@]}" --out "$work/killed" > "$work/killed.txt" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    [ $rc != 0 ] || fail "the job with a killed rank exited 0"
    [ $rc != 124 ] || fail "the job with a killed rank hung until timeout"
    [ $elapsed -lt 100 ] || fail "the job with a killed rank took $elapsed s to end"
    grep -Eq 'signal 9|Killed' "$work/killed.txt" || { cat "$work/killed.txt" >&2; fail "no message about the killed rank"; }
    [ -e "$ck/cap_6.0.result" ] || fail "cap_6.0 did not finish before the kill"
    [ ! -e "$ck/cap_7.0.result" ] || fail "cap_7.0 finished before the kill"
    [ ! -e "$work/killed/sweep.csv" ] || fail "the killed sweep wrote sweep.csv"
    [ -e "$work/killed/RUNNING" ] || fail "the killed sweep left no RUNNING marker"
    echo "OK: a killed rank ended the job in $elapsed s (exit $rc): $(grep -E 'signal 9|Killed' "$work/killed.txt" | head -1)"

    # Other settings: refused, naming the setting, on one process and on two ranks.
    set +e
    sweep "$work/killed" --resume --lr 0.002 > "$work/refused.txt" 2>&1
    rc1=$?
    mpi_sweep "$work/killed" --resume --lr 0.002 > "$work/refused-mpi.txt" 2>&1
    rc2=$?
    set -e
    for f in refused refused-mpi; do
      grep -q -- "--resume: .*sweep.settings was written by a sweep with --lr = '0.001' but this run has '0.002'" \
        "$work/$f.txt" || { cat "$work/$f.txt" >&2; fail "$f: the refusal does not name --lr"; }
    done
    [ $rc1 = 1 ] && [ $rc2 != 0 ] && [ $rc2 != 124 ] || fail "refused resumes exited $rc1 / $rc2"
    echo "OK: a resume with other settings is refused: $(grep -o -- "--resume: .*" "$work/refused.txt" | head -1)"

    mpi_sweep "$work/killed" --resume > "$work/resumed.txt" 2> "$work/resumed.err" ||
      { cat "$work/resumed.err" >&2; fail "the resumed sweep failed"; }
    grep -q 'sweep: kept   cap_6.0 (finished in an earlier run)' "$work/resumed.err" || fail "cap_6.0 was not kept"
    grep -q "sweep: resume cap_7.0 from $ck/cap_7.0.ltck" "$work/resumed.err" || fail "cap_7.0 was not resumed"
    grep -q 'sweep: start  cap_6.0$' "$work/resumed.err" && fail "cap_6.0 was trained again"
    same_results "$work/reference" "$work/killed"
    [ ! -e "$work/killed/RUNNING" ] || fail "the resumed sweep left the RUNNING marker"
    echo "OK: the resumed sweep kept $(grep -c 'sweep: kept' "$work/resumed.err") configuration(s) and gives the uninterrupted sweep's files"
    ;;

  failure)
    sweep "$work/reference" > /dev/null 2>&1
    # A folder where cap_7.0's checkpoint file should go: its first checkpoint cannot be written.
    mkdir -p "$work/failing/checkpoints/cap_7.0.ltck"
    set +e
    mpi_sweep "$work/failing" > "$work/failing.txt" 2> "$work/failing.err"
    rc=$?
    set -e
    [ $rc = 1 ] || { cat "$work/failing.err" >&2; fail "exit status $rc, expected 1"; }
    grep -q 'FAILED (1 of 5 configurations, not ranked):' "$work/failing.txt" || fail "no FAILED section"
    grep -q '^  cap_7.0: cannot write .*checkpoint' "$work/failing.txt" || { cat "$work/failing.txt" >&2; fail "no message"; }
    grep -q '^failed,cap_7.0,' "$work/failing/sweep.csv" || fail "sweep.csv does not list cap_7.0 as failed"
    grep -q '1 of 5 configurations failed' "$work/failing.err" || fail "no summary of the failure on stderr"
    # The others: the same numbers as in the full sweep (the improvement column too: bce is there).
    metrics() { normalise_csv "$1" | grep -v -e '^rank,' -e '^failed,' | cut -d, -f2- | sort; }
    diff <(metrics "$work/failing") <(metrics "$work/reference" | grep -v '^cap_7.0,') ||
      fail "the configurations that did not fail have other numbers"
    echo "OK: the failing configuration is reported ($(grep '^  cap_7.0:' "$work/failing.txt")), the 4 others are ranked"
    ;;

  *)
    fail "unknown mode $mode"
    ;;
esac
