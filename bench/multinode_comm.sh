#!/usr/bin/env bash
# comm_bench across 2 simulated nodes (tests/cluster/sim_cluster.sh: network namespaces on this
# machine, root only), one rank per node so that every byte crosses the bridge, with the nodes'
# outgoing traffic unlimited and limited by tbf as a network card would limit it: all-reduce bus
# bandwidth against the limit, and exposed communication per step with the reducer's overlap and
# with one all-reduce after backward. Not modelled: latency (no netem), RDMA, NCCL.
#   bench/multinode_comm.sh [--max-mb 16] [--layers 4] [--steps 2] [RATE...]
# RATE in tc's units (default: none 1gbit 100mbit). Run from the repository root after a build.
set -u
max_mb=16 layers=4 steps=2
rates=()
while [ $# -gt 0 ]; do
  case $1 in
    --max-mb) max_mb=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) rates+=("$1"); shift ;;
  esac
done
[ ${#rates[@]} -gt 0 ] || rates=(none 1gbit 100mbit)
bin=${SGM_BUILD:-build}/bench/comm_bench
[ -x "$bin" ] || { echo "multinode_comm.sh: $bin not built" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# shellcheck source=tests/cluster/sim_cluster.sh
source tests/cluster/sim_cluster.sh
trap sim_down EXIT
sim_up 2 || exit $?
for rate in "${rates[@]}"; do
  sim_limit "$rate" || exit 1
  echo "## 2 nodes x 1 rank, each node's link: ${rate/none/unlimited}"
  sim_mpirun --host "$(sim_hosts 1)" -np 2 "$bin" --max-mb "$max_mb" --layers "$layers" \
    --steps "$steps"
  echo
done
