#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cmake --install` into a DESTDIR: every file a package needs is there, the
# library carries its soname, nothing internal leaks into the headers, and a
# program outside the tree finds libamp by pkg-config and by find_package.
# Usage: install-tree.sh BUILD_DIR SANITIZE(ON|OFF)
set -euo pipefail
build=$1 sanitize=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/root

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
libdir=$(cache CMAKE_INSTALL_LIBDIR)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
unitdir=$(cache AMP_SYSTEMD_UNITDIR)
sysusersdir=$(cache AMP_SYSUSERSDIR)
completiondir=$(cache AMP_BASH_COMPLETIONDIR)
case $completiondir in /*) ;; *) completiondir=$prefix/$completiondir ;; esac

DESTDIR=$dest cmake --install "$build" >"$work/install.log"

fail=0
need() {
	for f in "$@"; do
		if [ ! -e "$dest$f" ]; then
			echo "missing: $f"
			fail=1
		fi
	done
}
need "$prefix/sbin/ampd" "$prefix/bin/ampctl" \
	"$libdir/libamp.so.0" "$libdir/libamp.so" \
	"$prefix/include/amp/amp.h" "$prefix/include/amp/client.hpp" "$prefix/include/amp/result.hpp" "$prefix/include/amp/stream.hpp" "$prefix/include/amp/types.hpp" \
	"$libdir/pkgconfig/amp.pc" "$libdir/cmake/amp/ampConfig.cmake" "$libdir/cmake/amp/ampConfigVersion.cmake" \
	"$libdir/cmake/amp/ampTargets.cmake" \
	"$unitdir/ampd.service" "$unitdir/ampd.socket" "$unitdir/ampd-remote@.service" "$sysusersdir/ampd.conf" \
	"$prefix/share/man/man8/ampd.8" "$prefix/share/man/man1/ampctl.1" "$prefix/share/man/man5/ampd.json.5" \
	"$completiondir/ampctl" "$prefix/share/doc/ampd/ampd.example.json" "$prefix/share/doc/ampd/ampd.schema.json"
# Only the library, its links and the public API: no test programs, no
# internal headers, no static helper libraries.
unexpected=$(cd "$dest" && find . -type f | sed 's|^\.||' | grep -v -e "^$prefix/include/amp/" -e "^$libdir/libamp\.so\." \
	-e "^$libdir/pkgconfig/amp\.pc$" -e "^$libdir/cmake/amp/" -e "^$prefix/sbin/ampd$" -e "^$prefix/bin/ampctl$" \
	-e "^$unitdir/" -e "^$sysusersdir/" -e "^$prefix/share/\(man\|doc/ampd\)/" -e "^$completiondir/ampctl$" || true)
if [ -n "$unexpected" ]; then
	echo "installed but not expected:"
	echo "$unexpected"
	fail=1
fi
[ "$(cd "$dest$prefix/include/amp" && ls | sort | tr '\n' ' ')" = "amp.h client.hpp result.hpp stream.hpp types.hpp " ] ||
	{ echo "headers: $(ls "$dest$prefix/include/amp")"; fail=1; }
# Public headers include only the standard library and each other.
if grep -h '#include' "$dest$prefix/include/amp/"* | grep -v -e '<[a-z_]*\(\.h\)\?>' -e '"amp/'; then
	echo "a public header includes something internal"
	fail=1
fi
soname=$(readelf -d "$dest$libdir/libamp.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libamp.so.0 ] || { echo "soname: '$soname'"; fail=1; }
[ "$(readlink "$dest$libdir/libamp.so")" = libamp.so.0 ] || { echo "libamp.so does not link to the soname"; fail=1; }
# The installed programs find the installed library (no build-tree RUNPATH).
if readelf -d "$dest$prefix/sbin/ampd" "$dest$prefix/bin/ampctl" | grep -q "R\(UN\)\?PATH.*$build"; then
	echo "an installed program keeps the build tree's RUNPATH"
	fail=1
fi
export LD_LIBRARY_PATH=$dest$libdir
"$dest$prefix/sbin/ampd" --version | grep -q '^ampd ' || { echo "ampd --version failed"; fail=1; }
"$dest$prefix/bin/ampctl" --help >/dev/null || { echo "ampctl --help failed"; fail=1; }
for m in "$dest$prefix"/share/man/man*/*; do
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null || true)
	[ -z "$warn" ] || { echo "$m: $warn"; fail=1; }
done
bash -n "$dest$completiondir/ampctl" || fail=1

# A consumer that knows nothing but the installed tree. A sanitized libamp
# needs the sanitizer runtimes in the program too.
san=""
[ "$sanitize" = ON ] && san="-fsanitize=address,undefined"
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_LIBDIR=$dest$libdir/pkgconfig
# shellcheck disable=SC2046
cc -Wall -Werror $san "$here/consumer/consumer.c" $(pkg-config --cflags --libs amp) -o "$work/consumer-c"
"$work/consumer-c"
[ "$(pkg-config --modversion amp)" = "$(cache CMAKE_PROJECT_VERSION)" ] || { echo "amp.pc version"; fail=1; }
cmake -S "$here/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$dest$prefix" \
	-DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >"$work/consumer.log" || { cat "$work/consumer.log"; exit 1; }
cmake --build "$work/consumer-build" >>"$work/consumer.log" || { cat "$work/consumer.log"; exit 1; }
"$work/consumer-build/consumer"
exit $fail
