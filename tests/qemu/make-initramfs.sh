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
# mktemp -d made it 0700; it becomes the VM's /, which unprivileged test
# clients must traverse
chmod 0755 "$root"

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/firmware,proc,sys,dev,run,tmp,tests,etc/udev/rules.d}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/init.sh" "$root/init"
cp "$list" "$root/tests/list"
install -m 0755 "$here/run-demo.sh" "$root/tests/run-demo.sh"
install -m 0755 "$here/ampd-e2e.sh" "$root/tests/ampd-e2e.sh"
# the stock proxy program's console, which ampd-e2e.sh demo_proxy compares with
install -m 0644 "$here/expected/rpmsg_proxy.txt" "$root/tests/rpmsg_proxy.txt"
[[ -d $fwdir ]] && cp -a "$fwdir"/. "$root/lib/firmware/"

# A file and the shared libraries `ldd` lists for it, the dynamic loader
# included. System libraries keep their absolute paths. A library from
# anywhere else (the build tree's libamp.so.0, found through the binary's
# RUNPATH) goes to /usr/lib, which the loader searches by default: its build
# path may be under /tmp, which init.sh covers with a tmpfs. Files from the
# build tree lose their debug info (ASan/UBSan builds are large, the
# initramfs lives in the VM's RAM) but keep their symbol table, so sanitizer
# reports still name functions; `addr2line -e <build binary>` gives lines.
is_system_path() { [[ $1 == /lib/* || $1 == /lib64/* || $1 == /usr/lib/* || $1 == /bin/* || $1 == /usr/bin/* ]]; }
copy_file() {
	local src=$1 dest=$2
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$src" "$root$dest"
	if ! is_system_path "$src" && [[ $(head -c 4 "$src") == $'\x7fELF' ]]; then
		strip --strip-debug "$root$dest"
	fi
}
copy_closure() {
	local f=$1 dest=$2 lib deps target
	copy_file "$f" "$dest"
	deps=$(ldd "$f" 2>&1 || true)
	if grep -q 'not found' <<<"$deps"; then
		echo "make-initramfs: $f: a library is missing:" >&2
		echo "$deps" >&2
		exit 1
	fi
	for lib in $(grep -o '/[^ ]*' <<<"$deps" || true); do
		target=$lib
		is_system_path "$lib" || target=/usr/lib/$(basename "$lib")
		[[ -e $root$target ]] && continue
		copy_file "$lib" "$target"
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
