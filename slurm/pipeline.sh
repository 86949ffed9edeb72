#!/usr/bin/env bash
# Submits a training job, then the evaluation sweep of its snapshots as a job array that starts
# when training has finished (--dependency=afterok), and optionally a sweep that follows the
# snapshots while training runs. Prints the job ids.
usage() {
  cat <<'USAGE'
usage: slurm/pipeline.sh --config FILE --workdir DIR [options] [-- sgm options for both jobs]

  --nodes N              nodes for training (1)
  --gpus-per-node G      GPUs per node = ranks per node (8); 0 for a CPU run
  --tasks-per-node T     ranks per node (default: G, or 1 when G = 0)
  --cpus-per-task C      cores per rank (sbatch's default when unset)
  --time T               training time limit per job (24:00:00); it requeues itself to go on
  --eval-time T          time limit per evaluation task (12:00:00)
  --eval-gpus G          GPUs (= ranks) per evaluation task (1; 0 for CPU)
  --eval-tasks T         ranks per evaluation task (default: G, or 1)
  --eval-per-task N      snapshots per array task (1)
  --eval-concurrency P   array tasks running at once (4)
  --eval-args "ARGS"     sgm-eval options (e.g. "--eval.enable_sampling=true --eval.ref_stats=ref.npz")
  --watch HOURS          also evaluate snapshots as they appear during training, waiting up to
                         HOURS for each (a sweep job that starts now)
  --dry-run              print the sbatch commands instead of submitting
  -h, --help             this text

Snapshots k = eval.begin_ckpt .. eval.end_ckpt (step k * training.snapshot_freq, at most
training.n_iters) of the resolved configuration are evaluated. Logs go to DIR/slurm-*.out.
Site settings (partition, account, modules, launcher): slurm/site.sh.
USAGE
}
set -euo pipefail
SGM_SCRIPT=pipeline.sh
SGM_ROOT=${SGM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SGM_ROOT
# shellcheck source=slurm/common.sh
source "$SGM_ROOT/slurm/common.sh"
# shellcheck source=slurm/site.sh
source "$SGM_ROOT/slurm/site.sh"

config="" workdir="" nodes=1 gpus=8 tasks="" cpus="" time=24:00:00 eval_time=12:00:00
eval_gpus=1 eval_tasks="" per_task=1 concurrency=4 eval_args="" watch="" dry_run=0
extra=()
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then sgm_die "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --config) need "$@"; config=$2; shift 2 ;;
    --workdir) need "$@"; workdir=$2; shift 2 ;;
    --nodes) need "$@"; nodes=$2; shift 2 ;;
    --gpus-per-node) need "$@"; gpus=$2; shift 2 ;;
    --tasks-per-node) need "$@"; tasks=$2; shift 2 ;;
    --cpus-per-task) need "$@"; cpus=$2; shift 2 ;;
    --time) need "$@"; time=$2; shift 2 ;;
    --eval-time) need "$@"; eval_time=$2; shift 2 ;;
    --eval-gpus) need "$@"; eval_gpus=$2; shift 2 ;;
    --eval-tasks) need "$@"; eval_tasks=$2; shift 2 ;;
    --eval-per-task) need "$@"; per_task=$2; shift 2 ;;
    --eval-concurrency) need "$@"; concurrency=$2; shift 2 ;;
    --eval-args) need "$@"; eval_args=$2; shift 2 ;;
    --watch) need "$@"; watch=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; sgm_die "unknown option $1 (sgm options go after --)" ;;
  esac
done
[ -n "$config" ] || { usage >&2; sgm_die "--config FILE is required"; }
[ -f "$config" ] || sgm_die "--config $config: no such file"
[ -n "$workdir" ] || { usage >&2; sgm_die "--workdir DIR is required"; }
for pair in nodes:nodes gpus-per-node:gpus eval-per-task:per_task eval-concurrency:concurrency \
            eval-gpus:eval_gpus; do
  v=${pair#*:}
  [[ "${!v}" =~ ^[0-9]+$ ]] || sgm_die "--${pair%%:*} ${!v}: expected a whole number"
done
[[ -z "$watch" || "$watch" =~ ^[0-9]+([.][0-9]+)?$ ]] || sgm_die "--watch $watch: expected hours"
if [ "$nodes" -lt 1 ] || [ "$per_task" -lt 1 ] || [ "$concurrency" -lt 1 ]; then
  sgm_die "--nodes, --eval-per-task and --eval-concurrency must be >= 1"
fi
[ -n "$tasks" ] || tasks=$(( gpus > 0 ? gpus : 1 ))
[ -n "$eval_tasks" ] || eval_tasks=$(( eval_gpus > 0 ? eval_gpus : 1 ))
sgm_check_workdir "$workdir"
workdir=$(realpath -m "$workdir")
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
sgm_check_binary sgm-train
[ "$dry_run" -eq 1 ] || command -v sbatch > /dev/null || sgm_die "sbatch not found: not on a Slurm login node?"

# The snapshot range from the resolved configuration (the file plus the overrides).
# shellcheck disable=SC2206  # the user's options are meant to be split into words
eval_opts=($eval_args)
resolved=$("$SGM_EXE" --config "$config" "${extra[@]}" --dump-config 2>&1) ||
  sgm_die "the configuration does not resolve: $(echo "$resolved" | tail -n 1)"
key() { echo "$resolved" | awk -v s="[$1]" -v k="$2" '/^\[/{in_s=($0==s)} in_s && $1==k {print $3; exit}'; }
n_iters=$(key training n_iters)
freq=$(key training snapshot_freq)
begin=$(key eval begin_ckpt)
end=$(key eval end_ckpt)
for o in "${eval_opts[@]}"; do
  case "$o" in
    --eval.begin_ckpt=*) begin=${o#*=} ;;
    --eval.end_ckpt=*) end=${o#*=} ;;
  esac
done
last=$(( n_iters / freq ))
[ "$end" -le "$last" ] || end=$last
[ "$begin" -le "$end" ] || sgm_die "no snapshot to evaluate: eval.begin_ckpt $begin > last $end (training.n_iters $n_iters / snapshot_freq $freq)"
count=$(( end - begin + 1 ))
array_tasks=$(( (count + per_task - 1) / per_task ))
# the array passes the range itself
eval_opts_no_range=()
for o in "${eval_opts[@]}"; do
  case "$o" in --eval.begin_ckpt=*|--eval.end_ckpt=*) ;; *) eval_opts_no_range+=("$o") ;; esac
done

resources() {  # resources GPUS TASKS_PER_NODE NODES
  local r=(--nodes="$3" --ntasks-per-node="$2")
  if [ "$1" -gt 0 ]; then r+=(--gpus-per-node="$1"); else r+=(--gpus-per-node=0); fi
  [ -z "$cpus" ] || r+=(--cpus-per-task="$cpus")
  echo "${r[@]}"
}
[ "$dry_run" -eq 1 ] || mkdir -p "$workdir"  # the logs go there
dry_ids=0 train_id="" watch_id="" eval_id=""
submit() {  # submit VAR SBATCH-ARGS...: submits and sets VAR to the job id
  local var=$1 id
  shift
  if [ "$dry_run" -eq 1 ]; then
    echo "sbatch $*"
    id=DRYRUN$((++dry_ids))
  else
    id=$(sbatch --parsable "$@") || sgm_die "sbatch refused the job (see above): sbatch $*"
    id=${id%%;*}
  fi
  printf -v "$var" '%s' "$id"
}
# shellcheck disable=SC2046  # resources prints separate words
submit train_id --job-name=sgm-train --time="$time" $(resources "$gpus" "$tasks" "$nodes") \
  --output="$workdir/slurm-train-%j.out" "$SGM_ROOT/slurm/train.sbatch" \
  --config "$config" --workdir "$workdir" "${extra[@]}"
echo "training:   job $train_id ($nodes node(s) x $tasks rank(s), log $workdir/slurm-train-$train_id.out)"
if [ -n "$watch" ]; then
  timeout=$(awk -v h="$watch" 'BEGIN{printf "%d", h * 3600}')
  # shellcheck disable=SC2046
  # It starts once training has started (after:), and waits for the run directory.
  submit watch_id --job-name=sgm-eval-watch --time="$eval_time" $(resources "$eval_gpus" "$eval_tasks" 1) \
    --dependency=after:"$train_id" --output="$workdir/slurm-eval-watch-%j.out" \
    "$SGM_ROOT/slurm/eval_sweep.sbatch" --workdir "$workdir" --wait-for-run "$timeout" \
    "${extra[@]}" "${eval_opts_no_range[@]}" \
    --eval.begin_ckpt="$begin" --eval.end_ckpt="$end" --eval.wait_timeout="$timeout"
  echo "watching:   job $watch_id (evaluates snapshots as they appear, waits up to ${watch} h for each)"
fi
# shellcheck disable=SC2046
submit eval_id --job-name=sgm-eval --time="$eval_time" $(resources "$eval_gpus" "$eval_tasks" 1) \
  --dependency=afterok:"$train_id" --array=0-$((array_tasks - 1))%"$concurrency" \
  --output="$workdir/slurm-eval-%A_%a.out" "$SGM_ROOT/slurm/eval_sweep.sbatch" \
  --workdir "$workdir" --first "$begin" --per-task "$per_task" "${extra[@]}" "${eval_opts_no_range[@]}"
echo "evaluation: job array $eval_id, $array_tasks task(s) over snapshots $begin..$end (afterok:$train_id); results in $workdir/eval/results.csv"
