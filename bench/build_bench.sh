#!/usr/bin/env bash
# What building and testing sgm costs. Prints a table (wall times) and, from Ninja's log of the
# full build, the ten slowest translation units and the slowest links.
#   bench/build_bench.sh [--no-tests] [--ctest "ARGS"]
#       in this checkout: removes build/ (the default preset's tree, as launch/test uses it), then
#       times configure, a full build and the test run with ccache off, and the rebuilds after
#       touching one model .cpp and one header that most files include.
#   bench/build_bench.sh --fresh [--keep]
#       a newcomer's first command: a clean clone of HEAD beside this checkout (so ../shared
#       resolves), an empty ccache, `launch/test` timed end to end (setup included; packages
#       and LibTorch as this machine has them), then the same rebuilds in the clone with ccache
#       off. --keep leaves the clone (its path is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tests=1 ctest_args="" fresh=0 keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-tests) tests=0; shift ;;
    --ctest) ctest_args=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n 2,13p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

now() { date +%s.%N; }
rows=()
row() {  # row WHAT START END
  rows+=("$(python3 -c "import sys; s = float(sys.argv[3]) - float(sys.argv[2]); \
print(f'| {sys.argv[1]:<58} | {int(s // 60):3d} min {s % 60:4.0f} s |')" "$1" "$2" "$3")")
}
print_rows() {
  echo
  printf '| %-58s | %14s |\n' "$(date +%F), $(nproc) cores, commit $(git -C "$here" rev-parse --short HEAD)" "wall time"
  printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "$(printf -- '-%.0s' {1..16})"
  printf '%s\n' "${rows[@]}"
}
# Ninja's log (v5+: start_ms end_ms mtime output hash), one line per output of the full build.
ninja_tables() {
  python3 - "$1" << 'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    start, end, _, out, _ = line.rstrip("\n").split("\t")
    rows.append(((int(end) - int(start)) / 1000, out))
def table(title, sel, n=10):
    sel = sorted(sel, reverse=True)
    print(f"\n{title}: {len(sel)}, {sum(s for s, _ in sel) / 60:.1f} min of one core in all")
    for s, out in sel[:n]:
        print(f"  {s:7.1f} s  {out}")
table("translation units", [r for r in rows if r[1].endswith(".o")])
table("precompiled headers", [r for r in rows if r[1].endswith((".gch", ".pch"))], 3)
table("links and archives", [r for r in rows if not r[1].endswith((".o", ".gch", ".pch"))])
PY
}
# Rebuilds with ccache off (a cache hit would hide the compile): one model .cpp, then a header
# that most of the tree includes.
rebuilds() {  # rebuilds TREE
  local t0 t1 n
  touch "$1/trainer/models/ncsnpp.cpp"
  t0=$(now); CCACHE_DISABLE=1 cmake --build "$1/build" > "$log/inc1" 2>&1; t1=$(now)
  row "touch trainer/models/ncsnpp.cpp, rebuild" "$t0" "$t1"
  touch "$1/trainer/core/error.h"
  t0=$(now); CCACHE_DISABLE=1 cmake --build "$1/build" > "$log/inc2" 2>&1; t1=$(now)
  n=$(grep -c '^\[' "$log/inc2" || true)
  row "touch trainer/core/error.h, rebuild ($n steps)" "$t0" "$t1"
}

log=$(mktemp -d)
cleanup() { rm -rf "$log"; [ $fresh = 0 ] || [ $keep = 1 ] || rm -rf "${clone:-}"; }
trap cleanup EXIT

if [ $fresh = 1 ]; then
  clone=$(mktemp -d "$(dirname "$here")/build-bench-fresh.XXXXXX")
  git clone --quiet "$here" "$clone/main"
  ln -s "$(cd "$here/../shared" && pwd)" "$clone/shared"
  export CCACHE_DIR="$clone/ccache"  # empty: nothing compiled before
  echo "build_bench.sh: launch/test in a fresh clone ($clone/main), empty ccache"
  t0=$(now)
  if ! (cd "$clone/main" && launch/test) > "$log/test" 2>&1; then
    tail -n 30 "$log/test"
    cp "$log/test" "$clone/test.log"
    keep=1
    echo "build_bench.sh: launch/test failed (log: $clone/test.log)" >&2
    exit 1
  fi
  t1=$(now)
  row "launch/test on a fresh clone (empty ccache), end to end" "$t0" "$t1"
  grep -E '^[0-9]+% tests passed|^Total Test time' "$log/test" || true
  ninja_tables "$clone/main/build/.ninja_log"
  source "$clone/main/launch/setup" 2> /dev/null
  rebuilds "$clone/main"
  print_rows
  [ $keep = 1 ] && echo "build_bench.sh: kept $clone"
  exit 0
fi

cd "$here"
source launch/setup
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf build
t0=$(now)
CCACHE_DISABLE=1 cmake --preset default > "$log/configure" 2>&1 || { cat "$log/configure"; exit 1; }
t1=$(now)
row "configure (cmake --preset default)" "$t0" "$t1"
CCACHE_DISABLE=1 cmake --build --preset default > "$log/build" 2>&1 || { tail -n 40 "$log/build"; exit 1; }
t2=$(now)
row "full build, ccache off ($(grep -c . build/.ninja_log) steps)" "$t1" "$t2"
invalid=$(grep -c 'Winvalid-pch' "$log/build" || true)
[ "$invalid" = 0 ] || echo "build_bench.sh: $invalid compiles could not use the precompiled header (-Winvalid-pch)"
cp build/.ninja_log "$log/ninja_log"
if [ $tests = 1 ]; then
  # shellcheck disable=SC2086
  ctest --preset default $ctest_args > "$log/tests" 2>&1 || { tail -n 40 "$log/tests"; echo "build_bench.sh: tests failed" >&2; }
  t3=$(now)
  row "tests (ctest --preset default)" "$t2" "$t3"
  grep -E '^[0-9]+% tests passed' "$log/tests" || true
fi
ninja_tables "$log/ninja_log"
rebuilds "$here"
print_rows
