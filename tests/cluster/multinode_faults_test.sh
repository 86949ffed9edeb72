#!/usr/bin/env bash
# Issue 34, node faults: 2 simulated nodes x 2 ranks train the quickstart-sized NCSN++ (24 steps,
# a checkpoint every 4, dist.timeout = 5 s), and at a random step node 2 is lost in one of three
# ways:
#   kill   every process of node 2 gets SIGKILL (its Open MPI daemon included);
#   link   node 2's link is cut (ip link set ... down) in the middle of the steps;
#   stop   every process of node 2 is frozen (SIGSTOP).
# Each time, every rank on node 1 must be gone within dist.timeout + 10 s, and sgm's watchdog
# must have named the lost ranks with their host: at the timeout for a cut link or a frozen node;
# for a killed node Open MPI ends the job first (SIGTERM, SIGKILL a second later), and a rank of
# node 1 names them in that second (FAULT_MODES="kill" runs one mode). Then node 2 is brought
# back (its processes killed, the link up), mpirun is
# ended (after a cut link or a frozen node it still waits for node 2's daemon), and the same
# command on both nodes takes the work-directory lock again (the holder's PID is dead on its
# host), resumes from the last complete checkpoint and ends with the weights of an uninterrupted
# run, bit for bit. Nothing of the cluster (namespace, bridge, link, process) is left at the end.
# The seed of the random steps is printed (FAULT_SEED=... reproduces a run).
# Skips (77) when not root or when namespaces cannot be made.
#   Usage: multinode_faults_test.sh BIN COMPARE SRC
set -u
bin=$1
compare=$2
src=$3
# shellcheck source=tests/cluster/sim_cluster.sh
source "$src/tests/cluster/sim_cluster.sh"
tmp=$(mktemp -d)
trap 'pkill -9 -f "mpirun .*$tmp/" 2> /dev/null; sim_down; rm -rf "$tmp"' EXIT
sim_up 2
rc=$?
[ $rc = 0 ] || exit $rc
seed=${FAULT_SEED:-$$}
RANDOM=$seed
echo "fault seed $seed"
fail=0
N=24
timeout_s=5
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
opts=(--config "$src/configs/small/quickstart_ve_16px.cfg" --data.path="$tmp/data"
      "--training.n_iters=$N" "--training.snapshot_freq=$N" --training.snapshot_freq_for_preemption=4
      --training.log_freq=1 --training.snapshot_sampling=false --dist.threads=1
      "--dist.timeout=$timeout_s")
# The uninterrupted run: 1 node x 4 ranks (equal to 2 nodes x 2 ranks: multinode_np4).
mpirun -np 4 --oversubscribe --bind-to none "$bin/sgm-train" "${opts[@]}" --workdir "$tmp/straight" \
  > "$tmp/straight.log" 2>&1 || { echo "FAIL: uninterrupted run"; tail -n 20 "$tmp/straight.log"; exit 1; }
"$bin/sgm-eval" export --checkpoint "$tmp/straight" --out "$tmp/straight.h5" > /dev/null || exit 1

ranks_on() {  # ranks_on NODE WORKDIR: PIDs of sgm-train for WORKDIR inside the node
  local pid
  for pid in $(ip netns pids "$SIM_PREFIX-n$1" 2> /dev/null); do
    tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q "sgm-train .*--workdir $2\( \|$\)" && echo "$pid"
  done
}
node2_back() {  # every process of node 2 killed (stopped ones too), its link up again
  local pid
  for pid in $(ip netns pids "$SIM_PREFIX-n2" 2> /dev/null); do kill -CONT "$pid" 2> /dev/null; kill -9 "$pid" 2> /dev/null; done
  ip link set "$SIM_PREFIX-v2" up
}

for mode in ${FAULT_MODES:-kill link stop}; do
  work=$tmp/$mode
  at=$((4 + RANDOM % 14))  # the fault comes after this step's line
  sim_mpirun --host "$(sim_hosts 2)" -np 4 "$bin/sgm-train" "${opts[@]}" --workdir "$work" \
    > "$work.log" 2>&1 &
  job=$!
  until grep -q "^step $at " "$work.log" 2> /dev/null; do
    kill -0 $job 2> /dev/null || { echo "FAIL: $mode: the job ended before step $at"; tail -n 20 "$work.log"; exit 1; }
    sleep 0.05
  done
  start=$(date +%s%N)
  case $mode in
    kill) for pid in $(ip netns pids "$SIM_PREFIX-n2"); do kill -9 "$pid"; done ;;
    link) ip link set "$SIM_PREFIX-v2" down ;;
    stop) for pid in $(ip netns pids "$SIM_PREFIX-n2"); do kill -STOP "$pid"; done ;;
  esac
  limit_ms=$(((timeout_s + 10) * 1000))
  while [ -n "$(ranks_on 1 "$work")" ] && [ $((($(date +%s%N) - start) / 1000000)) -le $((limit_ms + 5000)) ]; do
    sleep 0.05
  done
  ms=$((($(date +%s%N) - start) / 1000000))
  left=$(ranks_on 1 "$work")
  last=$(grep "^step " "$work.log" | tail -n 1 | cut -d' ' -f2)
  if [ -z "$left" ] && [ $ms -le $limit_ms ]; then
    echo "[evidence] $mode after step $at: node 1's ranks gone $ms ms later (limit $limit_ms ms), last step logged $last"
  else
    echo "FAIL: $mode: node 1's ranks ${left:+still running }after $ms ms (limit $limit_ms ms)"
    fail=1
  fi
  named=$(grep -E "rank [23] on $SIM_PREFIX-n2 silent" "$work.log" | head -n 1)
  if [ -n "$named" ]; then
    echo "[evidence] $mode: the lost node named: $(echo "$named" | sed 's/^ *//' | cut -c1-300)"
  else
    echo "FAIL: $mode: no line names node 2"; grep -v "^step" "$work.log" | tail -n 20; fail=1
  fi
  ! grep -q "^saved .*snapshot-000000$N" "$work.log" || { echo "FAIL: $mode: the job finished anyway"; fail=1; }
  node2_back
  pkill -9 -f "mpirun .*--workdir $work( |$)" 2> /dev/null
  wait $job 2> /dev/null
  latest=$(cat "$work/checkpoints/latest" 2> /dev/null)
  sim_mpirun --host "$(sim_hosts 2)" -np 4 "$bin/sgm-train" "${opts[@]}" --workdir "$work" \
    > "$work.2.log" 2>&1 || { echo "FAIL: $mode: restart on both nodes"; tail -n 20 "$work.2.log"; fail=1; continue; }
  resumed=$(grep -o "resumed from .* at step [0-9]*" "$work.2.log")
  broken=$(grep -o "breaking the lock of .*" "$work.2.log" | cut -c1-200)
  echo "[evidence] $mode: restart: $resumed (latest was $latest); ${broken:-no stale lock}"
  case "$resumed" in
    *"$latest at step"*) ;;
    *) echo "FAIL: $mode: did not resume from the last complete checkpoint $latest"; fail=1 ;;
  esac
  "$bin/sgm-eval" export --checkpoint "$work" --out "$work.h5" > /dev/null || { echo "FAIL: export $mode"; fail=1; continue; }
  echo -n "[evidence] $mode: restarted run vs uninterrupted: "
  "$compare" "$work.h5" "$tmp/straight.h5" 0 || fail=1
done
sim_down
sim_check_clean "sgm-train .*$tmp/|mpirun .*$tmp/|orted .*10\.231\.0\." || fail=1
[ $fail = 0 ] && echo "[evidence] the cluster is gone: no namespace, bridge, link, Open MPI file or process left" && echo PASS || exit 1
