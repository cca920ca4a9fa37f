#!/bin/bash
# SPDX-License-Identifier: MIT
# Pack the test VM's initramfs:
#   make-initramfs.sh OUT.cpio.gz TESTLIST FWDIR [BINARY...]
# busybox-static, /init (init.sh), the test list, the firmware files of FWDIR
# in /lib/firmware, each BINARY in /bin with its shared-library closure, and
# systemd-udevd (Debian's udev package) with its closure and a minimal rule
# set (started only when the kernel command line says amp.events=udev).
set -euo pipefail
out=$1 list=$2 fwdir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/firmware,proc,sys,dev,run,tmp,tests,etc/udev/rules.d}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/init.sh" "$root/init"
cp "$list" "$root/tests/list"
install -m 0755 "$here/run-demo.sh" "$root/tests/run-demo.sh"
[[ -d $fwdir ]] && cp -a "$fwdir"/. "$root/lib/firmware/"

# a file and the shared libraries it needs, at the same absolute paths
copy_closure() {
	local f=$1 dest=$2 lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$f" "$root$dest"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
for b in "$@"; do
	rm -f "$root/bin/$(basename "$b")"
	copy_closure "$b" "/bin/$(basename "$b")"
done

# systemd-udevd is udevadm under another name
if [[ -x /bin/udevadm ]]; then
	copy_closure /bin/udevadm /bin/udevadm
	rm -f "$root/usr/bin/udevadm" "$root/sbin/udevadm"
	mkdir -p "$root/lib/systemd"
	ln -sf /bin/udevadm "$root/lib/systemd/systemd-udevd"
	rm -f "$root/bin/udevadm.busybox"
	cat >"$root/etc/udev/rules.d/50-ampd-test.rules" <<'EOF'
# minimal rules: tag the rpmsg and remoteproc devices the tests look at
SUBSYSTEM=="rpmsg", TAG+="ampd"
SUBSYSTEM=="remoteproc", TAG+="ampd"
EOF
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
fi

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
