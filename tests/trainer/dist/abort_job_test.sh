#!/usr/bin/env bash
# One failing rank brings the whole job down: rank 1 throws, rank 0 is stuck in a barrier.
# Passes when mpirun ends non-zero within the limit and the output names the failure.
set -u
helper=$1
mpiexec=${2:-mpirun}
limit=30
start=$(date +%s)
output=$(timeout $((limit + 30)) "$mpiexec" -np 2 --oversubscribe --bind-to none "$helper" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
echo "$output" | tail -n 20
echo "[evidence] exit code $rc after ${elapsed}s (limit ${limit}s)"
[ "$rc" -ne 0 ] || { echo "FAIL: the job exited 0"; exit 1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung"; exit 1; }
[ "$elapsed" -le "$limit" ] || { echo "FAIL: took ${elapsed}s"; exit 1; }
echo "$output" | grep -q "injected failure on rank 1" || { echo "FAIL: failure not reported"; exit 1; }
echo "PASS"
