#!/usr/bin/env bash
# Issue 34, Slurm across nodes: a Slurm of two simulated nodes (sim_cluster.sh, sim_slurm.sh:
# one slurmd per node in its network namespace with its own host name), and slurm/pipeline.sh
# with --nodes 2 --tasks-per-node 2 (srun --mpi=pmix, 4 ranks):
#   1. the ranks start on both nodes (the start-up listing: node 0/2 and node 1/2, local 0/2 and
#      1/2 on each);
#   2. the time-limit signal (scancel --signal=USR1 --batch) mid-run: checkpoint, exit 3,
#      requeue, resume on both nodes, and the final weights equal those of an uninterrupted run
#      (mpirun -np 4 on this machine) bit for bit;
#   3. the evaluation array (afterok) runs once per snapshot, its tasks on both nodes, and
#      merges one results table;
#   4. nothing of the cluster is left (namespaces, bridge, links, daemons).
# Skips (77) when not root, when namespaces cannot be made, or when Slurm is not installed.
#   Usage: multinode_slurm_test.sh BIN COMPARE SRC
set -u
bin=$1
compare=$2
src=$3
skip() { echo "SKIP: $*"; exit 77; }
for t in munged slurmctld slurmd sbatch srun squeue scancel sinfo nsenter; do
  command -v "$t" > /dev/null || skip "$t not found (apt-get install slurmctld slurmd slurm-client munge)"
done
# shellcheck source=tests/cluster/sim_cluster.sh
source "$src/tests/cluster/sim_cluster.sh"
# shellcheck source=tests/cluster/sim_slurm.sh
source "$src/tests/cluster/sim_slurm.sh"
tmp=$(mktemp -d /tmp/sgm-simslurm.XXXXXX)
trap 'sim_slurm_down; sim_down; rm -rf "$tmp"' EXIT
sim_up 2
rc=$?
[ $rc = 0 ] || exit $rc
sim_slurm_up "$tmp/slurm" $((20000 + RANDOM % 20000)) || skip "cannot run Slurm on the simulated nodes: $SIM_SLURM_WHY"
echo "[evidence] Slurm on 2 simulated nodes: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Open MPI inside the jobs: TCP between the nodes over the bridge (the job inherits these).
export OMPI_MCA_btl_tcp_if_include=$SIM_SUBNET.0/24 OMPI_MCA_oob_tcp_if_include=$SIM_SUBNET.0/24

"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
train_opts=(--data.path="$tmp/data" --training.snapshot_freq=20
            --training.snapshot_freq_for_preemption=5 --training.batch_size=8 --training.log_freq=5
            --training.snapshot_sampling=false --dist.device=cpu --dist.threads=1)
config=$src/configs/small/ncsnpp_ve_16px.cfg
mpirun -np 4 --oversubscribe --bind-to none "$bin/sgm-train" --config "$config" \
  --workdir "$tmp/straight" "${train_opts[@]}" --training.n_iters=60 > "$tmp/straight.log" 2>&1 ||
  { tail -n 5 "$tmp/straight.log"; exit 1; }

cd "$src" || exit 1
SGM_BIN=$bin SGM_LAUNCHER=srun bash slurm/pipeline.sh --config "$config" --workdir "$tmp/run" \
  --nodes 2 --gpus-per-node 0 --tasks-per-node 2 --cpus-per-task 1 --eval-gpus 0 --time 10:00 \
  --eval-time 10:00 --eval-args "--eval.begin_ckpt=1 --eval.end_ckpt=3 --eval.enable_loss=false
  --eval.enable_sampling=true --eval.num_samples=2 --eval.batch_size=2 --sampling.method=ode
  --sampling.rtol=1e-2 --sampling.atol=1e-2" -- "${train_opts[@]}" --training.n_iters=60 \
  > "$tmp/pipeline.out" 2>&1 || { cat "$tmp/pipeline.out"; exit 1; }
cat "$tmp/pipeline.out"
train_id=$(awk '/^training:/ {print $3}' "$tmp/pipeline.out")
log=$tmp/run/slurm-train-$train_id.out
for _ in $(seq 1 900); do grep -q '^step 10 ' "$log" 2> /dev/null && break; sleep 0.1; done
scancel --signal=USR1 --batch "$train_id" || fail "scancel --signal=USR1"
echo "[evidence] SIGUSR1 sent to the batch shell of job $train_id at: $(grep '^step' "$log" | tail -n 1 | cut -d' ' -f1-2)"
for _ in $(seq 1 600); do [ -z "$(squeue -h)" ] && break; sleep 1; done
[ -z "$(squeue -h)" ] || { fail "jobs still queued after 10 minutes"; squeue; }

echo "== 1. ranks on both nodes"
grep "^rank " "$log" | sort -u | sed 's/^/[evidence] /'
for expect in "rank 0/4 on ${SIM_PREFIX}-n1 (node 0/2, local 0/2)" "rank 1/4 on ${SIM_PREFIX}-n1 (node 0/2, local 1/2)" \
  "rank 2/4 on ${SIM_PREFIX}-n2 (node 1/2, local 0/2)" "rank 3/4 on ${SIM_PREFIX}-n2 (node 1/2, local 1/2)"; do
  grep -qF "$expect" "$log" || fail "no line '$expect'"
done

echo "== 2. stop, requeue, resume on both nodes, the weights of an uninterrupted run"
grep -E "stop signal|requeueing|restart 1|resumed from|finished with" "$log" | cut -c1-160
grep -q "stopped after a checkpoint (exit 3): requeueing $train_id" "$log" || fail "no exit 3 and requeue"
grep -q "job $train_id (restart 1) on ${SIM_PREFIX}-n\[1-2\]" "$log" || fail "the job did not run again on both nodes"
grep -q "resumed from" "$log" || fail "the requeued job did not resume"
grep -q "finished with exit code 0" "$log" || fail "training did not finish"
if "$bin/sgm-eval" export --checkpoint "$tmp/straight" --out "$tmp/straight.h5" > /dev/null &&
   "$bin/sgm-eval" export --checkpoint "$tmp/run" --out "$tmp/run.h5" > /dev/null; then
  "$compare" "$tmp/straight.h5" "$tmp/run.h5" 0 || fail "weights differ from the uninterrupted run"
else
  fail "export"
fi

echo "== 3. the evaluation array over both nodes, one table"
eval_logs=("$tmp"/run/slurm-eval-*_*.out)
hosts=$(grep -ho " on ${SIM_PREFIX}-n[0-9]" "${eval_logs[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
echo "[evidence] ${#eval_logs[@]} array tasks, where they ran:${hosts}"
[ ${#eval_logs[@]} -eq 3 ] || fail "expected 3 array tasks, found ${#eval_logs[@]}"
[ "$(grep -ho " on ${SIM_PREFIX}-n[0-9]" "${eval_logs[@]}" | sort -u | wc -l)" = 2 ] ||
  fail "the array tasks did not run on both nodes"
cut -d, -f1-3 "$tmp/run/eval/results.csv"
steps=$(tail -n +2 "$tmp/run/eval/results.csv" | cut -d, -f1 | sort -n | tr '\n' ' ')
[ "$steps" = "20 40 60 " ] || fail "results.csv steps: '$steps', expected 20 40 60"

echo "== 4. nothing left"
cd /
sim_slurm_down
sim_down
sim_check_clean "slurmd -f $tmp/|slurmctld -f $tmp/|sgm-train .*$tmp/" || failures=$((failures + 1))
if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "[evidence] the cluster is gone: no namespace, bridge, link, daemon or process left"
echo PASS
