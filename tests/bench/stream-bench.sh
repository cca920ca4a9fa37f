#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Relay vs direct endpoint through ampd on ampsim, in two settings
# (docs/performance.md has the results and what they mean):
#   board: ampsim's link timing models a Zynq A53 <-> R5 rpmsg link
#          (--link board); ampd and the client on CPU 0, ampsim -- the
#          remote core and the kernel's rpmsg -- on CPU 1;
#   raw:   no link delay, everything on CPU 0: what the relay itself costs.
# Usage: tests/bench/stream-bench.sh [BUILD_DIR]   (root: FUSE, namespaces)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" != --inside ]; then
	build=${1:-$top/build/release}
	cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C "$build" ampsim ampd ampctl stream_bench >/dev/null
	# A private network namespace keeps the simulator's uevents to our ampd;
	# a private mount namespace takes the FUSE mounts with it on exit.
	exec unshare -n -m --propagation private "$0" --inside "$build"
fi
build=$2
ip link set lo up
ampsim=$build/tests/sim/ampsim
cpus=$(nproc)
[ "$cpus" -ge 2 ] || echo "warning: one CPU: the board setting shares it with the simulated remote" >&2

# run SETTING SIM_CPU [ampsim run options...] -- [stream_bench options...]
run() {
	local setting=$1 simcpu=$2
	shift 2
	local simargs=() benchargs=()
	while [ "$1" != -- ]; do simargs+=("$1"); shift; done
	shift
	benchargs=("$@")
	local root
	root=$(mktemp -d /tmp/ampd-bench.XXXXXX)
	mkdir -p "$root/lib/firmware"
	# Two endpoints on one remote: the firmware must answer each sender.
	"$ampsim" mkfw --app echo --reply-to-sender -o "$root/lib/firmware/image_echo_test"
	cat >"$root/ampd.json" <<-JSON
	{"remotes": {"r5-0": {"remoteproc": 0, "firmware": "image_echo_test", "autostart": true,
	                      "channels": ["rpmsg-openamp-demo-channel"]}}}
	JSON
	exec 3< <(exec taskset -c "$simcpu" "$ampsim" run --root "$root" --layout 6.1 --uevents udev "${simargs[@]}" 2>"$root/ampsim.log")
	simpid=$! broot=$root
	read -r -t 15 -u 3 line && [ "$line" = ready ] || { cat "$root/ampsim.log"; exit 1; }
	taskset -c 0 "$build/daemon/ampd" --root "$root" --config "$root/ampd.json" --socket "$root/ampd.sock" \
		--log-level warning 2>"$root/ampd.log" &
	apid=$!
	# ampd creates its socket after reading the configuration; nothing to
	# wait on short of a notify socket, so look for it (bounded: 10 s).
	for _ in $(seq 1000); do [ -S "$root/ampd.sock" ] && break; sleep 0.01; done
	"$build/cli/ampctl" --socket "$root/ampd.sock" wait r5-0 --channel rpmsg-openamp-demo-channel --timeout 15 >/dev/null ||
		{ cat "$root/ampd.log"; exit 1; }
	echo "== $setting: ${benchargs[*]}"
	taskset -c 0 "$build/tests/bench/stream_bench" --socket "$root/ampd.sock" --daemon-pid "$apid" "${benchargs[@]}"
	cleanup
}

simpid= apid= broot=
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null
	[ -n "$simpid" ] && kill "$simpid" 2>/dev/null && wait "$simpid" 2>/dev/null
	if [ -n "$broot" ]; then
		for m in "$broot/sys" "$broot/dev"; do mountpoint -q "$m" && fusermount3 -u -z "$m"; done
		rm -rf --one-file-system "$broot"
	fi
	simpid= apid= broot=
}
trap cleanup EXIT

run board 1 --link board -- --size 1 --rounds 3000 --messages 20000 --window 32
run board 1 --link board -- --size 490 --rounds 3000 --messages 10000 --window 32
run raw 0 -- --size 64 --rounds 3000 --messages 20000 --window 32
