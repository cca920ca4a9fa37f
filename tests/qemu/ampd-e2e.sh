#!/bin/sh
# SPDX-License-Identifier: MIT
# In the VM (busybox sh): one of ampd's end-to-end scenarios against the real
# kernel and the emulated remote remoteproc0 (ffe00000.r5f), driven through
# ampctl as a user would.
#   ampd-e2e.sh echo|matmul|rpc|badname|notelf|norsc|silent|crash_restart|
#               crash_never|hang_stop|double_start|readopt|unprivileged
# Each scenario writes its configuration, starts its own ampd, and leaves the
# core offline and ampd gone (SIGTERM, exit status 0: under ASan that is also
# the leak check). Prints `ok ...` per check; on a failure `FAIL: ...`, the
# state, ampd's log and the kernel log, and exits 1.
scenario=$1
rp=/sys/class/remoteproc/remoteproc0
sock=/run/ampd.sock
cfg=/etc/ampd.json
log=/tmp/ampd.log
chan=rpmsg-openamp-demo-channel
# ampctl waits are bounded by these (seconds, ms): generous, a loaded host
# makes TCG slow, and a pass never waits for them
wait_s=15
ready_ms=20000
ampd_main= ampd_wrapper=

ampctl() { /bin/ampctl --socket $sock "$@"; }

fail() {
	echo "FAIL: $*"
	echo "--- sysfs: state $(cat $rp/state) firmware $(cat $rp/firmware) recovery $(cat $rp/recovery 2>/dev/null)"
	echo "--- ampctl status:"
	timeout 10 /bin/ampctl --socket $sock status 2>&1 | sed 's/^/  | /'
	echo "--- ampd log:"
	sed 's/^/  | /' $log 2>/dev/null
	echo "--- kernel log since the scenario began:"
	dmesg | sed 's/^/  | /'
	cleanup
	exit 1
}
ok() { echo "ok $*"; }

# milliseconds since boot; /proc/uptime has centiseconds
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
# how often the core was booted (a start, a recovery) since the scenario began
boots() { dmesg | grep -c "remoteproc0: remote processor ffe00000.r5f is now up"; }
channel_up() { grep -qx $chan /sys/bus/rpmsg/devices/*/name 2>/dev/null; }
sysfs_state() { cat $rp/state; }

# expect RC CMD...: run an ampctl command, check its exit status
expect() {
	want=$1
	shift
	"$@" >/tmp/cmd.out 2>&1
	rc=$?
	sed 's/^/  | /' /tmp/cmd.out
	[ $rc = "$want" ] || fail "'$*' exited $rc, wanted $want"
	ok "'$*' exits $rc"
}

# said STATE: the last command's output is ampd's answer with r5-0 in STATE
# (start and stop print the state ampd reports; saves a status call, and
# each ASan-built ampctl costs about 0.3 s to start under TCG)
said() {
	grep -q "r5-0: $1 (" /tmp/cmd.out || fail "ampd did not answer with state $1"
	ok "ampd says $1"
}

# state_is STATE: ampd's view (ampctl --json status) of r5-0
state_is() {
	got=$(ampctl --json status r5-0 2>&1)
	echo "$got" | grep -qE "\"state\": ?\"$1\"" || fail "ampctl status: wanted state $1, got: $got"
	ok "ampd says $1"
}

# config POLICY START_MS SHUTDOWN_MS [CHANNELS]
# CHANNELS: the expected channels as a JSON array (default: the demo channel)
config() {
	chans="[\"$chan\"]"
	[ -n "$4" ] && chans=$4
	cat >$cfg <<EOF
{
  "socket": "$sock",
  "socket_mode": "0660",
  "socket_group": "amp",
  "state_directory": "/tmp/ampd-state",
  "remotes": {
    "r5-0": {
      "remoteproc": "ffe00000.r5f",
      "channels": $chans,
      "shutdown": { "message": "0xEF56A55A", "channel": "$chan" },
      "deadlines": { "start_to_channel_ms": $2, "shutdown_ms": $3 },
      "restart": { "policy": "$1", "max_restarts": 10, "window_ms": 60000, "backoff_ms": 100, "backoff_max_ms": 100 }
    }
  }
}
EOF
}

# ampd in the background, ready when it says READY=1 (vmtool notify-start);
# a shell around it records its exit status
start_ampd() {
	pids=$(vmtool notify-start /run/ampd.notify $ready_ms \
		sh -c "ampd --root / --config $cfg --socket $sock >>$log 2>&1; echo \$? >/tmp/ampd.status")
	rc=$?
	[ $rc = 0 ] || fail "ampd not ready (vmtool notify-start exit $rc)"
	ampd_main=${pids% *} ampd_wrapper=${pids#* }
	ok "ampd ready"
}

# SIGTERM (on_sigterm: leave) and its exit status, which must be 0
stop_ampd() {
	[ -n "$ampd_main" ] || return 0
	kill -TERM $ampd_main
	vmtool wait-exit $ampd_wrapper 10000 || { ampd_main=; fail "ampd did not exit within 10 s of SIGTERM"; }
	ampd_main=
	st=$(cat /tmp/ampd.status)
	[ "$st" = 0 ] || fail "ampd exited $st after SIGTERM"
	ok "ampd exits 0 on SIGTERM"
	# a pass shows what ampd had to warn about too
	grep -E '\] (warning|error|critical): ' $log | sed 's/^/  ampd| /'
	: >$log
}

kill_ampd() {
	kill -KILL $ampd_main
	vmtool wait-exit $ampd_wrapper 10000 || fail "ampd survived SIGKILL for 10 s"
	ampd_main=
}

# whatever happened, the next scenario finds the core offline and no ampd
cleanup() {
	if [ -n "$ampd_main" ]; then
		kill -KILL $ampd_main 2>/dev/null
		vmtool wait-exit $ampd_wrapper 10000
		ampd_main=
	fi
	case $(sysfs_state) in
	running | crashed | attached) echo stop >$rp/state ;;
	esac
	# ampd disables the kernel's recovery for the remotes it configures and
	# leaves it so; the next test gets the kernel's default again
	echo enabled >$rp/recovery
}

# the common part: a fresh log, the kernel log from here, ampd up
begin() {
	rm -f $log /tmp/ampd.status $sock
	mkdir -p /tmp/ampd-state
	# the socket's group (config), and the unprivileged client in it
	grep -q '^amp:' /etc/group 2>/dev/null || echo 'amp:x:1000:' >>/etc/group
	grep -q '^user:' /etc/passwd 2>/dev/null || echo 'user:x:1000:1000::/:/bin/sh' >>/etc/passwd
	dmesg -c >/dev/null
	[ "$(sysfs_state)" = offline ] || fail "remoteproc0 is $(sysfs_state) at the start"
	config "$@"
	start_ampd
}

# start, stop, a firmware of the demos
start_stop() {
	begin never 5000 ${2:-3000}
	expect 0 ampctl start r5-0 --firmware $1
	channel_up || fail "no $chan in /sys/bus/rpmsg/devices when start returned"
	ok "the channel is up when start returns"
	said running
	[ "$(sysfs_state)" = running ] || fail "sysfs state $(sysfs_state)"
	t0=$(now_ms)
	expect 0 ampctl stop r5-0
	echo "  stop took $(($(now_ms) - t0)) ms"
	said offline
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	channel_up && fail "$chan still there after stop"
	stop_ampd
}

# start refused before the core is touched: state and firmware attribute as before
refused() {
	begin never 5000 3000
	before=$(cat $rp/firmware)
	expect $2 ampctl start r5-0 --firmware $1
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state)"
	[ "$(cat $rp/firmware)" = "$before" ] || fail "firmware attribute changed: $(cat $rp/firmware), was $before"
	ok "the core is untouched (offline, firmware $before)"
	state_is offline
	[ "$(boots)" = 0 ] || fail "the core was booted"
	stop_ampd
}

case $scenario in
echo) start_stop image_echo_test ;;
matmul) start_stop image_matrix_multiply ;;
rpc)
	# the rpc demo ignores the shutdown word: stopped after shutdown_ms
	start_stop image_rpc_demo 500
	;;
badname) refused no-such-image 3 ;;
notelf) refused ampsim-notelf.bin 1 ;;
norsc)
	# no resource table: with no channel configured there is nothing to
	# wait for, the core just runs
	begin never 5000 3000 '[]'
	expect 0 ampctl start r5-0 --firmware ampsim-norsc.elf
	said running
	[ "$(sysfs_state)" = running ] || fail "sysfs state $(sysfs_state)"
	expect 0 ampctl stop r5-0
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	# with the demo channel configured: degraded at once, the inspected
	# image has no VDEV to announce it (design.md), not after 5 s
	config never 5000 3000
	start_ampd
	t0=$(now_ms)
	expect 1 ampctl start r5-0 --firmware ampsim-norsc.elf
	dt=$(($(now_ms) - t0))
	echo "  start took $dt ms"
	said running-degraded
	[ $dt -lt 5000 ] || fail "running-degraded only after the channel deadline"
	expect 0 ampctl stop r5-0
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	;;
silent)
	# the core runs, the expected channel never comes: degraded after 300 ms
	begin never 300 3000
	t0=$(now_ms)
	expect 1 ampctl start r5-0 --firmware ampsim-silent.elf
	echo "  start took $(($(now_ms) - t0)) ms"
	said running-degraded
	[ "$(sysfs_state)" = running ] || fail "sysfs state $(sysfs_state)"
	expect 0 ampctl stop r5-0
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	;;
crash_restart)
	# the firmware crashes 0.8 s after each boot; on-failure brings it back
	begin on-failure 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-crash-timed.elf
	expect 0 ampctl wait r5-0 crashed --timeout $wait_s
	expect 0 ampctl wait r5-0 running --timeout $wait_s
	n=$(boots)
	[ "$n" -ge 2 ] || fail "$n boot(s) in the kernel log, wanted a start and a restart"
	ok "the kernel log shows $n boots"
	dmesg | grep -q 'crash detected in ffe00000.r5f' || fail "no crash in the kernel log"
	# the next crash may come before the stop: then the stop meets a crashed
	# or restarting core, and the cleanup below takes it down
	ampctl stop r5-0 --force >/dev/null 2>&1
	stop_ampd
	;;
crash_never)
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-crash-timed.elf
	expect 0 ampctl wait r5-0 crashed --timeout $wait_s
	# policy never: the core must stay down; 0.5 s is five backoffs, and the
	# checks below would see a later restart too (state, one boot)
	expect 5 ampctl wait r5-0 running --timeout 0.5
	[ "$(sysfs_state)" = crashed ] || fail "sysfs state $(sysfs_state), wanted crashed"
	state_is crashed
	[ "$(boots)" = 1 ] || fail "$(boots) boots, wanted 1"
	expect 0 ampctl stop r5-0
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	;;
hang_stop)
	# announces, then never answers: the shutdown word goes unheard and the
	# stop is forced once shutdown_ms (500) has passed
	begin never 5000 500
	expect 0 ampctl start r5-0 --firmware ampsim-hang.elf
	t0=$(now_ms)
	expect 0 ampctl stop r5-0
	dt=$(($(now_ms) - t0))
	echo "  stop took $dt ms"
	said offline
	[ $dt -ge 500 ] || fail "stop returned after $dt ms, before the 500 ms shutdown deadline"
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	;;
double_start)
	# two clients at once: one boot. The one with --wait joins the other's
	# start (or makes it); the one without gets it or EBUSY (7).
	begin never 5000 3000
	ampctl start r5-0 --firmware image_echo_test >/tmp/a.out 2>&1 &
	a=$!
	ampctl start r5-0 --firmware image_echo_test --wait >/tmp/b.out 2>&1 &
	b=$!
	wait $a
	rca=$?
	wait $b
	rcb=$?
	sed 's/^/  a| /' /tmp/a.out
	sed 's/^/  b| /' /tmp/b.out
	[ $rcb = 0 ] || fail "start --wait exited $rcb"
	[ $rca = 0 ] || [ $rca = 7 ] || fail "start exited $rca, wanted 0 or 7"
	ok "start exits $rca, start --wait exits $rcb"
	[ "$(boots)" = 1 ] || fail "$(boots) boots, wanted 1"
	ok "one boot"
	expect 7 ampctl start r5-0 --firmware image_echo_test
	expect 0 ampctl start r5-0 --firmware image_echo_test --wait
	[ "$(boots)" = 1 ] || fail "$(boots) boots after the starts of a running core"
	expect 0 ampctl stop r5-0
	stop_ampd
	;;
readopt)
	# ampd dies with the remote running; the next one adopts it as it is
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware image_echo_test
	kill_ampd
	ok "ampd SIGKILLed"
	[ "$(sysfs_state)" = running ] || fail "sysfs state $(sysfs_state) after ampd died"
	start_ampd
	state_is running
	channel_up || fail "the channel went away"
	[ "$(boots)" = 1 ] || fail "$(boots) boots: the core was rebooted"
	ok "still one boot"
	# the adopted channel still carries the shutdown word: a graceful stop
	expect 0 ampctl stop r5-0
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after stop"
	stop_ampd
	;;
unprivileged)
	# uid 1000 in the socket's group may connect and read, not control
	begin never 5000 3000
	expect 4 vmtool runas 1000 1000 /bin/ampctl --socket $sock start r5-0 --firmware image_echo_test
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state)"
	expect 0 vmtool runas 1000 1000 /bin/ampctl --socket $sock status r5-0
	stop_ampd
	;;
*)
	echo "unknown scenario $scenario"
	exit 2
	;;
esac
cleanup
echo "ok $scenario"
