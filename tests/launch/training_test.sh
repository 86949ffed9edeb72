#!/usr/bin/env bash
# The training job end to end on CPU (issue 6, tests 1-4), with a small NCSN++ (dropout 0) on a
# procedural 16x16 dataset, batch 8:
#   1. W=1 and W=2 (same global batch): the same weights after N steps (tolerance printed);
#   2. N/2 steps (the run ends there), resume to N: bit-identical to N straight;
#   3. resume on W=2 from the W=1 checkpoint: within test 1's tolerance;
#   4. SIGUSR1 during a W=2 run: exit 3, restart continues to the straight run's weights exactly.
# Weights are compared through `sgm-eval export` files.   Usage: training_test.sh BIN COMPARE SRC MPIEXEC
set -u
bin=$1
compare=$2
src=$3
mpiexec=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
N=8
mpi2() { "$mpiexec" -np 2 --oversubscribe --bind-to none "$@"; }
train() {  # train WORKDIR N_ITERS [launcher...]
  local w=$1 n=$2
  shift 2
  "$@" "$bin/sgm-train" --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data" \
    --training.batch_size=8 --training.n_iters="$n" --training.log_freq=4 \
    --training.snapshot_freq=1000 --training.snapshot_freq_for_preemption=2 --optim.warmup=2 \
    --dist.device=cpu --workdir "$w" > "$w.log" 2>&1
}
export_to() { "$bin/sgm-eval" export --checkpoint "$1" --out "$2" > /dev/null || { echo "FAIL: export $1"; fail=1; }; }
check() {  # check NAME A B TOLERANCE
  echo -n "$1: "
  "$compare" "$2" "$3" "$4" || { echo "FAIL: $1"; fail=1; }
}

"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1

train "$tmp/w1" $N || { echo "FAIL: W=1 run"; cat "$tmp/w1.log"; exit 1; }
export_to "$tmp/w1" "$tmp/w1.h5"
train "$tmp/w2" $N mpi2 || { echo "FAIL: W=2 run"; cat "$tmp/w2.log"; exit 1; }
export_to "$tmp/w2" "$tmp/w2.h5"
check "1. W=1 vs W=2 after $N steps" "$tmp/w1.h5" "$tmp/w2.h5" 1e-6

train "$tmp/r1" $((N / 2)) && train "$tmp/r1" $N || { echo "FAIL: resume run"; fail=1; }
grep -q "resumed from .*-0000000$((N / 2)) at step $((N / 2))" "$tmp/r1.log" || { echo "FAIL: did not resume"; fail=1; }
export_to "$tmp/r1" "$tmp/r1.h5"
check "2. $((N / 2)) steps, resume, $((N / 2)) more vs $N straight (W=1)" "$tmp/w1.h5" "$tmp/r1.h5" 0

train "$tmp/r2" $((N / 2)) && train "$tmp/r2" $N mpi2 || { echo "FAIL: resume on W=2"; fail=1; }
export_to "$tmp/r2" "$tmp/r2.h5"
check "3. W=1 to step $((N / 2)), resumed on W=2 to $N vs W=1 straight" "$tmp/w1.h5" "$tmp/r2.h5" 1e-6

# 4. SIGUSR1 part-way through a longer W=2 run.
M=60
# mpirun itself must get the signal (it forwards SIGUSR1 to the ranks), so no shell in between.
"$mpiexec" -np 2 --oversubscribe --bind-to none "$bin/sgm-train" \
  --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data" --training.batch_size=8 \
  --training.n_iters=$M --training.log_freq=4 --training.snapshot_freq=1000 \
  --training.snapshot_freq_for_preemption=2 --optim.warmup=2 --dist.device=cpu \
  --workdir "$tmp/s" > "$tmp/s.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "step 4 " "$tmp/s.log" 2> /dev/null && break; sleep 0.2; done
kill -USR1 $pid
wait $pid
rc=$?
grep -E "stop signal" "$tmp/s.log" | head -n 1
[ $rc -eq 3 ] || { echo "FAIL: exit $rc after SIGUSR1, want 3"; tail -n 5 "$tmp/s.log"; fail=1; }
train "$tmp/s" $M mpi2 || { echo "FAIL: restart after SIGUSR1"; fail=1; }
train "$tmp/s_straight" $M mpi2 || { echo "FAIL: straight W=2 run"; fail=1; }
export_to "$tmp/s" "$tmp/s.h5"
export_to "$tmp/s_straight" "$tmp/s_straight.h5"
check "4. SIGUSR1 (exit $rc), restart, vs $M steps straight (W=2)" "$tmp/s_straight.h5" "$tmp/s.h5" 0

[ $fail = 0 ] && echo PASS || exit 1
