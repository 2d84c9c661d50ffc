#!/usr/bin/env bash
# Installs R and the R packages the R binding (bindings/r/libdask) needs, from Debian's
# packages: r-base-dev (R and its headers), r-cran-testthat (tests), r-cran-matrix (sparse
# matrices; a recommended package). CRAN is not needed.
#
# Idempotent and quiet: does nothing when Rscript and the packages are present; prints one
# line when it installs; on failure prints an error to stderr and exits non-zero.
set -euo pipefail

die() { echo "install-r: error: $*" >&2; exit 1; }

have_all() {
  command -v Rscript >/dev/null 2>&1 && command -v R >/dev/null 2>&1 &&
    [ -f "$(R RHOME 2>/dev/null)/etc/Makeconf" ] &&
    Rscript -e 'for (p in c("testthat", "Matrix")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' \
      >/dev/null 2>&1
}

have_all && exit 0

[ "$(id -u)" = 0 ] || die "R or its packages are missing and installing them needs root (apt-get)"
command -v apt-get >/dev/null 2>&1 || die "R or its packages are missing and this is not a Debian system"

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
  if ! "$@" >>"$log" 2>&1; then
    echo "install-r: error: command failed: $*" >&2
    tail -n 25 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
}
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends r-base-dev r-cran-testthat r-cran-matrix
have_all || die "installed r-base-dev r-cran-testthat r-cran-matrix, but R still lacks them"
echo "install-r: installed $(R --version | head -n 1) with testthat and Matrix in $(($(date +%s) - start))s"
