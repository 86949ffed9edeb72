#!/usr/bin/env bash
# Issue 34, first part: sgm-train across two simulated nodes (sim_cluster.sh: a network and a
# UTS namespace per node, TCP over a bridge between them, shared memory within a node).
#   1. 2 nodes x 2 ranks train the quickstart-sized NCSN++ for 20 steps; each rank's line of the
#      start-up listing names its node's host name, the node's index and the node count, its
#      node-local rank and the local size;
#   2. the final weights (model and EMA) equal those of 1 node x 4 ranks bit for bit (the sample
#      order, noise and reduction do not depend on where the ranks run);
#   3. a job moved to fewer nodes: 10 steps on 2 nodes x 2 ranks, resumed on 1 node x 2 ranks to
#      step 20, equals 10 steps on 1 node x 4 ranks resumed the same way, bit for bit;
#   4. nothing of the cluster (namespace, bridge, process) is left afterwards.
# Skips (77) when not root or when namespaces cannot be made.
#   Usage: multinode_test.sh BIN COMPARE SRC
set -u
bin=$1
compare=$2
src=$3
# shellcheck source=tests/cluster/sim_cluster.sh
source "$src/tests/cluster/sim_cluster.sh"
tmp=$(mktemp -d)
trap 'sim_down; rm -rf "$tmp"' EXIT
sim_up 2
rc=$?
[ $rc = 0 ] || exit $rc
fail=0
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
opts=(--config "$src/configs/small/quickstart_ve_16px.cfg" --data.path="$tmp/data"
      --training.log_freq=10 --training.snapshot_sampling=false)
full=(--training.n_iters=20 --training.snapshot_freq=20)
start=$(date +%s)
sim_mpirun --host "$(sim_hosts 2)" -np 4 "$bin/sgm-train" "${opts[@]}" "${full[@]}" --workdir "$tmp/nodes2" \
  > "$tmp/nodes2.log" 2>&1 || { echo "FAIL: 2 nodes x 2 ranks"; tail -n 20 "$tmp/nodes2.log"; exit 1; }
echo "[evidence] 2 nodes x 2 ranks, 20 steps: $(($(date +%s) - start)) s"
grep "^rank [0-9]/4 on " "$tmp/nodes2.log" | sed 's/^/[evidence] /'
for expect in "rank 0/4 on sgmsim-n1 (node 0/2, local 0/2)" "rank 1/4 on sgmsim-n1 (node 0/2, local 1/2)" \
  "rank 2/4 on sgmsim-n2 (node 1/2, local 0/2)" "rank 3/4 on sgmsim-n2 (node 1/2, local 1/2)"; do
  grep -qF "$expect" "$tmp/nodes2.log" || { echo "FAIL: no line '$expect'"; fail=1; }
done
mpirun -np 4 --oversubscribe --bind-to none "$bin/sgm-train" "${opts[@]}" "${full[@]}" --workdir "$tmp/node1" \
  > "$tmp/node1.log" 2>&1 || { echo "FAIL: 1 node x 4 ranks"; tail -n 20 "$tmp/node1.log"; exit 1; }
grep -qF "rank 3/4 on $(hostname) (node 0/1, local 3/4)" "$tmp/node1.log" || { echo "FAIL: 1 node x 4 ranks listing"; fail=1; }
for run in nodes2 node1; do
  "$bin/sgm-eval" export --checkpoint "$tmp/$run" --out "$tmp/$run.h5" > /dev/null ||
    { echo "FAIL: export $run"; exit 1; }
done
echo -n "2. 2 nodes x 2 ranks vs 1 node x 4 ranks after 20 steps: "
"$compare" "$tmp/nodes2.h5" "$tmp/node1.h5" 0 || fail=1
half=(--training.n_iters=10 --training.snapshot_freq=10)
sim_mpirun --host "$(sim_hosts 2)" -np 4 "$bin/sgm-train" "${opts[@]}" "${half[@]}" \
  --workdir "$tmp/moved" > "$tmp/moved.log" 2>&1 || { echo "FAIL: 10 steps on 2 nodes"; tail -n 20 "$tmp/moved.log"; exit 1; }
mpirun -np 4 --oversubscribe --bind-to none "$bin/sgm-train" "${opts[@]}" "${half[@]}" \
  --workdir "$tmp/stayed" > "$tmp/stayed.log" 2>&1 || { echo "FAIL: 10 steps on 1 node"; exit 1; }
for run in moved stayed; do
  mpirun -np 2 --oversubscribe --bind-to none "$bin/sgm-train" "${opts[@]}" "${full[@]}" --workdir "$tmp/$run" \
    > "$tmp/$run.2.log" 2>&1 || { echo "FAIL: resume of $run on 1 node x 2 ranks"; tail -n 20 "$tmp/$run.2.log"; exit 1; }
  grep -q "^resumed from .*snapshot-00000010 at step 10 " "$tmp/$run.2.log" ||
    { echo "FAIL: $run did not resume at step 10"; fail=1; }
  "$bin/sgm-eval" export --checkpoint "$tmp/$run" --out "$tmp/$run.h5" > /dev/null ||
    { echo "FAIL: export $run"; exit 1; }
done
echo -n "3. 10 steps on 2 nodes x 2 ranks + 10 on 1 node x 2 vs the same from 1 node x 4: "
"$compare" "$tmp/moved.h5" "$tmp/stayed.h5" 0 || fail=1
sim_down
sim_check_clean || fail=1
[ $fail = 0 ] && echo "[evidence] the cluster is gone: no namespace, bridge or process left" && echo PASS || exit 1
