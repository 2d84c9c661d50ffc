#!/usr/bin/env bash
# Create build/conformance-venv with the pinned packages of conformance/requirements.txt
# (NumPy for every golden file; pydata/sparse, its numba/llvmlite and scipy for sparse.golden.gz).
# Idempotent: does nothing when the venv is there and has exactly those versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/build/conformance-venv"
REQ="$ROOT/conformance/requirements.txt"
grep -q '^numpy==' "$REQ" || { echo "make-venv: no numpy== pin in $REQ" >&2; exit 1; }
# name==version per pin, sorted
WANT="$(sed -n 's/^\([A-Za-z0-9_.-]*\)==\([^[:space:]]*\).*/\1==\2/p' "$REQ" | sort)"

# The installed version of every pinned package (name==none when missing), sorted.
have() {
    "$VENV/bin/python" - "$REQ" 2>/dev/null <<'PY' | sort || true
import re, sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
    if m:
        try:
            v = version(m.group(1))
        except PackageNotFoundError:
            v = "none"
        print(f"{m.group(1)}=={v}")
PY
}
summary() { echo "$WANT" | tr '\n' ' ' | sed 's/ $//'; }

if [ -x "$VENV/bin/python" ] && [ "$(have)" = "$WANT" ]; then
    echo "make-venv: $VENV has $(summary)"
    exit 0
fi
# A venv whose interpreter no longer runs (python upgraded or moved) is made anew.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
GOT="$(have)"
if [ "$GOT" != "$WANT" ]; then
    echo "make-venv: wanted: $(summary)" >&2
    echo "make-venv: the venv has: $(echo "$GOT" | tr '\n' ' ')" >&2
    exit 1
fi
echo "make-venv: $VENV has $(summary)"
