# shellcheck shell=bash
# shellcheck disable=SC2034  # SIM_SLURM_WHY is read by the caller
# Slurm on the simulated cluster (source after sim_cluster.sh and sim_up): one munged and one
# slurmctld on this machine (the bridge's address, 10.231.0.1), and one slurmd per node inside
# the node's network namespace with the node's host name (nsenter into the network namespace
# alone: the node keeps this machine's /sys, where the cgroup file systems that slurmd reads are
# mounted). Nodes share the filesystem, so each node gets its own TmpFS (PMIx makes its
# per-step directories there) and spool directory. No cgroups (proctrack/linuxproc, task/none),
# PMIx for srun --mpi=pmix, cred_expire=10 so that a requeued job may start again after 11 s.
#   sim_slurm_up DIR PORT   -> exports SLURM_CONF; returns non-zero with SIM_SLURM_WHY set
#   sim_slurm_down          -> stops the daemons (sim_down kills whatever is left in the nodes)
# shellcheck source=tests/slurm/local_cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../slurm/local_cluster.sh"

sim_slurm_up() {
  local dir=$1 port=$2 i nodes=""
  SIM_SLURM_DIR=$dir
  mkdir -p "$dir"/{munge,state,log}
  for i in $(seq 1 "$SIM_N"); do
    mkdir -p "$dir/spool/${SIM_PREFIX}-n$i" "$dir/tmp/${SIM_PREFIX}-n$i"
    nodes+="NodeName=${SIM_PREFIX}-n$i NodeAddr=$SIM_SUBNET.$((10 + i)) CPUs=$(nproc) RealMemory=2000 State=UNKNOWN"$'\n'
  done
  munge_start "$dir" || { SIM_SLURM_WHY=$MUNGE_WHY; return 1; }
  {
    echo "ClusterName=sgmsim"
    echo "SlurmctldHost=$(hostname -s)($SIM_SUBNET.1)"
    slurm_conf_common "$dir" "$port"
    echo "TmpFS=$dir/tmp/%n"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "SlurmdPidFile=$dir/slurmd-%n.pid"
    echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    echo -n "$nodes"
    echo "PartitionName=test Nodes=${SIM_PREFIX}-n[1-$SIM_N] Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4"
  } > "$dir/slurm.conf"
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" -i 2> "$dir/log/slurmctld.err" ||
    { SIM_SLURM_WHY="slurmctld does not start: $(tail -n 2 "$dir/log/slurmctld.log" "$dir/log/slurmctld.err" | tr '\n' ' ')"; return 1; }
  for i in $(seq 1 "$SIM_N"); do
    nsenter --net="/var/run/netns/${SIM_PREFIX}-n$i" unshare --uts /bin/bash -c \
      'hostname "$1" && slurmd -f "$SLURM_CONF" -N "$1"' _ "${SIM_PREFIX}-n$i" 2> "$dir/log/slurmd-$i.err" ||
      { SIM_SLURM_WHY="slurmd on node $i does not start: $(tail -n 2 "$dir/log/slurmd-${SIM_PREFIX}-n$i.log" | tr '\n' ' ')"; return 1; }
  done
  for _ in $(seq 1 60); do
    [ "$(sinfo -h -N -o '%T' 2> /dev/null | grep -c idle)" = "$SIM_N" ] && return 0
    sleep 1
  done
  SIM_SLURM_WHY="the nodes did not become idle within 60 s: $(sinfo -h -N -o '%N %T %E' 2>&1 | tr '\n' ' ')"
  return 1
}

sim_slurm_down() {
  [ -n "${SIM_SLURM_DIR:-}" ] || return 0
  local f pid
  squeue -h -o %A 2> /dev/null | xargs -r scancel 2> /dev/null
  for f in "$SIM_SLURM_DIR"/slurmd-*.pid "$SIM_SLURM_DIR/slurmctld.pid" "$SIM_SLURM_DIR/munge/munged.pid"; do
    pid=$(cat "$f" 2> /dev/null) || continue
    kill "$pid" 2> /dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null
  done
  SIM_SLURM_DIR=
  return 0
}
