#!/bin/bash
# SPDX-License-Identifier: MIT
# The ctest verdict of one in-VM test: check-result.sh OUTDIR NAME [EXPECTED]
# Prints the test's output (OUTDIR/NAME.out) and passes iff the VM reported
# `AMPTEST NAME PASS` and, given EXPECTED, the output equals that file.
outdir=$1 name=$2 expected=${3:-}
[[ -f $outdir/$name.out ]] && cat "$outdir/$name.out"
line=$(grep -a "^AMPTEST $name " "$outdir/results.txt" 2>/dev/null)
echo "${line:-AMPTEST $name MISSING (the VM run did not report it; see $outdir/console.log)}"
[[ $line == "AMPTEST $name PASS"* ]] || exit 1
if [[ -n $expected ]]; then
	if ! diff -u "$expected" "$outdir/$name.out"; then
		echo "$name: transcript differs from $expected"
		exit 1
	fi
	echo "$name: transcript equals $expected"
fi
