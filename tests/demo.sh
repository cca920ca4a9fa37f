#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo: install, build, start the kernel simulator and run the
# three OpenAMP demos through the stock rpmsg_char flow, saying what each
# step does. (Once ampd lands, the demo runs through the daemon and ampctl.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AMP_BUILD_DIR:-$top/build/release}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing dependencies (Debian packages) and building"
"$top/tests/install-deps.sh"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" ampsim rpmsg_echo rpmsg_matmul rpmsg_proxy >/dev/null
ampsim=$build/tests/sim/ampsim
inns=$top/tests/abi/run-in-ns.sh

root=$(mktemp -d /tmp/ampd-demo.XXXXXX)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
	for m in "$root/sys" "$root/dev"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u -z "$m" || umount -l "$m"; }
	done
	rm -rf -- "$root"
}
trap cleanup EXIT

step "Writing the demo firmware (real ELF32 ARM files with a resource table)"
mkdir -p "$root/lib/firmware"
"$ampsim" mkfw --app echo -o "$root/lib/firmware/image_echo_test"
"$ampsim" mkfw --app matmul -o "$root/lib/firmware/image_matrix_multiply"
"$ampsim" mkfw --app rpc -o "$root/lib/firmware/image_rpc_demo"
ls -l "$root/lib/firmware"

step "Starting the simulated kernel (6.1 layout) on $root"
exec 3< <("$ampsim" run --root "$root" --layout 6.1 2>"$root.log")
sim_pid=$!
read -r -t 15 -u 3 line && [ "$line" = ready ] || { cat "$root.log"; exit 1; }
rproc=$root/sys/class/remoteproc/remoteproc0
echo "remoteproc0: name $(cat "$rproc/name"), state $(cat "$rproc/state")"

# The kernel signals no state change; a channel shows up once the remote
# has booted and announced it, so wait for it with a deadline.
wait_channel() {
	for _ in $(seq 500); do
		ls "$root/sys/bus/rpmsg/devices" | grep -q rpmsg-openamp-demo-channel && return 0
		sleep 0.01
	done
	echo "no channel after 5 s" >&2
	return 1
}
boot() {
	echo "$1" >"$rproc/firmware"
	echo start >"$rproc/state"
	wait_channel
	echo "remoteproc0 $(cat "$rproc/state") with $1; rpmsg bus: $(ls "$root/sys/bus/rpmsg/devices" | tr '\n' ' ')"
}
stop() {
	echo stop >"$rproc/state"
	echo "remoteproc0 $(cat "$rproc/state")"
}

step "Echo test: 472 payload sizes, every byte checked, then the shutdown word"
boot image_echo_test
"$inns" "$root" -- "$build/tests/abi/rpmsg_echo"
stop

step "Matrix multiplication: two 6x6 matrices out, their product checked"
boot image_matrix_multiply
"$inns" "$root" -- "$build/tests/abi/rpmsg_matmul" --count 3 -v
stop

step "Proxy (RPC) demo: the remote's file I/O confined to a directory, console scripted"
boot image_rpc_demo
mkdir -p "$root/proxy"
printf 'Ada\n36\n3.14\nno\n' >"$root/console.in"
"$inns" "$root" -- "$build/tests/abi/rpmsg_proxy" --dir "$root/proxy" --console-in "$root/console.in" || true
echo "remote.file as the remote wrote it: '$(cat "$root/proxy/remote.file")'"
[ "$(cat "$rproc/state")" = running ] && stop

step "Done: the simulator unmounts on SIGTERM"
