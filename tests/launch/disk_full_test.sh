#!/usr/bin/env bash
# A full disk, for real: a size-limited tmpfs (needs root and mount; skipped otherwise).
#   1. sgm-data make into a tmpfs too small for the dataset: exit 1, one line naming the shard
#      and "No space left on device", no dataset and no staging directory left.
#   2. sgm-train on W=2 into a tmpfs that holds one checkpoint but not two: the second
#      checkpoint fails; the job ends with exit 1 within the timeout, one error line, both ranks
#      down, no staging directory left, the first checkpoint intact.
#   3. Space freed (tmpfs enlarged), the same command resumes from that checkpoint and ends with
#      the weights of an uninterrupted run, bit for bit.
# Usage: disk_full_test.sh BIN COMPARE SRC MPIEXEC
set -u
bin=$1 compare=$2 src=$3 mpiexec=$4
tmp=$(mktemp -d)
full=$tmp/full
mkdir -p "$full"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=40k tmpfs "$full" 2> /dev/null; then
  echo "SKIP: needs root and mount -t tmpfs (a size-limited file system)"
  rm -rf "$tmp"
  exit 77
fi
trap 'umount "$full" 2> /dev/null; rm -rf "$tmp"' EXIT
fail=0
no_staging() {  # no_staging DIR: nothing named *.tmp-* or *.tmp.* left below DIR
  local left
  left=$(find "$1" -name '*.tmp[-.]*' 2> /dev/null)
  if [ -n "$left" ]; then echo "FAIL: staging left behind: $left"; fail=1; else echo "  no staging left in $1"; fi
}
one_line() {  # one_line LOG: exactly one 'error:' line, naming the full disk
  local n
  n=$(grep -c "error:" "$1")
  echo "  error lines: $n: $(grep "error:" "$1" | head -n 1)"
  [ "$n" = 1 ] && grep -q "No space left on device" "$1" || { echo "FAIL: expected one error line about the full disk"; cat "$1"; fail=1; }
}

# 1. A dataset shard on a full disk (40 KiB; the dataset needs ~200 KiB).
"$bin/sgm-data" make --from shapes --num 256 --resolution 16 --out "$full/data" > "$tmp/data.log" 2>&1
code=$?
echo "1. sgm-data make on a full disk: exit $code"
[ $code = 1 ] || { echo "FAIL: expected exit 1"; fail=1; }
one_line "$tmp/data.log"
[ ! -e "$full/data" ] || { echo "FAIL: a partial dataset was left: $(ls -R "$full/data")"; fail=1; }
no_staging "$full"

# 2. Training: one checkpoint (~5.4 MB) fits in 8 MB, the second does not.
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
train() {  # train WORKDIR LOG
  timeout 300 "$mpiexec" -np 2 --oversubscribe --bind-to none "$bin/sgm-train" \
    --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data" \
    --training.batch_size=8 --training.n_iters=8 --training.snapshot_freq=1000 \
    --training.snapshot_freq_for_preemption=2 --optim.warmup=2 --training.snapshot_sampling=false \
    --dist.device=cpu --dist.threads=1 --dist.timeout=60 --workdir "$1" > "$2" 2>&1
}
train "$tmp/straight" "$tmp/straight.log" || { echo "FAIL: uninterrupted run"; cat "$tmp/straight.log"; exit 1; }
umount "$full" && mount -t tmpfs -o size=8m tmpfs "$full" || exit 1
start=$(date +%s)
train "$full/run" "$tmp/run.log"
code=$?
echo "2. sgm-train W=2, second checkpoint on a full disk: exit $code after $(($(date +%s) - start)) s"
[ $code = 1 ] || { echo "FAIL: expected exit 1"; cat "$tmp/run.log"; fail=1; }
one_line "$tmp/run.log"
pgrep -f "sgm-train.*$full/run" > /dev/null && { echo "FAIL: a rank is still running"; fail=1; }
no_staging "$full"
echo "  checkpoints left: $(ls "$full/run/checkpoints" | tr '\n' ' ')"
[ -d "$full/run/checkpoints/meta-00000002" ] || { echo "FAIL: the last good checkpoint is gone"; fail=1; }

# 3. Space freed: the restart resumes from step 2 and reaches the uninterrupted weights.
mount -o remount,size=64m "$full" || exit 1
train "$full/run" "$tmp/resume.log" || { echo "FAIL: restart after freeing space"; cat "$tmp/resume.log"; fail=1; }
grep -q "resumed from .*meta-00000002 at step 2" "$tmp/resume.log" || { echo "FAIL: did not resume from step 2"; cat "$tmp/resume.log"; fail=1; }
echo -n "3. resumed after freeing space vs uninterrupted: "
"$compare" "$tmp/straight/checkpoints/snapshot-00000008/weights.h5" \
  "$full/run/checkpoints/snapshot-00000008/weights.h5" 0 || fail=1
exit $fail
