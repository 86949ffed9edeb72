#!/usr/bin/env bash
# Issue 6, test 8: a 2-D mixture of 8 Gaussians (std 0.1 on a circle of radius 2) is learnt on
# the CPU by sgm-train under mpirun -np 2 (configs/small/mlp_toy2d_ve.cfg, 10,000 steps), and
# the EMA samples match the data per mode (weight, mean, std; toy2d_check prints the table).
#   Usage: toy2d_test.sh BIN CHECK SRC MPIEXEC
set -u
bin=$1
check=$2
src=$3
mpiexec=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/sgm-data" make --from toy --toy gmm --num 5000 --out "$tmp/data" > /dev/null || exit 1
start=$(date +%s)
"$mpiexec" -np 2 --oversubscribe --bind-to none "$bin/sgm-train" \
  --config "$src/configs/small/mlp_toy2d_ve.cfg" --data.path="$tmp/data" --workdir "$tmp/run" \
  > "$tmp/log" 2>&1 || { echo "FAIL: training"; tail -n 5 "$tmp/log"; exit 1; }
grep "^step 10000" "$tmp/log"
echo "[evidence] trained in $(( $(date +%s) - start )) s"
"$check" "$tmp/run" "$tmp/data" && echo PASS || { echo "FAIL: samples do not match the data"; exit 1; }
