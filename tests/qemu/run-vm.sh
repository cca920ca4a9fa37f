#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot a test kernel with an initramfs in QEMU (TCG) and judge the run.
#   run-vm.sh KERNEL INITRD OUTDIR [kernel|udev] [REMOTES] [TIMEOUT]
# Keeps OUTDIR/console.log (ttyS0: kernel log and AMPTEST lines) and
# OUTDIR/transcript.log (ttyS1: each test's output), writes
# OUTDIR/results.txt (one `AMPTEST <name> PASS|FAIL ...` line per test) and
# OUTDIR/<name>.out per test. Exit status 0 only if the VM reached
# AMPTEST-END, every test passed, and the kernel log has no BUG:, Oops,
# WARNING: or Kernel panic (AMP_ALLOW_KERNEL_SPLAT=1 accepts them, for runs
# that provoke a known kernel bug on purpose).
# AMP_EXPECT_WARNING=ERE: a run that provokes one known kernel WARNING
# (kernel-abi.md section 5) passes only if the log has exactly one
# `WARNING:`, the text ERE, and no BUG:, Oops or Kernel panic (oops=panic
# stays on, so an oops ends the run).
# AMP_VM_TEST_VERDICTS=0: a FAIL line does not fail the run (ctest's
# per-test check-result.sh tests judge each test, and the other tests of the
# boot still get their verdicts); the VM itself still must be clean.
set -uo pipefail
kernel=$1 initrd=$2 outdir=$3 events=${4:-kernel} remotes=${5:-2} tmo=${6:-240}
mkdir -p "$outdir"
console=$outdir/console.log transcript=$outdir/transcript.log
rm -f "$console" "$transcript" "$outdir"/results.txt "$outdir"/*.out

append="console=ttyS0 panic=-1 oops=panic loglevel=7 ampsim_rproc.remotes=$remotes amp.events=$events"
# extra kernel parameters, e.g. AMP_QEMU_APPEND=tsc=unstable forces the
# jiffies clocksource that a loaded host gives about half the boots anyway
append+=${AMP_QEMU_APPEND:+ $AMP_QEMU_APPEND}
[[ ${AMP_ALLOW_KERNEL_SPLAT:-0} == 1 ]] && append=${append/oops=panic /}
start=$(date +%s.%N)
timeout --foreground -k 5 "$tmo" qemu-system-x86_64 -accel tcg -m 256M -smp 1 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-monitor none -serial stdio -serial file:"$transcript" \
	</dev/null >"$console" 2>&1
rc=$?
end=$(date +%s.%N)
printf 'run-vm: qemu exit %d after %.1f s (%s events); log: %s\n' "$rc" "$(echo "$end - $start" | bc)" "$events" "$console"

# the guest's tty turned \n into \r\n
sed -i 's/\r$//' "$transcript" 2>/dev/null
# split the transcript per test
awk -v dir="$outdir" '
	/^=== / { name = $2; file = dir "/" name ".out"; printf "" > file; next }
	/^AMPTEST / { if (file) close(file); file = ""; next }
	file { print >> file }' "$transcript" 2>/dev/null
grep -a '^AMPTEST ' "$transcript" >"$outdir/results.txt"
cat "$outdir/results.txt"

fail=0
if [[ $rc == 124 || $rc == 137 ]]; then
	echo "run-vm: FAIL: VM timed out after ${tmo}s"
	fail=1
fi
if ! grep -aq '^AMPTEST-END' "$console"; then
	echo "run-vm: FAIL: the VM did not finish its test list"
	tail -n 30 "$console"
	fail=1
fi
if grep -aq 'events=udev-failed' "$console"; then
	echo "run-vm: FAIL: systemd-udevd did not start"
	fail=1
fi
splat=$(grep -anE 'BUG:|Oops|WARNING:|Kernel panic' "$console")
if [[ -n ${AMP_EXPECT_WARNING:-} ]]; then
	nwarn=$(grep -ac 'WARNING:' "$console")
	other=$(grep -anE 'BUG:|Oops|Kernel panic' "$console")
	echo "run-vm: expected kernel WARNING ($AMP_EXPECT_WARNING); the log has $nwarn WARNING line(s):"
	grep -anE -A3 'WARNING:' "$console" | head -n 8
	if [[ $nwarn != 1 ]] || ! grep -aqE "$AMP_EXPECT_WARNING" "$console" || [[ -n $other ]]; then
		echo "run-vm: FAIL: wanted exactly one WARNING matching '$AMP_EXPECT_WARNING' and no BUG:/Oops/panic"
		[[ -n $other ]] && echo "$other"
		fail=1
	fi
elif [[ -n $splat ]]; then
	echo "run-vm: kernel splat in $console:"
	echo "$splat"
	[[ ${AMP_ALLOW_KERNEL_SPLAT:-0} == 1 ]] || fail=1
fi
if grep -aq '^AMPTEST .* FAIL' "$outdir/results.txt"; then
	if [[ ${AMP_VM_TEST_VERDICTS:-1} == 0 ]]; then
		echo "run-vm: some tests failed; their own ctest tests say which"
	else
		fail=1
	fi
fi
exit $fail
