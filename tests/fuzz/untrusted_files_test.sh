#!/usr/bin/env bash
# Malformed files through the executables, one reader at a time: each seed of the fuzz corpus
# truncated to two thirds and with its first bytes overwritten, and every regression
# input of fixed findings, handed to the command that reads that kind of file. A malformed file
# must end with exit 2, one line of output naming the file (a configuration value that validation
# refuses: naming its key), and no output directory left behind; a regression input, a config
# cut at a line end or a JPEG cut short may also be accepted (exit 0), never anything else.
#   Usage: untrusted_files_test.sh BIN SRC
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
count=0

# A tiny real run (two steps of the 2-D toy): its checkpoint and work directory are where the
# readers of state.json and results.jsonl get their malformed files.
"$bin/sgm-data" make --from toy --num 64 --out "$tmp/toy" > /dev/null || exit 1
"$bin/sgm-train" --config "$src/configs/small/mlp_toy2d_ve.cfg" --workdir "$tmp/run" \
  --data.path="$tmp/toy" --training.n_iters=2 --training.batch_size=8 --training.snapshot_freq=2 \
  > /dev/null || exit 1
snapshot=$(echo "$tmp"/run/checkpoints/snapshot-*)

# The command that reads a file of the reader's kind; OUT: what it would create. Files that
# live inside a directory (a checkpoint's state.json, a dataset's images) are put there first.
read_with() {  # read_with READER FILE OUT
  local dir
  case $1 in
    numpy) "$bin/sgm-data" make --from npy --input "$2" --out "$3" ;;
    pth) "$bin/sgm-eval" import --checkpoint "$2" --config "$src/configs/small/ncsnpp_ve_16px.cfg" \
           --workdir "$3" ;;
    config) "$bin/sgm-train" --config "$2" --workdir "$3" --dry-run ;;
    state_json)
      dir=$2.d && mkdir "$dir" && cp "$snapshot/weights.h5" "$dir/" && cp "$2" "$dir/state.json"
      "$bin/sgm-eval" export --checkpoint "$dir" --out "$3.pth" ;;
    results)
      rm -rf "$tmp/run/eval" && mkdir -p "$tmp/run/eval" && cp "$2" "$tmp/run/eval/results.jsonl"
      "$bin/sgm-eval" sweep --workdir "$tmp/run" --eval.enable_loss=true \
        --eval.data_path="$tmp/toy" --eval.begin_ckpt=1 --eval.end_ckpt=1 ;;
    edm_labels)
      dir=$2.d && mkdir -p "$dir/00000" && cp "$src/tests/fuzz/corpus/image/rgb_24x20.png" \
        "$dir/00000/a.png" && cp "$2" "$dir/dataset.json"
      "$bin/sgm-data" make --from edm --input "$dir" --resolution 16 --out "$3" ;;
    image)
      dir=$2.d && mkdir -p "$dir" && cp "$2" "$dir/a.png"
      "$bin/sgm-data" make --from folder --input "$dir" --resolution 16 --out "$3" ;;
    shard)
      dir=$2.d && mkdir -p "$dir" && cp "$2" "$dir/x-00000-of-00001.h5"
      "$bin/sgm-data" verify "$dir" ;;
    weights)
      # In a copy of the real checkpoint: its state.json's checksum is the first check.
      dir=$2.d && cp -r "$snapshot" "$dir" && cp "$2" "$dir/weights.h5"
      "$bin/sgm-eval" export --checkpoint "$dir" --out "$3.pth" ;;
  esac
}
# Where the reader's message must point: the file itself, or where read_with put it.
named_in_message() {  # named_in_message READER FILE
  case $1 in
    state_json) echo "$2.d/state.json" ;;
    results) echo "$tmp/run/eval/results.jsonl" ;;
    edm_labels) echo "$2.d/dataset.json" ;;
    image) echo "$2.d/a.png" ;;
    shard) echo "$2.d/x-00000-of-00001.h5" ;;
    weights) echo "$2.d/weights.h5" ;;
    *) echo "$2" ;;
  esac
}

check() {  # check READER FILE ACCEPT_OK
  local reader=$1 file=$2 accept_ok=$3 out rc lines named key
  local dest=$tmp/out-$count
  count=$((count + 1))
  out=$(read_with "$reader" "$file" "$dest" 2>&1)
  rc=$?
  lines=$(printf '%s\n' "$out" | wc -l)
  if [ $rc = 0 ] && [ "$accept_ok" = 1 ]; then
    rm -rf "$dest"
    return
  fi
  named=$(named_in_message "$reader" "$file")
  # A configuration value that validation refuses is named by its key (after every --config
  # file and the command line are merged, the value has no one file).
  key=$(printf '%s' "$out" | grep -oE "error: [a-z_]+\.[a-z_0-9]+: " | sed 's/^error: //; s/: $//')
  [ "$reader" = config ] && [ -n "$key" ] && named=$key
  if [ $rc != 2 ] || [ "$lines" != 1 ] || ! printf '%s' "$out" | grep -qF -- "$named"; then
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

for reader in numpy pth config state_json results edm_labels image shard weights; do
  # A configuration cut at a line end, or a JPEG cut short (its decoder fills in the rest), can be
  # valid input: exit 0 is allowed for those.
  cut_ok=0
  case $reader in config | image) cut_ok=1 ;; esac
  for seed in "$src/tests/fuzz/corpus/$reader"/*; do
    name=$(basename "$seed")
    size=$(stat -c %s "$seed")
    head -c $((2 * size / 3)) "$seed" > "$tmp/two-thirds-$name"
    { printf 'not a file of this kind'; tail -c +24 "$seed"; } > "$tmp/overwritten-$name"
    check "$reader" "$tmp/two-thirds-$name" $cut_ok
    check "$reader" "$tmp/overwritten-$name" 0
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
