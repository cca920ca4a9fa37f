#!/bin/bash
# SPDX-License-Identifier: MIT
# The differential check: the same abi_probe that ran against the real 6.1
# and 6.12 kernels runs against ampsim, and its transcript must equal the
# kernels' (expected/abi_probe.txt).
#
#   sim-diff.sh LAYOUT AMPSIM QEMU_MKFW PROBE EXPECTED [OUTDIR]
#
# ampsim runs with the harness's two cores (ffe00000.r5f, ffe90000.r5f) on
# the firmware files make-firmware.sh writes (ampsim mkfw, plus qemu_mkfw for
# the broken variants ampsim mkfw cannot write); the probe sees ROOT/sys and
# ROOT/dev at /sys and /dev through tests/abi/run-in-ns.sh. Keeps
# OUTDIR/abi_probe.out, OUTDIR/ampsim.log, OUTDIR/ampsim.err.
# Exit 0 equal, 1 different or broken, 77 skip (no FUSE or no mount
# namespace here; never under CI=true).
set -uo pipefail
layout=$1 ampsim=$2 mkfw=$3 probe=$4 expected=$5 outdir=${6:-}
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
