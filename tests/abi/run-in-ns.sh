#!/bin/bash
# SPDX-License-Identifier: MIT
# Run a command that sees ROOT/sys at /sys and ROOT/dev at /dev, in a private
# mount namespace, so that a program using the real absolute paths talks to
# the simulated kernel tree.
#
#   run-in-ns.sh ROOT -- CMD [ARGS...]
#
# Why /dev is ROOT/dev as a whole rather than a tmpfs with a few host nodes
# plus the simulated ones: the simulated nodes are not fixed, they come and go
# while the command runs (RPMSG_CREATE_EPT_IOCTL makes a new /dev/rpmsgK, a
# remote stop removes them), so /dev has to be the simulator's live directory;
# copies or per-node bind mounts taken at start would miss every node made
# later. The acceptance programs need nothing else from /dev: they open only
# rpmsg nodes, their stdin/stdout/stderr are opened by the caller before the
# namespace is entered (so `>/dev/null` given to this script still works),
# and neither glibc's startup nor its dynamic loader opens /dev for a
# non-setuid program. A command that needs host nodes (/dev/null, /dev/tty,
# /dev/urandom) by path is not one this script is meant for.
#
# Needs root (CAP_SYS_ADMIN) for unshare --mount and the bind mounts. Nothing
# leaks: the mounts die with the namespace when CMD exits.
set -euo pipefail

usage() {
	echo "usage: $0 ROOT -- CMD [ARGS...]" >&2
	exit 2
}

[ $# -ge 3 ] || usage
root=$1
shift
[ "$1" = "--" ] || usage
shift

root=$(realpath -e -- "$root") || { echo "$0: no such root: $1" >&2; exit 2; }
for d in sys dev; do
	if [ ! -d "$root/$d" ]; then
		echo "$0: $root/$d is not a directory (is the simulator running?)" >&2
		exit 2
	fi
done

# --propagation private: our bind mounts must not leak back into the parent
# namespace (the default of unshare(1), spelled out because it matters).
# --rbind: take submounts of ROOT/sys or ROOT/dev along (a simulated debugfs,
# say). The inner shell runs before /dev is replaced and then execs CMD.
exec unshare --mount --propagation private -- /bin/sh -c '
	set -e
	root=$1
	shift
	mount --rbind "$root/sys" /sys
	mount --rbind "$root/dev" /dev
	exec "$@"
' run-in-ns "$root" "$@"
