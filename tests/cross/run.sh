#!/usr/bin/env bash
# One cluster, three languages: run by `make cross-language-test` under
# `libdask local-cluster`, which sets DASK_SCHEDULER_ADDRESS (and the TLS files).
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
build/cross/datasets publish
scripts/julia tests/cross/read.jl
r_libs="$root/build/r/libdask.Rcheck"
[ -d "$r_libs/libdask" ] || r_libs="$root/build/r/lib"
R_LIBS="$r_libs" Rscript tests/cross/read.R
build/cross/datasets unpublish
