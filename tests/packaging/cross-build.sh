#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The aarch64 cross build (cmake/toolchain-aarch64-linux-gnu.cmake): libamp,
# ampd, ampctl and the unit tests built for arm64, and the unit tests that
# need neither FUSE nor root run under qemu-user.
# Usage: cross-build.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2

for tool in aarch64-linux-gnu-g++ qemu-aarch64-static; do
	command -v "$tool" >/dev/null || { echo "cross-build: $tool missing (tests/install-deps.sh installs it)"; exit 1; }
done
[ -e /usr/lib/aarch64-linux-gnu/pkgconfig/libsystemd.pc ] ||
	{ echo "cross-build: the arm64 -dev packages are missing (tests/install-deps.sh installs them)"; exit 1; }

# Release flags, no sanitizers: the point is the target's compiler and
# libraries; ASan under qemu-user mostly measures qemu.
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-aarch64-linux-gnu.cmake" >"$build.configure.log" 2>&1 ||
		{ cat "$build.configure.log"; exit 1; }
fi
# Two shared cores: nice, and no more than two jobs.
nice ninja -C "$build" -j2 amp ampd ampctl amp_unit_test

for f in "$build/lib/libamp.so.0" "$build/daemon/ampd" "$build/cli/ampctl" "$build/tests/unit/amp_unit_test"; do
	file -L "$f" | grep -q 'ARM aarch64' || { echo "cross-build: $f is not an aarch64 ELF"; file -L "$f"; exit 1; }
done
qemu-aarch64-static "$build/daemon/ampd" --version
qemu-aarch64-static "$build/cli/ampctl" --help >/dev/null

# What cannot run here is left out by gtest filter and runs natively (every
# label but cross): the simulator tests (*Sim*, *Ampsim*), because FUSE's
# ioctls are not emulated by qemu-user; and, unless binfmt_misc hands arm64
# programs to qemu, the tests that spawn the arm64 ampsim for anything
# (mkfw), since a spawned arm64 program cannot start without it. Also the
# tests that need what qemu-user does not give a guest: openat2 (the proxy's
# openat2 resolver; its O_NOFOLLOW-walk twin runs here), and a /proc/self/fd
# of the program's own (qemu holds fds of its own there).
filter='*Sim*:*Ampsim*:Resolvers/ProxyConfine.*/openat2:ClientStream.FdsNobodyExpectsAreClosed'
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
	filter+=':AmpctlFirmware.ABootableImageExitsZero:KernelFirmwareInspect.RandomMutationsNeverCrash'
fi
filter=${AMP_CROSS_GTEST_FILTER:--$filter}
cd "$build/tests/unit"
total=$(qemu-aarch64-static ./amp_unit_test --gtest_list_tests | grep -c '^  ')
ran=$(qemu-aarch64-static ./amp_unit_test --gtest_list_tests --gtest_filter="$filter" | grep -c '^  ')
echo "cross-build: $ran of $total unit tests under qemu-aarch64 (filter $filter)"
qemu-aarch64-static ./amp_unit_test --gtest_filter="$filter" --gtest_brief=1
