#!/usr/bin/env bash
# Memory churn guard (not a timed test): after warm-up, a training step on the small config
# (configs/small/ncsnpp_ve_16px.cfg, batch 32, one rank) makes the kernel map fewer fresh pages
# than 1/8 of the pages its parameters fill. A step that allocates temporaries the size of the
# model (an out-of-place optimizer or EMA over the flat buffers), or memory the C library hands
# back to the kernel after every step, costs several times the parameter pages per step
# (minor page faults; sgm-train records them per step in metrics.jsonl). The guard is the mean
# over steps 21-60: a one-time growth of the heap (a few hundred pages once, seen in one
# interval of 10 steps on a fresh machine) is not churn, which costs thousands every step.
#   Usage: page_faults_test.sh BIN SRC
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
config=$src/configs/small/ncsnpp_ve_16px.cfg
"$bin/sgm-data" make --from shapes --num 64 --resolution 16 --out "$tmp/data" > /dev/null || exit 1
params=$("$bin/sgm-train" --config "$config" --dry-run 2>&1 | tail -n 1 | sed -n 's/^parameters: //p')
[ -n "$params" ] || { echo "FAIL: no parameter count from --dry-run"; exit 1; }
"$bin/sgm-train" --config "$config" --data.path="$tmp/data" --workdir "$tmp/run" \
  --training.n_iters=60 --training.log_freq=10 --training.snapshot_sampling=false \
  > "$tmp/log" 2>&1 || { echo "FAIL: training"; tail -n 5 "$tmp/log"; exit 1; }
python3 - "$tmp/run/metrics.jsonl" "$params" << 'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
params = int(sys.argv[2])
limit = params * 4 / 4096 / 8  # 1/8 of the pages that the float32 parameters fill
for r in records:
    print(f"[evidence] steps to {r['step']}: {r['minor_faults_per_step']:.0f} minor faults and "
          f"{r['system_seconds_per_step'] * 1e3:.1f} ms in the kernel per step")
after = [r["minor_faults_per_step"] for r in records if r["step"] > 20]  # 4 intervals of 10
mean = sum(after) / len(after)
print(f"[evidence] {params} parameters ({params * 4 / 4096:.0f} pages): {mean:.1f} faults per "
      f"step over steps 21-60 (worst interval {max(after):.0f}), limit {limit:.0f}")
sys.exit(0 if len(after) == 4 and mean < limit else 1)
PY
