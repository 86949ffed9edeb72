#!/usr/bin/env bash
# Rules that keep the build cheap, checked on the tracked sources (bench/build_bench.sh has the
# figures behind them):
#   - no <torch/torch.h> or <torch/all.h>: they pull in every LibTorch API (data loaders,
#     optimisers, serialisation, JIT) into one translation unit; include the torch/nn, torch/optim
#     or ATen headers the file uses;
#   - no <regex>: each use costs seconds of compile time, and std::regex recurses on long input
#     (a hostile file name or header); fixed-width fields are read with core::decimal_field;
#   - no target sets POSITION_INDEPENDENT_CODE: the shared precompiled header is only used by
#     objects compiled with the same code-generation options (cmake/SgmBuildSpeed.cmake).
set -u
src=$1
cd "$src" || exit 1
fail=0
files=$(git ls-files '*.cpp' '*.h' '*.cu' 2>/dev/null || find . -name '*.cpp' -o -name '*.h' -o -name '*.cu')
checked=$(printf '%s\n' "$files" | grep -c .)
# shellcheck disable=SC2086
hits=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]torch/(torch|all)\.h[>"]' $files || true)
if [ -n "$hits" ]; then
  echo "FAIL: sources include <torch/torch.h> (the whole LibTorch API; include the headers the file uses):"
  printf '%s\n' "$hits" | sed 's/^/  /'
  fail=1
else
  echo "[evidence] $checked sources, none includes <torch/torch.h> or <torch/all.h>"
fi
# shellcheck disable=SC2086
regex=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<regex>' $files || true)
if [ -n "$regex" ]; then
  echo "FAIL: sources include <regex> (compile time; recursion on long input):"
  printf '%s\n' "$regex" | sed 's/^/  /'
  fail=1
else
  echo "[evidence] $checked sources, none includes <regex>"
fi
cmake_files=$(git ls-files 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' 2>/dev/null || find . -name CMakeLists.txt -o -name '*.cmake')
# shellcheck disable=SC2086
pic=$(grep -nE 'POSITION_INDEPENDENT_CODE[[:space:]]+(ON|TRUE|1)' $cmake_files || true)
if [ -n "$pic" ]; then
  echo "FAIL: POSITION_INDEPENDENT_CODE set (the shared precompiled header would not be used):"
  printf '%s\n' "$pic" | sed 's/^/  /'
  fail=1
else
  echo "[evidence] $(printf '%s\n' "$cmake_files" | grep -c .) CMake files, none sets POSITION_INDEPENDENT_CODE"
fi
exit $fail
