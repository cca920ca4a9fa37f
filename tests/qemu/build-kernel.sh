#!/bin/bash
# SPDX-License-Identifier: MIT
# Build (or reuse) a minimal x86-64 kernel with remoteproc/rpmsg and the
# built-in test remoteproc driver tests/qemu/kernel/ampsim_rproc.c.
#
#   tests/qemu/build-kernel.sh 6.1|6.12
#
# Sources come only from the Debian package linux-source-<version>
# (/usr/src/linux-source-<version>.tar.xz). Prints the path of the bzImage as
# the last line of stdout:
#   ${AMP_CACHE_DIR:-/var/cache/ampd}/kernel/<version>-<hash>/bzImage
# <hash> covers the package version, the config fragment, the driver sources,
# this script and the compiler. The unpacked, configured and built tree
# (tree-<version>-<treehash>, ~1.6 GB) is kept, keyed by everything except the
# driver sources, so a driver-only change is an incremental rebuild (~30 s).
set -euo pipefail

ver=${1:?usage: build-kernel.sh 6.1|6.12}
here=$(cd "$(dirname "$0")" && pwd)
kdir=$here/kernel
sim=$here/../sim
cache=${AMP_CACHE_DIR:-/var/cache/ampd}/kernel
tarball=/usr/src/linux-source-$ver.tar.xz
pkg=linux-source-$ver
jobs=${AMP_KERNEL_JOBS:-2}

log() { echo "build-kernel[$ver]: $*" >&2; }

if [[ ! -r $tarball ]]; then
	log "$tarball missing: apt-get install $pkg"
	exit 1
fi
pkgver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || stat -c %Y "$tarball")
cc_id=$(gcc --version | head -n1)

# Inputs of the configured tree: package, fragment, the tree-preparation
# recipe (the part of this script above the driver copy), compiler.
tree_hash=$( {
	echo "$pkg $pkgver"
	echo "$cc_id"
	cat "$kdir/ampsim.config"
	sed -n '/^# BEGIN TREE RECIPE/,/^# END TREE RECIPE/p' "$0"
} | sha256sum | cut -c1-12)
driver_files=("$kdir/ampsim_rproc.c" "$sim/fw_format.h")
img_hash=$( {
	echo "$tree_hash"
	cat "$0"
	for f in "${driver_files[@]}"; do
		echo "== $(basename "$f")"
		cat "$f"
	done
} | sha256sum | cut -c1-12)

out=$cache/$ver-$img_hash
tree=$cache/tree-$ver-$tree_hash
if [[ -s $out/bzImage ]]; then
	log "cached: $out/bzImage"
	echo "$out/bzImage"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock-$ver"
if ! flock -n 9; then
	log "waiting for another build of $ver"
	flock 9
fi
if [[ -s $out/bzImage ]]; then # built by whoever held the lock
	echo "$out/bzImage"
	exit 0
fi

start=$(date +%s)
# BEGIN TREE RECIPE (changes here invalidate the unpacked tree)
if [[ ! -e $tree/.ampsim-configured ]]; then
	# one configured tree per version: drop the stale ones (1.6 GB each)
	rm -rf "$cache"/tree-"$ver"-*
	mkdir -p "$tree"
	log "unpacking $tarball into $tree"
	tar -C "$tree" --strip-components=1 -xf "$tarball"
	# link the test driver in whenever remoteproc is
	printf '\n# tests/qemu: the ampsim test remoteproc driver\nobj-$(CONFIG_REMOTEPROC) += ampsim_rproc.o\n' \
		>>"$tree/drivers/remoteproc/Makefile"
	(
		cd "$tree"
		make -s tinyconfig >/dev/null
		scripts/kconfig/merge_config.sh -m .config "$kdir/ampsim.config" >/dev/null
		make -s olddefconfig >/dev/null
		# every option the fragment sets must have survived olddefconfig
		missing=0
		while IFS= read -r line; do
			[[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
			if ! grep -qx "$line" .config; then
				log "option not applied: $line (got: $(grep "^${BASH_REMATCH[1]}=" .config || echo unset))"
				missing=1
			fi
		done <"$kdir/ampsim.config"
		[[ $missing == 0 ]]
	)
	touch "$tree/.ampsim-configured"
fi
# END TREE RECIPE

# the driver: copy only what changed, so make rebuilds only that
for f in "${driver_files[@]}"; do
	cmp -s "$f" "$tree/drivers/remoteproc/$(basename "$f")" ||
		cp "$f" "$tree/drivers/remoteproc/$(basename "$f")"
done

log "building bzImage in $tree (make -j$jobs)"
mkdir -p "$out.tmp"
if ! (cd "$tree" && nice -n 10 make -j"$jobs" bzImage) >"$out.tmp/build.log" 2>&1; then
	tail -n 40 "$out.tmp/build.log" >&2
	log "build failed; full log: $out.tmp/build.log"
	exit 1
fi
cp "$tree/arch/x86/boot/bzImage" "$tree/.config" "$out.tmp/"
echo "$pkg $pkgver" >"$out.tmp/source-version"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built in $(($(date +%s) - start)) s: $out/bzImage"
echo "$out/bzImage"
