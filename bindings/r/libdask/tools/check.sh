#!/usr/bin/env bash
# Tests the R binding against this repository's libdask (target/release/libdask.so, which
# must be built first): installs R when missing (scripts/install-r.sh), builds the package,
# runs `R CMD check --no-manual` (which runs the testthat suite) and fails on any ERROR or
# WARNING, runs the suite a second time with its default client on a local cluster, then
# the gctorture run and the example, with the package installed by the check.
# Work files go to build/r. Prints "R binding: N passed, N failed" at the end.
#   bash bindings/r/libdask/tools/check.sh [--no-check]   (--no-check: tests only, faster)
set -euo pipefail

pkg=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
root=$(cd -- "$pkg/../../.." && pwd -P)
work="$root/build/r"

bash "$root/scripts/install-r.sh"
[ -f "$root/target/release/libdask.so" ] || { echo "R binding: build libdask first (make build)" >&2; exit 1; }
export LIBDASK_HOME="$root" # where configure finds the header and library from the copy R CMD check makes

rm -rf "$work"
mkdir -p "$work"
cd "$work"
R CMD build --no-build-vignettes --no-manual "$pkg" >build.log 2>&1 || { cat build.log; exit 1; }
tarball=$(ls libdask_*.tar.gz)

if [ "${1:-}" = --no-check ]; then
  mkdir -p lib
  R CMD INSTALL -l lib "$tarball" >install.log 2>&1 || { cat install.log; exit 1; }
  libs="$work/lib"
  (cd "$pkg/tests" && R_LIBS="$libs" Rscript testthat.R) 2>&1 | tee tests.log
  summary=$(grep -E '^\[ FAIL [0-9]+ \|' tests.log | tail -n 1 || true)
else
  _R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual "$tarball" 2>&1 | tee check.log
  status=$(grep -E '^Status:' check.log || true)
  if ! echo "$status" | grep -q '^Status: OK\|^Status: [0-9]* NOTE'; then
    echo "R binding: R CMD check did not pass (${status:-no status}); see $work/libdask.Rcheck" >&2
    [ -f libdask.Rcheck/tests/testthat.Rout.fail ] && tail -n 60 libdask.Rcheck/tests/testthat.Rout.fail >&2
    exit 1
  fi
  libs="$work/libdask.Rcheck"
  summary=$(grep -E '^\[ FAIL [0-9]+ \|' libdask.Rcheck/tests/testthat.Rout | tail -n 1 || true)
fi

echo "== R binding: the testthat suite again, its default client on a local cluster (2 workers)"
(cd "$pkg/tests" && R_LIBS="$libs" "$root/target/release/libdask" local-cluster --workers 2 -- Rscript testthat.R) >"$work/cluster-tests.log" 2>&1 || {
  tail -n 60 "$work/cluster-tests.log" >&2
  echo "R binding: the suite failed on a local cluster (log: $work/cluster-tests.log)" >&2
  exit 1
}
grep -E '^\[ FAIL [0-9]+ \|' "$work/cluster-tests.log" | tail -n 1 | sed 's/^/on a local cluster: /'

echo "== R binding: gctorture"
R_LIBS="$libs" Rscript "$pkg/tools/gctorture.R"
echo "== R binding: configure against a plain cargo build (target/debug, no soname link)"
# target/debug has libdask.so only; configure must make the libdask.so.1 link the loader
# looks for. A copy of the release library stands in for the debug one.
fake="$work/debug-home"
mkdir -p "$fake/include" "$fake/target/debug" "$work/debug-lib"
cp "$root/include/dask.h" "$fake/include/"
cp "$root/target/release/libdask.so" "$fake/target/debug/"
LIBDASK_HOME="$fake" R CMD INSTALL -l "$work/debug-lib" "$tarball" >debug-install.log 2>&1 || { cat debug-install.log; exit 1; }
R_LIBS="$work/debug-lib" Rscript -e 'suppressPackageStartupMessages(library(libdask)); stopifnot(identical(compute(as_dask_array(c(1, 2)) * 2), c(2, 4)))'
echo "== R binding: examples/r/array_tour.R"
R_LIBS="$libs" Rscript "$root/examples/r/array_tour.R"
echo "== R binding: examples/r/glm.R"
R_LIBS="$libs" Rscript "$root/examples/r/glm.R" >/dev/null

# testthat's "[ FAIL 0 | WARN 0 | SKIP 0 | PASS 183 ]" as the plain closing line.
fail=$(echo "$summary" | sed -n 's/.*FAIL \([0-9]*\).*/\1/p')
pass=$(echo "$summary" | sed -n 's/.*PASS \([0-9]*\).*/\1/p')
skip=$(echo "$summary" | sed -n 's/.*SKIP \([0-9]*\).*/\1/p')
[ -n "$pass" ] || { echo "R binding: no testthat summary found" >&2; exit 1; }
echo "R binding: $pass passed, ${fail:-0} failed, ${skip:-0} skipped"
[ "${fail:-0}" = 0 ]
