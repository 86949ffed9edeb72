# Sourced by the training tests that compare the weights of runs (training_test.sh,
# conditional_training_test.sh), with their arguments BIN COMPARE SRC MPIEXEC. Sets bin,
# compare, src, W2 (an mpirun of 2 ranks), tmp (removed at exit), fail=0 and N=8, and defines
#   export_to CHECKPOINT FILE          sgm-eval export of a checkpoint to an HDF5 file
#   check NAME A B TOLERANCE [PART]    compare_weights of two exports (arrays named *PART*)
# shellcheck shell=bash disable=SC2034  # the variables are the sourcing script's
set -u
bin=$1
compare=$2
src=$3
W2=("$4" -np 2 --oversubscribe --bind-to none)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
N=8
export_to() { "$bin/sgm-eval" export --checkpoint "$1" --out "$2" > /dev/null || { echo "FAIL: export $1"; fail=1; }; }
check() {
  echo -n "$1: "
  "$compare" "$2" "$3" "$4" ${5:+"$5"} || { echo "FAIL: $1"; fail=1; }
}
