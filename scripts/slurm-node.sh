#!/usr/bin/env bash
# A single-node Slurm cluster on this host, for the tests: Debian's slurm-wlm and munge
# (installed through apt when missing), every file under DIR, ports and a munge socket of its
# own, so a site's Slurm, if there is one, is left alone.
#
#   scripts/slurm-node.sh start DIR   starts munged, slurmctld and slurmd; waits for the node
#                                     to be idle; then `export SLURM_CONF=DIR/slurm.conf`
#                                     points sbatch, squeue and scancel at it
#   scripts/slurm-node.sh stop DIR    stops them (and every job left)
#
# `start` exits with 3 and the reason on stderr when Slurm cannot run here (not root, no
# apt-get, a daemon that does not start): the caller skips, saying why.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

cannot() { echo "slurm-node: $*" >&2; exit 3; }

stop() {
  for d in slurmd slurmctld; do
    [ -f "$dir/run/$d.pid" ] && kill "$(cat "$dir/run/$d.pid")" 2>/dev/null || true
  done
  [ -f "$dir/munge/munged.pid" ] && kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
  # Their pid files go when they exit: wait for that, briefly.
  for _ in $(seq 50); do
    [ -e "$dir/run/slurmd.pid" ] || [ -e "$dir/run/slurmctld.pid" ] || break
    sleep 0.1
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

[ "$(id -u)" = 0 ] || cannot "needs root (slurmd runs each job as its user)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || cannot "slurm-wlm is not installed and there is no apt-get"
  echo "slurm-node: installing slurm-wlm and munge" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } \
    >"$dir.apt.log" 2>&1 || cannot "apt-get install slurm-wlm munge failed (see $dir.apt.log)"
fi

rm -rf "$dir"
mkdir -p "$dir"/{state,spool,log,munge,run}
head -c 1024 /dev/urandom >"$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/seed" --force 2>"$dir/log/munged.err" \
  || cannot "munged did not start: $(cat "$dir/log/munged.err")"

host=$(hostname -s)
cpus=$(nproc)
# What slurmd finds less a margin, or it marks the node invalid.
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
port=$(( 20000 + RANDOM % 20000 ))
cat >"$dir/slurm.conf" <<CONF
ClusterName=libdask-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$port
SlurmdPort=$((port + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" 2>"$dir/log/slurmctld.err" || { stop; cannot "slurmctld did not start: $(cat "$dir/log/slurmctld.err")"; }
slurmd -f "$SLURM_CONF" 2>"$dir/log/slurmd.err" || { stop; cannot "slurmd did not start: $(cat "$dir/log/slurmd.err")"; }
for _ in $(seq 100); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && exit 0
  sleep 0.2
done
log=$(tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" 2>/dev/null || true)
stop
cannot "the node did not become idle (state '${state:-none}'): $log"
