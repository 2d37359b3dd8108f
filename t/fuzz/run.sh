#!/bin/sh
# run.sh - run each fuzzer given for FUZZ_SECONDS (default 60) over its
# corpus, t/fuzz/corpus/NAME.  New inputs go to a temporary directory, not
# into the repository; a crash leaves its input in the current directory
# (libFuzzer's crash-*) and makes the exit status non-zero.
# Prints one TAP line per fuzzer: "ok - fuzz NAME: N runs" or "not ok".
cd "$(dirname "$0")/../.." || exit 70
secs=${FUZZ_SECONDS:-60}
status=0
for f in "$@"; do
	name=$(basename "$f")
	work=$(mktemp -d) || exit 70
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    "$work" "t/fuzz/corpus/$name" >"$work.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
		echo "ok - fuzz $name: ${runs:-?} runs in ${secs}s, no crash"
	else
		echo "not ok - fuzz $name: see below"
		grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$work.log" | head -20 | sed 's/^/# /'
		status=1
	fi
	rm -rf "$work" "$work.log"
done
exit $status
