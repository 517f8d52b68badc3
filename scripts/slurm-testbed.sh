#!/usr/bin/env bash
# A real one-machine Slurm cluster for the tests: slurmctld and NODES slurmd, each slurmd a node of
# its own in a network namespace (its own address on a bridge, hostname and /dev/shm), so that ranks on
# different nodes talk over non-loopback addresses. Its own munge, config and state under DIR: the
# machine's /etc/slurm and /etc/munge are left alone. Traffic stays on the bridge.
#
#   scripts/slurm-testbed.sh up      start it (idempotent); prints the SLURM_CONF to use
#   scripts/slurm-testbed.sh down    stop every daemon and job, remove namespaces, bridge and DIR
#
# Needs root and Debian's slurm-wlm and munge (scripts/setup.sh). Environment:
#   DDP_SLURM_DIR (/var/tmp/ddp-slurm), DDP_SLURM_NODES (2), DDP_SLURM_CPUS (4 per node),
#   DDP_SLURM_NET (10.77.0: the bridge is .1, node i is .1i).
set -euo pipefail

DIR=${DDP_SLURM_DIR:-/var/tmp/ddp-slurm}
NODES=${DDP_SLURM_NODES:-2}
CPUS=${DDP_SLURM_CPUS:-4}
NET=${DDP_SLURM_NET:-10.77.0}
BRIDGE=ddpbr0
CONTROLLER=ddpctl
CONF=$DIR/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket

node_name() { echo "ddpn$1"; }
node_addr() { echo "$NET.1$1"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  local nodes=""
  for i in $(seq 1 "$NODES"); do
    nodes+="NodeName=$(node_name "$i") NodeAddr=$(node_addr "$i") NodeHostname=$(node_name "$i") CPUs=$CPUS State=UNKNOWN"$'\n'
  done
  cat >"$CONF" <<EOF
# written by scripts/slurm-testbed.sh
ClusterName=ddptest
SlurmctldHost=$CONTROLLER($NET.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/ctld
SlurmctldPidFile=$DIR/ctld/slurmctld.pid
SlurmctldLogFile=$DIR/ctld/slurmctld.log
SlurmdSpoolDir=$DIR/nodes/%n/spool
SlurmdPidFile=$DIR/nodes/%n/slurmd.pid
SlurmdLogFile=$DIR/nodes/%n/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# a request no partition can hold is refused at once rather than queued forever
EnforcePartLimits=ALL
SlurmdParameters=config_overrides
# quick to notice and to forget, for tests
SlurmdTimeout=5
SlurmctldTimeout=10
MessageTimeout=5
KillWait=2
MinJobAge=2
InactiveLimit=0
$nodes
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  # slurmd loads a cgroup plugin whatever else is set; it cannot tell a hybrid v1 layout (a tmpfs
  # at /sys/fs/cgroup, as in many containers) by itself.
  local plugin=cgroup/v2
  [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || plugin=cgroup/v1
  cat >"$DIR/cgroup.conf" <<EOF
CgroupPlugin=$plugin
CgroupMountpoint=/sys/fs/cgroup
IgnoreSystemd=yes
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
}

up() {
  mkdir -p "$DIR/munge" "$DIR/ctld"
  chmod 0700 "$DIR/munge"
  write_conf

  if ! pid_alive "$DIR/munge/munged.pid"; then
    [ -f "$DIR/munge/munge.key" ] || {
      head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
      chmod 0400 "$DIR/munge/munge.key"
    }
    munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
      --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
      --seed-file="$DIR/munge/munged.seed"
  fi

  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  for i in $(seq 1 "$NODES"); do
    local ns
    ns=$(node_name "$i")
    if ! ip netns list | grep -qw "$ns"; then
      ip netns add "$ns"
      ip link add "veth-$ns" type veth peer name eth0 netns "$ns"
      ip link set "veth-$ns" master "$BRIDGE" up
      ip -n "$ns" addr add "$(node_addr "$i")/24" dev eth0
      ip -n "$ns" link set eth0 up
      ip -n "$ns" link set lo up
      ip -n "$ns" route add default via "$NET.1"
    fi
  done

  # slurmctld checks that it runs on SlurmctldHost: a hostname of its own (UTS namespace), in the
  # machine's network namespace, where the bridge's address is.
  if ! pid_alive "$DIR/ctld/slurmctld.pid"; then
    unshare --uts sh -c "hostname $CONTROLLER && exec slurmctld -f '$CONF'"
  fi
  for i in $(seq 1 "$NODES"); do
    local ns
    ns=$(node_name "$i")
    mkdir -p "$DIR/nodes/$ns/spool"
    if ! pid_alive "$DIR/nodes/$ns/slurmd.pid"; then
      # A node's own /dev/shm, as on a cluster: transfers cannot take a shortcut between nodes.
      # The rest of the file system is shared, as a cluster's home and software are (with /tmp,
      # where a checkout, CI's included, may be).
      ip netns exec "$ns" unshare --uts --mount --propagation private sh -c \
        "mount -t tmpfs -o mode=1777 tmpfs /dev/shm && hostname $ns && exec slurmd -f '$CONF' -N $ns"
    fi
  done

  # ready when every node is idle
  for _ in $(seq 1 150); do
    if [ "$(SLURM_CONF=$CONF sinfo -h -N -o '%T' 2>/dev/null | grep -c '^idle')" = "$NODES" ]; then
      echo "SLURM_CONF=$CONF"
      return 0
    fi
    sleep 0.2
  done
  echo "slurm-testbed: the nodes did not come up:" >&2
  SLURM_CONF=$CONF sinfo -N >&2 || true
  tail -n 20 "$DIR"/ctld/slurmctld.log "$DIR"/nodes/*/slurmd.log >&2 || true
  return 1
}

stop_pidfile() {
  local file=$1
  if pid_alive "$file"; then
    local pid
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || return 0
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

down() {
  if [ -f "$CONF" ] && pid_alive "$DIR/ctld/slurmctld.pid"; then
    SLURM_CONF=$CONF scancel --quiet --full "$(SLURM_CONF=$CONF squeue -h -o %i | tr '\n' ' ')" 2>/dev/null || true
  fi
  for file in "$DIR"/nodes/*/slurmd.pid; do
    [ -e "$file" ] && stop_pidfile "$file"
  done
  # job steps outlive a stopped slurmd: end whatever still runs in the nodes' namespaces
  for ns in $(ip netns list | awk '{print $1}' | grep '^ddpn' || true); do
    for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
  stop_pidfile "$DIR/ctld/slurmctld.pid"
  stop_pidfile "$DIR/munge/munged.pid"
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
