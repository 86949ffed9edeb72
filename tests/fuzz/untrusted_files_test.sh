#!/usr/bin/env bash
# Malformed files through the executables, one reader at a time: each seed of the fuzz corpus
# truncated (a third, two thirds) and with its first bytes overwritten, and every regression
# input of fixed findings, handed to the command that reads that kind of file. A malformed file
# must end with exit 2, one line of output naming the file, and no output directory left
# behind; a regression input may also be accepted (exit 0), never anything else.
#   Usage: untrusted_files_test.sh BIN SRC
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
count=0

# The command that reads a file of the reader's kind; OUT: what it would create.
read_with() {  # read_with READER FILE OUT
  case $1 in
    numpy) "$bin/sgm-data" make --from npy --input "$2" --out "$3" ;;
    pth) "$bin/sgm-eval" import --checkpoint "$2" --config "$src/configs/small/ncsnpp_ve_16px.cfg" \
           --workdir "$3" ;;
  esac
}

check() {  # check READER FILE ACCEPT_OK
  local reader=$1 file=$2 accept_ok=$3 out rc lines
  local dest=$tmp/out-$count
  count=$((count + 1))
  out=$(read_with "$reader" "$file" "$dest" 2>&1)
  rc=$?
  lines=$(printf '%s\n' "$out" | wc -l)
  if [ $rc = 0 ] && [ "$accept_ok" = 1 ]; then
    rm -rf "$dest"
    return
  fi
  if [ $rc != 2 ] || [ "$lines" != 1 ] || ! printf '%s' "$out" | grep -qF -- "$file"; then
    echo "FAIL: $reader: $file: exit $rc, $lines line(s), want exit 2 and one line naming the file:"
    printf '%s\n' "$out" | head -n 5
    fail=1
  elif [ -e "$dest" ]; then
    echo "FAIL: $reader: $file: exit 2 but $dest was left behind"
    fail=1
  else
    echo "[evidence] $reader: ${file#"$tmp"/}: exit 2: $(printf '%s' "$out" | cut -c1-160)"
  fi
}

for reader in numpy pth; do
  for seed in "$src/tests/fuzz/corpus/$reader"/*; do
    name=$(basename "$seed")
    size=$(stat -c %s "$seed")
    head -c $((size / 3)) "$seed" > "$tmp/third-$name"
    head -c $((2 * size / 3)) "$seed" > "$tmp/two-thirds-$name"
    { printf 'not a file of this kind'; tail -c +24 "$seed"; } > "$tmp/overwritten-$name"
    for file in "$tmp/third-$name" "$tmp/two-thirds-$name" "$tmp/overwritten-$name"; do
      check "$reader" "$file" 0
    done
  done
  for input in "$src/tests/fuzz/regressions/$reader"/*; do
    [ -f "$input" ] || continue
    cp "$input" "$tmp/regression-$(basename "$input")"
    check "$reader" "$tmp/regression-$(basename "$input")" 1
  done
done
echo "$count files read"
[ $fail = 0 ] && echo PASS
exit $fail
