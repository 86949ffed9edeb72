#!/usr/bin/env bash
# A simulated cluster on one machine, for the multi-node tests (source this file):
#   sim_up N      N nodes (2-3): each a network namespace sgmsim-nI with its own address
#                 10.231.0.(10+I)/24 on a bridge sgmsim-br (10.231.0.1, where mpirun runs)
#                 that this file creates, loopback up, nothing else reachable; each process
#                 started on a node also gets a UTS namespace with the host name sgmsim-nI.
#                 Every node sees the same filesystem, as a cluster's nodes see a shared one.
#   sim_down      kills every process left in the nodes (stopped ones too) and removes what
#                 sim_up made, and Open MPI's session directories and shared-memory segments of
#                 the nodes' ranks (killed ranks leave them); also run by sim_up first (a stale
#                 cluster of an interrupted run) and on exit.
#   sim_limit RATE|none
#                 limits every node's outgoing traffic to RATE (tc's units: 1gbit, 100mbit) with
#                 the tbf queueing discipline, as a node's network card would (none: no limit).
#                 netem (delay, loss) is not modelled: this kernel may not have it.
#   sim_mpirun ARGS...
#                 mpirun with one slot per core on each node (--host), started through
#                 sim_agent (Open MPI's plm_rsh_agent: the node's namespaces instead of ssh),
#                 TCP between nodes over the bridge, shared memory within a node.
#   sim_check_clean [PATTERN]
#                 fails (returns 1, naming it) if a namespace, the bridge, a link or an Open MPI
#                 file of the cluster is left, or a process whose command line matches PATTERN
#                 (pgrep -f).
# sim_up returns 77 with a one-line reason when this is not root or namespaces cannot be made.
SIM_PREFIX=sgmsim
SIM_BRIDGE=${SIM_PREFIX}-br
SIM_SUBNET=10.231.0
SIM_AGENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sim_agent.sh

sim_nodes() { ip netns list 2> /dev/null | awk '{print $1}' | grep "^${SIM_PREFIX}-n" || true; }

# The nodes' ends of their links in this namespace (sgmsim-vI).
sim_links() { ip -o link show 2> /dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${SIM_PREFIX}-v" || true; }

sim_down() {
  local ns pid link
  for ns in $(sim_nodes); do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -CONT "$pid" 2> /dev/null; kill -9 "$pid" 2> /dev/null; done
  done
  sleep 0.2
  for ns in $(sim_nodes); do ip netns del "$ns" 2> /dev/null; done
  # A deleted namespace lives on while sockets of its killed processes still close (a cut link
  # keeps them retransmitting), and its links with it: remove them from this side.
  for link in $(sim_links); do ip link del "$link" 2> /dev/null; done
  ip link del "$SIM_BRIDGE" 2> /dev/null || true
  # Open MPI's files of ranks that were killed (a node's host name is in their names): the
  # session directories and the shared-memory segments, a few MiB each, kept in memory by tmpfs.
  rm -rf "${TMPDIR:-/tmp}/ompi.${SIM_PREFIX}-n"* /dev/shm/vader_segment."${SIM_PREFIX}"-n* 2> /dev/null
  true
}

sim_up() {
  local n=$1 i
  [ "$(id -u)" = 0 ] || { echo "SKIP: the simulated cluster needs root (network namespaces)"; return 77; }
  command -v ip > /dev/null && command -v unshare > /dev/null ||
    { echo "SKIP: ip (iproute2) or unshare (util-linux) missing"; return 77; }
  sim_down
  if ! ip link add "$SIM_BRIDGE" type bridge 2> /dev/null; then
    echo "SKIP: cannot create a bridge here (no network namespace support)"
    return 77
  fi
  ip addr add "$SIM_SUBNET.1/24" dev "$SIM_BRIDGE" && ip link set "$SIM_BRIDGE" up || return 1
  for i in $(seq 1 "$n"); do
    ip netns add "${SIM_PREFIX}-n$i" || { echo "SKIP: cannot create network namespaces"; sim_down; return 77; }
    ip link add "${SIM_PREFIX}-v$i" type veth peer name eth0 netns "${SIM_PREFIX}-n$i" || return 1
    ip link set "${SIM_PREFIX}-v$i" master "$SIM_BRIDGE" up || return 1
    ip -n "${SIM_PREFIX}-n$i" addr add "$SIM_SUBNET.$((10 + i))/24" dev eth0 || return 1
    ip -n "${SIM_PREFIX}-n$i" link set eth0 up && ip -n "${SIM_PREFIX}-n$i" link set lo up || return 1
  done
  if ! ip netns exec "${SIM_PREFIX}-n1" unshare --uts true 2> /dev/null; then
    echo "SKIP: cannot make UTS namespaces for the nodes' host names"
    sim_down
    return 77
  fi
  SIM_N=$n
}

sim_hosts() {  # sim_hosts SLOTS: the --host list, SLOTS per node
  local i hosts=""
  for i in $(seq 1 "$SIM_N"); do hosts+="${hosts:+,}$SIM_SUBNET.$((10 + i)):$1"; done
  echo "$hosts"
}

sim_limit() {  # sim_limit RATE|none: every node's outgoing traffic limited to RATE (tc's units)
  local i
  for i in $(seq 1 "$SIM_N"); do
    ip netns exec "${SIM_PREFIX}-n$i" tc qdisc del dev eth0 root 2> /dev/null
    [ "$1" = none ] && continue
    # A bucket of 1/100 s of traffic at the rate (at least 64 KiB), packets queued up to 20 ms.
    ip netns exec "${SIM_PREFIX}-n$i" tc qdisc add dev eth0 root tbf rate "$1" \
      burst "$(($(tc_bits "$1") / 800 > 65536 ? $(tc_bits "$1") / 800 : 65536))" latency 20ms || return 1
  done
}

tc_bits() {  # tc_bits RATE: bits per second of a tc rate such as 100mbit or 1gbit
  local n=${1%%[a-z]*}
  case ${1#"$n"} in
    gbit) echo $((n * 1000000000)) ;;
    mbit) echo $((n * 1000000)) ;;
    kbit) echo $((n * 1000)) ;;
    *) echo "$n" ;;
  esac
}

sim_mpirun() {
  mpirun --mca plm_rsh_agent "$SIM_AGENT" --mca oob_tcp_if_include "$SIM_SUBNET.0/24" \
    --mca btl_tcp_if_include "$SIM_SUBNET.0/24" --oversubscribe --bind-to none "$@"
}

sim_check_clean() {
  local left=0
  [ -z "$(sim_nodes)" ] || { echo "FAIL: namespaces left: $(sim_nodes | tr '\n' ' ')"; left=1; }
  ! ip link show "$SIM_BRIDGE" > /dev/null 2>&1 || { echo "FAIL: bridge $SIM_BRIDGE left"; left=1; }
  [ -z "$(sim_links)" ] || { echo "FAIL: links left: $(sim_links | tr '\n' ' ')"; left=1; }
  local files
  files=$(ls -d "${TMPDIR:-/tmp}/ompi.${SIM_PREFIX}-n"* /dev/shm/vader_segment."${SIM_PREFIX}"-n* 2> /dev/null)
  [ -z "$files" ] || { echo "FAIL: Open MPI files of the nodes left: $(echo "$files" | head -n 3 | tr '\n' ' ')"; left=1; }
  if [ -n "${1:-}" ] && pgrep -f "$1" > /dev/null; then
    echo "FAIL: processes left: $(pgrep -af "$1" | cut -c1-120 | tr '\n' ' ')"
    left=1
  fi
  return $left
}
