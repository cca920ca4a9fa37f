#!/bin/sh
# SPDX-License-Identifier: MIT
# In the VM (busybox sh): one of ampd's end-to-end scenarios against the real
# kernel and the emulated remote remoteproc0 (ffe00000.r5f), driven through
# ampctl as a user would.
#   ampd-e2e.sh echo|matmul|rpc|badname|notelf|norsc|silent|crash_restart|
#               crash_never|hang_stop|double_start|readopt|unprivileged|
#               streams|streams_fairness|streams_restart|streams_kill|
#               ampctl_channels|demo_echo|demo_matmul|demo_proxy|demos_shared|proxy_probe
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
stress_pid= victims= remote_extra=
# restart policy limit (config); the stream restart cycles need more
max_restarts=10
# the stream scenarios' sizes (README.md: what fits their time under TCG)
stream_messages=${AMP_STREAM_MESSAGES:-200000}
restart_cycles=${AMP_STREAM_CYCLES:-4}
# how much a flooder and a non-reader may slow the other streams down
# (tests/e2e/test_streams.cpp's factor), and the messages those streams send
fairness_factor=3.0
fairness_messages=${AMP_STREAM_FAIRNESS_MESSAGES:-20000}

ampctl() { /bin/ampctl --socket $sock "$@"; }
# the same in the background: $! is ampctl's own pid (a function would be a
# subshell's), for the signals the scenarios send it
ampctl_bg() { /bin/ampctl --socket $sock "$@" & }

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
# CHANNELS: the expected channels as a JSON array (default: the demo channel);
# $remote_extra: more keys of r5-0's object, each followed by a comma
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
      ${remote_extra}"channels": $chans,
      "shutdown": { "message": "0xEF56A55A", "channel": "$chan" },
      "deadlines": { "start_to_channel_ms": $2, "shutdown_ms": $3 },
      "restart": { "policy": "$1", "max_restarts": $max_restarts, "window_ms": 60000, "backoff_ms": 100, "backoff_max_ms": 100 }
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
	for p in $stress_pid $victims; do
		kill -KILL $p 2>/dev/null
	done
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

# ---- channel streams (docs/protocol.md "Streams") ----------------------------

# the endpoint nodes, one per open stream (/dev/rpmsgN; not rpmsg_ctrlN)
ept_count() { ls /dev | grep -cE '^rpmsg[0-9]+$'; }
ampd_fds() { ls /proc/$ampd_main/fd | wc -l; }
ampd_said() { grep -c -- "$1" $log; }
splat() { dmesg | grep -E 'BUG:|Oops|WARNING:|Kernel panic'; }

# settle WHAT WANT CMD...: CMD prints WANT within 10 s (ampd closes a
# stream's endpoint when it sees its client go, not at once)
settle() {
	what=$1 want=$2
	shift 2
	t_end=$(($(now_ms) + 10000))
	while got=$("$@"); [ "$got" != "$want" ]; do
		[ "$(now_ms)" -lt $t_end ] || fail "$what: $got, wanted $want"
		usleep 20000
	done
	ok "$what: $want"
}

# stress NAME ARGS...: amp-stream-stress on r5-0's channel in the background,
# its output in /tmp/NAME.out; stress_wait NAME RC: its exit status must be
# RC, and its output is shown
stress() {
	name=$1
	shift
	# not the last run's output: the new one truncates it only once it runs
	rm -f /tmp/$name.out
	amp-stream-stress --socket $sock --remote r5-0 --channel $chan --timeout 120 "$@" >/tmp/$name.out 2>&1 &
	stress_pid=$!
	echo "  amp-stream-stress $*"
}
stress_wait() {
	wait $stress_pid
	rc=$?
	stress_pid=
	sed "s/^/  $1| /" /tmp/$1.out
	[ $rc = "$2" ] || fail "amp-stream-stress ($1) exited $rc, wanted $2"
	ok "amp-stream-stress ($1) exits $rc"
}
# stress_started NAME N: every one of its N normal streams had an answer
stress_started() {
	t_end=$(($(now_ms) + 30000))
	until grep -qs "^started streams=$2" /tmp/$1.out; do
		if ! kill -0 $stress_pid 2>/dev/null; then
			sed "s/^/  $1| /" /tmp/$1.out
			fail "amp-stream-stress ($1) ended before its streams started"
		fi
		[ "$(now_ms)" -lt $t_end ] || fail "amp-stream-stress ($1): its streams did not start within 30 s"
		usleep 20000
	done
	ok "amp-stream-stress ($1): $2 streams answered"
}
# stress_lines NAME ERE N: its output has N lines matching ERE (--events)
stress_lines() {
	t_end=$(($(now_ms) + wait_s * 1000))
	until [ "$(grep -csE "$2" /tmp/$1.out)" -ge "$3" ]; do
		[ "$(now_ms)" -lt $t_end ] || fail "amp-stream-stress ($1): not $3 lines '$2' within $wait_s s"
		usleep 20000
	done
	# a moment of traffic before whatever comes next
	usleep 200000
}
# the run's time in seconds, from its summary line ("... in 12.345 s ...")
stress_secs() { sed -n 's/^amp-stream-stress: .* in \([0-9.]*\) s .*/\1/p' /tmp/$1.out | head -n 1; }

# client_node PID: $node is the endpoint node ampd opened for the client
# process PID, from ampd's log ("opened for client pid P ...: endpoint rpmsgN")
client_node() {
	t_end=$(($(now_ms) + 10000))
	until node=$(sed -n "s/.* opened for client pid $1 .*: endpoint \(rpmsg[0-9]*\).*/\1/p" $log | tail -n 1); [ -n "$node" ]; do
		[ "$(now_ms)" -lt $t_end ] || fail "no stream opened for pid $1 in ampd's log"
		usleep 20000
	done
}

# ---- the OpenAMP demos through ampd (docs/ampctl.md "The OpenAMP demos") ----

# wait_lines WHAT FILE ERE N: FILE has N lines matching ERE within wait_s
wait_lines() {
	t_end=$(($(now_ms) + wait_s * 1000))
	until [ "$(grep -csE "$3" "$2")" -ge "$4" ]; do
		[ "$(now_ms)" -lt $t_end ] || { sed "s/^/  | /" "$2"; fail "$1: not $4 lines '$3' in $2 within $wait_s s"; }
		usleep 20000
	done
}

# The products of ampctl matmul checked here too. products_check reads one
# matrix a line (36 numbers: A, B, then what came back as A x B) and prints
# how many products are right; at the first wrong one it says which and
# exits 1. table_matrices and json_matrices make those lines from matmul's
# table (rows of A, B and A x B side by side) and its --json report.
products_check() {
	awk '
	NF != 36 { print "not a 6x6 matrix: " $0; bad = 1; exit 1 }
	{
		m = (NR - 1) % 3
		for (i = 1; i <= 36; i++) v[m, i] = $i
		if (m < 2) next
		for (r = 0; r < 6; r++) for (c = 0; c < 6; c++) {
			s = 0
			for (k = 0; k < 6; k++) s += v[0, r * 6 + k + 1] * v[1, k * 6 + c + 1]
			if (s != v[2, r * 6 + c + 1]) {
				printf "product %d: [%d][%d] is %d, not %d\n", n + 1, r, c, v[2, r * 6 + c + 1], s
				bad = 1
				exit 1
			}
		}
		n++
	}
	END {
		if (bad) exit 1
		if (NR % 3) { print "a product without its operands"; exit 1 }
		print n + 0
	}'
}
table_matrices() {
	awk 'NF == 18 && /^[ 0-9]+$/ {
		for (i = 0; i < 3; i++) for (j = 1; j <= 6; j++) row[i] = row[i] " " $(i * 6 + j)
		if (++n % 6 == 0) { print row[0]; print row[1]; print row[2]; row[0] = row[1] = row[2] = "" }
	}' "$1"
}
json_matrices() { grep -oE '"(a|b|product)":[][0-9,]*\]' "$1" | sed 's/^"[a-z]*"://; s/[][,]/ /g'; }
# matmul_checked FILE N: FILE (matmul's output, a table or --json) has N
# products, every one right
matmul_checked() {
	if grep -q '^{' "$1"; then conv=json_matrices; else conv=table_matrices; fi
	n=$($conv "$1" | products_check) || fail "ampctl matmul passed a wrong product: $n"
	[ "$n" = "$2" ] || fail "$n products in ampctl matmul's output, wanted $2"
	ok "$2 products checked here too"
}

# the core, its channel and the demo's endpoints gone, the kernel quiet
demo_gone() {
	[ "$(sysfs_state)" = offline ] || fail "sysfs state $(sysfs_state) after the demo"
	channel_up && fail "$chan still there after the demo"
	settle "endpoint nodes" 0 ept_count
	[ -z "$(splat)" ] || fail "kernel splat: $(splat)"
	ok "offline, the channel gone, no kernel splat"
}

# every remote.file on the VM's file systems (the rpc demo's file)
remote_files() { find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -name remote.file -print | sort; }
# new_remote_files BEFORE WANT...: the remote.files made since the list
# BEFORE are exactly WANT
new_remote_files() {
	before=$1
	shift
	# (not grep -v -f: busybox's matches every line with an empty list)
	got=$(remote_files | awk -v before="$before" 'BEGIN { while ((getline l <before) > 0) seen[l] = 1 } !seen[$0]')
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || fail "remote.file made at: $(echo $got), wanted only: $*"
	ok "remote.file made in $* only"
}
demo_text='This is a test string being written to file..'
# remote_file_ok DIR: DIR holds the demo's file, and nothing else
remote_file_ok() {
	[ "$(ls -A "$1")" = remote.file ] || fail "$1 holds: $(ls -A "$1")"
	[ "$(cat "$1/remote.file")" = "$demo_text" ] || fail "$1/remote.file is '$(cat "$1/remote.file")'"
	# strlen(), no NUL ($(cat) would hide one)
	[ "$(wc -c <"$1/remote.file")" -eq ${#demo_text} ] || fail "$1/remote.file has $(wc -c <"$1/remote.file") bytes"
	ok "$1/remote.file as the demo wrote it"
}
# ampctl proxy in the foreground: proxy_fg DIR INPUT ARGS...; its console
# (stdout) in /tmp/proxy.out, its own lines (stderr) in /tmp/proxy.err
proxy_fg() {
	dir=$1 input=$2
	shift 2
	rm -rf /tmp/pcwd
	mkdir -p /tmp/pcwd
	# from a directory of its own: nothing may land in the working directory
	(cd /tmp/pcwd && /bin/ampctl --socket $sock proxy r5-0 --directory $dir "$@" <$input >/tmp/proxy.out 2>/tmp/proxy.err)
	rc=$?
	sed 's/^/  err| /' /tmp/proxy.err
	[ $rc = 0 ] || { sed 's/^/  out| /' /tmp/proxy.out; fail "ampctl proxy exited $rc"; }
	ok "ampctl proxy exits 0"
	grep -q 'ended: the remote sent TERM (54 requests, 0 refused' /tmp/proxy.err ||
		fail "ampctl proxy did not end with the demo's TERM after 54 requests (as the stock program served them)"
	[ -z "$(ls -A /tmp/pcwd)" ] || fail "files in ampctl's working directory: $(ls -A /tmp/pcwd)"
}
# listener NAME ARGS...: an ampctl listen on the demo channel that sends
# nothing, its output in /tmp/NAME.out; $lp its pid once ampd opened its stream
listener() {
	name=$1
	shift
	rm -f /tmp/$name.out
	ampctl_bg listen r5-0 $chan --timeout 120 "$@" >/tmp/$name.out 2>&1
	lp=$!
	victims="$victims $lp"
	client_node $lp
	ok "a listener ($name) holds $node on the channel"
}
# listener_heard_nothing NAME: SIGINT, exit 0, and not one message printed
# (its events, `-- down/up`, are no messages)
listener_heard_nothing() {
	kill -INT $lp
	wait $lp
	rc=$?
	sed "s/^/  $1| /" /tmp/$1.out
	[ $rc = 0 ] || fail "the listener ($1) exited $rc on SIGINT"
	grep -v '^-- ' /tmp/$1.out && fail "the listener ($1) got messages meant for the demo"
	ok "the listener ($1) got nothing"
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
streams)
	# 16 clients on one remote, each with its own endpoint, echoing at
	# once: every message back once, in order, uncorrupted, 0..496 bytes
	# (the real kernel passes zero-length messages; ampsim never sees one)
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	stress streams --streams 16 --messages $stream_messages --min-size 0 --max-size 496
	stress_started streams 16
	n=$(ept_count)
	[ "$n" = 16 ] || fail "$n endpoint nodes while 16 streams are open"
	ok "16 endpoint nodes"
	stress_wait streams 0
	echo "  $stream_messages messages in $(stress_secs streams) s"
	settle "endpoint nodes after the streams closed" 0 ept_count
	expect 0 ampctl stop r5-0
	stop_ampd
	;;
streams_fairness)
	# a flooder and a client that never reads lose nothing and do not slow
	# the others down more than tests/e2e's test_streams.cpp allows: 4
	# streams alone, then with them, twice, the best time of each counts
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	best_alone= best_crowd=
	for round in 1 2; do
		stress alone --streams 4 --window 64 --messages $fairness_messages --min-size 0
		stress_wait alone 0
		stress crowd --streams 4 --window 64 --messages $fairness_messages --min-size 0 --flooders 1 --sleepy 1
		stress_wait crowd 0
		best_alone=$(awk -v a="$best_alone" -v b="$(stress_secs alone)" 'BEGIN { print (a == "" || b < a) ? b : a }')
		best_crowd=$(awk -v a="$best_crowd" -v b="$(stress_secs crowd)" 'BEGIN { print (a == "" || b < a) ? b : a }')
	done
	ratio=$(awk -v a="$best_alone" -v c="$best_crowd" 'BEGIN { printf "%.2f", c / a }')
	echo "  4 streams, $fairness_messages messages: alone $best_alone s, with a flooder and a non-reader $best_crowd s: ratio $ratio (at most $fairness_factor)"
	awk -v r="$ratio" -v f="$fairness_factor" 'BEGIN { exit !(r <= f) }' ||
		fail "the flooder and the non-reader slowed the others down $ratio times, more than $fairness_factor"
	ok "slowed down $ratio times"
	settle "endpoint nodes after the streams closed" 0 ept_count
	expect 0 ampctl stop r5-0
	stop_ampd
	;;
streams_restart)
	# the remote goes away under traffic, three ways a cycle, $restart_cycles
	# cycles: ampctl stop (and start), a crash (ampd restarts it) and a stop
	# behind ampd's back (sysfs; ampctl start). Every stream gets its down,
	# the reattached ones come back up and go on, the others end; ampd
	# keeps no fd or endpoint of a cycle, and the kernel logs no splat: on
	# 6.1 a DESTROY_EPT on a stopped remote's endpoint oopses (kernel-abi.md
	# 5), and the stop behind ampd's back is where it would come from
	max_restarts=100
	begin on-failure 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	# one stream first: it opens the channel's rpmsg_ctrl node, which ampd
	# keeps while the core runs (and reopens after each start)
	expect 0 ampctl send r5-0 $chan warm-up --reply
	settle "endpoint nodes" 0 ept_count
	fds=$(ampd_fds)
	echo "  ampd has $fds fds"
	i=0
	while [ $i -lt $restart_cycles ]; do
		i=$((i + 1))
		echo "  -- cycle $i"
		# 6 streams: 3 reattach (1 of them direct), 3 not (2 direct)
		stress cycle --streams 6 --reattach=3 --direct=3 --expect-downs 3 --events --min-size 0
		stress_started cycle 6
		n=$(ept_count)
		[ "$n" = 6 ] || fail "$n endpoint nodes while 6 streams are open"
		expect 0 ampctl stop r5-0
		expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
		stress_lines cycle '^up ' 3
		crashes=$(ampd_said '-> crashed')
		echo 1 >$rp/device/crash || fail "the remote's crash control refused"
		t_end=$(($(now_ms) + wait_s * 1000))
		until [ "$(ampd_said '-> crashed')" -gt "$crashes" ]; do
			[ "$(now_ms)" -lt $t_end ] || fail "ampd did not see the crash"
			usleep 20000
		done
		ok "ampd saw the crash"
		expect 0 ampctl wait r5-0 running --timeout $wait_s
		stress_lines cycle '^up ' 6
		echo stop >$rp/state || fail "stop behind ampd's back refused"
		ok "stopped behind ampd's back"
		expect 0 ampctl wait r5-0 offline --timeout $wait_s
		expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
		stress_wait cycle 0
		downs=$(grep -c '^down ' /tmp/cycle.out) ups=$(grep -c '^up ' /tmp/cycle.out)
		[ "$downs" = 12 ] && [ "$ups" = 9 ] ||
			fail "$downs down and $ups up events, wanted 12 (6 streams at the stop, the 3 reattached at the crash and the sysfs stop) and 9"
		ok "12 down events, 9 up"
		settle "endpoint nodes" 0 ept_count
		[ -z "$(splat)" ] || fail "kernel splat"
	done
	settle "ampd's fds after $restart_cycles cycles" $fds ampd_fds
	expect 0 ampctl stop r5-0
	stop_ampd
	;;
streams_kill)
	# a client SIGKILLed in the middle of its stream (one relayed, one
	# direct): ampd destroys its endpoint, the others go on undisturbed
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	stress others --streams 4 --until-signal --events --min-size 0
	stress_started others 4
	for mode in relay direct; do
		flag=
		[ $mode = direct ] && flag=--direct
		ampctl_bg ping r5-0 $chan --interval 0 --size 256 $flag >/tmp/victim.out 2>&1
		victim=$!
		victims=$victim
		client_node $victim
		[ -e /dev/$node ] || fail "no /dev/$node for the $mode client"
		# mid-stream: it has had answers
		t_end=$(($(now_ms) + 10000))
		until [ "$(grep -c 'bytes from' /tmp/victim.out)" -ge 10 ]; do
			[ "$(now_ms)" -lt $t_end ] || fail "the $mode client got no answers"
			usleep 20000
		done
		kill -KILL $victim
		wait $victim
		victims=
		ok "the $mode client ($node) SIGKILLed after $(grep -c 'bytes from' /tmp/victim.out) answers"
		settle "/dev/$node" gone sh -c "[ -e /dev/$node ] && echo there || echo gone"
		settle "endpoint nodes" 4 ept_count
	done
	kill -USR1 $stress_pid
	stress_wait others 0
	grep -q '^down ' /tmp/others.out && fail "the other streams saw a down event"
	ok "the other streams were not disturbed"
	settle "endpoint nodes" 0 ept_count
	expect 0 ampctl stop r5-0
	stop_ampd
	;;
ampctl_channels)
	# ampctl's channel commands against the real kernel: exit codes, what
	# they print, relayed and direct
	begin never 5000 3000
	expect 0 ampctl channels
	grep -q "^r5-0 " /tmp/cmd.out && fail "a channel listed with the core offline"
	expect 3 ampctl send r5-0 $chan hello
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	expect 0 ampctl channels
	grep -qE "^r5-0 +$chan +0xffffffff +0x400\$" /tmp/cmd.out || fail "r5-0's channel not listed"
	expect 0 ampctl channels r5-0
	expect 0 ampctl send r5-0 $chan hello --reply
	grep -qx '\[5\] hello' /tmp/cmd.out || fail "no '[5] hello' back"
	# a zero-length message, which only a real kernel passes
	expect 0 ampctl send r5-0 $chan --hex '' --reply
	grep -qx '\[0\]' /tmp/cmd.out || fail "no empty message back"
	head -c 496 /dev/urandom >/tmp/m496
	expect 0 ampctl send r5-0 $chan --file /tmp/m496 --reply
	grep -q '^\[496\]' /tmp/cmd.out || fail "no 496-byte message back"
	head -c 497 /dev/urandom >/tmp/m497
	expect 2 ampctl send r5-0 $chan --file /tmp/m497
	expect 0 ampctl send r5-0 $chan hello --reply --direct
	grep -qx '\[5\] hello' /tmp/cmd.out || fail "no '[5] hello' back (direct)"
	for flag in "" --direct; do
		expect 0 ampctl ping r5-0 $chan --count 20 --interval 0 --size 496 $flag
		grep -q '^20 sent, 20 received, 0 lost, 0 corrupt' /tmp/cmd.out || fail "ping $flag: not 20 of 20"
	done
	# listen: a stream ends when its remote goes (1), unless reattached
	ampctl_bg listen r5-0 $chan >/tmp/l1.out 2>&1
	l1=$!
	ampctl_bg listen r5-0 $chan --direct >/tmp/l2.out 2>&1
	l2=$!
	ampctl_bg listen r5-0 $chan --reattach >/tmp/l3.out 2>&1
	l3=$!
	victims="$l1 $l2 $l3"
	settle "endpoint nodes of three listeners" 3 ept_count
	expect 0 ampctl stop r5-0
	for l in 1 2; do
		eval "wait \$l$l"
		rc=$?
		sed "s/^/  l$l| /" /tmp/l$l.out
		[ $rc = 1 ] || fail "listen $l exited $rc after the stop, wanted 1"
		grep -q '^-- down' /tmp/l$l.out || fail "listen $l printed no down event"
	done
	ok "listen and listen --direct end with the remote: exit 1, a down event"
	kill -0 $l3 2>/dev/null || fail "listen --reattach ended with the remote"
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	settle "endpoint nodes" 1 ept_count
	settle "listen --reattach saw the stream come back" 1 grep -c '^-- up' /tmp/l3.out
	kill -INT $l3
	wait $l3
	rc=$?
	victims=
	sed "s/^/  l3| /" /tmp/l3.out
	[ $rc = 0 ] || fail "listen --reattach exited $rc on SIGINT"
	grep -q '^-- down' /tmp/l3.out && grep -q '^-- up' /tmp/l3.out || fail "listen --reattach: no down and up"
	ok "listen --reattach stays through the restart (down, up), SIGINT exits 0"
	# listen gets what the remote sends: the demo echo answers the first
	# address it heard from; with no endpoint left the kernel gives the next
	# one the lowest free address, that one (0x400)
	expect 0 ampctl stop r5-0
	expect 0 ampctl start r5-0 --firmware ampsim-echo.elf
	expect 0 ampctl send r5-0 $chan first
	settle "endpoint nodes" 0 ept_count
	ampctl_bg listen r5-0 $chan --count 1 --timeout $wait_s >/tmp/l4.out 2>&1
	l4=$!
	victims=$l4
	settle "endpoint nodes" 1 ept_count
	expect 0 ampctl send r5-0 $chan hello
	wait $l4
	rc=$?
	victims=
	sed "s/^/  l4| /" /tmp/l4.out
	[ $rc = 0 ] || fail "listen --count 1 exited $rc"
	grep -qx '\[5\] hello' /tmp/l4.out || fail "listen did not print '[5] hello'"
	ok "listen --count 1 got the echo and exits 0"
	expect 5 ampctl listen r5-0 $chan --count 1 --timeout 0.5
	# ping checks each reply: matmul answers with a matrix (corrupt), the
	# hang app never (lost); both exit 1
	expect 0 ampctl stop r5-0
	expect 0 ampctl start r5-0 --firmware ampsim-matmul.elf
	expect 1 ampctl ping r5-0 $chan --count 3 --interval 0
	grep -q '^3 sent, .* 3 corrupt' /tmp/cmd.out || fail "ping: matmul's answers not counted corrupt"
	expect 0 ampctl stop r5-0
	expect 0 ampctl start r5-0 --firmware ampsim-hang.elf
	expect 1 ampctl ping r5-0 $chan --count 2 --interval 0 --timeout 0.3
	grep -q '^2 sent, 0 received, 2 lost' /tmp/cmd.out || fail "ping: the hang app's silence not counted lost"
	expect 0 ampctl stop r5-0 --force
	stop_ampd
	;;
demo_echo)
	# ampctl echo-test against the stock echo firmware: --firmware starts
	# it (then opens the stream first, the address the remote will answer),
	# every size 1..472 (+16 header) comes back byte for byte, --stop has
	# ampd send the shutdown word and stop the core
	begin never 5000 3000
	expect 0 ampctl echo-test r5-0 --firmware image_echo_test --stop
	grep -q '^r5-0: running (' /tmp/cmd.out || fail "echo-test did not print the start's outcome"
	grep -qx 'round 1: sizes 1..472: 0 errors' /tmp/cmd.out || fail "not every size came back"
	grep -qx '1 round, sizes 1..472, 472 messages, 119180 bytes, 0 errors (0 corrupt, 0 lost)' /tmp/cmd.out ||
		fail "not 472 messages, 0 errors"
	grep -q '^stop: r5-0: offline (the remote acknowledged the shutdown message' /tmp/cmd.out ||
		fail "the remote did not acknowledge the shutdown word"
	ok "472 sizes echoed, the shutdown word acknowledged"
	demo_gone
	# the endpoint held by ampctl itself, two rounds, the report as JSON
	expect 0 ampctl --json echo-test r5-0 --firmware image_echo_test --direct --rounds 2
	for want in '"direct":true' '"messages":944' '"errors":0' '"lost":0' '"corrupt":0' '"shutdown_message":true'; do
		grep -qF "$want" /tmp/cmd.out || fail "no $want in the report"
	done
	ok "direct: 944 echoes, the shutdown word acknowledged"
	demo_gone
	# a remote that answers with something else: the matmul firmware sends
	# a 148-byte product back for each echo (ampsim's byte-flipping
	# `corrupt` has no counterpart in this driver; tests/e2e covers it)
	expect 1 ampctl echo-test r5-0 --firmware image_matrix_multiply --sizes 1..3
	grep -qx 'round 1, size 1: corrupt: 148 bytes back for 17' /tmp/cmd.out || fail "size 1 not reported corrupt"
	grep -q ', 3 errors (3 corrupt, 0 lost)$' /tmp/cmd.out || fail "not 3 corrupt"
	grep -q '^stop: r5-0: offline (' /tmp/cmd.out || fail "the remote not stopped after a failed test"
	ok "every wrong echo reported, exit 1, the remote stopped all the same"
	demo_gone
	stop_ampd
	;;
demo_matmul)
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware image_matrix_multiply
	expect 0 ampctl matmul r5-0 --count 3 --seed 12345
	grep -qx -- '--- r5-0 matmul: 3 multiplications, 0 wrong ---' /tmp/cmd.out || fail "not 3 right products"
	matmul_checked /tmp/cmd.out 3
	# the stock remote answers the first address it heard from: the next
	# stream gets it again, the lowest free one (idr_alloc), once the first
	# endpoint is gone
	settle "endpoint nodes" 0 ept_count
	expect 0 ampctl --json matmul r5-0 --count 2 --direct
	grep -qF '"errors":0' /tmp/cmd.out && grep -qF '"ok":true' /tmp/cmd.out || fail "the report is not ok"
	matmul_checked /tmp/cmd.out 2
	expect 0 ampctl stop r5-0
	grep -q 'r5-0: offline (the remote acknowledged the shutdown message' /tmp/cmd.out ||
		fail "the remote did not acknowledge the shutdown word"
	demo_gone
	stop_ampd
	;;
demo_proxy)
	# the rpc demo served two ways: by ampctl proxy in the foreground, the
	# console on its stdin and stdout, and by ampd itself, console to a file.
	# The stock program's console for the same input (expected/rpmsg_proxy.txt:
	# its stdout, after its own "proxy:" lines)
	sed -n 's/^  | //p' /tests/rpmsg_proxy.txt | grep -v '^proxy: ' >/tmp/proxy.want
	remote_files >/tmp/rf.before
	begin never 5000 500
	rm -rf /tmp/pfiles
	mkdir /tmp/pfiles
	/tests/run-demo.sh --console-input proxy >/tmp/console.in
	proxy_fg /tmp/pfiles /tmp/console.in --firmware image_rpc_demo
	diff /tmp/proxy.want /tmp/proxy.out >/tmp/proxy.diff ||
		{ sed 's/^/  | /' /tmp/proxy.diff; fail "the console differs from the stock program's (expected/rpmsg_proxy.txt)"; }
	ok "the console is the stock program's, byte for byte"
	remote_file_ok /tmp/pfiles
	new_remote_files /tmp/rf.before /tmp/pfiles/remote.file
	# after TERM the demo released its endpoint: the channel went with it
	# (the shutdown word would go unheard: the stop needs no deadline)
	expect 0 ampctl stop r5-0
	said offline
	demo_gone
	stop_ampd
	# ampd's proxy service, files in a directory it makes, console to a file
	remote_files >/tmp/rf.before
	rm -rf /tmp/psvc /tmp/pconsole.log
	remote_extra="\"proxy\": { \"enabled\": true, \"channel\": \"$chan\", \"directory\": \"/tmp/psvc\", \"max_open_files\": 4, \"console\": \"file:/tmp/pconsole.log\" },"
	begin never 5000 500
	remote_extra=
	expect 0 ampctl start r5-0 --firmware image_rpc_demo
	wait_lines "ampd's log" $log 'proxy session over \(' 1
	grep -q 'proxy session over (the remote sent TERM)' $log || fail "the session did not end with the demo's TERM"
	ok "ampd served the demo until its TERM"
	grep -q ': refused ' $log && fail "ampd refused a request of the demo"
	for want in 'Remote>Baremetal Remote Procedure Call (RPC) Demonstration' \
		"Remote>Read from fd = 3, size = 45, printing contents below .. $demo_text" \
		"Remote> Firmware's rpmsg-rpc-channel going down!"; do
		grep -qF "$want" /tmp/pconsole.log || { sed 's/^/  console| /' /tmp/pconsole.log; fail "no '$want' in the console file"; }
	done
	ok "the console file has the demo's output"
	remote_file_ok /tmp/psvc
	new_remote_files /tmp/rf.before /tmp/psvc/remote.file
	expect 0 ampctl stop r5-0
	said offline
	demo_gone
	stop_ampd
	;;
demos_shared)
	# The three demos while other clients use the same remote and channel
	# through ampd. The stock echo and matmul answer the first Linux
	# address they heard from (docs/ampctl.md "The OpenAMP demos"): a
	# client sending on their channel would take their answers by the
	# protocol's design. So the echo test runs on the echo that answers
	# each sender, beside 4 streams of amp-stream-stress and a ping (all
	# checked byte for byte, each message at its sender); matmul and the
	# proxy on their stock firmware beside a listener that sends nothing and
	# must hear nothing. ampctl events and wait follow it all.
	begin never 5000 3000
	expect 0 ampctl start r5-0 --firmware ampsim-echo-multi.elf
	ampctl_bg events r5-0 >/tmp/sh-events.out 2>&1
	evp=$!
	ampctl_bg wait r5-0 offline --timeout 120 >/tmp/sh-wait.out 2>&1
	waitp=$!
	victims="$evp $waitp"
	# one message in flight per stream: the echo test's round trips wait
	# behind the others' in the kernel's queue, not behind 16 each
	stress shared --streams 4 --window 1 --until-signal --min-size 0
	stress_started shared 4
	ampctl_bg ping r5-0 $chan --interval 0 --size 496 >/tmp/sh-ping.out 2>&1
	pingp=$!
	victims="$victims $pingp"
	wait_lines ping /tmp/sh-ping.out 'bytes from' 10
	expect 0 ampctl status r5-0
	expect 0 ampctl echo-test r5-0
	grep -qx '1 round, sizes 1..472, 472 messages, 119180 bytes, 0 errors (0 corrupt, 0 lost)' /tmp/cmd.out ||
		fail "not 472 echoes, 0 errors"
	ok "echo-test: 472 echoes beside the streams and the ping"
	kill -INT $pingp
	wait $pingp
	rc=$?
	tail -n 3 /tmp/sh-ping.out | sed 's/^/  ping| /'
	[ $rc = 0 ] || fail "ping exited $rc"
	sent=$(sed -n 's/^\([0-9]*\) sent, .*/\1/p' /tmp/sh-ping.out)
	grep -q "^$sent sent, $sent received, 0 lost, 0 corrupt" /tmp/sh-ping.out || fail "ping lost or got wrong replies"
	ok "ping: $sent of $sent"
	kill -USR1 $stress_pid
	stress_wait shared 0
	kill -0 $waitp 2>/dev/null || fail "ampctl wait offline returned while the remote ran"
	expect 0 ampctl stop r5-0
	wait $waitp
	rc=$?
	[ $rc = 0 ] || fail "ampctl wait offline exited $rc"
	ok "ampctl wait offline returned with the stop"
	settle "endpoint nodes" 0 ept_count
	# matmul on the stock firmware, a listener on its channel
	expect 0 ampctl start r5-0 --firmware image_matrix_multiply
	listener sh-listen1
	expect 0 ampctl matmul r5-0 --count 5 --seed 7
	matmul_checked /tmp/cmd.out 5
	expect 0 ampctl status r5-0
	listener_heard_nothing sh-listen1
	expect 0 ampctl stop r5-0
	grep -q 'acknowledged the shutdown message' /tmp/cmd.out || fail "the remote did not acknowledge the shutdown word"
	# the rpc demo on its stock firmware served by ampctl proxy, a listener
	# (reattach: the demo's channel goes after its TERM) on its channel
	expect 0 ampctl start r5-0 --firmware image_rpc_demo
	listener sh-listen2 --reattach
	rm -rf /tmp/sh-files
	mkdir /tmp/sh-files
	/tests/run-demo.sh --console-input proxy >/tmp/console.in
	proxy_fg /tmp/sh-files /tmp/console.in
	grep -qF "Remote>User name = 'Alice'" /tmp/proxy.out || fail "the demo's console did not get its input"
	remote_file_ok /tmp/sh-files
	listener_heard_nothing sh-listen2
	expect 0 ampctl stop r5-0
	kill -INT $evp
	wait $evp
	rc=$?
	sed 's/^/  events| /' /tmp/sh-events.out
	[ $rc = 0 ] || fail "ampctl events exited $rc on SIGINT"
	# subscribed long before the first stop (streams, a ping and an echo
	# test ran in between): three stops and two starts
	[ "$(grep -c ' -> offline' /tmp/sh-events.out)" = 3 ] && [ "$(grep -cE ' -> running( |$)' /tmp/sh-events.out)" = 2 ] ||
		fail "ampctl events: not 3 stops and 2 starts"
	ok "ampctl events saw 3 stops and 2 starts"
	victims=
	demo_gone
	stop_ampd
	;;
proxy_probe)
	# ampd's proxy against a hostile remote (the rpcprobe firmware,
	# tests/sim/README.md): traversal (a symlink planted in the directory
	# pointing out among it), garbage and 1000 opens past max_open_files,
	# each refused with -1 and logged (rate limited: lines, then counts),
	# nothing made outside the directory, no fd left in ampd; then the rpc
	# demo is served as ever. The transcript is the simulator's
	# (tests/e2e/test_proxy.cpp kProbeConsole).
	pdir=/tmp/proxy-files pcon=/tmp/probe-console.log cap=24
	rm -rf $pdir /tmp/outside /tmp/precious $pcon $log /tmp/ampd.status $sock
	mkdir -p $pdir /tmp/ampd-state
	echo "do not touch" >/tmp/precious
	ln -s /tmp/precious $pdir/escape
	grep -q '^amp:' /etc/group 2>/dev/null || echo 'amp:x:1000:' >>/etc/group
	dmesg -c >/dev/null
	[ "$(sysfs_state)" = offline ] || fail "remoteproc0 is $(sysfs_state) at the start"
	config never 5000 500
	sed -i "s|\"remoteproc\": \"ffe00000.r5f\",|& \"proxy\": { \"enabled\": true, \"channel\": \"$chan\", \"directory\": \"$pdir\", \"max_open_files\": $cap, \"console\": \"file:$pcon\" },|" $cfg
	grep -q '"proxy"' $cfg || fail "no proxy in $cfg"
	start_ampd
	expect 0 ampctl start r5-0 --firmware ampsim-rpcprobe.elf
	# the probe ends with TERM (or, where it is lost, its endpoint going)
	t_end=$(($(now_ms) + 120000))
	until [ "$(ampd_said 'proxy session over (')" -ge 1 ]; do
		[ "$(now_ms)" -lt $t_end ] || { sed 's/^/  console| /' $pcon; fail "the probe's session did not end within 120 s"; }
		usleep 50000
	done
	ok "the probe's session is over"
	cat >/tmp/probe.expected <<EOF
probe start
probe open ../../etc/passwd = -1
probe open /etc/passwd = -1
probe open escape = -1
probe open sub/../../outside = -1
probe open flags 0x7ff00041 = -1
probe open mode 0x7fffffff = -1
probe garbage setup = ok
probe garbage empty = no reply
probe garbage short-3 = no reply
probe garbage truncated-header = -1
probe garbage unknown-id = no reply
probe garbage open-datalen = -1
probe garbage open-max-size = -1
probe garbage read-huge = 10 data_len 10 message 26 data 0123456789
probe garbage read-negative = -1
probe garbage write-length = -1
probe garbage write-datalen = -1
probe garbage close-unopened = -1
probe garbage read-unopened = -1
probe garbage cleanup = ok
probe cap opened=$cap refused=$((1000 - cap)) closed=$cap
probe readback ok
probe done
EOF
	sed 's/^/  console| /' $pcon
	cmp -s /tmp/probe.expected $pcon || fail "the probe's console is not the expected transcript (tests/e2e/test_proxy.cpp kProbeConsole)"
	ok "the probe's transcript: every attack -1, garbage without a call unanswered, the cap held, the readback intact"
	# in the directory what the probe was allowed to make, nothing else;
	# outside it nothing touched or made
	{
		echo escape
		echo probe-garbage
		echo probe-ok
		i=0
		while [ $i -lt $cap ]; do
			echo probe-$i
			i=$((i + 1))
		done
	} | sort >/tmp/probe.files
	ls -A $pdir | sort | cmp -s /tmp/probe.files - || { ls -lA $pdir; fail "the directory holds other files than the probe's"; }
	ok "the directory holds escape, probe-garbage, probe-ok and probe-0..probe-$((cap - 1))"
	[ "$(cat $pdir/probe-garbage)" = 0123456789 ] || fail "probe-garbage is '$(cat $pdir/probe-garbage)'"
	[ "$(cat /tmp/precious)" = "do not touch" ] || fail "the symlink's target changed: '$(cat /tmp/precious)'"
	[ -L $pdir/escape ] || fail "the planted symlink is gone"
	[ ! -e /tmp/outside ] && [ ! -e $pdir/sub ] || fail "sub/../../outside made something"
	ok "outside untouched: the symlink's target as it was, no /tmp/outside"
	# ampd said why: each reason once, then the rate limit's counts
	for line in \
		"refused OPEN \"../../etc/passwd\" flags 0x0 mode 00: '..' in the path" \
		"refused OPEN \"/etc/passwd\" flags 0x0 mode 00: absolute path" \
		"refused OPEN \"escape\" flags 0x241 mode 0644: a symlink in the path (symlinks are not followed)" \
		"refused OPEN \"sub/../../outside\" flags 0x41 mode 0644: '..' in the path" \
		"refused OPEN \"probe-flags\" flags 0x7ff00041 mode 0600: flags 0x7ff00000 not allowed" \
		"refused OPEN \"probe-mode\" flags 0x41 mode 017777777777: mode 017777777777 is not a file mode" \
		"ignored a 0-byte message" \
		"ignored a 3-byte message" \
		"refused OPEN: malformed: OPEN: 8-byte message, shorter than the 16-byte header" \
		"ignored a 16-byte message: unknown call id 99" \
		"refused OPEN: malformed: OPEN: data_len 400 runs past the 9 data bytes that came" \
		"refused OPEN: malformed: OPEN: path is not NUL-terminated within data_len 480" \
		"refused READ: malformed: READ: negative length -1" \
		"refused WRITE: malformed: WRITE: length 100 is more than the 10 data bytes sent" \
		"refused WRITE: malformed: WRITE: data_len 1000 runs past the 10 data bytes that came" \
		"refused CLOSE 77: not an open file" \
		"refused READ 1000: not an open file" \
		"too many open files (max_open_files $cap)"; do
		grep -qF -- "$line" $log || fail "ampd did not log: $line"
	done
	ok "ampd logged each kind of refusal with its reason"
	refused=$((6 + 8 + 1000 - cap))
	grep -qF "$refused refused (9 malformed), $((cap + 4)) files opened" $log ||
		fail "no '$refused refused (9 malformed), $((cap + 4)) files opened' in the session's summary"
	# every refusal a line or in a count ("N more refusals not logged",
	# "N refusals not logged (rate limit)" at the session's end)
	lines=$(grep -cE ': (refused |ignored a )' $log)
	counted=$(sed -n 's/.* \([0-9]*\) more refusals not logged.*/\1/p; s/.*; \([0-9]*\) refusals not logged (rate limit).*/\1/p' $log |
		awk '{ n += $1 } END { print n + 0 }')
	[ $((lines + counted)) = $((refused + 3)) ] ||
		fail "$lines refusal lines and $counted counted, wanted $((refused + 3)) ($refused refused, 3 ignored)"
	ok "$lines refusal lines and $counted counted by the rate limit: all $((refused + 3))"
	expect 0 ampctl stop r5-0
	# nothing of the session stays: no file of the directory, no endpoint.
	# The first session leaves the directory's own O_PATH fd (kept for the
	# next ones) and a timer of the loop: the fd count is judged after the
	# next session, against this one's
	ls -l /proc/$ampd_main/fd | sed 's/^/  fd| /'
	ls -l /proc/$ampd_main/fd | grep -E "$pdir/|rpmsg" && fail "ampd still holds a file or endpoint of the probe's session"
	ok "ampd holds no file or endpoint of the probe's session"
	fds=$(ampd_fds)
	# the service goes on: the rpc demo, served as ever
	expect 0 ampctl start r5-0 --firmware image_rpc_demo
	t_end=$(($(now_ms) + 60000))
	until [ "$(ampd_said 'proxy session over (')" -ge 2 ]; do
		[ "$(now_ms)" -lt $t_end ] || fail "the rpc demo's session did not end within 60 s"
		usleep 50000
	done
	[ "$(cat $pdir/remote.file)" = "This is a test string being written to file.." ] ||
		fail "remote.file is '$(cat $pdir/remote.file)'"
	grep -q "Read from fd = 3, size = 45" $pcon || fail "the demo's read back is not on its console"
	ok "the rpc demo after the probe: its file written and read back"
	expect 0 ampctl stop r5-0
	settle "ampd's fds after the demo's session, as after the probe's" $fds ampd_fds
	[ -z "$(splat)" ] || fail "kernel splat"
	stop_ampd
	;;
*)
	echo "unknown scenario $scenario"
	exit 2
	;;
esac
cleanup
echo "ok $scenario"
