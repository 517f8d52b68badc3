#!/usr/bin/env bash
# build-libzmq.sh SRC BUILD_DIR OUT_LIB: builds libzmq from Debian's zeromq3 source tree SRC (as
# dpkg-source unpacked and patched it) with CMake, the fewest features Jupyter needs (no tests,
# docs, libsodium, GSSAPI, PGM, NORM or drafts), and copies the shared library to OUT_LIB. Its only
# dependencies are then libc, libstdc++ and libgcc. Used by bench/gpu-kit/build (here, for the
# bundle's prebuilt fallback) and by the bundle's check (on the machine it checks).
set -euo pipefail
src=$1 build=$2 out=$3
jobs=$(nproc 2>/dev/null || echo 2)
rm -rf "$build" && mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF -DBUILD_STATIC=OFF \
  -DBUILD_SHARED=ON -DWITH_DOCS=OFF -DWITH_DOC=OFF -DWITH_LIBSODIUM=OFF -DWITH_LIBBSD=OFF \
  -DENABLE_DRAFTS=OFF -DWITH_PERF_TOOL=OFF -DENABLE_CPACK=OFF -DWITH_OPENPGM=OFF -DWITH_NORM=OFF \
  -DWITH_VMCI=OFF -DWITH_TLS=OFF -DENABLE_WS=OFF >"$build/cmake.log" 2>&1 ||
  { tail -n 30 "$build/cmake.log" >&2; exit 1; }
cmake --build "$build" --parallel "$jobs" --target libzmq >"$build/make.log" 2>&1 ||
  { grep -m 20 -i -B2 -A6 'error' "$build/make.log" >&2 || tail -n 30 "$build/make.log" >&2; exit 1; }
lib=$(find "$build/lib" -name 'libzmq.so.*.*' -type f | head -n 1)
[ -n "$lib" ] || { echo "no libzmq.so.*.* under $build/lib" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$lib" "$out"
