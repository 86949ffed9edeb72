#!/usr/bin/env bash
# Fuzz campaigns over the readers of users' files (tests/fuzz/*_fuzz.cpp), with libFuzzer, ASan
# and UBSan: builds the fuzz preset (build-fuzz/, clang), then runs every target (or those named)
# for SECONDS each, JOBS at a time, and prints one table row per target: executions, edges
# covered, corpus size and findings. Each target keeps its working corpus in
# build-fuzz/campaign/TARGET/corpus (a later campaign goes on from it) and writes a finding's
# input to build-fuzz/campaign/TARGET/ (crash-*, leak-*, timeout-*, oom-*): fix the cause, copy
# the input to tests/fuzz/regressions/TARGET/, and fuzz_replay runs it in every test run.
#   tests/fuzz/campaign.sh [--seconds N] [--jobs J] [TARGET...]    (default 600 s, nproc jobs)
#   tests/fuzz/campaign.sh --available    exit 0 when clang can build libFuzzer targets here
# Limits per input: 10 s, 2 GiB resident, and no single allocation over 1 GiB (an input of a few
# KiB that asks for more is a finding; 4 GiB inside HDF5, see run_one). Exit 1 on a finding, 2
# on bad arguments.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
seconds=600 jobs=$(getconf _NPROCESSORS_ONLN) names=()
available() {
  command -v clang++ > /dev/null || return 1
  local dir
  dir=$(mktemp -d)
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
    > "$dir/t.cpp"
  clang++ -fsanitize=fuzzer,address,undefined "$dir/t.cpp" -o "$dir/t" 2> /dev/null
  local rc=$?
  rm -rf "$dir"
  return $rc
}
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --available) available; exit $? ;;
    -h | --help) sed -n 2,14p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "campaign.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
if ! available; then
  echo "campaign.sh: clang++ cannot build libFuzzer targets here (Debian: apt-get install clang)" >&2
  exit 2
fi
cd "$here" || exit 1
mkdir -p build-fuzz
if ! { cmake --preset fuzz > build-fuzz/build.log 2>&1 &&
  cmake --build --preset fuzz >> build-fuzz/build.log 2>&1; }; then
  tail -n 30 build-fuzz/build.log
  echo "campaign.sh: the fuzz build failed" >&2
  exit 1
fi
if [ ${#names[@]} = 0 ]; then
  for exe in build-fuzz/tests/fuzz/fuzz_*; do names+=("${exe##*/fuzz_}"); done
fi
export ASAN_OPTIONS="detect_leaks=1:detect_container_overflow=0:allocator_may_return_null=0"
export LSAN_OPTIONS="suppressions=$here/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1
run_one() {  # run_one TARGET: one campaign, its log in build-fuzz/campaign/TARGET/log
  local name=$1 dir=build-fuzz/campaign/$1
  mkdir -p "$dir/corpus"
  local seeds=()
  for d in "tests/fuzz/corpus/$name" "tests/fuzz/regressions/$name"; do
    [ -d "$d" ] && seeds+=("$d")
  done
  # pth: LibTorch's zip reader leaks on every rejected archive (lsan.supp), so libFuzzer's leak
  # check after each such input would scan the whole heap each time (1 input/s); its leaks are
  # checked once, when the campaign ends, instead.
  local options=()
  [ "$name" = pth ] && options+=(-detect_leaks=0)
  # HDF5 (shard, weights) asks malloc for sizes read from a damaged file and handles a null
  # result (the file is refused), as glibc gives it; ASan's default ends the process instead.
  # It also allocates an object header chunk's stated size (32 bits: up to 4 GiB) before it
  # checks that the file holds it, and never touches that memory when it does not: for these
  # targets one allocation may reach 4 GiB; resident memory stays limited to 2 GiB.
  local asan=$ASAN_OPTIONS malloc_limit=1024
  case $name in
    shard | weights)
      asan=${asan/allocator_may_return_null=0/allocator_may_return_null=1}
      malloc_limit=4096 ;;
  esac
  ASAN_OPTIONS=$asan "build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=$malloc_limit -print_final_stats=1 -artifact_prefix="$dir/" "${options[@]}" \
    "$dir/corpus" "${seeds[@]}" > "$dir/log" 2>&1
}
start=$(date +%s)
pids=()
for name in "${names[@]}"; do
  [ -x "build-fuzz/tests/fuzz/fuzz_$name" ] || { echo "campaign.sh: no target '$name'" >&2; exit 2; }
  rm -f build-fuzz/campaign/"$name"/{crash,leak,timeout,oom,slow-unit}-* 2> /dev/null
  run_one "$name" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
wait "${pids[@]}"
findings=0
printf '\n%s, %s cores, commit %s, %s s per target, %s at a time\n\n' "$(date +%F)" \
  "$(getconf _NPROCESSORS_ONLN)" "$(git rev-parse --short HEAD)" "$seconds" "$jobs"
echo "| target | executions | exec/s | edges covered | features | corpus | findings |"
echo "|---|---|---|---|---|---|---|"
for name in "${names[@]}"; do
  dir=build-fuzz/campaign/$name
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | tail -n 1 |
    grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1)
  cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
  ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
  corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
  found=$(find "$dir" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' -o -maxdepth 1 \
    -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | wc -l)
  # A leak found when the campaign ends has no input to save: counted from the log.
  grep -q "LeakSanitizer: detected memory leaks" "$dir/log" &&
    ! grep -q "Test unit written to .*leak-" "$dir/log" && found=$((found + 1))
  findings=$((findings + found))
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${runs:-?}" \
    "$(( ${runs:-0} / (seconds > 0 ? seconds : 1) ))" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found"
  if [ "$found" != 0 ]; then
    grep -E "ERROR|SUMMARY|fuzz target|^    #[0-9] " "$dir/log" | head -n 12 | sed 's/^/    /'
  fi
done
echo
echo "$(( $(date +%s) - start )) s in all; $findings finding(s)"
[ $findings = 0 ]
