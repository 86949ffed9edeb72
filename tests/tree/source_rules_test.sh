#!/usr/bin/env bash
# Rules that keep the build cheap, checked on the tracked sources (bench/build_bench.sh has the
# figures behind them):
#   - no <torch/torch.h> or <torch/all.h>: they pull in every LibTorch API (data loaders,
#     optimisers, serialisation, JIT) into one translation unit; include the torch/nn, torch/optim
#     or ATen headers the file uses;
#   - no <regex>: each use costs seconds of compile time, and std::regex recurses on long input
#     (a hostile file name or header); fixed-width fields are read with core::decimal_field;
#   - no target sets POSITION_INDEPENDENT_CODE: the shared precompiled headers are only used by
#     objects compiled with the same code-generation options (cmake/SgmBuildSpeed.cmake).
set -u
src=$1
cd "$src" || exit 1
fail=0
sources=$(git ls-files '*.cpp' '*.h' '*.cu' 2>/dev/null || find . -name '*.cpp' -o -name '*.h' -o -name '*.cu')
cmake_files=$(git ls-files 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' 2>/dev/null ||
  find . -name CMakeLists.txt -o -name '*.cmake')

# refuse WHAT FILES PATTERN WHY: no line of FILES may match PATTERN (extended regex).
refuse() {
  local what=$1 files=$2 pattern=$3 why=$4 hits
  # shellcheck disable=SC2086
  hits=$(grep -nE "$pattern" $files || true)
  if [ -n "$hits" ]; then
    echo "FAIL: $what ($why):"
    printf '%s\n' "$hits" | sed 's/^/  /'
    fail=1
  else
    echo "[evidence] $(printf '%s\n' "$files" | grep -c .) files checked, none has $what"
  fi
}

include='^[[:space:]]*#[[:space:]]*include[[:space:]]*'
refuse "<torch/torch.h> or <torch/all.h>" "$sources" "${include}[<\"]torch/(torch|all)\.h[>\"]" \
  "the whole LibTorch API; include the headers the file uses"
refuse "<regex>" "$sources" "${include}<regex>" "compile time; recursion on long input"
refuse "POSITION_INDEPENDENT_CODE" "$cmake_files" 'POSITION_INDEPENDENT_CODE[[:space:]]+(ON|TRUE|1)' \
  "the shared precompiled headers would not be used"
exit $fail
