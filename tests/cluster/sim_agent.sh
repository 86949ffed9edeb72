#!/usr/bin/env bash
# Open MPI's launcher agent for the simulated cluster (sim_cluster.sh): called as
# `sim_agent.sh HOST COMMAND...` where ssh would be, it runs COMMAND in HOST's network namespace
# with a UTS namespace of its own named after the node.
host=$1
shift
case $host in
  10.231.0.1[0-9]) node=sgmsim-n$((${host##*.} - 10)) ;;
  *) echo "sim_agent.sh: $host is not a node of the simulated cluster" >&2; exit 1 ;;
esac
exec ip netns exec "$node" unshare --uts /bin/bash -c 'hostname "$0" && eval "$*"' "$node" "$*"
