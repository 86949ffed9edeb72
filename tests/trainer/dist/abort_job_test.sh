#!/usr/bin/env bash
# One failing rank brings the whole job down: rank 1 fails, rank 0 is stuck in a collective.
# Passes when `mpirun -np 2 HELPER` ends with the expected non-zero code within the limit and
# the output names the failure.   Usage: abort_job_test.sh HELPER MPIEXEC EXPECTED_CODE
set -u
helper=$1
mpiexec=$2
want=$3
limit=30
start=$(date +%s)
output=$(timeout $((limit + 30)) "$mpiexec" -np 2 --oversubscribe --bind-to none "$helper" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
echo "$output" | tail -n 20
echo "[evidence] exit code $rc after ${elapsed}s (limit ${limit}s)"
[ "$rc" -eq "$want" ] || { echo "FAIL: exit code $rc, want $want"; exit 1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung"; exit 1; }
[ "$elapsed" -le "$limit" ] || { echo "FAIL: took ${elapsed}s"; exit 1; }
echo "$output" | grep -q "injected failure on rank 1" || { echo "FAIL: failure not reported"; exit 1; }
echo "PASS"
