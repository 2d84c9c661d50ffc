#!/usr/bin/env bash
# `libdask slurm` on a real single-node Slurm (scripts/slurm-node.sh: munged, slurmctld and
# slurmd from Debian's packages, started here and stopped after):
#   1. `libdask slurm --workers 2 -- <C conformance suite>`: the suite computes its graphs on
#      two workers that are Slurm batch jobs; on exit the jobs are cancelled and squeue is
#      empty;
#   2. the same with --tls, the table suite as the client;
#   3. without a command, until Ctrl-C (SIGINT), one job cancelled on the way as at the end
#      of its time limit: that worker retires on Slurm's SIGTERM, the cluster runs on; then
#      no job is left;
#   4. adaptive (--adapt 0:2): no job until the suite's graphs wait, two then, and both let
#      go by the scheduler once idle, while the cluster runs on.
# Skipped, with the reason, where Slurm cannot run (not root, no apt-get, daemons refuse).
#   4b. inside an allocation (salloc): the workers as srun steps (--srun), the table suite
#      as the client; each step's worker retires on the SIGTERM Slurm sends it at the end;
#   5. the C ABI (tests/slurm/test_slurm_api.c): dask_cluster_slurm fixed and adaptive;
#   6. Julia's SlurmCluster and R's dask_slurm_cluster, fixed and adaptive (tests/slurm/
#      slurm.jl, slurm.R), when their toolchains and the R package are there (make test
#      runs this after julia-test and r-test); skipped with the reason otherwise.
#   tests/slurm/run.sh <libdask program> <conformance suite> <table suite> <array tour> <C API test>
set -euo pipefail
libdask=$(realpath "$1")
conformance=$(realpath "$2")
tables=$(realpath "$3")
tour=$(realpath "$4")
capi=$(realpath "$5")
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/libdask-slurm.XXXXXX)
node="$dir/node"
cleanup() {
  # A cluster still running (a failed check) goes first.
  if [ -n "${pid:-}" ]; then kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
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

fail() { echo "slurm test: $*" >&2; squeue >&2 || true; exit 1; }

# Every worker of cluster directory $1 ($2 of them) joined, was cancelled (scancel, as the
# cluster closed) and left, and no job is left in squeue.
left() { grep -q -e "leaving" -e "the scheduler closed" "$1" 2>/dev/null; }
check_after() {
  local cluster=$1 want=$2 logs done log
  for _ in $(seq 100); do
    logs=("$cluster"/worker-*.log)
    done=1
    [ "$(squeue -h | wc -l)" -eq 0 ] && [ "${#logs[@]}" -eq "$want" ] || done=0
    for log in "${logs[@]}"; do left "$log" || done=0; done
    [ $done -eq 1 ] && break
    sleep 0.2
  done
  [ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue"
  [ "${#logs[@]}" -eq "$want" ] || fail "${#logs[@]} worker logs in $cluster, not $want"
  for log in "${logs[@]}"; do
    grep -q "connected to the scheduler" "$log" || { cat "$log" >&2; fail "a worker did not join"; }
    left "$log" || { cat "$log" >&2; fail "a worker did not leave"; }
    # slurmstepd's own line: the job was cancelled (scancel), not merely left to end.
    grep -q "CANCELLED" "$log" || { cat "$log" >&2; fail "a job was not cancelled"; }
  done
}

common=(--cpus-per-worker 1 --mem-per-worker 1GiB --time 10:00)

echo "-- libdask slurm --workers 2 -- test_conformance"
"$libdask" slurm --workers 2 "${common[@]}" --dir "$dir/plain" -- "$conformance" | tail -n 1
grep -q "^#SBATCH --cpus-per-task=1$" "$dir/plain/worker.sbatch" || fail "the job script lacks its CPUs"
grep -q "^#SBATCH --mem=1024M$" "$dir/plain/worker.sbatch" || fail "the job script lacks its memory"
check_after "$dir/plain" 2

echo "-- libdask slurm --workers 2 --tls -- test_table"
"$libdask" slurm --workers 2 "${common[@]}" --tls --dir "$dir/tls" -- "$tables" | tail -n 1
grep -q "tls://" "$dir/tls/worker.sbatch" && grep -q -- "--tls-cert" "$dir/tls/worker.sbatch" \
  || fail "the TLS job script has no tls:// address or certificate"
check_after "$dir/tls" 2

echo "-- libdask slurm --workers 2 until SIGINT; one job cancelled while it runs"
"$libdask" slurm --workers 2 "${common[@]}" --dir "$dir/interactive" 2>"$dir/interactive.err" &
pid=$!
joined() { [ "$(cat "$dir"/interactive/worker-*.log 2>/dev/null | grep -c "connected to the scheduler")" -eq 2 ]; }
for _ in $(seq 150); do joined && break; sleep 0.2; done
joined || { cat "$dir/interactive.err" >&2; fail "the workers of the interactive cluster did not join"; }
# As at the end of a job's time limit: Slurm's SIGTERM, the worker retires (its results to
# its peer) while the cluster runs on.
first=$(squeue -h -o %i | sort -n | head -n 1)
scancel "$first"
for _ in $(seq 100); do grep -q "leaving" "$dir/interactive/worker-$first.log" && break; sleep 0.2; done
grep -q "SIGTERM: handing data to peers" "$dir/interactive/worker-$first.log" \
  || { cat "$dir/interactive/worker-$first.log" >&2; fail "the cancelled worker did not retire"; }
kill -0 "$pid" || fail "libdask slurm exited when one of its jobs was cancelled"
kill -INT "$pid"
wait "$pid" || fail "libdask slurm exited with $? after SIGINT"
grep -q "scheduler at tcp://$(hostname)" "$dir/interactive.err" || { cat "$dir/interactive.err" >&2; fail "no scheduler address printed"; }
check_after "$dir/interactive" 2

# Adaptive: the array tour's first graph has 8 blocks to make at once; the scheduler wants
# 2 workers (its maximum) then, and none once they have been idle for 2 s.
echo "-- libdask slurm --adapt 0:2 (array_tour): no job until work waits, 2 while it runs, 0 when idle"
"$libdask" slurm --adapt 0:2 --idle-grace 2 "${common[@]}" --dir "$dir/adapt" 2>"$dir/adapt.err" &
pid=$!
for _ in $(seq 100); do grep -q "scheduler at" "$dir/adapt.err" && break; sleep 0.1; done
address=$(sed -n 's/^libdask slurm: scheduler at //p' "$dir/adapt.err")
[ -n "$address" ] || { cat "$dir/adapt.err" >&2; fail "the adaptive cluster printed no address"; }
sleep 2
[ "$(squeue -h | wc -l)" -eq 0 ] || fail "an adaptive cluster of minimum 0 submitted jobs with no work"
DASK_SCHEDULER_ADDRESS="$address" "$tour" | tail -n 1
grep -q "target 2 workers (0 connected, 0 pending): submitted" "$dir/adapt.err" \
  || { cat "$dir/adapt.err" >&2; fail "the scheduler did not ask for 2 workers"; }
released() {
  local logs=("$dir"/adapt/worker-*.log) log
  [ "${#logs[@]}" -eq 2 ] && [ "$(squeue -h | wc -l)" -eq 0 ] || return 1
  for log in "${logs[@]}"; do grep -q "leaving" "$log" || return 1; done
}
for _ in $(seq 150); do released && break; sleep 0.2; done
released || { cat "$dir/adapt.err" "$dir"/adapt/worker-*.log >&2; fail "the idle workers were not released"; }
for log in "$dir"/adapt/worker-*.log; do
  grep -q "connected to the scheduler" "$log" || { cat "$log" >&2; fail "an adaptive worker did not join"; }
  grep -q "lets this idle worker go" "$log" || { cat "$log" >&2; fail "an idle worker was not let go by the scheduler"; }
done
kill -0 "$pid" || fail "libdask slurm --adapt exited with its workers"
kill -INT "$pid"
wait "$pid" || fail "libdask slurm --adapt exited with $? after SIGINT"
[ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue"
grep "adapt:" "$dir/adapt.err"

echo "-- salloc -n 2 libdask slurm --srun --workers 2 -- test_table"
salloc -n 2 -c 1 --mem=1G "$libdask" slurm --srun --workers 2 --cpus-per-worker 1 \
  --mem-per-worker 256MiB --dir "$dir/srun" -- "$tables" 2>"$dir/srun.err" | tail -n 1 \
  || { cat "$dir/srun.err" >&2; fail "libdask slurm --srun failed"; }
steps=("$dir"/srun/worker-*.*.log)
[ "${#steps[@]}" -eq 2 ] || { cat "$dir/srun.err" >&2; fail "${#steps[@]} step logs, not 2"; }
for log in "${steps[@]}"; do
  grep -q "connected to the scheduler" "$log" || { cat "$log" >&2; fail "a worker step did not join"; }
  grep -q "SIGTERM: handing data to peers" "$log" && grep -q "leaving" "$log" \
    || { cat "$log" "$dir/srun.err" >&2; fail "a worker step did not retire on SIGTERM"; }
done
[ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue after the allocation"
if env -u SLURM_JOB_ID "$libdask" slurm --srun --workers 1 --dir "$dir/noalloc" 2>"$dir/noalloc.err"; then
  fail "--srun outside an allocation was accepted"
fi
grep -q "srun steps need an allocation" "$dir/noalloc.err" || { cat "$dir/noalloc.err" >&2; fail "no clear error for --srun outside an allocation"; }

echo "-- the C ABI: dask_cluster_slurm, fixed and adaptive"
DASK_BIN="$libdask" "$capi" "$dir/capi"
[ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue after dask_cluster_free"
for log in "$dir"/capi/*/worker-*.log; do
  left "$log" || { cat "$log" >&2; fail "a worker of the C API's clusters did not leave"; }
done

echo "-- Julia: SlurmCluster"
if bash "$root/scripts/julia" --version >/dev/null 2>&1; then
  if ! DASK_BIN="$libdask" LIBDASK_HOME="$root" bash "$root/scripts/julia" "$root/tests/slurm/slurm.jl" \
       "$dir/julia" >"$dir/julia.log" 2>&1; then
    tail -n 40 "$dir/julia.log" >&2
    fail "the Julia Slurm test failed"
  fi
  tail -n 2 "$dir/julia.log"
  [ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue after Julia's clusters closed"
else
  echo "SKIPPED (Julia): no Julia here (scripts/julia could not find or install one)"
fi

echo "-- R: dask_slurm_cluster"
rlib=""
for d in "$root/build/r/libdask.Rcheck" "$root/build/r/lib"; do
  [ -f "$d/libdask/DESCRIPTION" ] && { rlib=$d; break; }
done
if [ -n "$rlib" ] && command -v Rscript >/dev/null; then
  if ! DASK_BIN="$libdask" R_LIBS="$rlib" Rscript "$root/tests/slurm/slurm.R" "$dir/r" >"$dir/r.log" 2>&1; then
    tail -n 40 "$dir/r.log" >&2
    fail "the R Slurm test failed"
  fi
  tail -n 1 "$dir/r.log"
  [ "$(squeue -h | wc -l)" -eq 0 ] || fail "jobs left in squeue after R's clusters closed"
else
  echo "SKIPPED (R): the R package is not built (make r-test builds it into build/r)"
fi

rm -rf "$dir"
echo "slurm: libdask slurm ran the suites on workers that were Slurm jobs (plain, TLS, adaptive 0-2-0; from C, Julia and R), no job left"
