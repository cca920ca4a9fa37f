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
ctest --output-on-failure -j2 -LE 'qemu|packaging|cross|fuzz|soak'
# The soak (label soak, tests/e2e/README.md "Soak"): a million messages and a
# thousand stop/start cycles with ampd's memory and fds compared from warm-up
# to the end; on its own, so that no other test's load decides its time.
ctest --output-on-failure -L soak
ctest --output-on-failure --verbose -L fuzz  # verbose: the executions of every target, also when all pass

# ThreadSanitizer (label tsan): ampsim, ampd, ampctl, libamp and the tests
# built with -fsanitize=thread in a tree of their own (ASan and TSan cannot
# share one), only what the label needs; it runs the simulator's tests, the
# unit tests that run threads and the 6.1 end-to-end tests
# (docs/reliability.md, "Sanitizers"). tests/sanitizers/tsan.supp says why
# each suppression is libfuse's and not ours.
tsan=$build/tsan
cmake -S "$top" -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMP_TSAN=ON >/dev/null
ninja -C "$tsan" ampsim ampsim_test ampd ampctl amp-stream-stress amp_unit_test amp_e2e_test
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/sanitizers/tsan.supp} \
	ctest --test-dir "$tsan" --output-on-failure -j2 -L tsan
ctest --output-on-failure -L packaging
ctest --output-on-failure -L cross
ctest --output-on-failure -L qemu
