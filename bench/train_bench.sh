#!/usr/bin/env bash
# Training throughput of sgm-train under each numerics option, side by side in one run:
# fp32, TF32, bf16 autocast, channels-last, bf16 + channels-last. Prints images/s and the ratio
# to fp32 (ratios, because these machines are noisy).
#   bench/train_bench.sh [--device cpu|cuda] [--config FILE] [--batch N] [--steps N]
#                        [--resolution N] [--launcher "mpirun -np 8"] [--set "--key=value ..."]
#                        [--variants "fp32 tf32 bf16 channels_last bf16+channels_last"]
#                        [--json FILE] [--baseline DIR]
# --set passes more options to every sgm-train run; --json writes the table as JSON as well.
# --baseline DIR: also run DIR/sgm-train (another build, e.g. of the previous commit) before
# each variant, as row "<variant>@baseline": old and new side by side, ratios to the first row.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SGM_BIN:-$here/build/launch}
device=cpu config=$here/configs/small/ncsnpp_ve_16px.cfg batch=16 steps=20 resolution=16 launcher=""
extra="" json="" baseline="" variants="fp32 tf32 bf16 channels_last bf16+channels_last"
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --resolution) resolution=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --set) extra=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    -h | --help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "train_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$bin/sgm-train" ] || { echo "train_bench.sh: no $bin/sgm-train (build first)" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline/sgm-train" ] ||
  { echo "train_bench.sh: --baseline: no $baseline/sgm-train" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/sgm-data" make --from shapes --num $((batch * 4)) --resolution "$resolution" \
  --out "$tmp/data" > /dev/null
# images/s over the second half of the run (the first half warms up caches and autotuning).
measure() {  # measure NAME TRAIN_BINARY OPTIONS...
  local name=$1 train=$2 dir
  shift 2
  dir=$(mktemp -d "$tmp/run.XXXXXX")  # a variant may be given twice: every run its own directory
  # shellcheck disable=SC2086
  $launcher "$train" --config "$config" --data.path="$tmp/data" --data.image_size="$resolution" \
    --training.batch_size="$batch" --training.n_iters="$steps" --training.log_freq=$((steps / 2)) \
    --training.snapshot_freq=$((steps * 10)) --training.snapshot_freq_for_preemption=$((steps * 10)) \
    --training.snapshot_sampling=false --dist.device="$device" --workdir "$dir/work" $extra "$@" \
    > "$dir/log" 2>&1 || { echo "train_bench.sh: run '$name' failed:" >&2; tail -n 3 "$dir/log" >&2; exit 1; }
  # the two records: images/s since the start at the half and at the end -> second half alone
  python3 - "$dir/work/metrics.jsonl" "$steps" "$batch" << 'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
steps, batch = int(sys.argv[2]), int(sys.argv[3])
t_half = (steps // 2) * batch / r[0]["images_per_second"]
t_all = steps * batch / r[-1]["images_per_second"]
print(f"{(steps - steps // 2) * batch / (t_all - t_half):.1f}", r[-1].get("gpu_peak_mib", "-"))
PY
}
printf '%-24s %12s %10s %14s\n' option images/s ratio gpu_peak_MiB
base="" rows=()
for name in $variants; do
  case $name in
    fp32) options="" ;;
    tf32) options="--training.tf32=true" ;;
    bf16) options="--training.autocast=bf16" ;;
    channels_last) options="--training.channels_last=true" ;;
    bf16+channels_last) options="--training.autocast=bf16 --training.channels_last=true" ;;
    *) echo "train_bench.sh: unknown variant '$name'" >&2; exit 2 ;;
  esac
  runs=("$name $bin/sgm-train")
  [ -z "$baseline" ] || runs=("$name@baseline $baseline/sgm-train" "${runs[@]}")
  for run in "${runs[@]}"; do
    read -r label train <<< "$run"
    # shellcheck disable=SC2086
    out=$(measure "$label" "$train" $options) || exit 1
    read -r ips gpu <<< "$out"
    [ -z "$base" ] && base=$ips
    ratio=$(python3 -c "print(f'{$ips / $base:.2f}')")
    printf '%-24s %12s %10s %14s\n' "$label" "$ips" "$ratio" "$gpu"
    rows+=("$label $ips $ratio $gpu")
  done
done
if [ -n "$json" ]; then
  printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    name, ips, ratio, gpu = line.split()
    rows.append({"option": name, "images_per_second": float(ips), "ratio_to_first": float(ratio),
                 "gpu_peak_mib": None if gpu == "-" else float(gpu)})
json.dump(rows, open(sys.argv[1], "w"), indent=2)
' "$json"
fi
