#!/usr/bin/env bash
# sgm-data make streams: converting 8x more PNGs (400 vs 3,200 of 128x128, 19 vs 150 MiB decoded)
# into 8 MiB shards must not raise the peak resident memory by more than 48 MiB (reading
# everything first, as make once did, holds the decoded images at least twice: +262 MiB; the
# peaks of streamed runs vary by about 25 MiB with the allocator's arenas, not with the input),
# and the peak stays within one shard + 256 MiB of what `sgm-data --help` takes (LibTorch).
# Also: progress lines (not a terminal: one per 10 %), the shard count --shard-mib gives, and
# verify reading it back.
# Usage: data_memory_test.sh BIN SRC
set -u
bin=$1 src=$2
if [ -n "${ASAN_OPTIONS:-}" ]; then  # the asan test preset sets it
  echo "SKIP: under AddressSanitizer (shadow memory, quarantine) peak RSS says nothing about streaming"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
python3 "$src/tests/launch/png_folder.py" "$tmp/small" 400 128 || exit 1
python3 "$src/tests/launch/png_folder.py" "$tmp/large" 3200 128 || exit 1
peak_kib() {  # peak_kib LOG COMMAND...: runs it, prints its peak RSS in KiB
  local log=$1
  shift
  python3 - "$log" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    code = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if code == 0 else f"exit {code}")
PY
}
base=$(peak_kib "$tmp/help.log" "$bin/sgm-data" --help)
small=$(peak_kib "$tmp/small.log" "$bin/sgm-data" make --from folder --input "$tmp/small" --out "$tmp/small.d" --shard-mib 8)
large=$(peak_kib "$tmp/large.log" "$bin/sgm-data" make --from folder --input "$tmp/large" --out "$tmp/large.d" --shard-mib 8)
echo "[evidence] peak RSS: --help $((base / 1024)) MiB, 400 PNGs $((small / 1024)) MiB, 3200 PNGs $((large / 1024)) MiB"
case "$base$small$large" in *exit*) echo "FAIL: make: $small / $large"; cat "$tmp/large.log"; exit 1 ;; esac
[ $((large - small)) -le $((48 * 1024)) ] || { echo "FAIL: peak memory grew by $(((large - small) / 1024)) MiB with the input"; fail=1; }
[ $((large - base)) -le $(((8 + 256) * 1024)) ] || { echo "FAIL: peak $(((large - base) / 1024)) MiB above --help, more than one shard + 256 MiB"; fail=1; }
shards=$(grep -c "checksum" "$tmp/large.log")
if [ "$shards" = 19 ]; then echo "[evidence] 3200 x 48 KiB into 8 MiB shards: $shards shards"; else echo "FAIL: $shards shards, expected 19"; fail=1; fi
lines=$(grep -c "^make $tmp/large.d: [0-9]*/3200 images ([0-9]*%), .* images/s, .* left$" "$tmp/large.log")
grep "^make $tmp/large.d: " "$tmp/large.log" | sed 's/^/  /'
if [ "$lines" -lt 8 ] || [ "$lines" -gt 9 ]; then echo "FAIL: $lines progress lines (one per 10 %)"; fail=1; fi
grep -q "^make $tmp/large.d: 3200 images in .* images/s)$" "$tmp/large.log" || { echo "FAIL: no closing line"; fail=1; }
"$bin/sgm-data" verify "$tmp/large.d" > "$tmp/verify.log" 2>&1 || { echo "FAIL: verify"; cat "$tmp/verify.log"; fail=1; }
grep -q "verify $tmp/large.d: 3200 images in" "$tmp/verify.log" || { echo "FAIL: verify shows no progress"; cat "$tmp/verify.log"; fail=1; }
tail -n 1 "$tmp/verify.log"
exit $fail
