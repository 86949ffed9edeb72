#!/usr/bin/env bash
# slurm/ on a real Slurm (issue 8): starts a single-node Slurm on this machine (munged,
# slurmctld, slurmd; tests/slurm/local_cluster.sh), submits slurm/pipeline.sh with a small CPU
# training run of 2 tasks, sends the time-limit signal (scancel --signal=USR1 --batch, what
# --signal=B:USR1@N does) mid-run, and checks:
#   1. the job stopped after a checkpoint (exit 3), requeued itself, resumed in the same log,
#      and finished;
#   2. its final weights equal those of an uninterrupted run (mpirun -np 2, same options);
#   3. the evaluation array (afterok) ran once per snapshot and, with the sweep that watched
#      training (--watch), merged one results table;
#   4. the mpirun launcher (SGM_LAUNCHER=mpirun) runs the ranks inside the allocation too.
# Skips (exit 77) with the reason when Slurm is not installed or its daemons cannot run here.
# The daemons are stopped and the files removed at exit.
#   Usage: slurm_test.sh BIN COMPARE_WEIGHTS SRC MPIEXEC
set -u
bin=$1
compare=$2
src=$3
mpiexec=$4
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the test cluster runs its daemons as root (SlurmUser=root); run as root"
for t in munged slurmctld slurmd sbatch srun squeue scontrol scancel sinfo; do
  command -v "$t" > /dev/null || skip "$t not found (apt-get install slurmctld slurmd slurm-client munge)"
done
tmp=$(mktemp -d /tmp/sgm-slurm.XXXXXX)
# shellcheck source=tests/slurm/local_cluster.sh
source "$src/tests/slurm/local_cluster.sh"
cleanup() {
  squeue -h -o %A 2> /dev/null | xargs -r scancel 2> /dev/null
  cluster_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
cluster_start "$tmp/cluster" $((20000 + RANDOM % 20000)) || skip "cannot run Slurm daemons here: $CLUSTER_WHY"
echo "[evidence] single-node Slurm up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
train_opts=(--data.path="$tmp/data" --training.snapshot_freq=20
            --training.snapshot_freq_for_preemption=5 --training.batch_size=8 --training.log_freq=5
            --training.snapshot_sampling=false --dist.device=cpu --dist.threads=1)
config=$src/configs/small/ncsnpp_ve_16px.cfg

# The uninterrupted reference, outside Slurm.
"$mpiexec" -np 2 --oversubscribe --bind-to none "$bin/sgm-train" --config "$config" \
  --workdir "$tmp/straight" "${train_opts[@]}" --training.n_iters=80 > "$tmp/straight.log" 2>&1 ||
  { tail -n 5 "$tmp/straight.log"; exit 1; }

cd "$src" || exit 1
SGM_BIN=$bin SGM_LAUNCHER=srun bash slurm/pipeline.sh --config "$config" --workdir "$tmp/run" \
  --gpus-per-node 0 --tasks-per-node 2 --cpus-per-task 1 --eval-gpus 0 --time 10:00 --watch 0.05 \
  --eval-time 10:00 --eval-args "--eval.begin_ckpt=1 --eval.end_ckpt=4 --eval.enable_loss=false
  --eval.enable_sampling=true --eval.num_samples=2 --eval.batch_size=2 --sampling.method=ode
  --sampling.rtol=1e-2 --sampling.atol=1e-2" -- "${train_opts[@]}" --training.n_iters=80 \
  > "$tmp/pipeline.out" 2>&1 ||
  { cat "$tmp/pipeline.out"; exit 1; }
cat "$tmp/pipeline.out"
train_id=$(awk '/^training:/ {print $3}' "$tmp/pipeline.out")
log=$tmp/run/slurm-train-$train_id.out
for _ in $(seq 1 600); do grep -q '^step 10 ' "$log" 2> /dev/null && break; sleep 0.1; done
scancel --signal=USR1 --batch "$train_id" || fail "scancel --signal=USR1"
echo "[evidence] SIGUSR1 sent to the batch shell of job $train_id at: $(grep '^step' "$log" | tail -n 1 | cut -d' ' -f1-2)"
for _ in $(seq 1 900); do [ -z "$(squeue -h)" ] && break; sleep 1; done
[ -z "$(squeue -h)" ] || { fail "jobs still queued after 15 minutes"; squeue; }

echo "== 1. stop, requeue, resume"
grep -E "forwarding|stop signal|requeueing|restart 1|resumed from|finished with" "$log" | cut -c1-160
grep -q "stopped after a checkpoint (exit 3): requeueing $train_id" "$log" || fail "no exit 3 and requeue"
grep -q "job $train_id (restart 1)" "$log" || fail "the job did not run again"
grep -q "resumed from" "$log" || fail "the requeued job did not resume"
grep -q "finished with exit code 0" "$log" || fail "training did not finish"
[ -d "$tmp/run/checkpoints/snapshot-00000080" ] || fail "no final snapshot"

echo "== 2. the same weights as an uninterrupted run"
if ! "$bin/sgm-eval" export --checkpoint "$tmp/straight" --out "$tmp/straight.h5" > /dev/null ||
   ! "$bin/sgm-eval" export --checkpoint "$tmp/run" --out "$tmp/run.h5" > /dev/null; then
  fail "export"
fi
"$compare" "$tmp/straight.h5" "$tmp/run.h5" 0 || fail "weights differ from the uninterrupted run"

echo "== 3. the evaluation array, once per snapshot, one table"
eval_logs=("$tmp"/run/slurm-eval-*_*.out)
echo "[evidence] ${#eval_logs[@]} array task logs; $(cat "${eval_logs[@]}" | grep -c 'sweep: 1 evaluated') evaluated one snapshot each"
[ ${#eval_logs[@]} -eq 4 ] || fail "expected 4 array tasks, found ${#eval_logs[@]}"
# A snapshot the watching sweep already evaluated is recorded before its array task runs.
for f in "${eval_logs[@]}"; do
  grep -qE "sweep: (1 evaluated, 0|0 evaluated, 1) recorded before" "$f" || { fail "$f"; tail -n 12 "$f"; }
done
watch_log=$(ls "$tmp"/run/slurm-eval-watch-*.out)
echo "[evidence] watching sweep (during training): $(grep -c ': nfe = ' "$watch_log") snapshot(s) evaluated; $(grep 'finished with' "$watch_log")"
grep -q "finished with exit code 0" "$watch_log" || { fail "the watching sweep"; tail -n 3 "$watch_log"; }
cut -d, -f1-3 "$tmp/run/eval/results.csv"
steps=$(tail -n +2 "$tmp/run/eval/results.csv" | cut -d, -f1 | sort -n | tr '\n' ' ')
[ "$steps" = "20 40 60 80 " ] || fail "results.csv steps: '$steps', expected 20 40 60 80"

echo "== 4. the other launcher: mpirun inside the allocation (SGM_LAUNCHER=mpirun)"
mlog=$tmp/mpirun-train.out
SGM_BIN=$bin SGM_LAUNCHER=mpirun sbatch --parsable --wait --ntasks-per-node=2 --gpus-per-node=0 \
  --cpus-per-task=1 --time=10:00 --output="$mlog" slurm/train.sbatch --config "$config" \
  --workdir "$tmp/mpirun_run" "${train_opts[@]}" --training.n_iters=10 > /dev/null ||
  fail "the mpirun-launched job failed"
grep -E "^rank|finished with" "$mlog"
if ! grep -q "^rank 1/2" "$mlog" || ! grep -q "finished with exit code 0" "$mlog"; then
  fail "mpirun launcher"
  tail -n 5 "$mlog"
fi

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
