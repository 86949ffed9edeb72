# shellcheck shell=bash
# Helpers shared by train.sbatch and eval_sweep.sbatch: error messages, locating sgm, starting
# the ranks with the site's launcher, forwarding the stop signal and requeueing on exit code 3.

sgm_die() {  # sgm_die MESSAGE: one line on stderr naming the script, exit 2 (bad input)
  echo "${SGM_SCRIPT:-sgm}: error: $*" >&2
  exit 2
}

sgm_check_binary() {  # sgm_check_binary NAME: sets SGM_EXE to $SGM_BIN/NAME or dies
  SGM_BIN=${SGM_BIN:-$SGM_ROOT/build/launch}
  SGM_EXE=$SGM_BIN/$1
  [ -x "$SGM_EXE" ] || sgm_die "$SGM_EXE not found: build sgm first (cmake --build --preset default) or set SGM_BIN"
}

sgm_check_workdir() {  # sgm_check_workdir DIR: its parent must exist and be writable
  local parent
  parent=$(dirname "$1")
  [ -d "$parent" ] || sgm_die "--workdir $1: the parent directory $parent does not exist"
  [ -w "$parent" ] || sgm_die "--workdir $1: $parent is not writable"
}

# The launcher command for the ranks of this allocation (SGM_LAUNCHER from site.sh).
sgm_launcher() {
  case "${SGM_LAUNCHER:-srun}" in
    srun)
      # One task per GPU, all GPUs of the node visible to every task (no --gpus-per-task):
      # sgm picks cuda:<local rank>, and NCCL sees the whole node.
      SGM_LAUNCH=(srun --mpi=pmix --kill-on-bad-exit=1 --cpu-bind=none) ;;
    mpirun)
      local n=${SLURM_NTASKS:-1} per_node=${SLURM_NTASKS_PER_NODE%%(*}
      SGM_LAUNCH=(mpirun -np "$n" --bind-to none --map-by "ppr:${per_node:-$n}:node" -x PATH)
      [ -z "${LD_LIBRARY_PATH:-}" ] || SGM_LAUNCH+=(-x LD_LIBRARY_PATH)
      [ -z "${OMP_NUM_THREADS:-}" ] || SGM_LAUNCH+=(-x OMP_NUM_THREADS)
      local v
      for v in $(compgen -e); do
        case "$v" in NCCL_*|SGM_*|HDF5_*|CUDA_*) SGM_LAUNCH+=(-x "$v") ;; esac
      done ;;
    *) sgm_die "SGM_LAUNCHER=$SGM_LAUNCHER: expected srun or mpirun (slurm/site.sh)" ;;
  esac
}

# Runs the ranks in the background and waits, forwarding USR1/TERM (bash defers traps while a
# foreground child runs, so the step must be a background job). Sets SGM_RC to its exit code.
sgm_run_ranks() {
  sgm_launcher
  echo "${SGM_SCRIPT}: $(date '+%F %T') job ${SLURM_JOB_ID:-none} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-$(hostname)}: ${SGM_LAUNCH[*]} $*"
  "${SGM_LAUNCH[@]}" "$@" &
  local child=$!
  # shellcheck disable=SC2064  # the pid is meant to be expanded now
  trap "echo '${SGM_SCRIPT}: forwarding SIGUSR1 to the ranks'; kill -USR1 $child 2>/dev/null" USR1
  # shellcheck disable=SC2064
  trap "echo '${SGM_SCRIPT}: forwarding SIGTERM to the ranks'; kill -TERM $child 2>/dev/null" TERM
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done
  wait "$child"
  # shellcheck disable=SC2034  # read by the sbatch scripts
  SGM_RC=$?
  trap - USR1 TERM
}

# Exit code 3 (stopped by a signal after a checkpoint): requeue this job (or array task); it
# restarts with the same arguments, appends to the same log and resumes from the work directory.
sgm_requeue_or_exit() {
  local rc=$1 id=${SLURM_JOB_ID:-}
  [ -n "${SLURM_ARRAY_JOB_ID:-}" ] && id=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
  if [ "$rc" -eq 3 ] && [ -n "$id" ]; then
    echo "${SGM_SCRIPT}: $(date '+%F %T') stopped after a checkpoint (exit 3): requeueing $id"
    if scontrol requeue "$id"; then exit 0; fi
    echo "${SGM_SCRIPT}: scontrol requeue $id failed (is the job --requeue, JobRequeue=1?): resubmit the same command to resume" >&2
  fi
  echo "${SGM_SCRIPT}: $(date '+%F %T') finished with exit code $rc"
  exit "$rc"
}
