#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the test VM (busybox sh). Runs every line of /tests/list
#   <name> <timeout-seconds> <command...>
# prints `AMPTEST <name> PASS|FAIL <detail>` on the console (ttyS0) and the
# test's output on ttyS1 (the transcript), then powers the VM off.
# Kernel command line: amp.events=udev starts systemd-udevd first.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# The in-VM C++ programs (ampd, ampctl, dynlink_probe) are the build's own,
# sanitized under AMP_SANITIZE: CI's options (tests/run.sh), plus a smaller
# quarantine (default 256 MiB per process) so that a daemon and a few clients
# stay well inside the VM's 256 MiB. The shadow memory is reserved, not used.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm

out=/dev/ttyS1
[ -c $out ] || out=/dev/console
events=kernel
grep -q 'amp.events=udev' /proc/cmdline && events=udev

if [ $events = udev ]; then
	mkdir -p /run/udev
	/lib/systemd/systemd-udevd --daemon --resolve-names=never >/tmp/udevd.log 2>&1
	# wait for its control socket, so that every later event goes through it
	i=0
	while [ ! -S /run/udev/control ] && [ $i -lt 100 ]; do usleep 50000; i=$((i + 1)); done
	udevadm trigger --action=add >/dev/null 2>&1
	udevadm settle --timeout=10 >/dev/null 2>&1
	pidof systemd-udevd >/dev/null || events=udev-failed
fi

echo "AMPTEST-BEGIN kernel=$(uname -r) events=$events"
echo "AMPTEST-BEGIN kernel=$(uname -r) events=$events" >$out
while read -r name tmo cmd; do
	case "$name" in '' | '#'*) continue ;; esac
	echo "=== $name" >$out
	t0=$(cut -d' ' -f1 /proc/uptime)
	AMP_EVENTS=$events timeout "$tmo" sh -c "$cmd" >/tmp/test.out 2>&1
	rc=$?
	# on the console only: the transcripts are compared with expected files
	echo "AMPTEST-TIME $name $(awk -v t0="$t0" '{ printf "%.2f", $1 - t0 }' /proc/uptime) s"
	cat /tmp/test.out >$out
	if [ $rc = 0 ]; then
		res="PASS"
	elif [ $rc = 143 ] || [ $rc = 124 ]; then
		res="FAIL timeout after ${tmo}s"
	else
		res="FAIL exit $rc: $(grep -v '^ok ' /tmp/test.out | tail -n 1)"
	fi
	echo "AMPTEST $name $res"
	echo "AMPTEST $name $res" >$out
done </tests/list
echo "AMPTEST-END"
echo "AMPTEST-END" >$out
sync
reboot -f
