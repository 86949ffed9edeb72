#!/usr/bin/env bash
# sgm-data at scale: converts a folder of COUNT noise PNGs of SIZE^2 (default 20,000 of 256^2:
# 3,750 MiB decoded) into shards, then verifies them. Prints the wall time, images/s and the
# peak resident memory of each, beside the peak of `sgm-data --help` (what LibTorch alone
# costs), so the streaming overhead reads as the difference.
#   bench/data_bench.sh [--count N] [--size S] [--shard-mib M] [--dir DIR] [--keep]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SGM_BIN:-$here/build/launch}
count=20000 size=256 shard_mib=128 dir="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --shard-mib) shard_mib=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n 2,6p "$0"; exit 0 ;;
    *) echo "data_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$dir" ] || dir=$(mktemp -d)
[ $keep = 1 ] || trap 'rm -rf "$dir"' EXIT
# runs COMMAND..., prints "seconds peak_MiB"
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.time()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
if code:
    sys.exit(f"{sys.argv[1]} exited {code}")
print(f"{time.time() - start:.1f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
PY
}
if [ ! -d "$dir/png" ]; then
  echo "writing $count PNGs of ${size}x${size} into $dir/png"
  python3 "$here/tests/launch/png_folder.py" "$dir/png" "$count" "$size"
fi
decoded=$((count * size * size * 3 / 1048576))
read -r _ base < <(measure "$bin/sgm-data" --help)
rm -rf "$dir/data"
read -r make_s make_mib < <(measure "$bin/sgm-data" make --from folder --input "$dir/png" --out "$dir/data" --shard-mib "$shard_mib")
read -r verify_s verify_mib < <(measure "$bin/sgm-data" verify "$dir/data")
shards=$(find "$dir/data" -name '*.h5' | wc -l)
echo "input: $count PNGs of ${size}x${size}x3, $decoded MiB decoded; $shards shards of <= $shard_mib MiB; $(nproc) cores"
printf '%-8s %9s %10s %14s %16s\n' step seconds images/s "peak RSS MiB" "above --help"
printf '%-8s %9s %10s %14s %16s\n' --help - - "$base" 0
printf '%-8s %9s %10.0f %14s %16s\n' make "$make_s" "$(awk "BEGIN { print $count / $make_s }")" "$make_mib" $((make_mib - base))
printf '%-8s %9s %10.0f %14s %16s\n' verify "$verify_s" "$(awk "BEGIN { print $count / $verify_s }")" "$verify_mib" $((verify_mib - base))
