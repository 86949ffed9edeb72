#!/usr/bin/env bash
# The training job end to end on CPU (issue 6, tests 1-4), with a small NCSN++ (dropout 0) on a
# procedural 16x16 dataset, batch 8:
#   1. W=1 and W=2 (same global batch): the same weights after N steps (tolerance printed);
#   2. N/2 steps (the run ends there), resume to N: bit-identical to N straight;
#   3. resume on W=2 from the W=1 checkpoint: within test 1's tolerance;
#   4. SIGUSR1 during a W=2 run: exit 3, restart continues to the straight run's weights exactly;
#   5-7 (fallback, NaN skip, sharded EMA), 9 (bf16 autocast, channels-last), 10 (post-hoc EMA) and
#   11 (dropout: tests 1 and 2 with model.dropout = 0.3) as captioned below.
# Weights are compared through `sgm-eval export` files.   Usage: training_test.sh BIN COMPARE SRC MPIEXEC
# One intra-op thread per rank (W=2 ranks get one anyway): MKL's multithreaded AVX-512 GEMM is
# not run-to-run reproducible, which would break the bit-identical comparisons of tests 2 and 4.
# shellcheck source=tests/launch/weights_test_lib.sh
source "$(dirname "$0")/weights_test_lib.sh"
train() {  # train WORKDIR N_ITERS [LAUNCHER...] [-- SGM-TRAIN OPTIONS...]
  local w=$1 n=$2
  shift 2
  local launcher=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do launcher+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  "${launcher[@]}" "$bin/sgm-train" --config "$src/configs/small/ncsnpp_ve_16px.cfg" \
    --data.path="$tmp/data" --training.batch_size=8 --training.n_iters="$n" --training.log_freq=4 \
    --training.snapshot_freq="${SNAPSHOTS:-1000}" --training.snapshot_freq_for_preemption=2 \
    --optim.warmup=2 --training.snapshot_sampling="${SAMPLING:-false}" --dist.device=cpu --dist.threads=1 \
    --workdir "$w" "$@" \
    > "$w.log" 2>&1
}

"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1

train "$tmp/w1" $N || { echo "FAIL: W=1 run"; cat "$tmp/w1.log"; exit 1; }
export_to "$tmp/w1" "$tmp/w1.h5"
train "$tmp/w2" $N "${W2[@]}" || { echo "FAIL: W=2 run"; cat "$tmp/w2.log"; exit 1; }
export_to "$tmp/w2" "$tmp/w2.h5"
check "1. W=1 vs W=2 after $N steps" "$tmp/w1.h5" "$tmp/w2.h5" 1e-6

train "$tmp/r1" $((N / 2)) && train "$tmp/r1" $N || { echo "FAIL: resume run"; fail=1; }
grep -q "resumed from .*-0000000$((N / 2)) at step $((N / 2))" "$tmp/r1.log" || { echo "FAIL: did not resume"; fail=1; }
export_to "$tmp/r1" "$tmp/r1.h5"
check "2. $((N / 2)) steps, resume, $((N / 2)) more vs $N straight (W=1)" "$tmp/w1.h5" "$tmp/r1.h5" 0

train "$tmp/r2" $((N / 2)) && train "$tmp/r2" $N "${W2[@]}" || { echo "FAIL: resume on W=2"; fail=1; }
export_to "$tmp/r2" "$tmp/r2.h5"
check "3. W=1 to step $((N / 2)), resumed on W=2 to $N vs W=1 straight" "$tmp/w1.h5" "$tmp/r2.h5" 1e-6

# 5. The newest checkpoint corrupted: the resume falls back to the previous one, loudly.
train "$tmp/c" $((N / 2)) || { echo "FAIL: run for test 5"; fail=1; }
newest=$(ls -d "$tmp/c/checkpoints/"*-* | sort -t- -k2 | tail -n 1)
printf 'garbage' | dd of="$newest/weights.h5" bs=1 seek=4000 conv=notrunc status=none
train "$tmp/c" $N || { echo "FAIL: resume past a damaged checkpoint"; cat "$tmp/c.log"; fail=1; }
if grep -q "is damaged" "$tmp/c.log" && grep -q "resumed from .*meta-0000000$((N / 2 - 2))" "$tmp/c.log"; then
  echo "[evidence] 5. $(grep -m1 'resuming from' "$tmp/c.log")"
else
  echo "FAIL: 5. no fallback"; fail=1
fi

# 6. A NaN loss on rank 1 at step 3: both ranks skip that step and say so; the run finishes.
SGM_FAULT_NAN=1:3 train "$tmp/nan" $N "${W2[@]}" -x SGM_FAULT_NAN || { echo "FAIL: NaN run"; fail=1; }
skips=$(grep -c "step 3: non-finite gradient norm; step skipped (1 in a row)" "$tmp/nan.log")
[ "$skips" = 2 ] && echo "[evidence] 6. NaN on rank 1 at step 3: skipped on $skips ranks" || { echo "FAIL: 6. $skips ranks skipped"; fail=1; }
# Every metrics.jsonl line is strict JSON (Python's json, NaN/Infinity refused): the step-4
# record averages the NaN loss of step 3, which must be null.
if python3 - "$tmp/nan/metrics.jsonl" <<'PY'
import json, sys
def refuse(name):
    raise ValueError("non-JSON constant " + name)
lines = open(sys.argv[1]).read().splitlines()
records = [json.loads(line, parse_constant=refuse) for line in lines]
nulls = [r["step"] for r in records if r["loss"] is None]
print(f"[evidence] 6. metrics.jsonl: {len(records)} lines parse as strict JSON; null loss at steps {nulls}")
sys.exit(0 if nulls else 1)
PY
then :; else echo "FAIL: 6. metrics.jsonl is not strict JSON with a null loss"; fail=1; fi
SGM_FAULT_NAN=0:1 train "$tmp/nan0" $N "${W2[@]}" -x SGM_FAULT_NAN -- --training.max_nonfinite=0
grep -q "1 non-finite steps in a row (training.max_nonfinite = 0)" "$tmp/nan0.log" && echo "[evidence] 6. max_nonfinite=0 stops the job" || { echo "FAIL: 6. max_nonfinite"; fail=1; }

# 7. Sharded EMA: the same weights and EMA as replicated.
train "$tmp/e" $N "${W2[@]}" -- --training.ema_sharded=true || { echo "FAIL: sharded EMA run"; fail=1; }
export_to "$tmp/e" "$tmp/e.h5"
check "7. sharded vs replicated EMA (W=2)" "$tmp/w2.h5" "$tmp/e.h5" 0

# 10. Post-hoc EMA. Profiles kept (sharded, W=2): model and EMA bit-identical to the run without.
# Stopped at N/2 and resumed (W=1): the reconstruction from its snapshots bit-identical to the
# straight run's. sgm-eval phema writes a run that sgm-eval samples from; bad input exits 2.
phema=(--training.phema=true)
export SNAPSHOTS=2  # post-hoc EMA reconstructs from the snapshots
train "$tmp/p" $N "${W2[@]}" -- "${phema[@]}" --training.ema_sharded=true || { echo "FAIL: phema run"; fail=1; }
export_to "$tmp/p" "$tmp/p.h5"
check "10. training.phema on vs off (W=2, sharded)" "$tmp/w2.h5" "$tmp/p.h5" 0
train "$tmp/p1" $N -- "${phema[@]}" || { echo "FAIL: phema run W=1"; fail=1; }
train "$tmp/p_half" $((N / 2)) -- "${phema[@]}" && train "$tmp/p_half" $N -- "${phema[@]}" ||
  { echo "FAIL: phema half and resume"; fail=1; }
for run in p1 p_half; do
  "$bin/sgm-eval" phema --workdir "$tmp/$run" --sigma-rel 0.075 --out "$tmp/$run.phema" > "$tmp/$run.phema.log" 2>&1 ||
    { echo "FAIL: sgm-eval phema $run"; tail -n 3 "$tmp/$run.phema.log"; fail=1; }
  export_to "$tmp/$run.phema" "$tmp/$run.phema.h5"
done
echo "[evidence] 10. $(tail -n 1 "$tmp/p1.phema.log")"
check "10. post-hoc EMA (0.075) of a run resumed at step $((N / 2)) vs straight (W=1)" "$tmp/p1.phema.h5" "$tmp/p_half.phema.h5" 0
"$compare" "$tmp/p1.h5" "$tmp/p1.phema.h5" 0 > /dev/null 2>&1 && { echo "FAIL: 10. the post-hoc EMA equals the EMA"; fail=1; }
"$bin/sgm-eval" sample --workdir "$tmp/p1.phema" --eval.num_samples=2 --eval.batch_size=2 \
  --sampling.method=ode --sampling.ode_solver=dpmpp_2m --sampling.nfe=4 > "$tmp/p.sample.log" 2>&1 &&
  [ -s "$tmp/p1.phema/eval/ckpt-0000000$N/samples/grid.png" ] && echo "[evidence] 10. sgm-eval sample on the post-hoc EMA run: grid.png" ||
  { echo "FAIL: 10. sampling the post-hoc EMA run"; tail -n 3 "$tmp/p.sample.log"; fail=1; }
"$bin/sgm-eval" phema --workdir "$tmp/w1" --sigma-rel 0.075 --out "$tmp/none" > "$tmp/p.err" 2>&1
rc=$?
echo "[evidence] 10. phema on a run without profiles: exit $rc: $(tail -n 1 "$tmp/p.err")"
[ $rc -eq 2 ] && grep -q "no post-hoc EMA profiles" "$tmp/p.err" && [ ! -e "$tmp/none/checkpoints" ] ||
  { echo "FAIL: 10. phema without profiles"; fail=1; }
"$bin/sgm-eval" phema --workdir "$tmp/p1" --sigma-rel 0.5 --out "$tmp/none" > "$tmp/p.err" 2>&1
rc=$?
echo "[evidence] 10. --sigma-rel 0.5: exit $rc: $(tail -n 1 "$tmp/p.err")"
[ $rc -eq 2 ] && grep -q -- "--sigma-rel" "$tmp/p.err" || { echo "FAIL: 10. --sigma-rel 0.5"; fail=1; }
before=$(cat "$tmp/w1/config.cfg")
train "$tmp/w1" $((N + 2)) -- --training.phema=true > /dev/null 2>&1
rc=$?
[ "$before" = "$(cat "$tmp/w1/config.cfg")" ] || { echo "FAIL: 10. a refused resume rewrote config.cfg"; fail=1; }
echo "[evidence] 10. turning training.phema on when resuming: exit $rc: $(grep -o "training.phema_sigma_rel.*" "$tmp/w1.log" | head -n 1)"
[ $rc -eq 2 ] || { echo "FAIL: 10. phema turned on at resume"; fail=1; }
unset SNAPSHOTS

# 9. Precision options. bf16 autocast must change the numerics (it is really on) but only a little;
# channels-last input changes only the rounding of the convolutions.
train "$tmp/bf16" $N -- --training.autocast=bf16 || { echo "FAIL: bf16 autocast run"; fail=1; }
export_to "$tmp/bf16" "$tmp/bf16.h5"
"$compare" "$tmp/w1.h5" "$tmp/bf16.h5" 0 > /dev/null && { echo "FAIL: 9. bf16 autocast left the weights bit-identical"; fail=1; }
check "9. bf16 autocast vs fp32 (W=1)" "$tmp/w1.h5" "$tmp/bf16.h5" 1e-4
train "$tmp/nhwc" $N -- --training.channels_last=true || { echo "FAIL: channels-last run"; fail=1; }
export_to "$tmp/nhwc" "$tmp/nhwc.h5"
check "9. channels-last input vs default (W=1)" "$tmp/w1.h5" "$tmp/nhwc.h5" 1e-7

# 11. Dropout (model.dropout = 0.3): masks keyed by (seed, step, layer, sample position), so W=2
# trains as W=1 does and a restart continues bit for bit, with no generator state saved.
drop=(--model.dropout=0.3)
train "$tmp/d1" $N -- "${drop[@]}" || { echo "FAIL: dropout run"; cat "$tmp/d1.log"; fail=1; }
export_to "$tmp/d1" "$tmp/d1.h5"
"$compare" "$tmp/w1.h5" "$tmp/d1.h5" 0 > /dev/null && { echo "FAIL: 11. dropout 0.3 left the weights bit-identical"; fail=1; }
train "$tmp/d2" $N "${W2[@]}" -- "${drop[@]}" || { echo "FAIL: dropout run W=2"; fail=1; }
export_to "$tmp/d2" "$tmp/d2.h5"
check "11. dropout 0.3: W=1 vs W=2 after $N steps" "$tmp/d1.h5" "$tmp/d2.h5" 1e-6
train "$tmp/dr" $((N / 2)) -- "${drop[@]}" && train "$tmp/dr" $N -- "${drop[@]}" || { echo "FAIL: dropout resume"; fail=1; }
export_to "$tmp/dr" "$tmp/dr.h5"
check "11. dropout 0.3: $((N / 2)) steps, resume, $((N / 2)) more vs $N straight (W=1)" "$tmp/d1.h5" "$tmp/dr.h5" 0

# 4. SIGUSR1 part-way through a longer W=2 run.
M=60
# mpirun itself must get the signal (it forwards SIGUSR1 to the ranks), so no shell in between.
"${W2[@]}" "$bin/sgm-train" \
  --config "$src/configs/small/ncsnpp_ve_16px.cfg" --data.path="$tmp/data" --training.batch_size=8 \
  --training.n_iters=$M --training.log_freq=4 --training.snapshot_freq=1000 \
  --training.snapshot_freq_for_preemption=2 --optim.warmup=2 --training.snapshot_sampling=false \
  --dist.device=cpu \
  --workdir "$tmp/s" > "$tmp/s.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "step 4 " "$tmp/s.log" 2> /dev/null && break; sleep 0.2; done
kill -USR1 $pid
wait $pid
rc=$?
grep -E "stop signal" "$tmp/s.log" | head -n 1
[ $rc -eq 3 ] || { echo "FAIL: exit $rc after SIGUSR1, want 3"; tail -n 5 "$tmp/s.log"; fail=1; }
train "$tmp/s" $M "${W2[@]}" || { echo "FAIL: restart after SIGUSR1"; fail=1; }
train "$tmp/s_straight" $M "${W2[@]}" || { echo "FAIL: straight W=2 run"; fail=1; }
export_to "$tmp/s" "$tmp/s.h5"
export_to "$tmp/s_straight" "$tmp/s_straight.h5"
check "4. SIGUSR1 (exit $rc), restart, vs $M steps straight (W=2)" "$tmp/s_straight.h5" "$tmp/s.h5" 0

# Snapshot samples: a PNG grid of 64 EMA samples (8 x 8 of 16 x 16 RGB) at the last step.
SAMPLING=true train "$tmp/png" 2 -- --training.snapshot_sample_steps=20
png="$tmp/png/samples/snapshot-00000002.png"
if [ -s "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; then
  echo "[evidence] snapshot grid written: $(basename "$png"), $(stat -c %s "$png") bytes"
else
  echo "FAIL: no snapshot sample grid"; fail=1
fi

[ $fail = 0 ] && echo PASS || exit 1
