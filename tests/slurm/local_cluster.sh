# shellcheck shell=bash
# shellcheck disable=SC2034  # CLUSTER_WHY is read by the caller
# A single-node Slurm on this machine for the tests: munged and slurmctld + slurmd with a
# generated configuration under $1 (ports from $2), no cgroups (proctrack/linuxproc,
# task/none), PMIx available as srun --mpi=pmix, and cred_expire=10 so that a requeued job may
# start again after 11 s instead of Slurm's default 121 s. Sourced by slurm_test.sh, and by
# tests/cluster/sim_slurm.sh for munge_start and slurm_conf_common.
#   cluster_start DIR PORT   -> exports SLURM_CONF; returns non-zero with CLUSTER_WHY set
#   cluster_stop             -> stops the daemons it started

# The settings both test clusters share (this one and tests/cluster/sim_slurm.sh's): root
# daemons, munge at DIR/munge, ports PORT and PORT + 1, no cgroups, PMIx available, fast requeue.
slurm_conf_common() {  # slurm_conf_common DIR PORT: prints the lines
  cat << CONF
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$2
SlurmdPort=$(($2 + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$1/munge/munge.socket,cred_expire=10
StateSaveLocation=$1/state
SlurmctldPidFile=$1/slurmctld.pid
SlurmctldLogFile=$1/log/slurmctld.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
CONF
}

# munged with a fresh key and its socket under DIR/munge (DIR/munge and DIR/log exist); returns
# non-zero with MUNGE_WHY set.
munge_start() {  # munge_start DIR
  chmod 700 "$1/munge"
  dd if=/dev/urandom of="$1/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$1/munge/munge.key"
  munged --force --key-file="$1/munge/munge.key" --socket="$1/munge/munge.socket" \
    --pid-file="$1/munge/munged.pid" --seed-file="$1/munge/seed" \
    --log-file="$1/log/munged.log" 2> "$1/log/munged.err" ||
    { MUNGE_WHY="munged does not start: $(tail -n 1 "$1/log/munged.err")"; return 1; }
}

cluster_start() {
  local dir=$1 port=$2 host cpus mem
  CLUSTER_DIR=$dir
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  mkdir -p "$dir"/{munge,state,spool,log}
  munge_start "$dir" || { CLUSTER_WHY=$MUNGE_WHY; return 1; }
  {
    echo "ClusterName=sgmtest"
    echo "SlurmctldHost=$host"
    slurm_conf_common "$dir" "$port"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "SlurmdPidFile=$dir/slurmd.pid"
    echo "SlurmdLogFile=$dir/log/slurmd.log"
  } > "$dir/slurm.conf"
  cat >> "$dir/slurm.conf" <<CONF
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" -i 2> "$dir/log/slurmctld.err" ||
    { CLUSTER_WHY="slurmctld does not start: $(tail -n 2 "$dir/log/slurmctld.log" "$dir/log/slurmctld.err" | tr '\n' ' ')"; return 1; }
  slurmd -f "$SLURM_CONF" 2> "$dir/log/slurmd.err" ||
    { CLUSTER_WHY="slurmd does not start: $(tail -n 2 "$dir/log/slurmd.log" "$dir/log/slurmd.err" | tr '\n' ' ')"; return 1; }
  for _ in $(seq 1 60); do
    if sinfo -h -N -o '%T' 2> /dev/null | grep -q idle; then return 0; fi
    sleep 1
  done
  CLUSTER_WHY="the node did not become idle within 60 s: $(sinfo -h -N -o '%T %E' 2>&1 | head -n 1); $(tail -n 2 "$dir/log/slurmd.log" | tr '\n' ' ')"
  return 1
}

cluster_stop() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  local f pid
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$CLUSTER_DIR/$f" 2> /dev/null) || continue
    kill "$pid" 2> /dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null
  done
  return 0
}
