#!/usr/bin/env bash
# Issue 21: the 2-D mixture of 8 Gaussians learnt by the other score-matching objectives. For
# training.loss = ism (exact trace) and ssm (one Rademacher projection per sample), under
# mpirun -np 2 on the CPU (configs/small/mlp_toy2d_ve.cfg at half its width, model.nf = 32, and
# 3,000 steps: DSM's samples, and those of the full width, have the same figures at that length):
#   1. the EMA samples (4,000, Euler-Maruyama with 250 steps) have every mode's weight within
#      0.03 of the data's (toy2d_check prints the means and deviations too);
#   2. one rank and two ranks log the same losses over 20 steps (relative 1e-6: the batch mean is
#      summed in another order), for ism, ssm and ssm_vr with 2 Gaussian projections.
#   Usage: toy2d_objectives_test.sh BIN CHECK SRC MPIEXEC
set -u
bin=$1
check=$2
src=$3
mpiexec=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cfg=$src/configs/small/mlp_toy2d_ve.cfg
"$bin/sgm-data" make --from toy --toy gmm --num 5000 --out "$tmp/data" > /dev/null || exit 1
train() {  # train WORKDIR NP OPTIONS...
  local dir=$1 np=$2
  shift 2
  "$mpiexec" -np "$np" --oversubscribe --bind-to none "$bin/sgm-train" --config "$cfg" \
    --data.path="$tmp/data" --workdir "$dir" --model.nf=32 "$@" > "$dir.log" 2>&1
}

for loss in ism ssm; do
  start=$(date +%s)
  train "$tmp/$loss" 2 --training.loss=$loss --training.n_iters=3000 --training.log_freq=1000 ||
    { echo "FAIL: training with $loss"; tail -n 5 "$tmp/$loss.log"; fail=1; continue; }
  echo "[evidence] training.loss = $loss, 3000 steps on 2 ranks in $(($(date +%s) - start)) s:" \
    "$(grep "^step 3000" "$tmp/$loss.log" | cut -d' ' -f1-6)"
  "$check" "$tmp/$loss" "$tmp/data" 4000 250 weights || { echo "FAIL: $loss: mode weights"; fail=1; }
done

short=(--training.n_iters=20 --training.log_freq=5 --training.snapshot_freq=20
       --training.snapshot_freq_for_preemption=20)
for loss in ism ssm ssm_vr; do
  extra=()
  [ $loss = ssm_vr ] && extra=(--training.ssm_projections=2 --training.ssm_probe=gaussian)
  train "$tmp/${loss}_w1" 1 --training.loss=$loss "${short[@]}" "${extra[@]}" &&
    train "$tmp/${loss}_w2" 2 --training.loss=$loss "${short[@]}" "${extra[@]}" ||
    { echo "FAIL: short $loss runs"; tail -n 5 "$tmp/${loss}_w1.log" "$tmp/${loss}_w2.log"; fail=1; continue; }
  python3 - "$tmp/${loss}_w1/metrics.jsonl" "$tmp/${loss}_w2/metrics.jsonl" $loss << 'PY' || fail=1
import json, sys
a, b = ([json.loads(line) for line in open(p)] for p in sys.argv[1:3])
losses = [(x["step"], x["loss"], y["loss"]) for x, y in zip(a, b)]
assert [s for s, _, _ in losses] == [5, 10, 15, 20], losses
worst = max(abs(u - v) / abs(u) for _, u, v in losses)
print(f"[evidence] {sys.argv[3]}: losses W=1 vs W=2 at steps 5-20: " +
      ", ".join(f"{u:.6f}/{v:.6f}" for _, u, v in losses) + f"; largest relative difference {worst:.1e} (tolerance 1e-6)")
if worst > 1e-6:
    print(f"FAIL: {sys.argv[3]}: W=1 and W=2 losses differ")
    sys.exit(1)
PY
done
[ $fail = 0 ] && echo PASS || exit 1
