#!/usr/bin/env bash
# The watchdog and the launcher end a 2-rank job whose rank stalls or dies, within the timeout
# (2 s) plus a margin, with a message naming the cause; a healthy run shuts down cleanly.
#   Usage: watchdog_test.sh HELPER MPIEXEC
set -u
helper=$1
mpiexec=$2
limit=20  # seconds: timeout 2 s + heartbeat/abort/teardown margin on a loaded 2-core machine
failures=0

run() {  # mode, expected text (extended regex), expected exit: 0 or "nonzero"
  local mode=$1 pattern=$2 want=$3
  local start output rc elapsed
  start=$(date +%s%N)
  output=$(timeout 90 "$mpiexec" -np 2 --oversubscribe --bind-to none "$helper" "$mode" 2>&1)
  rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  elapsed=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  echo "--- $mode: exit $rc after ${elapsed}s"
  echo "$output" | grep -v '^ *$' | head -n 12
  local ok=1
  if [ "$want" = 0 ]; then [ "$rc" -eq 0 ] || ok=0; else [ "$rc" -ne 0 ] || ok=0; fi
  [ "$rc" -ne 124 ] || ok=0
  [ "$ms" -le $((limit * 1000)) ] || ok=0
  echo "$output" | grep -Eq "$pattern" || ok=0
  if [ $ok = 1 ]; then
    echo "[evidence] $mode: exit $rc in ${elapsed}s (limit ${limit}s), message matches /$pattern/"
  else
    echo "FAIL: $mode (want exit $want within ${limit}s and /$pattern/)"
    failures=$((failures + 1))
  fi
}

run ok "rank 0 finished: 32" 0
run outside "all_reduce #3 'step 3' .*has not finished after .*stalled: rank 1 on [^ ]+ has not reached it" nonzero
SGM_FAULT_STALL=1:3:60 run inside "all_reduce #3 'step 3' .*has not finished after .*rank 1 on [^ ]+ issued it but has not started it" nonzero
run kill "signal 9|Killed|rank 1 on [^ ]+ silent" nonzero
run throw "injected failure on rank 0 with a collective in flight" nonzero
[ $failures = 0 ] && echo PASS || { echo "$failures case(s) failed"; exit 1; }
