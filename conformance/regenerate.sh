#!/usr/bin/env bash
# Regenerate the golden files of tests/conformance/ from the pinned packages of
# conformance/requirements.txt, then validate each. `make conformance` runs this.
#
#   regenerate.sh                    all three: ufuncs arrays sparse
#   regenerate.sh arrays sparse      only those
#
#   ufuncs  tests/conformance/ufuncs.golden.gz  generate_ufuncs.py          (NumPy)
#   arrays  tests/conformance/arrays.golden.gz  generate_arrays.py arrays   (NumPy)
#   sparse  tests/conformance/sparse.golden.gz  generate_arrays.py sparse   (pydata/sparse, scipy)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/build/conformance-venv/bin/python"
DIR="$ROOT/tests/conformance"
WHICH=("$@")
[ ${#WHICH[@]} -gt 0 ] || WHICH=(ufuncs arrays sparse)
for w in "${WHICH[@]}"; do
    case "$w" in
        ufuncs|arrays|sparse) ;;
        *) echo "regenerate: unknown golden file '$w' (ufuncs, arrays or sparse)" >&2; exit 2 ;;
    esac
done

bash "$ROOT/conformance/make-venv.sh"
mkdir -p "$DIR"
TMPD="$(mktemp -d "$DIR/.regenerate.XXXXXX")"
trap 'rm -rf "$TMPD"' EXIT

for w in "${WHICH[@]}"; do
    case "$w" in
        ufuncs) GEN=("$ROOT/conformance/generate_ufuncs.py") ;;
        *) GEN=("$ROOT/conformance/generate_arrays.py" "$w") ;;
    esac
    OUT="$DIR/$w.golden.gz"
    echo "regenerate: $w"
    # Case totals per section go to stderr.
    "$PY" "${GEN[@]}" --out "$TMPD/$w.txt"
    # -n: no name or timestamp in the header, so the same cases give the same bytes.
    gzip -9n < "$TMPD/$w.txt" > "$TMPD/$w.gz"
    "$PY" "${GEN[0]}" --check "$TMPD/$w.gz"
    chmod 644 "$TMPD/$w.gz"
    mv -f "$TMPD/$w.gz" "$OUT"
    echo "regenerate: wrote $OUT ($(wc -c < "$OUT") bytes)"
done
