#!/usr/bin/env bash
# Installs libdask into a temporary prefix, then builds the README's C quickstart against it
# both ways a C/C++ project would: pkg-config and CMake's find_package(Dask). Runs both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
make -s -C "$root" install-files PREFIX="$prefix" >/dev/null

# The first ```c block of the README is the quickstart, compiled exactly as shown there.
awk '/^```c$/{f=1;next} /^```$/{if(f){exit}} f' "$root/README.md" > "$work/quickstart.c"
[ -s "$work/quickstart.c" ] || { echo "install: README has no C quickstart"; exit 1; }

pass=0; fail=0
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
if gcc -std=c11 -Wall -Wextra -Werror "$work/quickstart.c" $(pkg-config --cflags --libs dask) \
     -Wl,-rpath,"$prefix/lib" -o "$work/quickstart_pc" && "$work/quickstart_pc" >"$work/pc.out"; then
  pass=$((pass+1)); echo "install: pkg-config build runs: $(head -1 "$work/pc.out")"
else
  fail=$((fail+1)); echo "install: pkg-config build FAILED"
fi

# Static: libdask.a and the Libs.private pkg-config names (OpenBLAS among them when the
# library was built with it); the program must not need libdask.so at all.
static_libs=$(pkg-config --static --libs dask | tr ' ' '\n' | grep -vx -- -ldask | tr '\n' ' ')
if gcc -std=c11 -Wall -Wextra -Werror "$work/quickstart.c" $(pkg-config --cflags dask) \
     "$prefix/lib/libdask.a" $static_libs -o "$work/quickstart_static" \
   && ! readelf -d "$work/quickstart_static" | grep -q 'libdask' \
   && "$work/quickstart_static" >"$work/static.out" && cmp -s "$work/pc.out" "$work/static.out"; then
  pass=$((pass+1)); echo "install: static build (pkg-config --static) runs without libdask.so"
else
  fail=$((fail+1)); echo "install: static build FAILED"
fi

if cmake -S "$root/tests/install" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DQUICKSTART_SOURCE="$work/quickstart.c" -DCMAKE_BUILD_RPATH="$prefix/lib" >"$work/cmake.log" 2>&1 \
   && cmake --build "$work/cmake-build" >>"$work/cmake.log" 2>&1 \
   && "$work/cmake-build/quickstart_cmake" >"$work/cmake.out"; then
  pass=$((pass+1)); echo "install: find_package(Dask) build runs: $(head -1 "$work/cmake.out")"
  if ! readelf -d "$work/cmake-build/quickstart_cmake_static" | grep -q 'libdask' \
     && "$work/cmake-build/quickstart_cmake_static" >"$work/cmake_static.out" \
     && cmp -s "$work/cmake.out" "$work/cmake_static.out"; then
    pass=$((pass+1)); echo "install: Dask::dask_static build runs without libdask.so"
  else
    fail=$((fail+1)); echo "install: Dask::dask_static build FAILED"
  fi
else
  fail=$((fail+1)); echo "install: CMake build FAILED"; cat "$work/cmake.log"
fi

if cmp -s "$work/pc.out" "$work/cmake.out"; then pass=$((pass+1)); else fail=$((fail+1)); echo "install: outputs differ"; fi
# The suppressions file is where pkg-config says.
if [ -f "$(pkg-config --variable=suppressions dask)" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "install: no valgrind suppressions file"; fi
# The installed soname chain resolves.
abi=$(sed -n "s/^#define DASK_ABI_VERSION \\([0-9]*\\)$/\\1/p" "$root/include/dask.h")
if [ -L "$prefix/lib/libdask.so" ] && [ -e "$prefix/lib/libdask.so.$abi" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "install: soname links missing"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
