#!/usr/bin/env bash
# Class-conditional training end to end on CPU (issue 35, first part): the mlp on the labelled
# 8-mode 2-D mixture (each mode its class), model.num_classes = 8, training.label_dropout = 0.2:
#   1. W=1 and W=2 (same global batch): the same weights after N steps (the labels, and which of
#      them are dropped, follow the sample, not the rank);
#   2. N/2 steps, resume to N: bit-identical to N straight;
#   3. the class embedding is in the checkpoint and moved away from its initial value;
#   4. bad input ends with exit 2, one line naming the key and no work directory: classes on an
#      unlabelled dataset, fewer classes than the dataset has, a network without classes,
#      dropout without classes.
# Weights are compared through `sgm-eval export` files.
#   Usage: conditional_training_test.sh BIN COMPARE SRC MPIEXEC
# shellcheck source=tests/launch/weights_test_lib.sh
source "$(dirname "$0")/weights_test_lib.sh"
train() {  # train WORKDIR N_ITERS DATA [LAUNCHER...] [-- SGM-TRAIN OPTIONS...]
  local w=$1 n=$2 data=$3
  shift 3
  local launcher=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do launcher+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  "${launcher[@]}" "$bin/sgm-train" --config "$src/configs/small/mlp_toy2d_ve.cfg" \
    --data.path="$data" --model.num_classes="${CLASSES:-8}" \
    --training.label_dropout="${DROPOUT:-0.2}" \
    --training.batch_size=64 --training.n_iters="$n" --training.log_freq=4 \
    --training.snapshot_freq=1000 --training.snapshot_freq_for_preemption=2 --optim.warmup=2 \
    --dist.device=cpu --dist.threads=1 --workdir "$w" "$@" > "$w.log" 2>&1
}

"$bin/sgm-data" make --from toy --toy gmm --num 512 --out "$tmp/gmm" > /dev/null || exit 1
"$bin/sgm-data" make --from toy --toy checkerboard --num 512 --out "$tmp/plain" > /dev/null || exit 1

train "$tmp/w1" $N "$tmp/gmm" || { echo "FAIL: W=1 run"; cat "$tmp/w1.log"; exit 1; }
export_to "$tmp/w1" "$tmp/w1.h5"
train "$tmp/w2" $N "$tmp/gmm" "${W2[@]}" || { echo "FAIL: W=2 run"; cat "$tmp/w2.log"; exit 1; }
export_to "$tmp/w2" "$tmp/w2.h5"
check "1. W=1 vs W=2 after $N conditional steps" "$tmp/w1.h5" "$tmp/w2.h5" 1e-6

if ! { train "$tmp/r1" $((N / 2)) "$tmp/gmm" && train "$tmp/r1" $N "$tmp/gmm"; }; then echo "FAIL: resume run"; fail=1; fi
grep -q "resumed from .* at step $((N / 2))" "$tmp/r1.log" || { echo "FAIL: did not resume"; fail=1; }
export_to "$tmp/r1" "$tmp/r1.h5"
check "2. $((N / 2)) steps, resume, $((N / 2)) more vs $N straight" "$tmp/w1.h5" "$tmp/r1.h5" 0

# 3. The embedding is saved and trained: against its initial value (one step: the warm-up's
# learning rate is 0 at step 0), it moved in the run above, and not at all when every label is
# dropped (no gradient reaches it).
train "$tmp/init" 1 "$tmp/gmm" || { echo "FAIL: one-step run"; fail=1; }
export_to "$tmp/init" "$tmp/init.h5"
DROPOUT=1 train "$tmp/none" $N "$tmp/gmm" || { echo "FAIL: dropout 1 run"; fail=1; }
export_to "$tmp/none" "$tmp/none.h5"
echo -n "3. the class embedding after $N steps vs its initial value (must differ): "
"$compare" "$tmp/init.h5" "$tmp/w1.h5" 0 class_embedding && { echo "FAIL: 3. it did not move"; fail=1; }
check "3. the class embedding after $N steps with every label dropped vs its initial value" \
  "$tmp/init.h5" "$tmp/none.h5" 0 class_embedding

# 4. Bad input: exit 2, one line naming the key.
refuse() {  # refuse NAME KEY DATA [-- OPTIONS...]   (CLASSES, DROPOUT from the environment)
  local name=$1 key=$2 data=$3 out rc
  shift 3
  [ $# -gt 0 ] && shift
  train "$tmp/bad-$name" 2 "$data" -- "$@"
  rc=$?
  out=$(grep -v "^\[" "$tmp/bad-$name.log" | grep -i "error")
  if [ -e "$tmp/bad-$name" ]; then
    echo "FAIL: 4. $name: the work directory was made"; fail=1
  elif [ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && printf '%s' "$out" | grep -q "$key"; then
    echo "[evidence] 4. $name: exit 2: $out"
  else
    echo "FAIL: 4. $name: exit $rc: $out"; fail=1
  fi
}
refuse "unlabelled data" "model.num_classes = 8" "$tmp/plain"
CLASSES=4 refuse "too few classes" "model.num_classes = 4" "$tmp/gmm"
refuse "network without classes" "model.num_classes = 8" "$tmp/gmm" -- --model.name=gaussian
CLASSES=0 refuse "dropout without classes" "training.label_dropout" "$tmp/gmm"

[ $fail = 0 ] && echo "PASS"
exit $fail
