#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with Debian's clang in a build tree of their
# own and run each for AMP_FUZZ_SECONDS (60) seconds, two at a time, on a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>, never
# written). Fails on any crash, leak, timeout or out-of-memory, printing
# the input (hex and base64) and libFuzzer's report; prints the executions
# of every target. The test fuzz.libfuzzer (label fuzz) runs this.
# Usage: fuzz-run.sh SOURCE_DIR BUILD_DIR [TARGET...]
#   AMP_FUZZ_SECONDS  seconds per target (default 60)
#   AMP_FUZZ_JOBS     targets at once (default 2)
set -euo pipefail
src=$1 build=$2
shift 2
seconds=${AMP_FUZZ_SECONDS:-60}
jobs=${AMP_FUZZ_JOBS:-2}

for tool in clang clang++; do
	command -v "$tool" >/dev/null || { echo "fuzz-run: $tool missing (tests/install-deps.sh installs it)"; exit 1; }
done

# The outer run's sanitizer options are for its own programs; libFuzzer
# handles the crash itself and writes the input (abort_on_error would only
# add a core dump).
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ ! -f "$build/CMakeCache.txt" ]; then
	mkdir -p "$build"
	CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
fi
grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build/CMakeCache.txt" ||
	{ echo "fuzz-run: $build is not a clang build"; exit 1; }
# Two shared cores: nice, and no more than two jobs.
start=$(date +%s)
nice ninja -C "$build" -j2 fuzz_all >"$build.build.log" 2>&1 || { tail -n 60 "$build.build.log"; exit 1; }
echo "fuzz-run: built in $(($(date +%s) - start)) s"

targets=("$@")
if ((${#targets[@]} == 0)); then
	for f in "$build"/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && [ -f "$f" ] && targets+=("$(basename "$f")")
	done
fi
((${#targets[@]})) || { echo "fuzz-run: no targets were built"; exit 1; }

out=$(mktemp -d "${TMPDIR:-/tmp}/ampd-fuzz.XXXXXX")
trap 'rm -rf "$out"' EXIT

# One target: the seeds copied to scratch (new inputs land there), the
# run's log, and its exit code.
run_one() {
	local t=$1 name=${1#fuzz_}
	local dir=$out/$name
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp -r "$src/tests/fuzz/corpus/$name/." "$dir/corpus/" 2>/dev/null || true
	local rc=0
	nice "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len=65600 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" \
		>"$dir/log" 2>&1 || rc=$?
	echo "$rc" >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
	[ -x "$build/tests/fuzz/$t" ] || { echo "fuzz-run: no target $t"; exit 1; }
	run_one "$t" &
	running=$((running + 1))
	if ((running >= jobs)); then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

failed=0
printf '%-16s %12s %10s %8s %s\n' TARGET EXECUTIONS EXEC/S CORPUS RESULT
for t in "${targets[@]}"; do
	name=${t#fuzz_} dir=$out/${t#fuzz_}
	rc=$(cat "$dir/rc")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	units=$(find "$dir/corpus" -type f | wc -l)
	artifacts=$(find "$dir/artifacts" -type f | wc -l)
	if [ "$rc" = 0 ] && [ "$artifacts" = 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc)"
		failed=1
	fi
	printf '%-16s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$units" "$result"
done

if ((failed)); then
	for t in "${targets[@]}"; do
		dir=$out/${t#fuzz_}
		[ "$(cat "$dir/rc")" = 0 ] && [ -z "$(ls -A "$dir/artifacts")" ] && continue
		echo
		echo "=== $t: the end of its log"
		tail -n 60 "$dir/log"
		for a in "$dir"/artifacts/*; do
			[ -f "$a" ] || continue
			echo "--- $(basename "$a") ($(stat -c %s "$a") bytes), hex:"
			od -An -tx1 -v "$a" | head -n 64
			echo "--- base64 (reproduce: base64 -d > input; $build/tests/fuzz/$t input):"
			base64 -w 76 "$a" | head -n 64
		done
	done
	exit 1
fi
