#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd-analyze verify on ampd's units, and their security exposure kept
# at or below the OK band's limit (docs/systemd.md records the score).
# Usage: verify-units.sh UNIT_DIR AMPD AMPCTL
set -euo pipefail
units=$1 ampd=$2 ampctl=$3
# The units name the installed binaries; verify checks that they exist and
# are executable, so check copies that name this build's instead.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in ampd.service ampd.socket ampd-remote@.service; do
	sed -e "s|^ExecStart=[^ ]*/ampd\$|ExecStart=$ampd|" \
	    -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/ampctl |\1$ampctl |" "$units/$f" >"$work/$f"
done
cp "$work/ampd-remote@.service" "$work/ampd-remote@r5-0.service"
cd "$work"
# --man=no: the man pages are installed elsewhere than man(1) looks here.
out=$(systemd-analyze verify --man=no ./ampd.service ./ampd.socket ./ampd-remote@r5-0.service 2>&1) || {
	echo "$out"
	exit 1
}
# verify exits 0 on some warnings; every line it prints is a problem.
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "verify: ok"
# The OK band ends at 4.9; the units score far lower, so a regression in
# the hardening shows here long before it leaves the band.
for u in ampd.service ampd-remote@r5-0.service; do
	score=$(systemd-analyze security --offline=true ./"$u" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "$u: exposure $score"
	awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }' || { echo "$u: exposure above 2.0"; exit 1; }
done
