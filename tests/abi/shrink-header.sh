#!/usr/bin/env bash
# Writes a copy of include/dask.h in which the versioned structs have an older, smaller
# layout: each keeps its fields up to the one named here and loses the ones after it, as a
# program compiled against an earlier header would have them.
#   tests/abi/shrink-header.sh include/dask.h build/abi/dask.h
set -euo pipefail
in=$1 out=$2
mkdir -p "$(dirname "$out")"
awk '
  BEGIN {
    keep["dask_config"] = "memory_limit";
    keep["dask_memory_stats"] = "values";
    keep["dask_buffer_view"] = "dtype";
    keep["dask_kind_vtable"] = "ufunc_call";
  }
  /^typedef struct dask_[a-z_]+ \{/ && ($3 in keep) {
    current = $3; dropping = 0; finishing = 0; print; next
  }
  current != "" && $0 ~ "^} " current ";" { current = ""; dropping = 0; print; next }
  current != "" && dropping { next }
  current != "" {
    print
    # The last kept field ends this line with its name (a function pointer field ends
    # with its parameter list; its name is in the first line).
    if ($0 ~ "[ *(]" keep[current] "[;)[]" || $0 ~ "\\(\\*" keep[current] "\\)") {
      if ($0 ~ /;[ ]*$/) { dropping = 1 } else { finishing = 1 }
    } else if (finishing && $0 ~ /;[ ]*$/) { finishing = 0; dropping = 1 }
    next
  }
  { print }
' "$in" > "$out"
for s in dask_config dask_memory_stats dask_buffer_view dask_kind_vtable; do
  grep -q "^typedef struct $s {" "$out" || { echo "shrink-header: $s not found" >&2; exit 1; }
done
