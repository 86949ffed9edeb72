#!/usr/bin/env bash
# eval/tools/inception_weights_to_h5.py: it compiles, and it refuses a file whose SHA-256 does not
# start with 6726825d (naming the file) or that does not exist, before it needs torch or h5py. The conversion of the real
# weights needs the 95 MB download, which tests cannot fetch: see docs/evaluation.md.
#   Usage: converter_test.sh SRC
set -u
script=$1/eval/tools/inception_weights_to_h5.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m py_compile "$script" || { echo "FAIL: does not compile"; exit 1; }
python3 "$script" "$tmp/absent.pth" "$tmp/out.h5" > "$tmp/log" 2>&1 && { echo "FAIL: accepted a missing file"; exit 1; }
echo "[evidence] missing input: $(cat "$tmp/log")"
head -c 4096 /dev/urandom > "$tmp/other.pth"  # the SHA-256 check comes before torch is needed
python3 "$script" "$tmp/other.pth" "$tmp/out.h5" > "$tmp/log" 2>&1 && { echo "FAIL: accepted another file"; exit 1; }
grep -q "does not start with 6726825d" "$tmp/log" || { echo "FAIL: $(cat "$tmp/log")"; exit 1; }
echo "[evidence] other weights: $(cat "$tmp/log")"
[ ! -e "$tmp/out.h5" ] || { echo "FAIL: wrote an output"; exit 1; }
echo PASS
