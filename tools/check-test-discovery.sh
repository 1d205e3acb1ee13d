#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every Catch2 test case must reach CTest. catch_discover_tests passes the names through CMake
# lists: a ';' in a name split one test into two that match nothing, an unbalanced bracket merged
# the rest of a binary's names into one entry, and in both cases the lost test cases did not run
# while CTest reported success. So: each binary's test cases == the CTest tests that run it.
# Only the build's own programs are Catch2 binaries (not cmake's skip messages, nor the mpirun
# and bash that run the MPI tests).
# Usage: tools/check-test-discovery.sh BUILD_DIR (after a build; run by tools/test.sh and .ci/run)
set -euo pipefail
build=${1:?usage: check-test-discovery.sh BUILD_DIR}
lost=0
while read -r count binary; do
  # (Catch2 v2's list commands exit with the number of test cases.)
  cases=$({ "$binary" --list-test-names-only || true; } | grep -c . || true)
  if (( cases != count )); then
    echo "test discovery: $binary has $cases test cases but CTest runs it $count times (a name CMake cannot list?)"
    lost=1
  fi
done < <(ctest --test-dir "$build" -N -V | sed -n 's/^[0-9]*: Test command: \([^ ]*\) .*/\1/p' |
         grep -F "$(cd "$build" && pwd -P)/" | sort | uniq -c)
if (( lost )); then exit 1; fi
echo "test discovery: every Catch2 test case of $build is a CTest test"
