#!/usr/bin/env bash
# Installs Julia 1.5.3 (for the Julia bindings/tests) when no julia >= 1.5 is on PATH.
#
# Debian bookworm ships no Julia, and Julia's own download site is not reachable from CI, so
# this takes Debian bullseye's julia 1.5.3 packages (plus the bullseye/bookworm libraries they
# need) and unpacks them with `dpkg -x` into build/julia. apt runs with a private state
# directory (build/julia-apt: its own sources, lists, cache and an empty dpkg status), so the
# system's apt setup and dpkg database are left untouched; only runtime libraries that Julia
# needs and the system lacks (libcurl3-gnutls, libgmp10, ...) are installed with the system's
# apt-get. Run Julia with scripts/julia, which sets up the library path, depot, etc.
#
# Idempotent and quiet: prints one line when it installs, nothing otherwise; on failure prints
# an error to stderr and exits non-zero. Works from any cwd.
set -euo pipefail

die() { echo "install-julia: error: $*" >&2; exit 1; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd -- "$script_dir/.." && pwd -P)
prefix="$root/build/julia"
aptdir="$root/build/julia-apt"
marker="$prefix/.install-complete"
multiarch=x86_64-linux-gnu

# Fast path: already installed into the prefix.
[ -f "$marker" ] && [ -x "$prefix/usr/bin/julia" ] && exit 0

# True if $1 is a julia binary of version >= 1.5 ("julia version 1.5.3").
julia_version_ok() {
  local v major minor
  v=$("$1" --version 2>/dev/null) || return 1
  v=${v##* }
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  ((major > 1 || (major == 1 && minor >= 5)))
}

# A julia >= 1.5 on PATH (not our own runner script) makes the install unnecessary.
while IFS= read -r j; do
  [ -n "$j" ] || continue
  [ "$(readlink -f -- "$j")" = "$script_dir/julia" ] && continue
  julia_version_ok "$j" && exit 0
done < <(type -aP julia 2>/dev/null || true)

for tool in apt-get dpkg ldd flock; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (no julia >= 1.5 on PATH either); this needs Debian"
done
[ "$(dpkg --print-architecture)" = amd64 ] ||
  die "only amd64 (x86_64) Debian is supported (no julia >= 1.5 found on PATH)"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"

mkdir -p "$root/build"
# Serialise concurrent installs (e.g. parallel test jobs all calling scripts/julia).
exec 9>"$root/build/.julia-install.lock"
flock 9 || die "could not lock $root/build/.julia-install.lock"
[ -f "$marker" ] && [ -x "$prefix/usr/bin/julia" ] && exit 0

start=$(date +%s)
mkdir -p "$aptdir"
log="$aptdir/install.log"
: >"$log"
# `run WHAT CMD...`: runs CMD with its output going to the log; on failure reports WHAT with
# the log's tail and exits.
run() {
  local what=$1
  shift
  if ! "$@" >>"$log" 2>&1; then
    echo "install-julia: error: $what failed" >&2
    tail -n 25 "$log" | sed 's/^/  | /' >&2
    echo "install-julia: full log: $log" >&2
    exit 1
  fi
}

# --- Pick a Debian mirror: the system's own (if it also serves bullseye), else deb.debian.org.
mirror_candidates() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && awk '$1 == "deb" {
        for (i = 2; i <= NF; i++) {
          if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
          print $i; break
        }
      }' "$f"
  done
  echo http://deb.debian.org/debian
}
reachable() { # $1 = mirror URL; true if it serves bullseye
  local url="${1%/}/dists/bullseye/InRelease"
  if command -v curl >/dev/null 2>&1; then
    curl -fsSIL --max-time 20 -o /dev/null "$url" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q --spider --timeout=20 "$url" 2>/dev/null
  else
    return 0 # cannot check; let apt-get update find out
  fi
}
mirror=""
while IFS= read -r m; do
  m=${m%/}
  case "$m" in
    http://*/debian | https://*/debian) ;; # main archive only (not debian-security etc.)
    *) continue ;;
  esac
  if reachable "$m"; then mirror=$m; break; fi
done < <(mirror_candidates | awk '!seen[$0]++')
[ -n "$mirror" ] || die "no reachable Debian mirror serving bullseye (tried the system's and http://deb.debian.org/debian)"

# --- Private apt setup.
current_suite=bookworm # the bookworm-only packages; use the host's own release when it says
if [ -r /etc/os-release ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] && [ "$codename" != bullseye ] && current_suite=$codename
fi
mkdir -p "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial" \
  "$aptdir/sources.list.d" "$aptdir/preferences.d" "$aptdir/debs"
: >"$aptdir/status"
cat >"$aptdir/sources.list.d/julia.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bullseye $current_suite
Components: main
Architectures: amd64
Targets: Packages
Signed-By: $keyring
EOF
apt_opts=(
  -o Dir::State="$aptdir/state"
  -o Dir::State::status="$aptdir/status"
  -o Dir::Cache="$aptdir/cache"
  -o Dir::Etc::SourceList=/dev/null
  -o Dir::Etc::SourceParts="$aptdir/sources.list.d"
  -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts="$aptdir/preferences.d"
  -o APT::Sandbox::User=root
  -o Acquire::Languages=none
)
run "apt-get update (private bullseye/$current_suite lists from $mirror)" \
  apt-get -q "${apt_opts[@]}" --error-on=any update

# Julia 1.5.3 and the libraries it needs that bookworm lacks (or has in incompatible versions).
# libunwind8 deliberately comes from bullseye (1.3.2): with bookworm's 1.6.2, Julia 1.5
# segfaults when it throws from a signal handler (e.g. InterruptException on SIGINT).
bullseye_pkgs=(julia julia-common libjulia1 libllvm9 libgit2-1.1 libmbedcrypto3 libmbedtls12
  libmbedx509-0 libdsfmt-19937-1 libopenlibm3 libutf8proc2 libopenblas0-pthread libopenblas0
  libblas3 liblapack3 libffi7 libunwind8 libhttp-parser2.9 libpcre3)
# GCC runtime libraries: same versions as the system's, never older (other code loaded into
# Julia, e.g. the system's OpenBLAS, may need the newer symbol versions).
current_pkgs=(libquadmath0 libgfortran5)

# Runtime libraries every Debian Julia expects from the system: soname -> package. Missing
# ones are installed with the system's apt (they are ordinary bookworm packages).
declare -A sys_libs=(
  [libcurl-gnutls.so.4]=libcurl3-gnutls [libgmp.so.10]=libgmp10 [libmpfr.so.6]=libmpfr6
  [libpcre2-8.so.0]=libpcre2-8-0 [libssh2.so.1]=libssh2-1
  [libz3.so.4]=libz3-4 [libedit.so.2]=libedit2 [libtinfo.so.6]=libtinfo6 [libz.so.1]=zlib1g
  [liblzma.so.5]=liblzma5 [libgssapi_krb5.so.2]=libgssapi-krb5-2 [libstdc++.so.6]=libstdc++6
  [libgcc_s.so.1]=libgcc-s1
)
find_syslib() { # $1 = soname; prints its path on the system, if any
  local p d
  p=$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } |
    awk -v s="$1" '$1 == s && /x86-64/ { print $NF; exit }')
  if [ -z "$p" ]; then
    for d in /lib/$multiarch /usr/lib/$multiarch /lib64 /usr/lib64; do
      [ -e "$d/$1" ] && { p="$d/$1"; break; }
    done
  fi
  [ -n "$p" ] && echo "$p"
}
missing=()
for so in "${!sys_libs[@]}"; do
  find_syslib "$so" >/dev/null || missing+=("${sys_libs[$so]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "the system lacks ${missing[*]}; install them as root (apt-get install ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  run "apt-get update (system)" apt-get update -qq
  run "apt-get install ${missing[*]} (system)" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Download and unpack into a staging directory, then move it into place.
rm -f "$aptdir/debs"/*.deb
targets=()
for p in "${bullseye_pkgs[@]}"; do targets+=("$p/bullseye"); done
for p in "${current_pkgs[@]}"; do targets+=("$p/$current_suite"); done
(cd "$aptdir/debs" && run "apt-get download of the Julia packages" apt-get -q "${apt_opts[@]}" download "${targets[@]}")

stage="$root/build/.julia-stage.$$"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"
for deb in "$aptdir/debs"/*.deb; do
  run "dpkg -x ${deb##*/}" dpkg -x "$deb" "$stage"
done
libdir="$stage/usr/lib/$multiarch"
[ -x "$stage/usr/bin/julia" ] && [ -e "$libdir/julia/sys.so" ] ||
  die "unpacked packages lack usr/bin/julia or the system image (see $log)"
# Packages not yet moved to /usr (libpcre3) unpack into lib/; merge that into usr/lib.
if [ -d "$stage/lib/$multiarch" ]; then
  cp -a "$stage/lib/$multiarch/." "$libdir/"
  rm -rf "$stage/lib"
fi

# Julia's private library directory (lib/julia) links e.g. libgmp.so -> ../libgmp.so.10;
# point those at the system's copies.
for so in libcurl-gnutls.so.4 libgmp.so.10 libmpfr.so.6 libpcre2-8.so.0 libssh2.so.1; do
  path=$(find_syslib "$so") || die "$so not found on the system even after installing ${sys_libs[$so]}"
  ln -sfn "$path" "$libdir/$so"
done

# Julia 1.5 starts Distributed's gc-message task at startup but leaves it queued; it first
# runs when the main task first waits, and then the scheduler idles on *that* task's stack,
# so a SIGINT during e.g. `sleep` kills that task (or aborts Julia) instead of raising
# InterruptException in the user's code. Letting it run once at startup fixes that.
cat >>"$stage/etc/julia/startup.jl" <<'EOF'

# Added by scripts/install-julia.sh: let tasks queued during startup (Distributed's
# gc-message task) run now, so that SIGINT raises InterruptException in user code.
yield()
EOF

# Check that every shared object resolves with the library path scripts/julia uses.
ldpath="$libdir:$libdir/julia:$libdir/openblas-pthread"
unresolved=$(
  for f in "$stage/usr/bin/julia" "$libdir"/*.so* "$libdir"/julia/*.so*; do
    [ -f "$f" ] || continue
    LD_LIBRARY_PATH="$ldpath" ldd "$f" 2>/dev/null | awk -v f="${f##*/}" '/not found/ { print f ": " $1 }'
  done | sort -u
)
[ -z "$unresolved" ] || die "unresolved shared libraries after unpacking:
$unresolved"

version=$(LD_LIBRARY_PATH="$ldpath" "$stage/usr/bin/julia" --version 2>>"$log") ||
  die "unpacked julia does not run (see $log)"
echo "$version (Debian bullseye packages from $mirror)" >"$stage/.install-complete"

rm -rf "$prefix"
mv "$stage" "$prefix"
mkdir -p "$root/build/julia-depot"
rm -f "$aptdir/debs"/*.deb "$aptdir/cache"/*.bin # only needed during the install
echo "install-julia: installed ${version#julia version } into build/julia in $(($(date +%s) - start))s"
