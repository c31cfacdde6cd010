#!/usr/bin/env bash
# A multi-host test bed on one machine: Linux network namespaces joined by veth pairs and a bridge.
#
#   netbed.sh up [--gpu-hosts N] [--profile 1gbit|10gbit|none]   build the hosts (default 3 GPU hosts, 1gbit)
#   netbed.sh shape <profile>                                    reshape every GPU host's link
#   netbed.sh cut <host> | restore <host>                        take a host's link down (no TCP reset) / back up
#   netbed.sh exec <host> <command...>                           run a command on a host (hostname = the host's name)
#   netbed.sh addr <host>                                        print a host's address
#   netbed.sh status                                             hosts, addresses, links, qdiscs
#   netbed.sh down                                               stop everything on the hosts and remove them
#
# Hosts: ctl (10.77.0.2: Redis and the first silo), ctl2 (10.77.0.3: the second silo), gpu1..gpuN (10.77.0.11..).
# The bridge gcnbr0 holds 10.77.0.1 in the root namespace, so the machine itself reaches every host (the tests' API
# calls). Every host's link is a veth pair: eth0 inside the host, gcn-<host> on the bridge. A profile shapes both
# directions of each GPU host's link with tc tbf at the line rate; where the kernel has netem, a 0.1 ms delay per
# direction is added, and where it has not, the script says so and goes on without it. The file system is shared by
# all hosts: a directory is a "volume" every host mounts.
set -euo pipefail

PREFIX=gcn
BRIDGE=${PREFIX}br0
NET=10.77.0
STATE_DIR=/run/gencluster-netbed

die() { echo "netbed: $*" >&2; exit 2; }

require_root() {
  [[ $(id -u) == 0 ]] || die "needs root (it creates network namespaces, veth pairs, a bridge and tc qdiscs); run it as root or with sudo"
  command -v ip >/dev/null || die "'ip' is missing (apt-get install iproute2)"
  command -v tc >/dev/null || die "'tc' is missing (apt-get install iproute2)"
}

ns() { echo "${PREFIX}-$1"; }

addr() {
  case $1 in
    ctl) echo "$NET.2" ;;
    ctl2) echo "$NET.3" ;;
    gpu[1-9]) echo "$NET.$((10 + ${1#gpu}))" ;;
    *) die "unknown host '$1' (expected ctl, ctl2 or gpu1..gpu9)" ;;
  esac
}

hosts() { cat "$STATE_DIR/hosts" 2>/dev/null || true; }

rate_of() {
  case $1 in
    1gbit) echo 1gbit ;;
    10gbit) echo 10gbit ;;
    none) echo "" ;;
    *) die "unknown profile '$1' (expected 1gbit, 10gbit or none)" ;;
  esac
}

# Shapes one direction: the egress of <dev> in namespace <ns> ("" = the root namespace).
shape_dev() {
  local netns=$1 dev=$2 rate=$3
  local run=(); [[ -n $netns ]] && run=(ip netns exec "$netns")
  "${run[@]}" tc qdisc del dev "$dev" root 2>/dev/null || true
  [[ -z $rate ]] && return 0
  # Burst: at least rate/HZ; 1 MiB covers 10 Gbit at HZ 1000 with room.
  if [[ ${NETEM:-} == yes ]]; then
    "${run[@]}" tc qdisc add dev "$dev" root handle 1: netem delay 100us
    "${run[@]}" tc qdisc add dev "$dev" parent 1:1 handle 10: tbf rate "$rate" burst 1mb latency 50ms
  else
    "${run[@]}" tc qdisc add dev "$dev" root tbf rate "$rate" burst 1mb latency 50ms
  fi
}

detect_netem() {
  if [[ -z ${NETEM:-} ]]; then
    if ip link add ${PREFIX}probe type dummy 2>/dev/null; then
      if tc qdisc add dev ${PREFIX}probe root netem delay 100us 2>/dev/null; then NETEM=yes; else NETEM=no; fi
      ip link del ${PREFIX}probe
    else
      NETEM=no
    fi
    [[ $NETEM == no ]] && echo "netbed: netem is not available in this kernel: links are shaped by rate only, with no added delay" >&2
  fi
  export NETEM
}

cmd_shape() {
  local rate; rate=$(rate_of "${1:?profile}")
  detect_netem
  for host in $(hosts); do
    [[ $host == gpu* ]] || continue
    shape_dev "$(ns "$host")" eth0 "$rate"
    shape_dev "" "${PREFIX}-$host" "$rate"
  done
  echo "${1}" > "$STATE_DIR/profile"
  echo "netbed: GPU links shaped to ${1}" >&2
}

cmd_up() {
  local gpus=3 profile=1gbit
  while [[ $# -gt 0 ]]; do
    case $1 in
      --gpu-hosts) gpus=${2:?}; shift 2 ;;
      --profile) profile=${2:?}; shift 2 ;;
      *) die "unknown option '$1'" ;;
    esac
  done
  [[ $gpus =~ ^[1-9]$ ]] || die "--gpu-hosts: expected 1..9, got '$gpus'"
  rate_of "$profile" >/dev/null
  [[ -e $STATE_DIR/hosts ]] && cmd_down
  mkdir -p "$STATE_DIR"
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local list=(ctl ctl2)
  for i in $(seq 1 "$gpus"); do list+=("gpu$i"); done
  printf '%s\n' "${list[@]}" > "$STATE_DIR/hosts"
  for host in "${list[@]}"; do
    local n; n=$(ns "$host")
    ip netns add "$n"
    ip link add "${PREFIX}-$host" type veth peer name eth0 netns "$n"
    ip link set "${PREFIX}-$host" master "$BRIDGE" up
    ip -n "$n" addr add "$(addr "$host")/24" dev eth0
    ip -n "$n" link set lo up
    ip -n "$n" link set eth0 up
    ip -n "$n" route add default via "$NET.1"
  done
  cmd_shape "$profile"
  # Bridged frames must not be filtered by the host's iptables (br_netfilter), when that module is loaded.
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables || true
  for host in "${list[@]}"; do
    ip -n "$(ns "$host")" link show eth0 | grep -q LOWER_UP || die "$host ($(addr "$host")): eth0 has no carrier"
    if command -v ping >/dev/null; then
      ip netns exec "$(ns "$host")" ping -c1 -W2 "$NET.1" >/dev/null || die "$host ($(addr "$host")) cannot reach the bridge"
    fi
  done
  echo "netbed: up: ${list[*]} on $NET.0/24 (bridge $BRIDGE at $NET.1), GPU links $profile"
}

cmd_down() {
  for host in $(hosts); do
    local n; n=$(ns "$host")
    if ip netns list | grep -qw "$n"; then
      local pids; pids=$(ip netns pids "$n" || true)
      if [[ -n $pids ]]; then kill -KILL $pids 2>/dev/null || true; fi
      ip netns del "$n"
    fi
    ip link del "${PREFIX}-$host" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$STATE_DIR"
  echo "netbed: down"
}

cmd_cut() {
  local host=${1:?host}; addr "$host" >/dev/null
  # The bridge side goes down: the host's eth0 loses carrier and every packet is dropped; no TCP reset is sent.
  ip link set "${PREFIX}-$host" down
  echo "netbed: cut $host"
}

cmd_restore() {
  local host=${1:?host}; addr "$host" >/dev/null
  ip link set "${PREFIX}-$host" up
  echo "netbed: restored $host"
}

cmd_status() {
  echo "profile: $(cat "$STATE_DIR/profile" 2>/dev/null || echo '-')"
  for host in $(hosts); do
    printf '%-5s %-11s %s\n' "$host" "$(addr "$host")" "$(ip -br link show "${PREFIX}-$host" 2>/dev/null | awk '{print $2}')"
    ip netns exec "$(ns "$host")" tc qdisc show dev eth0 | sed 's/^/      /'
  done
}

require_root
verb=${1:-}; shift || true
case $verb in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  shape) cmd_shape "$@" ;;
  cut) cmd_cut "$@" ;;
  restore) cmd_restore "$@" ;;
  # Each host also gets its own UTS namespace, named after it, so processes report the host's name as their hostname.
  # Every step execs, so the command keeps this script's process id (signals sent to it reach the command).
  exec) host=${1:?host}; shift; addr "$host" >/dev/null
    exec ip netns exec "$(ns "$host")" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" "$@" ;;
  addr) addr "${1:?host}" ;;
  status) cmd_status ;;
  *) die "usage: netbed.sh up|down|shape|cut|restore|exec|addr|status (see the head of this script)" ;;
esac
