#!/usr/bin/env bash
# Create build/conformance-venv with the pinned NumPy of conformance/requirements.txt.
# Idempotent: does nothing when the venv is there and has that exact version.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/build/conformance-venv"
REQ="$ROOT/conformance/requirements.txt"
WANT="$(sed -n 's/^numpy==\([^[:space:]]*\).*/\1/p' "$REQ")"
[ -n "$WANT" ] || { echo "make-venv: no numpy== pin in $REQ" >&2; exit 1; }

have() { "$VENV/bin/python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true; }

if [ -x "$VENV/bin/python" ] && [ "$(have)" = "$WANT" ]; then
    echo "make-venv: $VENV has numpy $WANT"
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
    echo "make-venv: wanted numpy $WANT, the venv has '${GOT}'" >&2
    exit 1
fi
echo "make-venv: $VENV has numpy $WANT"
