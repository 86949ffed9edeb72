#!/usr/bin/env bash
# Issue 21: NCSN end to end on 16x16 procedural shapes (configs/small/ncsn_16px.cfg: SMLD with 10
# noise levels, the conditional RefineNet at nf 16):
#   1. 100 training steps under mpirun -np 2, the loss falling;
#   2. annealed Langevin sampling (the ald corrector, 10 levels x 5 steps) on 1 rank in rounds of
#      2 and on 2 ranks in rounds of 4 (2 per rank): the same batch compositions, so the samples
#      are bit-identical; a grid PNG;
#   3. a sampling.steps other than model.num_scales is refused for this discrete-time model
#      (its labels are the levels' indices), exit 2 naming the key.
#   Usage: ncsn_test.sh BIN TESTBIN SRC MPIEXEC
set -u
bin=$1
testbin=$2
src=$3
mpiexec=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
mpi2() { "$mpiexec" -np 2 --oversubscribe --bind-to none "$@"; }
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out data > /dev/null || exit 1
start=$(date +%s)
mpi2 "$bin/sgm-train" --config "$src/configs/small/ncsn_16px.cfg" --data.path=data --workdir run1 \
  --training.n_iters=100 --training.log_freq=25 --training.snapshot_freq=100 > train.log 2>&1 ||
  { echo "FAIL: training"; tail -n 5 train.log; exit 1; }
echo "[evidence] 100 steps on 2 ranks in $(($(date +%s) - start)) s; losses: $(grep "^step" train.log | cut -d' ' -f2,6 | tr '\n' ' ')"
python3 - train.log << 'PY' || { echo "FAIL: the loss did not fall"; fail=1; }
import sys
losses = [float(l.split()[5]) for l in open(sys.argv[1]) if l.startswith("step ")]
sys.exit(0 if len(losses) == 4 and losses[-1] < losses[0] else 1)
PY
cp -r run1 run2
opts=(--eval.num_samples=6 --sampling.n_steps_each=5)
start=$(date +%s)
"$bin/sgm-eval" sample --workdir run1 "${opts[@]}" --eval.batch_size=2 > log1 2>&1 ||
  { echo "FAIL: sampling on 1 rank"; tail -n 3 log1; fail=1; }
mpi2 "$bin/sgm-eval" sample --workdir run2 "${opts[@]}" --eval.batch_size=4 > log2 2>&1 ||
  { echo "FAIL: sampling on 2 ranks"; tail -n 3 log2; fail=1; }
echo "[evidence] annealed Langevin, 10 levels x 5 steps, 6 samples on 1 and on 2 ranks: $(($(date +%s) - start)) s; $(grep -o "nfe = [0-9]*" log2 | head -n 1)"
samples=eval/ckpt-00000100/samples
"$testbin/compare_npz" run1/$samples run2/$samples samples 0 || fail=1
"$testbin/compare_npz" run1/$samples run2/$samples indices 0 || fail=1
[ "$(head -c 4 run2/$samples/grid.png | tail -c 3)" = PNG ] || { echo "FAIL: no grid.png"; fail=1; }
"$bin/sgm-eval" sample --workdir run1 --eval.num_samples=2 --sampling.steps=5 > log 2>&1
rc=$?
echo "[evidence] sampling.steps = 5 on a 10-level discrete model: exit $rc: $(tail -n 1 log)"
[ $rc = 2 ] && grep -q "sampling.steps" log || { echo "FAIL: sampling.steps not refused"; fail=1; }
[ $fail = 0 ] && echo PASS || exit 1
