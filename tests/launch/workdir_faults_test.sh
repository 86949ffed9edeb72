#!/usr/bin/env bash
# Two jobs on one work directory, and what a kill -9 during a checkpoint write leaves:
#   1. a second sgm-train on a work directory that a live one holds: exit 2, one line naming
#      the holder (host, pid); the first keeps running and ends normally;
#   2. sgm-train killed with SIGKILL while a checkpoint is being written (its staging directory
#      on disk): the restart breaks the dead job's lock with a warning, removes the staging
#      directory, resumes from the last complete checkpoint, and ends with no staging left and the weights of an uninterrupted
#      run, bit for bit.
# Usage: workdir_faults_test.sh BIN COMPARE SRC
set -u
bin=$1 compare=$2 src=$3
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2> /dev/null; rm -rf "$tmp"' EXIT
fail=0
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
# The sgm-train command line for WORKDIR and N_ITERS, in the array `cmd` (run directly, so that
# $! is sgm-train's own PID).
command_for() {
  cmd=("$bin/sgm-train" --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data"
    --training.batch_size=8 --training.n_iters="$2" --training.snapshot_freq=1000
    --training.snapshot_freq_for_preemption=1 --optim.warmup=2 --training.snapshot_sampling=false
    --dist.device=cpu --dist.threads=1 --workdir "$1")
}
train() { command_for "$1" "$2"; "${cmd[@]}"; }

# 1. Two jobs, one work directory.
command_for "$tmp/a" 40
"${cmd[@]}" > "$tmp/a.log" 2>&1 &
first=$!
for _ in $(seq 200); do [ -e "$tmp/a/lock" ] && break; sleep 0.1; done
train "$tmp/a" 40 > "$tmp/b.log" 2>&1
code=$?
echo "1. second sgm-train on a held work directory: exit $code: $(grep error: "$tmp/b.log")"
[ $code = 2 ] || { echo "FAIL: expected exit 2"; cat "$tmp/b.log"; fail=1; }
[ "$(grep -c error: "$tmp/b.log")" = 1 ] || { echo "FAIL: expected one error line"; fail=1; }
grep -q "is in use by sgm-train on host $(hostname) (pid $first" "$tmp/b.log" || { echo "FAIL: the holder is not named"; fail=1; }
wait $first || { echo "FAIL: the first job did not end normally"; cat "$tmp/a.log"; fail=1; }
[ ! -e "$tmp/a/lock" ] || { echo "FAIL: the lock outlived its job"; fail=1; }

# 2. SIGKILL while a checkpoint is staged on disk.
N=12
train "$tmp/straight" $N > "$tmp/straight.log" 2>&1 || { echo "FAIL: straight run"; cat "$tmp/straight.log"; exit 1; }
killed=0
for attempt in $(seq 25); do
  rm -rf "$tmp/k"
  command_for "$tmp/k" $N
  "${cmd[@]}" > "$tmp/k.log" 2>&1 &
  pid=$!
  while kill -0 $pid 2> /dev/null; do
    # a checkpoint being written after one is complete (so the restart has one to resume from)
    if compgen -G "$tmp/k/checkpoints/*.tmp-*" > /dev/null &&
      ls "$tmp/k/checkpoints" 2> /dev/null | grep -qx 'meta-[0-9]*'; then
      kill -9 $pid
      killed=1
      break
    fi
  done
  wait $pid 2> /dev/null
  # the write may have been committed between the look and the kill: then try again
  compgen -G "$tmp/k/checkpoints/*.tmp-*" > /dev/null || killed=0
  [ $killed = 1 ] && break
done
[ $killed = 1 ] || { echo "FAIL: never caught a checkpoint being written"; exit 1; }
echo "2. killed -9 during a checkpoint write (attempt $attempt); left: $(cd "$tmp/k" && ls -d lock checkpoints/*.tmp-* 2> /dev/null | tr '\n' ' ')"
train "$tmp/k" $N > "$tmp/k2.log" 2>&1 || { echo "FAIL: restart"; cat "$tmp/k2.log"; fail=1; }
grep "breaking the lock\|left by a killed writer\|resumed from" "$tmp/k2.log" | sed 's/^/  /'
grep -q "breaking the lock.*its process is gone" "$tmp/k2.log" || { echo "FAIL: the dead job's lock was not broken"; fail=1; }
grep -q "left by a killed writer" "$tmp/k2.log" || { echo "FAIL: the staging directory was not removed"; fail=1; }
grep -q "resumed from" "$tmp/k2.log" || { echo "FAIL: the restart did not resume"; fail=1; }
left=$(find "$tmp/k" -name '*.tmp[-.]*')
[ -z "$left" ] || { echo "FAIL: left after the restart: $left"; fail=1; }
echo -n "  after the restart, vs uninterrupted: "
"$compare" "$tmp/straight/checkpoints/snapshot-000000$N/weights.h5" \
  "$tmp/k/checkpoints/snapshot-000000$N/weights.h5" 0 || fail=1
exit $fail
