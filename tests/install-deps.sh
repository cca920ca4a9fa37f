#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what building and testing ampd needs, from Debian 12 packages.
# Quiet and quick when everything is already there.
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config binutils util-linux iproute2 procps ccache
	fuse3 libfuse3-dev libsystemd-dev libspdlog-dev nlohmann-json3-dev libcli11-dev
	libgtest-dev libgmock-dev
	# the libFuzzer targets (tests/fuzz): Debian's clang and its runtimes
	clang libclang-rt-dev
	# the real-kernel harness (tests/qemu)
	qemu-system-x86 linux-source-6.1 linux-source-6.12 busybox-static cpio bc flex bison
	libelf-dev libssl-dev udev xz-utils
	# packaging (tests/packaging): units, install tree, Debian packages
	systemd man-db file dpkg-dev debhelper python3
	# the aarch64 cross build, its libraries (multiarch) and qemu-user
	crossbuild-essential-arm64 qemu-user-static libsystemd-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64
	libfuse3-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	# The :arm64 packages need the architecture known to dpkg first.
	if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
		$sudo dpkg --add-architecture arm64
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
