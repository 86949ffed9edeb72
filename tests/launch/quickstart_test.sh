#!/usr/bin/env bash
# launch/quickstart, shortened (300 steps, 64 samples, bits/dim of 16 held-out images): it must
# end with the data grid, the sample grid, a held-out bits/dim and the shape counts, with every
# data image showing its shape. The shape check itself must reject noise and blank images. The
# full run's share of samples with a shape (5,000 steps) is in docs/setup.md, not asserted here.
# Usage: quickstart_test.sh SRC
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
source "$src/launch/setup" > /dev/null 2>&1
if ! PYTHONPATH=$SGM_PYTHONPATH python3 -c "import numpy, h5py" 2> /dev/null; then
  echo "SKIP: numpy/h5py missing (launch/setup installs them)"; exit 77
fi
check=$(PYTHONPATH=$SGM_PYTHONPATH python3 "$src/launch/quickstart_check.py" noise noise blank blank)
echo "$check"
[ "$(grep -c ": 0/64 (0.0 %)" <<< "$check")" = 2 ] || { echo "FAIL: the shape check passes noise or blank images"; fail=1; }
STEPS=300 SAMPLES=64 BPD_IMAGES=16 "$src/launch/quickstart" "$tmp/runs/quickstart" > "$tmp/log" 2>&1
code=$?
sed -n '/^quickstart: trained/,$p' "$tmp/log"
[ $code = 0 ] || { echo "FAIL: quickstart exit $code"; grep -v "^$" "$tmp/log" | tail -n 20; exit 1; }
for png in "$tmp/runs/quickstart/data_grid.png" "$tmp"/runs/quickstart/eval/ckpt-*/samples/grid.png; do
  [ "$(head -c 4 "$png" 2> /dev/null | tail -c 3)" = PNG ] && echo "[evidence] $png" || { echo "FAIL: no PNG at $png"; fail=1; }
done
grep -q "^held-out bits/dim (16 images): bpd = [0-9.]* ± [0-9.]*" "$tmp/log" || { echo "FAIL: no held-out bits/dim"; fail=1; }
grep -q "^data: 2000/2000 (100.0 %) show one shape$" "$tmp/log" || { echo "FAIL: not every data image passes the shape check"; fail=1; }
grep -q "^samples: [0-9]*/64 (.*) show one shape$" "$tmp/log" || { echo "FAIL: no sample count"; fail=1; }
exit $fail
