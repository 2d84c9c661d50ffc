#!/usr/bin/env bash
# How long an MPI job takes to become a cluster, run a program against it and end: the
# whole `mpirun` wall time, 4 ranks (scheduler, program, 2 workers), best and median of N;
# a program that only calls MPI_Init and MPI_Finalize for what MPI's own start takes.
#   libdask: mpirun -np 4 libdask mpi -- PROGRAM (PROGRAM starts once both workers joined)
#   dask-mpi, the peer, in the same run: mpirun -np 4 python -c "initialize(); Client();
#            wait_for_workers(2)" with the same program work (a sum of 1e6 random numbers in
#            10 chunks), from a venv this script makes under build/ (dask[array,distributed],
#            dask-mpi, mpi4py from PyPI; mpi4py builds against Open MPI's mpicc).
#   bash benches/mpi.sh [N]   (after `make build`; N defaults to 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10}
libdask=$root/target/release/libdask
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

cat > "$work/sum.c" <<'C'
#include "dask.h"
#include <stdio.h>
int main(void) {
    dask_client *c = NULL;
    dask_array *x = NULL, *s = NULL;
    size_t shape[1] = {1000000}, chunks[1] = {100000};
    double total = 0;
    if (dask_client_new_default(&c) || dask_array_random_uniform(1, 0, 1, 1, shape, chunks, &x) ||
        dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s) ||
        dask_array_compute_into(c, s, DASK_FLOAT64, &total, sizeof total)) {
        fprintf(stderr, "%s\n", dask_last_error_message());
        return 1;
    }
    dask_array_free(s);
    dask_array_free(x);
    dask_client_free(c);
    return total > 0 ? 0 : 1;
}
C
gcc -O2 -I"$root/include" "$work/sum.c" -o "$work/sum" -L"$root/target/release" -ldask -Wl,-rpath,"$root/target/release"

# MPI's own start and end: MPI_Init and MPI_Finalize on every rank, nothing else.
printf '#include <mpi.h>\nint main(int c, char **v) { MPI_Init(&c, &v); return MPI_Finalize(); }\n' > "$work/bare.c"
mpicc -O2 "$work/bare.c" -o "$work/bare"

venv=$root/build/mpi-peer-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import dask_mpi, mpi4py, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "dask[array,distributed]" dask-mpi mpi4py
fi
cat > "$work/peer.py" <<'PY'
from dask_mpi import initialize
initialize(nthreads=1, dashboard=False)
from distributed import Client
import dask.array as da
with Client() as c:
    c.wait_for_workers(2)
    assert da.random.random(1_000_000, chunks=100_000).sum().compute() > 0
PY

# Wall time of one run of "$@", in seconds.
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$work/out.log" 2>&1 || { tail -20 "$work/out.log"; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
stats() { sort -n | awk '{a[NR]=$1} END {printf "best %.3f s, median %.3f s", a[1], a[int((NR+1)/2)]}'; }

: > "$work/ours"
: > "$work/peer"
: > "$work/bare.t"
for _ in $(seq "$n"); do # interleaved, so drift hits all alike
  timed mpirun --oversubscribe -np 4 "$work/bare" >> "$work/bare.t"
  timed mpirun --oversubscribe -np 4 "$libdask" mpi -- "$work/sum" >> "$work/ours"
  timed mpirun --oversubscribe -np 4 "$venv/bin/python" "$work/peer.py" >> "$work/peer"
done
echo "MPI job of 4 ranks: start, a sum of 1e6 in 10 chunks on 2 workers, end ($n runs each)"
echo "  MPI alone:    $(stats < "$work/bare.t")  (MPI_Init + MPI_Finalize, no cluster)"
echo "  libdask mpi:  $(stats < "$work/ours")"
echo "  dask-mpi:     $(stats < "$work/peer")  ($("$venv/bin/python" -c 'import dask, dask_mpi, mpi4py; print("dask", dask.__version__, "dask-mpi", dask_mpi.__version__, "mpi4py", mpi4py.__version__)'))"
echo "  command: bash benches/mpi.sh $n"
