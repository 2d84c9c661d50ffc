#!/usr/bin/env bash
# What the library shows the linker:
#   scripts/check-exports.sh <build libdask.so> <dist libdask.so> <dist libdask.a>
# - the shared library exports only dask_* symbols and carries the ABI soname (the header's
#   DASK_ABI_VERSION);
# - the installed shared library has no debug sections and points to its .debug file;
# - the installed static library defines no global symbol but dask_*, and a program with a
#   function of its own named like one of the bundled liblz4's links with it and keeps its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:-target/release/libdask.so}
dist_so=${2:-build/dist/libdask.so}
dist_a=${3:-build/dist/libdask.a}
abi=$(sed -n 's/^#define DASK_ABI_VERSION \([0-9]*\)$/\1/p' "$root/include/dask.h")
pass=0; fail=0
ok() { pass=$((pass+1)); echo "exports: $1"; }
bad() { fail=$((fail+1)); echo "exports: FAILED: $1"; }

non_dask=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^dask_' || true)
count=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^dask_' || true)
if [ -z "$non_dask" ] && [ "$count" -gt 0 ]; then ok "$count dask_* symbols exported, nothing else"; else bad "non-dask symbols exported: $non_dask"; fi
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" = "libdask.so.$abi" ]; then ok "soname $soname"; else bad "soname is '$soname', expected libdask.so.$abi"; fi

if ! readelf -S --wide "$dist_so" | grep -q ' \.debug_' && readelf -S --wide "$dist_so" | grep -q '\.gnu_debuglink'; then
  ok "installed libdask.so: $(( $(stat -c %s "$dist_so") >> 20 )) MiB, no debug sections, debuglink to libdask.so.debug"
else
  bad "installed libdask.so still has debug sections or no debuglink"
fi
dist_count=$(nm -D --defined-only "$dist_so" | awk '{print $3}' | grep -c '^dask_' || true)
if [ "$dist_count" -eq "$count" ]; then ok "stripping kept the $dist_count exports"; else bad "stripped library exports $dist_count of $count"; fi

globals=$(readelf -s --wide "$dist_a" | awk '$5=="GLOBAL" && $7!="UND" {print $8}' | sort -u)
non_dask=$(echo "$globals" | grep -v '^dask_' || true)
if [ -z "$non_dask" ]; then ok "libdask.a defines $(echo "$globals" | wc -l) global symbols, all dask_*"; else bad "libdask.a defines non-dask globals: $(echo "$non_dask" | head -5)"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/clash.c" <<'C'
#include "dask.h"
#include <stdio.h>
/* The application's own function, named like one of the bundled liblz4's. */
int LZ4_compress_default(const char *src, char *dst, int n, int cap) {
    (void)src, (void)dst, (void)cap;
    return -n;
}
int main(void) {
    dask_client *c;
    if (dask_client_new(NULL, &c) != DASK_OK) return 1;
    dask_client_free(c);
    return LZ4_compress_default(0, 0, 7, 0) == -7 ? 0 : 1;
}
C
if gcc -std=c11 -I"$root/include" "$work/clash.c" "$dist_a" ${DASK_STATIC_LIBS:--lgcc_s -lutil -lrt -lpthread -lm -ldl} -o "$work/clash" 2>"$work/clash.log" \
   && "$work/clash"; then
  ok "a program with its own LZ4_compress_default links statically and keeps its own"
else
  bad "static link with an LZ4_compress_default of the program's own: $(head -3 "$work/clash.log")"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
