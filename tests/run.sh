#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command (README.md): install dependencies, build with ASan and
# UBSan, run every test: units, the simulator, the ABI programs against the
# simulator, and the real kernels in QEMU.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AMP_BUILD_DIR:-$top/build/asan}

"$top/tests/install-deps.sh"

# Every build of the run (this one, and those the packaging, cross, fuzz and
# TSan tests configure) compiles through ccache, kept beside the kernel cache:
# a clean clone then rebuilds only what changed since the last run. Paths
# are made relative to the source (base_dir) and the build directory is left
# out of the hash, so a fresh clone in a new place still hits.
if command -v ccache >/dev/null; then
	export CCACHE_DIR=${CCACHE_DIR:-${AMP_CACHE_DIR:-/var/cache/ampd}/ccache}
	export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top} CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-4G}
	export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi

cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMP_SANITIZE=ON >/dev/null
ninja -C "$build"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Two cores: the simulator tests run two at a time; the QEMU tests (label
# qemu) build kernels and boot VMs, the packaging tests (label packaging)
# build the Debian packages and the cross build (label cross) builds for
# aarch64: each of those gets the machine to itself. The fuzz targets
# (label fuzz) are built with clang in $build/fuzz and run two at a time,
# AMP_FUZZ_SECONDS (60) each (tests/fuzz/README.md).
cd "$build"
ctest --output-on-failure -j2 -LE 'qemu|packaging|cross|fuzz'
ctest --output-on-failure -L fuzz
ctest --output-on-failure -L packaging
ctest --output-on-failure -L cross
ctest --output-on-failure -L qemu
