#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dpkg-buildpackage -us -uc -b on a copy of the tree (the build writes
# obj-*/ and debian/tmp into the tree and the .debs next to it), then a
# look inside the three packages. The copy's obj-*/ build tree is kept
# between runs and the pre-clean skipped (-nc), so only changed sources
# recompile: a full rebuild each time would cost two minutes of CI.
# Usage: deb-build.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2

command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	{ echo "deb-build: dpkg-dev and debhelper missing (tests/install-deps.sh installs them)"; exit 1; }

mkdir -p "$work/ampd"
# Everything but the build tree goes; then the tree as it is (uncommitted
# changes included, modification times kept so ninja sees what changed).
find "$work" -mindepth 1 -maxdepth 1 ! -name ampd -exec rm -rf {} +
find "$work/ampd" -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
tar -C "$src" --exclude=./build --exclude=./.git --exclude='./obj-*' -cf - . | tar -C "$work/ampd" -xf -
cd "$work/ampd"
# Two shared cores; the tests need FUSE and root, not a package build.
export DEB_BUILD_OPTIONS="nocheck parallel=2"
nice dpkg-buildpackage -us -uc -b -nc >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
cd "$work"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
fail=0
contains() {
	local deb=$1
	shift
	local list
	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
	for f in "$@"; do
		grep -qx -- "$f" <<<"$list" || { echo "$deb: no $f"; fail=1; }
	done
}
for p in ampd libamp0 libamp-dev; do
	ls ${p}_*_"$arch".deb >/dev/null 2>&1 || { echo "no $p package"; fail=1; }
done
contains ampd_*_"$arch".deb /usr/sbin/ampd /usr/bin/ampctl /lib/systemd/system/ampd.service \
	/lib/systemd/system/ampd.socket /lib/systemd/system/ampd-remote@.service /usr/lib/sysusers.d/ampd.conf \
	/usr/share/man/man8/ampd.8.gz /usr/share/man/man1/ampctl.1.gz /usr/share/man/man5/ampd.json.5.gz \
	/usr/share/bash-completion/completions/ampctl
contains libamp0_*_"$arch".deb "/usr/lib/$multiarch/libamp.so.0" "/usr/lib/$multiarch/libamp.so.0.1.0"
contains libamp-dev_*_"$arch".deb /usr/include/amp/amp.h /usr/include/amp/client.hpp \
	"/usr/lib/$multiarch/libamp.so" "/usr/lib/$multiarch/pkgconfig/amp.pc" "/usr/lib/$multiarch/cmake/amp/ampConfig.cmake"
# The library's dependencies came from dpkg-shlibdeps, and the soname
# decides the package name.
dpkg-deb -f libamp0_*_"$arch".deb Depends | grep -q libstdc++6 || { echo "libamp0 lacks shlibs Depends"; fail=1; }
dpkg-deb -f ampd_*_"$arch".deb Depends | grep -q 'libamp0 (= ' || { echo "ampd does not depend on libamp0"; fail=1; }
# The maintainer scripts enable the socket and the service, and create the group.
dpkg-deb -e ampd_*_"$arch".deb "$work/control"
grep -q 'ampd.socket' "$work/control/postinst" && grep -q systemd-sysusers "$work/control/postinst" ||
	{ echo "ampd postinst misses the units or the group"; fail=1; }
ls -l ./*.deb
exit $fail
