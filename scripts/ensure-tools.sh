#!/usr/bin/env bash
# Installs the system tools the build and tests need when they are missing (CI starts from a
# fresh machine). Idempotent and quiet; needs root for apt-get.
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v nm >/dev/null 2>&1 || need+=(binutils)
# Debian's OpenBLAS for block matrix products (the build falls back to pure Rust without it).
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] || need+=(libopenblas-dev)
# Open MPI and libclang (rsmpi generates its bindings with bindgen) for the `mpi` feature:
# `libdask mpi`, dask_mpi_init, and their test under mpirun.
command -v mpicc >/dev/null 2>&1 || need+=(libopenmpi-dev)
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || need+=(libclang-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-tools: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
