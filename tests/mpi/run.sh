#!/usr/bin/env bash
# Clusters inside MPI jobs, under Debian's Open MPI (`mpirun --oversubscribe`: more ranks
# than this machine's cores):
#   1. `mpirun -np 4 libdask mpi -- <array tour>`: rank 0 the scheduler, rank 1 the tour
#      (its results checked against its own C loops), ranks 2-3 workers;
#   2. the same with --tls and the C conformance suite as the client (README's command);
#   3. COMMAND's exit code becomes the job's (mpirun's);
#   4. too few ranks: a clear error, the job fails; a rank started without mpirun too;
#   5. without COMMAND: --scheduler-file (with --tls: the client's files beside it) lets a
#      client from outside the job compute there; SIGTERM to mpirun ends every rank, and the
#      file and its keys are gone;
#   6. dask_mpi_init (tests/mpi/test_mpi_init.c): rank 0 a client of 2 workers; with TLS
#      and 2 threads per worker from DASK_MPI_* variables; a program that returns without
#      dask_mpi_finalize (the exit handler ends the job); a program that initialises MPI
#      itself (built by mpicc); too few ranks refused on every rank.
# Each job runs under `timeout`: a rank left waiting fails the test instead of hanging it.
# Skipped, with the reason, where the library was built without MPI or mpirun is missing.
#   tests/mpi/run.sh <libdask program> <array tour> <conformance suite> <dask_mpi_init test>
set -euo pipefail
libdask=$(realpath "$1")
tour=$(realpath "$2")
conformance=$(realpath "$3")
init_test=$(realpath "$4")
root=$(cd "$(dirname "$0")/../.." && pwd)
libdir=$(dirname "$libdask")

if ! command -v mpirun >/dev/null 2>&1; then
  echo "SKIPPED: no mpirun here (Debian's openmpi-bin; scripts/ensure-tools.sh installs it as root)"
  exit 0
fi
if "$libdask" mpi 2>&1 | grep -q "built without MPI"; then
  echo "SKIPPED: $libdask was built without MPI (Open MPI's and libclang's development files were missing at build time)"
  exit 0
fi

dir=$(mktemp -d /tmp/libdask-mpi.XXXXXX)
cleanup() {
  if [ -n "${pid:-}" ]; then kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "mpi test: $*" >&2; exit 1; }
# Open MPI refuses root unless told; the ranks inherit this environment.
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun_() { timeout 300 mpirun --oversubscribe "$@"; }

echo "-- 1. mpirun -np 4 libdask mpi -- array_tour"
mpirun_ -np 4 "$libdask" mpi -- "$tour" > "$dir/tour.log" 2>&1 || { tail -40 "$dir/tour.log"; fail "the tour failed"; }
grep -q "every result matches the C loops" "$dir/tour.log" || { tail -40 "$dir/tour.log"; fail "the tour's results"; }
grep -q "rank 0: scheduler at tcp://.*; workers on ranks 2, 3" "$dir/tour.log" || fail "rank 0 is not the scheduler of workers 2 and 3"
for r in 2 3; do grep -q "worker mpi-rank-$r connected" "$dir/tour.log" || fail "rank $r did not join"; done
grep "every result matches" "$dir/tour.log"

echo "-- 2. mpirun -np 4 libdask mpi --tls -- test_conformance"
mpirun_ -np 4 "$libdask" mpi --tls -- "$conformance" > "$dir/conformance.log" 2>&1 \
  || { tail -60 "$dir/conformance.log"; fail "the conformance suite failed on an MPI cluster with TLS"; }
grep -q "rank 0: scheduler at tls://" "$dir/conformance.log" || fail "the scheduler did not use TLS"
grep -E "passed|failed" "$dir/conformance.log" | tail -n 1

echo "-- 3. COMMAND's exit code is the job's"
set +e
mpirun_ -np 3 "$libdask" mpi -- sh -c 'test -n "$DASK_SCHEDULER_ADDRESS" && exit 7' > "$dir/code.log" 2>&1
rc=$?
set -e
[ $rc -eq 7 ] || { cat "$dir/code.log"; fail "exit code $rc, expected COMMAND's 7"; }
echo "exit code 7 passed on"

echo "-- 4. too few ranks"
set +e
mpirun_ -np 2 "$libdask" mpi -- true > "$dir/few.log" 2>&1
rc=$?
"$libdask" mpi > "$dir/alone.log" 2>&1
rc_alone=$?
set -e
[ $rc -ne 0 ] && grep -q "needs at least 3 ranks" "$dir/few.log" || { cat "$dir/few.log"; fail "2 ranks with a command accepted"; }
[ "$(grep -c "needs at least" "$dir/few.log")" -eq 1 ] || fail "the error is said more than once"
[ $rc_alone -ne 0 ] && grep -q "needs at least 2 ranks" "$dir/alone.log" || { cat "$dir/alone.log"; fail "a lone rank accepted"; }
grep -h "needs at least" "$dir/few.log" "$dir/alone.log"
# A scheduler that cannot listen (its port taken): every rank ends at once, the reason said.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' > "$dir/port" &
holder=$!
for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
set +e
mpirun_ -np 4 "$libdask" mpi --port "$(cat "$dir/port")" -- true > "$dir/taken.log" 2>&1
rc=$?
mpirun_ -np 4 -x DASK_MPI_PORT="$(cat "$dir/port")" "$init_test" 2 1 > "$dir/init-taken.log" 2>&1
rc_init=$?
set -e
kill $holder 2>/dev/null || true
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "the scheduler cannot start: .*cannot listen" "$dir/taken.log" \
  || { cat "$dir/taken.log"; fail "a scheduler that cannot listen (exit $rc)"; }
[ $rc_init -ne 0 ] && [ $rc_init -ne 124 ] && grep -q "dask_mpi_init failed: DASK_ERR_IO: .*cannot listen" "$dir/init-taken.log" \
  || { cat "$dir/init-taken.log"; fail "dask_mpi_init with a scheduler that cannot listen (exit $rc_init)"; }
grep -h "cannot start" "$dir/taken.log" | head -n 1

echo "-- 5. a scheduler file, a client from outside the job, SIGTERM to mpirun"
file="$dir/scheduler.env"
mpirun --oversubscribe -np 3 "$libdask" mpi --tls --scheduler-file "$file" > "$dir/file.log" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$file" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
[ -s "$file" ] || { cat "$dir/file.log"; fail "no scheduler file"; }
grep -q "^DASK_SCHEDULER_ADDRESS=tls://" "$file" || fail "the file has no TLS address: $(cat "$file")"
[ "$(stat -c %a "$file.tls")" = 700 ] && [ "$(stat -c %a "$file.tls/client-key.pem")" = 600 ] || fail "the client's key is readable by others"
(set -a; . "$file"; set +a; timeout 300 "$tour") > "$dir/outside.log" 2>&1 || { tail -30 "$dir/outside.log"; fail "a client from outside the job"; }
grep "every result matches" "$dir/outside.log"
ranks=$(pgrep -f "$libdask mpi" | wc -l)
kill -TERM $pid
for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "mpirun still runs 20 s after SIGTERM"
wait $pid || true
pid=
left=$(pgrep -f "$libdask mpi" | wc -l || true)
[ "$left" -eq 0 ] || fail "$left of $ranks ranks left running"
[ ! -e "$file" ] && [ ! -e "$file.tls" ] || fail "the scheduler file or its keys outlived the job"
grep -c "SIGTERM: stopping" "$dir/file.log" | xargs echo "ranks that stopped on SIGTERM:"

echo "-- 6. dask_mpi_init"
mpirun_ -np 4 "$init_test" 2 1 > "$dir/init.log" 2>&1 || { tail -40 "$dir/init.log"; fail "dask_mpi_init, 2 workers"; }
grep "^dask_mpi_init:" "$dir/init.log"
mpirun_ -np 4 -x DASK_MPI_TLS=1 -x DASK_MPI_NTHREADS=2 "$init_test" 2 2 > "$dir/init-tls.log" 2>&1 \
  || { tail -40 "$dir/init-tls.log"; fail "dask_mpi_init with TLS, 2 threads per worker"; }
grep -q "rank 1: scheduler at tls://" "$dir/init-tls.log" || fail "DASK_MPI_TLS=1 did not give TLS"
echo "with TLS and 2 threads per worker: $(grep "^dask_mpi_init:" "$dir/init-tls.log")"
mpirun_ -np 3 "$init_test" 1 1 no-finalize > "$dir/init-exit.log" 2>&1 \
  || { tail -40 "$dir/init-exit.log"; fail "a program returning without dask_mpi_finalize"; }
echo "without dask_mpi_finalize (ended at exit): $(grep "^dask_mpi_init:" "$dir/init-exit.log")"
mpicc -std=c11 -Wall -Wextra -Werror -O2 -DPROGRAM_INITIALIZES_MPI -I"$root/include" \
  "$root/tests/mpi/test_mpi_init.c" -o "$dir/test_mpi_init_program" -L"$libdir" -ldask -Wl,-rpath,"$libdir" -lm
mpirun_ -np 4 "$dir/test_mpi_init_program" 2 1 > "$dir/init-program.log" 2>&1 \
  || { tail -40 "$dir/init-program.log"; fail "a program that initialises MPI itself"; }
echo "MPI initialised by the program: $(grep "^dask_mpi_init:" "$dir/init-program.log")"
mpirun_ -np 2 "$init_test" refused > "$dir/init-few.log" 2>&1 || { cat "$dir/init-few.log"; fail "too few ranks for dask_mpi_init"; }
[ "$(grep -c "refused with too few ranks" "$dir/init-few.log")" -eq 2 ] || { cat "$dir/init-few.log"; fail "not every rank was refused"; }
echo "2 ranks: refused on both"
echo "mpi test: all passed"
