#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end checks of data-parallel training (longtail-train under mpirun), registered by
# CMakeLists.txt in this folder:
#   data_parallel_runs.sh match|resume|kill MPIEXEC LONGTAIL_TRAIN COMPARE_RUNS WORKDIR
# match:  2 ranks train the model of one process: weights within 1e-5 relative after 3 epochs,
#         the same metrics (longtail_compare_runs), and no rank held all training rows.
# resume: a checkpoint written by 2 ranks resumes in one process and one written by one process
#         resumes on 2 ranks; both end where the uninterrupted one-process run ends.
# kill:   a rank killed (SIGKILL) during training fails the whole job within a bounded time,
#         with mpirun's message naming the rank, instead of leaving the other rank waiting.
# The configuration is small (hidden 64) and has dropout, whose masks must not depend
# on which rank computes a row.
set -euo pipefail
case=$1 mpiexec=$2 train=$3 compare=$4 dir=$5
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
# The embedded generator made smaller (about 3800 training rows, 1000 features) keeps the five
# trainings of a case within seconds, also under the sanitizers.
common=(train --threads 1 --progress none --hidden 64 --batch 256 --lr 0.01 --dropout 0.2 --seed 3
  --generator head_topic_count=200 --generator vocabulary_size=1000)
one() { "$train" "${common[@]}" "$@"; }
two() { "$mpiexec" -np 2 --oversubscribe "$train" "${common[@]}" "$@"; }
fail() {
  echo "FAILED: $*"
  exit 1
}

case $case in
  match)
    one --epochs 3 --checkpoint one.ltck --out one >one.txt
    two --epochs 3 --checkpoint two.ltck --out two >two.txt
    cat two.txt
    "$compare" one.ltck two.ltck one/result.json two/result.json
    # Each rank held its shard only: the rows of the two ranks add up to the training split.
    total=$(sed -n 's/^data: *embedded-iab\/train: \([0-9]*\) rows.*/\1/p' two.txt)
    rows=($(sed -n 's/^  rank [0-9]*: \([0-9]*\) training rows.*/\1/p' two.txt))
    [[ -n "$total" && ${#rows[@]} -eq 2 ]] || fail "no per-rank lines in the output of 2 ranks"
    ((rows[0] + rows[1] == total)) || fail "ranks hold ${rows[*]} rows, the training split has $total"
    ((rows[0] < total && rows[1] < total)) || fail "a rank held every training row"
    echo "ranks held ${rows[*]} of $total training rows"
    ;;
  resume)
    one --epochs 3 --checkpoint ref.ltck >/dev/null
    two --epochs 1 --checkpoint from2.ltck >/dev/null
    one --epochs 3 --resume from2.ltck --checkpoint from2.ltck >/dev/null
    echo "== 2 ranks for epoch 1, then one process for 2-3, against one process throughout"
    "$compare" ref.ltck from2.ltck
    one --epochs 1 --checkpoint from1.ltck >/dev/null
    two --epochs 3 --resume from1.ltck --checkpoint from1.ltck >/dev/null
    echo "== one process for epoch 1, then 2 ranks for 2-3, against one process throughout"
    "$compare" ref.ltck from1.ltck
    ;;
  kill)
    # Long enough that it is still training when a rank is killed after the first checkpoint.
    "$mpiexec" -np 2 --oversubscribe "$train" "${common[@]}" --epochs 200 --patience 0 --checkpoint kill.ltck \
      >out.txt 2>&1 &
    launcher=$!
    for _ in $(seq 600); do
      [[ -f kill.ltck ]] && break
      kill -0 "$launcher" 2>/dev/null || fail "the job ended before its first epoch: $(cat out.txt)"
      sleep 0.1
    done
    [[ -f kill.ltck ]] || fail "no checkpoint after 60 s"
    ranks=($(pgrep -P "$launcher" || ps -o pid= --ppid "$launcher"))
    ((${#ranks[@]} == 2)) || fail "expected the 2 ranks as children of mpirun, found: ${ranks[*]}"
    kill -KILL "${ranks[1]}"
    echo "killed rank process ${ranks[1]} (of ${ranks[*]}) during training"
    start=$SECONDS
    while kill -0 "$launcher" 2>/dev/null; do
      if ((SECONDS - start > 60)); then
        kill -KILL "$launcher" "${ranks[0]}" 2>/dev/null || true
        fail "the job was still running 60 s after a rank was killed (the other rank hangs)"
      fi
      sleep 0.2
    done
    status=0
    wait "$launcher" || status=$?
    cat out.txt
    ((status != 0)) || fail "mpirun exited with 0 although a rank was killed"
    grep -qi "signal 9\|killed" out.txt || fail "mpirun's output does not say that a rank was killed"
    echo "the job failed (exit $status) $((SECONDS - start)) s after the kill"
    ;;
  *)
    fail "unknown case '$case'"
    ;;
esac
