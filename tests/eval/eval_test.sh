#!/usr/bin/env bash
# sgm-eval end to end on a tiny NCSN++ run (16 px, 20 steps, model.num_scales = 50):
#   1. stats, fid (PC sampler with Langevin batch norms; a last round of one sample leaves one
#      rank empty) and bpd on 1 and 2 ranks agree (compare_npz prints the evidence);
#   2. a sweep stopped by SIGUSR1 exits 3 and, rerun, ends with the records of an uninterrupted
#      sweep; a snapshot beyond the finished run is reported, not waited for; a missing one
#      with eval.wait_timeout fails after the timeout; results.csv/jsonl and plots exist;
#   1b. inpainting, colourisation and classifier guidance (a TorchScript stand-in classifier)
#      on 1 and 2 ranks agree;
#      sampling.steps samples 20 levels of a 50-level model, on 1 and 2 ranks alike;
#   1c. the few-step ODE solvers give bit-identical samples on 1 and 2 ranks, 8 calls each;
#   1d. eval.seed_sets = 3: disjoint sample indices, per-set records and their mean, std and
#      min (tests/eval/check_seed_sets.py), stopped in set 2 and resumed;
#   1e. sgm-eval nfe: FID per solver and budget, NFE as asked, fid_vs_nfe.png, a rerun that
#      recomputes nothing, and a solver without an NFE setting refused;
#   3. bad input exits 2 naming the key, and writes nothing.
# The detector is make_test_inception's stand-in (deterministic weights): the values are not
# real FIDs, the plumbing and the agreement are what is tested.
#   Usage: eval_test.sh BIN TESTBIN SRC MPIEXEC
set -u
bin=$1
testbin=$2
src=$3
mpiexec=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
mpi2() { "$mpiexec" -np 2 --oversubscribe --bind-to none "$@"; }
compare() { "$testbin/compare_npz" "$@" || fail "compare_npz $*"; }
# stop_when FILE PID: SIGUSR1 to PID once FILE exists (at most 60 s); returns PID's exit code.
stop_when() {
  for _ in $(seq 1 600); do
    [ -f "$1" ] && break
    sleep 0.1
  done
  kill -USR1 "$2"
  wait "$2"
}

"$bin/sgm-data" make --from shapes --num 48 --resolution 16 --out data > /dev/null || exit 1
"$bin/sgm-data" make --from shapes --num 8 --resolution 16 --split test --out test > /dev/null || exit 1
"$testbin/make_test_inception" inception.h5 || exit 1
"$bin/sgm-train" --config "$src/configs/small/quickstart_ve_16px.cfg" --data.path=data \
  --workdir run1 --training.n_iters=20 --training.snapshot_freq=10 --training.batch_size=8 \
  --training.snapshot_sampling=false --model.num_scales=50 > train.log 2>&1 ||
  { tail -n 5 train.log; exit 1; }
cp -r run1 run2
cp -r run1 sweep_a
cp -r run1 sweep_b
cp -r run1 sets
common=(--eval.inception_weights=inception.h5 --eval.feature_batch=8)

echo "== 1. stats, fid and bpd: 1 rank vs 2 ranks"
"$bin/sgm-eval" stats --workdir run1 "${common[@]}" --eval.batch_size=20 \
  --eval.stats_features=true --out ref1.npz > log 2>&1 || { fail "stats"; tail -n 3 log; }
mpi2 "$bin/sgm-eval" stats --workdir run1 "${common[@]}" --eval.batch_size=20 \
  --eval.stats_features=true --out ref2.npz > log 2>&1 || { fail "stats np2"; tail -n 3 log; }
grep -q "^statistics of .* [0-9]* images in " log || fail "no closing progress line for stats"
# Inception runs on 20 or 10 images per call: float32 kernels round differently per batch.
compare ref1.npz ref2.npz mu 1e-5
compare ref1.npz ref2.npz sigma 1e-5
fid=("${common[@]}" --eval.ref_stats=ref1.npz --eval.num_samples=5 --eval.batch_size=4
     --eval.kid_subsets=4 --eval.kid_subset_size=4 --sampling.snr=0.05)
"$bin/sgm-eval" fid --workdir run1 "${fid[@]}" > log1 2>&1 || { fail "fid"; tail -n 3 log1; }
mpi2 "$bin/sgm-eval" fid --workdir run2 "${fid[@]}" > log2 2>&1 || { fail "fid np2"; tail -n 3 log2; }
grep -h "fid =" log1 log2
# Progress of the rounds (not a terminal: one line per 10 % done, then a closing line).
if grep -q "^samples: 4/5 images (80%), .* images/s, .* left$" log2 && grep -q "^samples: 5 images in " log2; then
  echo "[evidence] progress: $(grep "^samples: " log2 | tr '\n' '|')"
else
  fail "no progress lines for the sample rounds"; grep "^samples" log2
fi
samples=eval/ckpt-00000020/samples
compare run1/$samples run2/$samples indices 0
compare run1/$samples run2/$samples samples 0.02   # uint8: at most 5 levels apart
compare run1/$samples run2/$samples pool3 1e-3
bpd=(--eval.data_path=test --eval.bpd_max_images=3 --eval.bpd_passes=2 --eval.batch_size=4)
"$bin/sgm-eval" bpd --workdir run1 "${bpd[@]}" > log1 2>&1 || { fail "bpd"; tail -n 3 log1; }
mpi2 "$bin/sgm-eval" bpd --workdir run2 "${bpd[@]}" > log2 2>&1 || { fail "bpd np2"; tail -n 3 log2; }
grep -h "bpd =" log1 log2
grep -q "^bpd: 6 images in " log2 || fail "no closing progress line for the bpd rounds"
# Ranks see other batch compositions (4 vs 2 + 2 images): the network's float32 rounding
# differs at 1e-7 and RK45's step control (per sample) amplifies it up to its own tolerance; on
# one rank, batch 4 vs batch 1 differs the same way (5.6e-5 relative, NFE 212 vs 170).
compare run1/eval/ckpt-00000020/bpd-test run2/eval/ckpt-00000020/bpd-test bpd 1e-3

echo "== 1b. inpainting, colourisation and classifier guidance: 1 rank vs 2 ranks"
"$testbin/make_test_classifier" classifier.pt 3 16 16 10 > /dev/null || exit 1
task() {  # task NAME OPTIONS...: sample on run1 (1 rank) and run2 (2 ranks), compare
  local name=$1 dir=eval/ckpt-00000020/$2
  shift 2
  local opts=(--eval.num_samples=5 --eval.batch_size=4 --sampling.snr=0.05 "$@")
  "$bin/sgm-eval" sample --workdir run1 "${opts[@]}" > log1 2>&1 || { fail "$name"; tail -n 3 log1; }
  mpi2 "$bin/sgm-eval" sample --workdir run2 "${opts[@]}" > log2 2>&1 || { fail "$name np2"; tail -n 3 log2; }
  compare run1/$dir run2/$dir samples 0.02
  [ -s run1/$dir/grid.png ] || fail "$name: no grid.png"
}
task inpaint inpaint --eval.task=inpaint --eval.mask=center --eval.data_path=test
compare run1/eval/ckpt-00000020/inpaint run2/eval/ckpt-00000020/inpaint inputs 0
task colorize colorize --eval.task=colorize --eval.data_path=test
task guided samples --eval.classifier=classifier.pt --eval.class_label=-1
compare run1/eval/ckpt-00000020/samples run2/eval/ckpt-00000020/samples labels 0
# sampling.steps: 20 PC levels on a model of model.num_scales = 50 (changing num_scales instead
# would ask for another model: its sigmas buffer no longer fits the checkpoint).
task steps samples --sampling.steps=20
grep -q "nfe = 40 " log2 || { fail "sampling.steps = 20: not 20 x 2 calls"; grep "nfe =" log2; }
"$bin/sgm-eval" sample --workdir run1 --eval.num_samples=2 --model.num_scales=20 > log 2>&1
echo "[evidence] model.num_scales = 20 at sampling time instead: exit $?: $(tail -n 1 log)"
"$bin/sgm-eval" sample --workdir run1 --eval.task=inpaint --eval.data_path=test --eval.mask=nowhere > log 2>&1
rc=$?
echo "[evidence] a bad mask: exit $rc: $(tail -n 1 log)"
[ $rc -eq 2 ] && grep -q "eval.mask" log || fail "bad eval.mask"

echo "== 1c. few-step solvers: 1 rank (rounds of 2) vs 2 ranks (rounds of 4, 2 per rank)"
# The same batch compositions on both sides, so the samples must be bit-identical.
for solver in dpmpp_2m dpmpp_3m unipc; do
  opts=(--eval.num_samples=6 --sampling.method=ode "--sampling.ode_solver=$solver" --sampling.nfe=8)
  "$bin/sgm-eval" sample --workdir run1 "${opts[@]}" --eval.batch_size=2 > log1 2>&1 || { fail "$solver"; tail -n 3 log1; }
  mpi2 "$bin/sgm-eval" sample --workdir run2 "${opts[@]}" --eval.batch_size=4 > log2 2>&1 || { fail "$solver np2"; tail -n 3 log2; }
  compare run1/$samples run2/$samples samples 0
  compare run1/$samples run2/$samples nfe 0
  grep -q "nfe = 8 " log2 || { fail "$solver: not 8 network calls"; grep "nfe =" log2; }
done

echo "== 1d. seed sets: three disjoint sets and their mean, std and min; a stop mid-way resumes"
sets=("${common[@]}" --eval.ref_stats=ref1.npz --eval.num_samples=4 --eval.batch_size=2
      --eval.seed_sets=3 --eval.kid_subsets=2 --eval.kid_subset_size=4 --sampling.method=ode
      --sampling.ode_solver=dpmpp_2m --sampling.nfe=6)
"$bin/sgm-eval" fid --workdir sets "${sets[@]}" > log 2>&1 &
stop_when sets/eval/ckpt-00000020/samples-set1/round-00000.npz $!  # seed set 2 has begun
rc=$?
echo "[evidence] seed sets stopped by SIGUSR1 in set 2: exit $rc"
[ $rc -eq 3 ] || fail "a stopped seed-set evaluation exits 3, got $rc"
mpi2 "$bin/sgm-eval" fid --workdir sets "${sets[@]}" > log 2>&1 || { fail "seed sets resumed"; tail -n 3 log; }
grep -q "seed set 1 of 3 recorded already" log || fail "the resumed job recomputed seed set 1"
python3 "$src/tests/eval/check_seed_sets.py" sets/eval 3 4 || fail "seed set records"

echo "== 1e. quality against NFE: three solvers at two budgets, one plot"
nfe=("${common[@]}" --eval.ref_stats=ref1.npz --eval.num_samples=4 --eval.batch_size=4
     --eval.kid_subsets=2 --eval.kid_subset_size=4 --sampling.nfe_list=4,8)
mpi2 "$bin/sgm-eval" nfe --workdir run2 "${nfe[@]}" --sampling.nfe_solvers=dpmpp_2m,edm_heun,euler \
  > log 2>&1 || { fail "nfe"; tail -n 3 log; }
grep "NFE (.* measured): FID" log | sed 's/^/[evidence] /'
for expect in "dpmpp_2m at 4 NFE (4.0" "dpmpp_2m at 8 NFE (8.0" "edm_heun at 4 NFE (5.0" \
  "edm_heun at 8 NFE (9.0" "euler at 4 NFE (4.0" "euler at 8 NFE (8.0"; do
  grep -qF "$expect" log || fail "nfe: no line '$expect'"
done
head -c 8 run2/eval/fid_vs_nfe.png | od -An -tx1 | grep -q "89 50 4e 47" || fail "fid_vs_nfe.png is not a PNG"
"$bin/sgm-eval" nfe --workdir run2 "${nfe[@]}" --sampling.nfe_solvers=dpmpp_2m,edm_heun,euler \
  > log 2>&1 || fail "nfe rerun"
[ "$(grep -c "recorded already" log)" -eq 6 ] || fail "a rerun of sgm-eval nfe recomputed work"
"$bin/sgm-eval" nfe --workdir run2 "${nfe[@]}" --sampling.nfe_solvers=dpmpp_2m,rk45 > log 2>&1
rc=$?
echo "[evidence] nfe sweep with rk45: exit $rc: $(tail -n 1 log)"
[ $rc -eq 2 ] && grep -q "sampling.nfe_solvers" log || fail "rk45 in sampling.nfe_solvers"

echo "== 2. sweeps: stop and resume, never-written and missing snapshots"
# What is tested here is the sweep's bookkeeping, not accuracy: both ODEs at loose tolerances.
sweep=("${common[@]}" --eval.ref_stats=ref1.npz --eval.enable_sampling=true
       --eval.num_samples=8 --eval.batch_size=2 --eval.kid_subsets=4 --eval.kid_subset_size=4
       --sampling.method=ode --sampling.rtol=1e-3 --sampling.atol=1e-3
       --eval.enable_bpd=true --eval.data_path=test --eval.bpd_max_images=2
       --eval.bpd_rtol=1e-3 --eval.bpd_atol=1e-3 --eval.begin_ckpt=1 --eval.end_ckpt=3)
"$bin/sgm-eval" sweep --workdir sweep_a "${sweep[@]}" > log_a 2>&1 || { fail "sweep"; tail -n 3 log_a; }
grep -q "never written" log_a || fail "snapshot 3 (step 30) not reported as never written"
"$bin/sgm-eval" sweep --workdir sweep_b "${sweep[@]}" > log_b 2>&1 &
stop_when sweep_b/eval/ckpt-00000010/samples/round-00000.npz $!  # snapshot 1's first round
rc=$?
echo "[evidence] sweep stopped by SIGUSR1: exit $rc ($(ls sweep_b/eval/ckpt-00000010/samples | grep -c round) rounds kept)"
[ $rc -eq 3 ] || fail "a stopped sweep exits 3, got $rc"
"$bin/sgm-eval" sweep --workdir sweep_b "${sweep[@]}" > log_b2 2>&1 || { fail "resumed sweep"; tail -n 3 log_b2; }
grep -q "rounds already done" log_b2 || fail "the resumed sweep did not reuse finished rounds"
values() { cut -d, -f1-6 "$1/eval/results.csv"; }
if [ "$(values sweep_a)" = "$(values sweep_b)" ]; then
  echo "[evidence] resumed sweep: $(($(values sweep_b | wc -l) - 1)) records identical to the uninterrupted sweep"
else
  fail "resumed sweep records differ"; diff <(values sweep_a) <(values sweep_b)
fi
for f in results.jsonl fid.png is.png kid.png bpd.png nfe.png; do
  [ -s sweep_b/eval/$f ] || fail "sweep_b/eval/$f missing"
done
head -c 8 sweep_b/eval/fid.png | od -An -tx1 | grep -q "89 50 4e 47" || fail "fid.png is not a PNG"
"$bin/sgm-eval" sweep --workdir sweep_b "${sweep[@]}" > log_b3 2>&1 || fail "third sweep"
grep -q "2 recorded before" log_b3 || fail "a finished sweep recomputed work"
start=$(date +%s)
"$bin/sgm-eval" sweep --workdir sweep_b "${sweep[@]}" --training.n_iters=100 \
  --eval.wait_timeout=2 > log_w 2>&1
rc=$?
echo "[evidence] missing snapshot with eval.wait_timeout = 2: exit $rc after $(( $(date +%s) - start )) s: $(grep -o 'snapshot 3.*' log_w | tail -n 1)"
[ $rc -eq 1 ] && grep -q "did not appear within" log_w || fail "wait_timeout"

echo "== 3. bad input"
mkdir fresh && cp -r run1/checkpoints run1/config.cfg fresh/
"$bin/sgm-eval" fid --workdir fresh --eval.ref_stats=ref1.npz > log 2>&1
rc=$?
echo "[evidence] fid without a detector: exit $rc: $(tail -n 1 log)"
[ $rc -eq 2 ] && grep -q "eval.inception_weights" log || fail "missing eval.inception_weights"
"$bin/sgm-eval" fid --workdir fresh "${common[@]}" --eval.ref_stats=missing.npz > log 2>&1
rc=$?
echo "[evidence] missing reference file: exit $rc: $(tail -n 1 log)"
[ $rc -eq 2 ] && grep -q "missing.npz" log || fail "missing reference statistics file"
"$bin/sgm-eval" bpd --workdir fresh > log 2>&1
rc=$?
echo "[evidence] bpd without test data: exit $rc: $(tail -n 1 log)"
[ $rc -eq 2 ] && grep -q "eval.data_path" log || fail "missing eval.data_path"
[ ! -e fresh/eval ] || fail "a refused job wrote fresh/eval"

[ $failures -eq 0 ] && echo PASS || { echo "$failures failure(s)"; exit 1; }
