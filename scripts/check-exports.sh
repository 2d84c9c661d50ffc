#!/usr/bin/env bash
# libdask.so exports only dask_* symbols and carries the ABI soname.
set -euo pipefail
lib=${1:-target/release/libdask.so}
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^dask_' || true)
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^dask_' || true)
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
pass=0; fail=0
if [ -z "$bad" ] && [ "$count" -gt 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "exports: non-dask symbols exported:"; echo "$bad"; fi
if [ "$soname" = "libdask.so.0" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "exports: soname is '$soname', expected libdask.so.0"; fi
echo "exports: $count dask_* symbols, soname $soname"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
