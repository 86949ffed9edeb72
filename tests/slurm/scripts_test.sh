#!/usr/bin/env bash
# The cluster scripts without a cluster: bash -n and shellcheck (when installed) over slurm/ and
# launch/mpirun_sgm; --help of each; bad input exits 2 with a line naming the option; the
# pipeline's sbatch commands (--dry-run) for a config: afterok dependency, array range, logs.
#   Usage: scripts_test.sh BIN SRC
set -u
bin=$1
src=$2
cd "$src" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
scripts=(slurm/train.sbatch slurm/eval_sweep.sbatch slurm/pipeline.sh slurm/common.sh slurm/site.sh
         launch/mpirun_sgm launch/test launch/quickstart tests/slurm/slurm_test.sh
         tests/slurm/local_cluster.sh)
for s in "${scripts[@]}"; do bash -n "$s" || fail "bash -n $s"; done
if command -v shellcheck > /dev/null; then
  if shellcheck -x "${scripts[@]}"; then
    echo "[evidence] shellcheck: ${#scripts[@]} scripts clean"
  else
    fail "shellcheck"
  fi
else
  echo "[evidence] shellcheck not installed: only bash -n ran"
fi
for s in slurm/train.sbatch slurm/eval_sweep.sbatch slurm/pipeline.sh launch/mpirun_sgm; do
  bash "$s" --help | grep -q "^usage:" || fail "$s --help"
done
for s in launch/test launch/quickstart; do
  [ -n "$(bash "$s" --help)" ] || fail "$s --help"
done

expect_error() {  # expect_error WORDS COMMAND...: exit 2 and a message containing WORDS
  local words=$1 out rc
  shift
  out=$(env -u SLURM_JOB_ID "$@" 2>&1)
  rc=$?
  echo "[evidence] $(basename "$2") -> exit $rc: $(echo "$out" | tail -n 1)"
  if [ $rc -ne 2 ] || ! grep -q -- "$words" <<< "$out"; then fail "$* (exit $rc): $out"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SGM_BIN=$bin
expect_error "--workdir DIR is required" bash slurm/train.sbatch --config configs/small/ncsnpp_ve_16px.cfg
expect_error "no such file" bash slurm/train.sbatch --workdir "$tmp/w" --config missing.cfg
expect_error "not inside a Slurm job" bash slurm/train.sbatch --workdir "$tmp/w" --config configs/small/ncsnpp_ve_16px.cfg
expect_error "does not exist" bash slurm/train.sbatch --workdir /no/such/dir/w --config configs/small/ncsnpp_ve_16px.cfg
expect_error "no config.cfg" bash slurm/eval_sweep.sbatch --workdir "$tmp"
mkdir -p "$tmp/run" && touch "$tmp/run/config.cfg"
expect_error "--per-task x" bash slurm/eval_sweep.sbatch --workdir "$tmp/run" --per-task x
expect_error "--config FILE is required" bash slurm/pipeline.sh --workdir "$tmp/p"
expect_error "unknown option" bash slurm/pipeline.sh --config configs/small/ncsnpp_ve_16px.cfg --workdir "$tmp/p" --bogus
expect_error "--gpus-per-node x" bash slurm/pipeline.sh --config configs/small/ncsnpp_ve_16px.cfg --workdir "$tmp/p" --gpus-per-node x
expect_error "model.nme" bash slurm/pipeline.sh --config configs/small/ncsnpp_ve_16px.cfg --workdir "$tmp/p" --dry-run -- --model.nme=x
expect_error "--bind sideways" bash launch/mpirun_sgm --bind sideways -- "$bin/sgm-train"
expect_error "unknown option" bash launch/quickstart --bogus
SGM_BIN=/nowhere expect_error "build sgm first" bash slurm/pipeline.sh --config configs/small/ncsnpp_ve_16px.cfg --workdir "$tmp/p"

# The commands the pipeline would submit: snapshots 1..4 of 80 steps every 20, two per task.
out=$(bash slurm/pipeline.sh --config configs/small/ncsnpp_ve_16px.cfg --workdir "$tmp/p" \
  --gpus-per-node 4 --nodes 2 --eval-per-task 2 --eval-concurrency 3 --watch 2 --dry-run \
  --eval-args "--eval.end_ckpt=9" -- --training.n_iters=80 --training.snapshot_freq=20)
echo "$out"
grep -q -- "--nodes=2 --ntasks-per-node=4 --gpus-per-node=4 .*slurm/train.sbatch" <<< "$out" || fail "training resources"
grep -q -- "--dependency=afterok:DRYRUN1 --array=0-1%3 .*--first 1 --per-task 2" <<< "$out" || fail "array range"
grep -q -- "--eval.wait_timeout=7200" <<< "$out" || fail "watch timeout"
[ ! -e "$tmp/p" ] || fail "--dry-run created the work directory"
launch/mpirun_sgm -n 4 --hosts a,b --threads 3 --bind cores --dry-run -- "$bin/sgm-train" | tee "$tmp/m"
grep -q -- "-np 4 --host a:2,b:2 --map-by ppr:2:node:PE=3 --bind-to core" "$tmp/m" || fail "mpirun_sgm flags"

if [ $failures -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo PASS
