#!/usr/bin/env bash
# interop: what a user of score_sde_pytorch or EDM brings and takes away, end to end.
#   1. every fixture checkpoint (<case>.pth, and its /params .h5) imports with one command into a
#      new run; a second import into it, a config of another architecture and a file that is
#      not a checkpoint exit 2 naming the key or file, with nothing written;
#   2. on an imported run: sgm-eval sample (with the PNG export) and bpd run, and sgm-train
#      continues it for 2 steps;
#   3. export --format pth and h5; the real PyTorch reads them (score_sde_interop.py
#      check-export): every tensor equals the fixture's /params (0 expected), the fixture .pth
#      round-trips, and score_sde's own network loads the state_dict strictly and reproduces
#      /forward/out;
#   4. a checkpoint the reference's own step function trained for 2 steps (Adam moments, EMA
#      updates) imports and exports to exactly the same model, EMA and Adam state, and the
#      reference resumes from the export;
#   5. the sample PNGs, laid out as EDM's dataset_tool.py does (zip, and folder with
#      dataset.json), become an sgm dataset equal to the stored samples with dataset.json's
#      labels; --from folder refuses the EDM tree with the hint.
#   Usage: interop_test.sh BIN FIXTURE_CONFIG SRC
set -u
bin=$1
fixture_config=$2
src=$3
fixtures=${SGM_FIXTURES:-$src/../shared/fixtures}/score_sde
peers=$src/../shared/peers/score_sde_pytorch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ls "$fixtures"/*.pth > /dev/null 2>&1 || { echo "SKIP: no fixture checkpoints in $fixtures"; exit 77; }

# The Python side needs the wheel's torch with numpy and h5py (launch/setup installs them).
export PYTHONPATH=${SGM_PYTHONPATH:-}${PYTHONPATH:+:$PYTHONPATH}
py=""
if python3 -c "import torch, h5py, numpy" 2> /dev/null; then
  py="python3 $src/tests/launch/score_sde_interop.py"
elif [ -n "${SGM_PYTHONPATH:-}" ]; then
  fail "launch/setup gave SGM_PYTHONPATH=$SGM_PYTHONPATH but python3 cannot import torch, h5py and numpy"
else
  echo "NOTE: LibTorch is not the torch wheel (no SGM_PYTHONPATH): the PyTorch checks are not run"
fi
[ -d "$peers" ] || peers=""

# Exit code `want`, one line on stderr naming `name`, and `dir` not created.
refused() {
  local want=$1 name=$2 dir=$3
  shift 3
  "$@" > out.log 2> err.log
  local rc=$?
  [ "$rc" -eq "$want" ] || { fail "exit $rc (want $want): $*"; cat err.log; return; }
  grep -q -- "$name" err.log || fail "message does not name $name: $(cat err.log)"
  [ "$(wc -l < err.log)" -eq 1 ] || fail "more than one line: $(cat err.log)"
  [ -z "$dir" ] || [ ! -e "$dir" ] || fail "$dir was written"
  echo "refused (exit $rc): $(cat err.log)"
}

echo "== 1. import every fixture checkpoint"
for pth in "$fixtures"/*.pth; do
  case=$(basename "$pth" .pth)
  "$fixture_config" "$fixtures/$case.h5" > "$case.cfg" || { fail "fixture_config $case"; continue; }
  "$bin/sgm-eval" import --checkpoint "$pth" --config "$case.cfg" --workdir "run_$case" \
    > log 2>&1 || { fail "import $case"; cat log; continue; }
  cat log
  ls run_"$case"/checkpoints/snapshot-* > /dev/null || fail "$case: no snapshot"
  "$bin/sgm-eval" import --checkpoint "$fixtures/$case.h5" --config "$case.cfg" \
    --workdir "h5_$case" > log 2>&1 || { fail "import $case.h5"; cat log; }
done
first=$(basename "$(ls "$fixtures"/*.pth | head -n 1)" .pth)
refused 2 "already holds a snapshot of step" "" "$bin/sgm-eval" import --checkpoint "$fixtures/$first.pth" \
  --config "$first.cfg" --workdir "run_$first"
refused 2 "another configuration" "" "$bin/sgm-eval" import --checkpoint "$fixtures/$first.pth" \
  --config "$first.cfg" --model.dropout=0.5 --workdir "run_$first"
refused 2 "of another shape" wide "$bin/sgm-eval" import --checkpoint "$fixtures/$first.pth" \
  --config "$first.cfg" --model.nf=8 --workdir wide
echo "not a checkpoint" > bogus.pth
refused 2 bogus.pth bogus "$bin/sgm-eval" import --checkpoint bogus.pth --config "$first.cfg" \
  --workdir bogus

echo "== 2. evaluate and continue an imported run"
continuous=$(ls "$fixtures"/*cont*.pth | head -n 1)
cont=$(basename "$continuous" .pth)
"$bin/sgm-data" make --from shapes --num 16 --resolution 16 --out data > /dev/null || exit 1
"$bin/sgm-eval" sample --workdir "run_$cont" --eval.num_samples=6 --eval.batch_size=4 \
  --sampling.method=ode --sampling.rtol=1e-2 --sampling.atol=1e-2 --eval.image_format=png > log 2>&1 || { fail "sample $cont"; tail -n 3 log; }
pngs=(run_"$cont"/eval/ckpt-*/samples/png/*.png)
[ "${#pngs[@]}" -eq 6 ] && [ -f "${pngs[0]}" ] || fail "sample PNGs: ${#pngs[@]} (want 6)"
echo "sample: ${#pngs[@]} PNGs, $(basename "${pngs[0]}") ..."
"$bin/sgm-eval" bpd --workdir "run_$cont" --eval.data_path=data --eval.bpd_max_images=2 \
  --eval.batch_size=2 --eval.bpd_rtol=1e-3 --eval.bpd_atol=1e-3 > log 2>&1 ||
  { fail "bpd $cont"; tail -n 3 log; }
grep -h "bpd =" log
step=$(ls -d run_"$cont"/checkpoints/snapshot-* | head -n 1 | sed 's/.*snapshot-0*//')
step=${step:-0}
cp -r "run_$cont" "continued_$cont"
"$bin/sgm-train" --workdir "continued_$cont" --data.path=data --training.batch_size=4 \
  --training.n_iters=$((step + 2)) --training.snapshot_sampling=false > log 2>&1 ||
  { fail "sgm-train continuing $cont"; tail -n 5 log; }
grep -h "resumed from" log || fail "sgm-train did not resume the imported checkpoint"

echo "== 3. export, read back by PyTorch"
for pth in "$fixtures"/*.pth; do
  case=$(basename "$pth" .pth)
  [ -d "run_$case" ] || continue
  "$bin/sgm-eval" export --workdir "run_$case" --out "$case.pth" > log 2>&1 || { fail "export pth $case"; cat log; }
  "$bin/sgm-eval" export --workdir "run_$case" --format h5 --out "$case.h5" > log 2>&1 ||
    { fail "export h5 $case"; cat log; }
  [ -z "$py" ] || $py check-export "$fixtures/$case.h5" "$pth" "$case.pth" "$case.h5" $peers ||
    fail "check-export $case"
done
refused 2 "--format" "" "$bin/sgm-eval" export --workdir "run_$first" --out weights.bin

if [ -n "$py" ] && [ -n "$peers" ]; then
  echo "== 4. a checkpoint the reference trained: Adam moments and EMA in and out"
  for case in "$first" "$cont"; do
    $py train-reference "$peers" "$fixtures/$case.h5" "trained_$case.pth" 2 > log 2>&1 ||
      { fail "train-reference $case"; tail -n 5 log; continue; }
    tail -n 1 log
    # It joins the run of the same configuration as its snapshot of step 2.
    "$bin/sgm-eval" import --checkpoint "trained_$case.pth" --config "$case.cfg" \
      --workdir "run_$case" > log 2>&1 || { fail "import trained $case"; cat log; continue; }
    cat log
    grep -q "Adam moments of 2 steps" log || fail "$case: the Adam steps were not imported"
    "$bin/sgm-eval" export --checkpoint "run_$case/checkpoints/snapshot-00000002" \
      --out "trained_$case.out.pth" > /dev/null || fail "export trained $case"
    $py compare-checkpoints "trained_$case.pth" "trained_$case.out.pth" "$peers" \
      "$fixtures/$case.h5" || fail "compare-checkpoints $case"
  done
else
  echo "NOTE: no reference source or PyTorch: part 4 is not run"
fi

echo "== 5. EDM datasets"
if [ -n "$py" ]; then
  $py edm-dataset "$(dirname "${pngs[0]}")" edm.zip edm_dir 3 || fail "edm-dataset"
  "$bin/sgm-data" make --from edm --input edm.zip --out from_zip > log 2>&1 || { fail "make --from edm zip"; cat log; }
  "$bin/sgm-data" make --from edm --input edm_dir --out from_dir > log 2>&1 || { fail "make --from edm dir"; cat log; }
  samples=$(dirname "$(dirname "${pngs[0]}")")
  $py check-dataset from_zip "$samples" 3 || fail "dataset from the EDM zip"
  $py check-dataset from_dir "$samples" 3 || fail "dataset from the EDM folder"
  refused 2 "use --from edm" folder_ds "$bin/sgm-data" make --from folder --input edm_dir --out folder_ds
else
  echo "NOTE: no Python zipfile/h5py: part 5 is not run"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "interop: all checks passed"
