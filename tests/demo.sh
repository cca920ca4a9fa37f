#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's demo: install, build, start the kernel simulator and ampd on
# it, and run the three OpenAMP demos through ampctl, saying what each step
# does. Run as root: FUSE, and a network namespace of its own (ampsim's
# uevents stay in it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${AMP_BUILD_DIR:-$top/build/release}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '\033[2m$ %s\033[0m\n' "$*"; }

if [ "${AMP_DEMO_INSIDE:-}" != 1 ]; then
	step "Installing dependencies (Debian packages) and building ampsim, ampd, ampctl (Release)"
	"$top/tests/install-deps.sh"
	cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C "$build" ampsim ampd ampctl >/dev/null
	# The rest in a network namespace of its own: ampsim's uevents reach
	# ampd there and nothing else on the machine.
	exec env AMP_DEMO_INSIDE=1 unshare --net -- "$0" "$@"
fi

ampsim=$build/tests/sim/ampsim
ampd=$build/daemon/ampd
ampctl_bin=$build/cli/ampctl
root=$(mktemp -d /tmp/ampd-demo.XXXXXX)
sock=$root/ampd.sock
ampctl() { say "ampctl $*"; "$ampctl_bin" --socket "$sock" "$@"; }

sim_pid= ampd_pid=
cleanup() {
	[ -n "$ampd_pid" ] && kill -TERM "$ampd_pid" 2>/dev/null && wait "$ampd_pid" 2>/dev/null || true
	[ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
	local live=
	for m in "$root/sys" "$root/dev"; do
		if mountpoint -q "$m" 2>/dev/null; then
			fusermount3 -u -z "$m" || umount -l "$m" || true
			mountpoint -q "$m" 2>/dev/null && live=1
		fi
	done
	# Never rm -r through a mount that is still there.
	if [ -z "$live" ]; then rm -rf -- "$root"; else echo "left $root (still mounted)" >&2; fi
	rm -f -- "$root.log"
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
echo "remoteproc0: name $(cat "$root/sys/class/remoteproc/remoteproc0/name"), state $(cat "$root/sys/class/remoteproc/remoteproc0/state")"

step "Starting ampd on it: r5-0 is remoteproc0, stopped with the shutdown word 0xEF56A55A"
cat >"$root/ampd.json" <<JSON
{
  "state_directory": "$root/state",
  "remotes": {
    "r5-0": {
      "remoteproc": 0,
      "shutdown": { "message": "0xEF56A55A", "channel": "rpmsg-openamp-demo-channel" }
    }
  }
}
JSON
cat "$root/ampd.json"
"$ampd" --root "$root" --config "$root/ampd.json" --socket "$sock" >"$root/ampd.log" 2>&1 &
ampd_pid=$!
for _ in $(seq 100); do
	"$ampctl_bin" --socket "$sock" list >/dev/null 2>&1 && break
	kill -0 "$ampd_pid" 2>/dev/null || { cat "$root/ampd.log"; exit 1; }
	sleep 0.1
done
ampctl list

step "Echo test: boot the echo firmware, every payload size (1..472) echoed and checked byte for byte"
ampctl start r5-0 --firmware image_echo_test
ampctl channels r5-0
ampctl echo-test r5-0
step "Graceful stop: ampd sends the shutdown word, the remote leaves, then stop"
ampctl stop r5-0

step "Matrix multiplication: two 6x6 matrices in one 296-byte message, the product checked"
ampctl start r5-0 --firmware image_matrix_multiply
ampctl matmul r5-0 --count 2 --seed 1
ampctl stop r5-0

step "Proxy (RPC) demo: ampctl serves the remote's file I/O in a directory, the console scripted"
ampctl start r5-0 --firmware image_rpc_demo
mkdir -p "$root/files"
say "printf 'Ada\\n36\\n3.14\\nno\\n' | ampctl proxy r5-0 --directory $root/files"
printf 'Ada\n36\n3.14\nno\n' | "$ampctl_bin" --socket "$sock" proxy r5-0 --directory "$root/files" 2>&1 | tr -d '\r' | grep -v '^$'
echo "remote.file as the remote wrote it: '$(cat "$root/files/remote.file")'"
ampctl stop r5-0

step "Done: ampd and the simulator end, the mounts go"
