#!/bin/sh
# SPDX-License-Identifier: MIT
# In the VM: run one stock demo program (tests/abi) against remoteproc0
# booted with the demo's firmware, as run-abi-test.sh does with ampsim.
#   run-demo.sh echo|matmul|proxy|proxy-tricky
#   run-demo.sh --console-input proxy|proxy-tricky   (print the console input;
#                                                   sim-diff.sh feeds ampsim the same)
# proxy-tricky walks the rpc remote's scanf() through a non-number age, an
# invalid repeat answer, a saturating int, exponents, "1e" (1 then "e") and
# input ending mid-pass (sticky EOF: a failed scanf returns -1, which the
# demo takes as success).
console_input() {
	case $1 in
	proxy) printf 'Alice\n42\n3.14\nno\n' ;;
	proxy-tricky) printf 'Bob\nxx\nCarol\n-7\n1.5e2\nmaybe\nDave 99999999999 2.5e-3 yes\nEve 1 1e\nno\n' ;;
	*) return 2 ;;
	esac
}
if [ "$1" = --console-input ]; then
	console_input "$2"
	exit
fi
demo=$1
rp=/sys/class/remoteproc/remoteproc0
case $demo in
echo) fw=image_echo_test expect='echo: 472 messages ok' args= ;;
matmul) fw=image_matrix_multiply expect='matmul: 20 rounds ok' args='--count 20 --seed 12345' ;;
proxy | proxy-tricky)
	fw=image_rpc_demo expect=
	rm -rf /tmp/files
	mkdir -p /tmp/files
	console_input $demo >/tmp/console.in
	args='--dir /tmp/files --console-in /tmp/console.in --deadline 30000'
	;;
*) echo "unknown demo $demo"; exit 2 ;;
esac
fail() { echo "FAIL: $*"; echo stop >$rp/state 2>/dev/null; exit 1; }

printf '%s' "$fw" >$rp/firmware || fail "firmware $fw"
printf start >$rp/state || fail "start"
i=0
until grep -qx rpmsg-openamp-demo-channel /sys/bus/rpmsg/devices/*/name 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 500 ] || fail "no channel within 5 s"
	usleep 10000
done
/bin/rpmsg_${demo%-*}_static -v $args >/tmp/demo.out 2>/tmp/demo.err
rc=$?
sed 's/^/  | /' /tmp/demo.err /tmp/demo.out
[ $rc = 0 ] || fail "rpmsg_${demo%-*}_static exited $rc"
if [ -n "$expect" ]; then grep -qxF "$expect" /tmp/demo.out || fail "no '$expect'"; fi
if [ ${demo%-*} = proxy ]; then
	want='This is a test string being written to file..'
	[ "$(cat /tmp/files/remote.file 2>/dev/null)" = "$want" ] || fail "remote.file is not '$want'"
	# strlen(), no NUL: $(cat) above would hide a trailing NUL byte
	size=$(wc -c </tmp/files/remote.file)
	[ "$size" -eq ${#want} ] || fail "remote.file has $size bytes, rpc_demo.c writes ${#want}"
fi
left=$(ls -d /dev/rpmsg[0-9]* 2>/dev/null)
[ -z "$left" ] || fail "endpoint nodes left: $left"
# the echo and matmul programs shut the remote down: its channel goes away
printf stop >$rp/state || fail "stop"
[ "$(cat $rp/state)" = offline ] || fail "state $(cat $rp/state) after stop"
echo "ok $demo"
