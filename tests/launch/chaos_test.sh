#!/usr/bin/env bash
# Chaos: a 2-rank training whose ranks are killed with SIGKILL (one rank, not mpirun) at random
# moments, restarted after each kill. Every killed run must end non-zero, and every one of its
# ranks must be gone, within the watchdog timeout (mpirun may exit before a surviving rank has:
# the next round starts only when none is left, as under Slurm, which ends a step's whole cgroup);
# once a run gets through, the final weights must equal an uninterrupted run's bit for bit. The
# seed of the random moments is printed (CHAOS_SEED=... reproduces a run).
# Usage: chaos_test.sh BIN COMPARE SRC MPIEXEC
set -u
bin=$1 compare=$2 src=$3 mpiexec=$4
seed=${CHAOS_SEED:-$$}
RANDOM=$seed
tmp=$(mktemp -d)
trap 'pkill -9 -f "sgm-train.*$tmp" 2> /dev/null; rm -rf "$tmp"' EXIT
fail=0
N=30
timeout_s=20  # dist.timeout: how long a rank waits for a dead peer before the job ends
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
ranks_of_chaos() { pgrep -f "^$bin/sgm-train .*--workdir $tmp/chaos"; }  # live ranks (no zombies)
run() {  # run WORKDIR LOG: W=2 training to N steps
  timeout 300 "$mpiexec" -np 2 --oversubscribe --bind-to none "$bin/sgm-train" \
    --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data" \
    --training.batch_size=8 --training.n_iters=$N --training.snapshot_freq=1000 \
    --training.snapshot_freq_for_preemption=3 --optim.warmup=2 --training.snapshot_sampling=false \
    --dist.device=cpu --dist.threads=1 --dist.timeout=$timeout_s --workdir "$1" > "$2" 2>&1
}
start_ns=$(date +%s%N)
run "$tmp/straight" "$tmp/straight.log" || { echo "FAIL: uninterrupted run"; cat "$tmp/straight.log"; exit 1; }
straight_ms=$((($(date +%s%N) - start_ns) / 1000000))
echo "chaos seed $seed (the uninterrupted run took $straight_ms ms)"
kills=0
for round in 1 2 3 4 5 6; do
  run "$tmp/chaos" "$tmp/round$round.log" &
  launcher=$!
  # 10-80 % of the uninterrupted run's time: a fixed range would miss a run that got faster
  delay=$((straight_ms / 10 + RANDOM % (straight_ms * 7 / 10 + 1)))  # ms
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  mapfile -t ranks < <(ranks_of_chaos)
  if [ ${#ranks[@]} -lt 2 ] || [ $kills -ge 4 ]; then
    wait $launcher
    code=$?
    echo "round $round: not killed (${#ranks[@]} rank(s) alive after ${delay} ms), exit $code"
    [ $code = 0 ] && break
    echo "FAIL: an unkilled run ended with $code"; grep -v "^$" "$tmp/round$round.log" | tail -n 20
    fail=1; break
  fi
  victim=${ranks[$((RANDOM % ${#ranks[@]}))]}
  if ! kill -9 "$victim" 2> /dev/null; then  # it ended just now: the run is not a kill
    wait $launcher
    echo "round $round: the rank ended before the kill, exit $?"
    continue
  fi
  kills=$((kills + 1))
  start=$(date +%s)
  wait $launcher
  code=$?
  while ranks_of_chaos > /dev/null && [ $(($(date +%s) - start)) -le $((timeout_s + 30)) ]; do
    sleep 0.2
  done
  survivors=$(ranks_of_chaos | tr '\n' ' ')
  took=$(($(date +%s) - start))
  step=$(grep -o "saved .*meta-[0-9]*" "$tmp/round$round.log" | tail -n 1 | grep -o "[0-9]*$")
  echo "round $round: killed rank pid $victim after ${delay} ms (last checkpoint ${step:-none}); job exit $code, all ranks gone after $took s"
  [ $code != 0 ] || { echo "FAIL: a job with a killed rank exited 0"; fail=1; }
  [ -z "$survivors" ] || { echo "FAIL: rank(s) $survivors still alive $took s after the kill (watchdog $timeout_s s)"; fail=1; break; }
done
[ $kills -ge 1 ] || { echo "FAIL: no rank was killed"; fail=1; }
grep -h "resumed from\|breaking the lock" "$tmp"/round*.log | sed 's/^/  /'
echo -n "after $kills kills, vs uninterrupted: "
final=$tmp/chaos/checkpoints/snapshot-000000$N/weights.h5
if [ -f "$final" ]; then
  "$compare" "$tmp/straight/checkpoints/snapshot-000000$N/weights.h5" "$final" 0 || fail=1
else
  echo "FAIL: the chaos run never reached step $N"; fail=1
fi
exit $fail
