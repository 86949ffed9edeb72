#!/usr/bin/env bash
# The GPU suite's dry run, so that the one command meant for a GPU machine cannot rot here:
#  1. launch/gpu_bundle --no-build gathers this build into a temporary bundle: at most 60 MiB,
#     programs without a build-tree RPATH, a manifest listing every file with its SHA-256;
#  2. launch/gpu_suite --device cpu --quick runs every step with that bundle (its libraries, the
#     wheel's LibTorch through python3, the bundled fixtures and reference): every step passes
#     or skips with a reason; report.md, report.json and logs.tar.gz are written; the report has
#     a training row for each numerics option with a ratio to the reference, the FLOP count, a
#     bit-identical resume and exit 3 on SIGUSR1.
# Skips (77) when the build is not the CUDA configuration or patchelf is missing.
#   Usage: gpu_suite_test.sh SRC BUILD
set -euo pipefail
src=$1 build=$2
cd "$src"
[ -f "$build/trainer/dist/CMakeFiles/sgm_dist.dir/nccl_backend.cpp.o" ] ||
  { echo "SKIP: $build is not the CUDA configuration (nothing to bundle for a GPU)"; exit 77; }
command -v patchelf > /dev/null || { echo "SKIP: patchelf is not installed (launch/setup)"; exit 77; }
# shellcheck source=launch/setup
source launch/setup 2> /dev/null
export PYTHONPATH=${SGM_PYTHONPATH}${PYTHONPATH:+:$PYTHONPATH}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

launch/gpu_bundle --no-build --build-dir "$build" --out "$tmp/bundle" || fail "launch/gpu_bundle"
bytes=$(du -sb "$tmp/bundle" | cut -f1)
echo "[evidence] bundle: $((bytes / 1048576)) MiB (limit 60), $(find "$tmp/bundle" -type f | wc -l) files"
[ "$bytes" -le $((60 * 1048576)) ] || fail "the bundle is over 60 MiB"
for f in bin/sgm-train bin/sgm-eval bin/eval_bench bin/comm_bench tests/dist_gpu_test \
  tests/model_parity_test lib/SOURCES.tsv fixtures/metrics/inception_fid.h5 \
  reference/ref_bench_train.py reference/score_sde_pytorch/losses.py manifest.json; do
  [ -f "$tmp/bundle/$f" ] || fail "the bundle has no $f"
done
[ -z "$(patchelf --print-rpath "$tmp/bundle/bin/sgm-train")" ] || fail "sgm-train keeps an RPATH"
ldd "$tmp/bundle/bin/sgm-train" | grep -q "not found" ||
  fail "sgm-train resolves every library without the bundle's path: the dry run would prove nothing"
echo "[evidence] bundled libraries: $(cut -f1 "$tmp/bundle/lib/SOURCES.tsv" | tr '\n' ' ')"
python3 - "$tmp/bundle/manifest.json" "$tmp/bundle" << 'PY' || fail "manifest"
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
bad = [f["path"] for f in m["files"]
       if hashlib.sha256(open(os.path.join(sys.argv[2], f["path"]), "rb").read()).hexdigest() != f["sha256"]]
assert not bad, bad
print(f"[evidence] manifest: commit {m['commit'][:12]}, LibTorch {m['libtorch']}, {len(m['files'])} files checked")
PY

start=$(date +%s)
launch/gpu_suite --device cpu --quick --bundle "$tmp/bundle" --out "$tmp/out" --budget 1200 ||
  { cat "$tmp/out/report.md" 2> /dev/null; fail "launch/gpu_suite --device cpu --quick"; }
echo "[evidence] dry run: $(($(date +%s) - start)) s"
for f in report.md report.json logs.tar.gz; do [ -s "$tmp/out/$f" ] || fail "no $f"; done
python3 - "$tmp/out/report.json" << 'PY' || fail "report contents"
import json, sys
r = json.load(open(sys.argv[1]))
steps = {s["step"]: s for s in r["steps"]}
for s in r["steps"]:
    print(f"[evidence] step {s['step']}: {s['status']} ({s['seconds']} s) {s['note']}")
expected = ["environment", "tests", "data", "train_fp32", "reference_strict", "reference_default",
            "flops", "profile", "resume", "stop", "eval_bench", "comm_bench", "train_tf32", "train_bf16",
            "train_channels_last", "train_bf16+channels_last", "reference_tf32"]
assert list(steps) == expected, list(steps)
assert all(s["status"] == "pass" for s in r["steps"]), "a step did not pass"
rows = {x["numerics"]: x for x in r["training"]}
assert list(rows) == ["fp32", "tf32", "bf16", "channels_last", "bf16+channels_last"], list(rows)
assert all(x["images_per_second"] > 0 and x["vs_reference"] > 0 for x in rows.values())
assert r["flops"]["train_step_flops_per_image"] > 1e8, r["flops"]
assert r["profile"]["steps"] > 0 and r["profile"]["wall_ms_per_step"] > 0, r["profile"]
assert r["resume"]["deterministic_resume_bit_identical"] and r["stop"]["exit"] == 3
assert r["environment"]["sgm_train_libraries_from_bundle"], "no library came from the bundle"
print("[evidence] sgm-train's libraries from the bundle: " +
      " ".join(r["environment"]["sgm_train_libraries_from_bundle"]))
assert sum(t["passed"] for t in r["tests"]) > 0 and all(t["failed"] == 0 for t in r["tests"])
print(f"[evidence] sgm fp32 {rows['fp32']['images_per_second']:.1f} images/s, "
      f"{rows['fp32']['vs_reference']:.2f}x the reference (CPU, reduced network; not a claim)")
PY
grep -q "## Training throughput" "$tmp/out/report.md" || fail "report.md has no training table"
echo "PASS"
