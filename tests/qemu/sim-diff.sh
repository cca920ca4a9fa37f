#!/bin/bash
# SPDX-License-Identifier: MIT
# The differential check: the same abi_probe that ran against the real 6.1
# and 6.12 kernels runs against ampsim, and its transcript must equal the
# kernels' (expected/abi_probe.txt).
#
#   sim-diff.sh LAYOUT AMPSIM QEMU_MKFW PROBE EXPECTED [OUTDIR [PROXY]]
#
# With PROXY (tests/abi's rpmsg_proxy_static), the rpc firmware runs next
# with each console input of run-demo.sh that has an expected transcript
# (expected/rpmsg_<demo>.txt, from the VM runs): the remote's every request
# and its console text must be the same on both backends.
#
# ampsim runs with the harness's two cores (ffe00000.r5f, ffe90000.r5f) on
# the firmware files make-firmware.sh writes (ampsim mkfw, plus qemu_mkfw for
# the broken variants ampsim mkfw cannot write); the probe sees ROOT/sys and
# ROOT/dev at /sys and /dev through tests/abi/run-in-ns.sh. Keeps
# OUTDIR/abi_probe.out, OUTDIR/ampsim.log, OUTDIR/ampsim.err.
# Exit 0 equal, 1 different or broken, 77 skip (no FUSE or no mount
# namespace here; never under CI=true).
set -uo pipefail
layout=$1 ampsim=$2 mkfw=$3 probe=$4 expected=$5 outdir=${6:-} proxy=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
runns=$here/../abi/run-in-ns.sh
SKIP=77
tmp= pid= drain=

say() { echo "sim-diff: $*" >&2; }
logs() {
	local f
	for f in ampsim.err ampsim.log; do
		[[ -s $tmp/$f ]] && { echo "----- $f -----" >&2; tail -n 40 "$tmp/$f" >&2; }
	done
}
fail() { say "FAIL: $*"; logs; exit 1; }
skip_or_fail() {
	[[ ${CI:-} == true ]] && fail "$* (CI=true: required, not skipped)"
	say "SKIP: $*"
	exit $SKIP
}
mounts_left() { awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo; }
cleanup() {
	local rc=$? m i
	set +e
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((i = 0; i < 250; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[[ -n $drain ]] && kill "$drain" 2>/dev/null && wait "$drain" 2>/dev/null
	if [[ -n $tmp ]]; then
		[[ -n $outdir ]] && cp -f "$tmp"/ampsim.log "$tmp"/ampsim.err "$outdir"/ 2>/dev/null
		for m in $(mounts_left | sort -r); do fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m"; done
		[[ -z $(mounts_left) ]] && rm -rf -- "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for f in "$ampsim" "$mkfw" "$probe"; do [[ -x $f ]] || fail "not executable: $f"; done
[[ -f $expected ]] || fail "no expected transcript $expected"
{ exec 9<>/dev/fuse; } 2>/dev/null || skip_or_fail "/dev/fuse cannot be opened: no FUSE here"
exec 9>&-
unshare --mount --propagation private true 2>/dev/null || skip_or_fail "no mount namespace (needs root)"

tmp=$(mktemp -d "/tmp/sim-diff-$layout.XXXXXX") || fail mktemp
mkdir -p "$tmp/lib/firmware" "$tmp/sys" "$tmp/dev"
[[ -n $outdir ]] && mkdir -p "$outdir"

# the firmware files of the VM runs, written the same way (vm-test.sh)
gen=$tmp/mkfw
printf '#!/bin/sh\ncase "$*" in *--rsc-bad*|*--load-addr*) exec %q "$@";; esac\nexec %q mkfw "$@"\n' \
	"$mkfw" "$ampsim" >"$gen"
chmod +x "$gen"
"$here/make-firmware.sh" "$tmp/lib/firmware" "$gen" >/dev/null || fail "make-firmware.sh"

mkfifo "$tmp/ampsim.out" || fail mkfifo
"$ampsim" run --root "$tmp" --layout "$layout" --remote ffe00000.r5f --remote ffe90000.r5f \
	--uevents none >"$tmp/ampsim.out" 2>"$tmp/ampsim.err" &
pid=$!
exec 3<"$tmp/ampsim.out"
ready=
while IFS= read -r -t 15 -u 3 line; do
	[[ $line == ready ]] && { ready=1; break; }
	printf '%s\n' "$line" >>"$tmp/ampsim.log"
done
if [[ -z $ready ]]; then
	kill -0 "$pid" 2>/dev/null && fail "ampsim printed no 'ready' within 15 s"
	wait "$pid"
	rc=$? pid=
	grep -qiE 'fuse|mount' "$tmp/ampsim.err" && skip_or_fail "ampsim could not mount FUSE (exit $rc)"
	fail "ampsim exited with status $rc before 'ready'"
fi
cat <&3 >>"$tmp/ampsim.log" &
drain=$!
exec 3<&-

out=${outdir:-$tmp}/abi_probe.out
"$runns" "$tmp" -- "$probe" >"$out" 2>&1
prc=$?
cat "$out"
[[ $prc == 0 ]] || fail "abi_probe exited with status $prc"
if ! diff -u "$expected" "$out"; then
	say "FAIL: the simulator's transcript differs from the real kernels' ($expected)"
	logs
	exit 1
fi
say "the simulator's transcript equals $expected"
[[ -n $proxy ]] || exit 0

# ---- the rpc firmware and the proxy, as run-demo.sh runs them in the VM ----
[[ -x $proxy ]] || fail "not executable: $proxy"
rp=$tmp/sys/class/remoteproc/remoteproc0
for demo in proxy proxy-tricky; do
	exp=$(dirname "$expected")/rpmsg_${demo//-/_}.txt
	[[ -f $exp ]] || continue
	files=$tmp/files-$demo
	mkdir -p "$files"
	"$here/run-demo.sh" --console-input "$demo" >"$tmp/console.in" || fail "no console input for $demo"
	[[ $(cat "$rp/state") == offline ]] || fail "remoteproc0 not offline before $demo"
	printf image_rpc_demo >"$rp/firmware" && printf start >"$rp/state" || fail "starting image_rpc_demo"
	for ((i = 0; i < 500; i++)); do
		grep -qx rpmsg-openamp-demo-channel "$tmp"/sys/bus/rpmsg/devices/*/name 2>/dev/null && break
		sleep 0.01
	done
	"$runns" "$tmp" -- "$proxy" -v --dir "$files" --console-in "$tmp/console.in" --deadline 30000 \
		>"$tmp/demo.out" 2>"$tmp/demo.err"
	prc=$?
	dout=${outdir:-$tmp}/rpmsg_${demo//-/_}.out
	{
		sed 's/^/  | /' "$tmp/demo.err" "$tmp/demo.out"
		[[ $prc == 0 ]] && echo "ok $demo"
	} >"$dout"
	printf stop >"$rp/state" 2>/dev/null
	if ! diff -u "$exp" "$dout"; then
		say "FAIL: $demo: the simulator's rpc remote differs from the emulated one on the real kernels ($exp)"
		logs
		exit 1
	fi
	say "$demo: the simulator's rpc transcript equals $exp"
done
