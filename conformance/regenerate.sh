#!/usr/bin/env bash
# Regenerate tests/conformance/ufuncs.golden.gz from NumPy (the pinned version in
# conformance/requirements.txt), then validate it. `make conformance` runs this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/build/conformance-venv/bin/python"
GEN="$ROOT/conformance/generate_ufuncs.py"
OUT="$ROOT/tests/conformance/ufuncs.golden.gz"

bash "$ROOT/conformance/make-venv.sh"
mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp "$OUT.XXXXXX")"
trap 'rm -f "$TMP" "$TMP.txt"' EXIT
# Case totals per section go to stderr.
"$PY" "$GEN" --out "$TMP.txt"
# -n: no name or timestamp in the header, so the same cases give the same bytes.
gzip -9n < "$TMP.txt" > "$TMP"
"$PY" "$GEN" --check "$TMP"
chmod 644 "$TMP"
mv -f "$TMP" "$OUT"
echo "regenerate: wrote $OUT ($(wc -c < "$OUT") bytes)"
