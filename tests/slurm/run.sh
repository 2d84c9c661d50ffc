#!/usr/bin/env bash
# Workers started by Slurm: a single-node Slurm (scripts/slurm-node.sh: munged, slurmctld,
# slurmd from Debian's packages) runs two `libdask worker` batch jobs against a scheduler
# on this host, and the C conformance suite computes its graphs on them. Then the jobs are
# cancelled and none may be left in squeue. Skipped, with the reason, where Slurm cannot run.
#   tests/slurm/run.sh <libdask program> <client test program>
set -euo pipefail
libdask=$(realpath "$1")
client=$(realpath "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/libdask-slurm.XXXXXX)
node="$dir/node"
scheduler_pid=
cleanup() {
  [ -n "$scheduler_pid" ] && kill "$scheduler_pid" 2>/dev/null || true
  bash "$root/scripts/slurm-node.sh" stop "$node" || true
}
trap cleanup EXIT

set +e
bash "$root/scripts/slurm-node.sh" start "$node" 2>"$dir/start.err"
rc=$?
set -e
if [ $rc -eq 3 ]; then
  echo "SKIPPED: Slurm cannot run here: $(cat "$dir/start.err")"
  exit 0
fi
[ $rc -eq 0 ] || { cat "$dir/start.err" >&2; exit 1; }
export SLURM_CONF="$node/slurm.conf"

port=$(( 40000 + RANDOM % 20000 ))
"$libdask" scheduler --host 127.0.0.1 --port "$port" 2>"$dir/scheduler.log" &
scheduler_pid=$!
address="tcp://127.0.0.1:$port"

cat >"$dir/worker.sh" <<JOB
#!/bin/bash
#SBATCH --job-name=libdask-worker
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --output=$dir/worker-%j.log
exec "$libdask" worker $address --nthreads 1 --name slurm-\$SLURM_JOB_ID --death-timeout 30
JOB
jobs=()
for _ in 1 2; do jobs+=("$(sbatch --parsable "$dir/worker.sh")"); done
echo "submitted worker jobs ${jobs[*]} against $address"

# Both jobs running (the cluster has 2 CPUs), then the suite on their workers.
for _ in $(seq 150); do
  running=$(squeue -h -t R -j "$(IFS=,; echo "${jobs[*]}")" | wc -l)
  [ "$running" -eq 2 ] && break
  sleep 0.2
done
[ "$running" -eq 2 ] || { squeue; echo "the worker jobs did not start" >&2; exit 1; }
DASK_SCHEDULER_ADDRESS=$address "$client" | tail -n 2
for j in "${jobs[@]}"; do
  grep -q "worker slurm-$j: connected to the scheduler" "$dir/worker-$j.log" \
    || { cat "$dir/worker-$j.log" >&2; echo "job $j's worker did not join" >&2; exit 1; }
done

scancel "${jobs[@]}"
for _ in $(seq 100); do
  left=$(squeue -h | wc -l)
  [ "$left" -eq 0 ] && break
  sleep 0.2
done
[ "$left" -eq 0 ] || { squeue; echo "jobs left in squeue after scancel" >&2; exit 1; }
# scancel sends SIGTERM: each worker retires (its results to peers) before it goes.
for j in "${jobs[@]}"; do
  for _ in $(seq 50); do grep -q "worker slurm-$j left.*retired" "$dir/scheduler.log" && break; sleep 0.1; done
  grep -q "worker slurm-$j left.*retired" "$dir/scheduler.log" \
    || { cat "$dir/scheduler.log" >&2; echo "job $j's worker did not retire cleanly" >&2; exit 1; }
done
rm -rf "$dir"
echo "slurm: 2 workers ran as Slurm jobs, the suite passed on them, no job left"
