#!/bin/sh
# run.sh - benchmark bin/event-decode against mawk and jq on generated logs,
# and bin/rate-gate (embedded, and through a private Redis) beside
# redis-benchmark (bench/rate-gate.sh).  Called by `make bench` (after
# `make all`) from the project root; see bench/README.md.
#
# Environment:
#   BENCH_ONLY      event-decode, anomaly-detect, rate-gate or webhook-send: run
#                   only that part
#                   (default: all)
#   BENCH_LINES     lines per generated file (default 1000000)
#   BENCH_RUNS      timed runs per command; the median is reported (default 5)
#   BENCH_SEED      generator seed (default 1)
#   BENCH_CPU       CPU to pin every measured process to with taskset (default 0;
#                   empty: no pinning)
#   BENCH_JQ_LINES  lines of the ndjson slice given to jq (default 100000)
#   EVENT_DECODE    the program under test (default bin/event-decode)
#   ANOMALY_DETECT  likewise (default bin/anomaly-detect)
#   PYTHON          python3 to run gen.py and measure.py with (default python3)
#
#   RATE_GATE       the rate-gate under test (default bin/rate-gate)
#   BENCH_REDIS_CPU CPU for the private redis-server (default 1; empty: not pinned)
#   BENCH_LAT_N     records sent one at a time for the latency rows (default 2000)
#
#   WEBHOOK_SEND    the webhook-send under test (default bin/webhook-send)
#   BENCH_WS_N      records per webhook-send run (default 20000)
#   BENCH_WS_PEER_N records for the xargs -P 32 curl peer (default 2000)
#   BENCH_WS_WAIT   retries waiting for the memory row (default 10000)
#   BENCH_SINK_CPU  CPU for the nginx sink (default 1; empty: not pinned)
#
#   BENCH_STRICT    1: exit 1 when a program misses a target (default 0)
#
# Exit status: 0 when every command ran and wrote one line per input line
# (and, with BENCH_STRICT=1, every target was met); 1 otherwise; 2 when the
# benchmark itself could not run.
set -eu

cd "$(dirname "$0")/.."

LINES=${BENCH_LINES:-1000000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
CPU=${BENCH_CPU-0}
JQ_LINES=${BENCH_JQ_LINES:-100000}
ED=${EVENT_DECODE:-bin/event-decode}
PY=${PYTHON:-python3}
DATA=bench/data

ONLY=${BENCH_ONLY:-}

die() { echo "bench: $*" >&2; exit 2; }

case $ONLY in ''|event-decode|anomaly-detect|rate-gate|webhook-send) ;; *) die "BENCH_ONLY must be event-decode, anomaly-detect, rate-gate or webhook-send" ;; esac
# part NAME: is NAME's part of the benchmark to run?
part() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

case $LINES in ''|*[!0-9]*) die "BENCH_LINES must be a positive integer" ;; esac
case $RUNS in ''|*[!0-9]*) die "BENCH_RUNS must be a positive integer" ;; esac
case $JQ_LINES in ''|*[!0-9]*) die "BENCH_JQ_LINES must be a positive integer" ;; esac
if [ "$LINES" -lt 1 ] || [ "$RUNS" -lt 1 ] || [ "$JQ_LINES" -lt 1 ]; then
	die "BENCH_LINES, BENCH_RUNS and BENCH_JQ_LINES must be at least 1"
fi
command -v "$PY" >/dev/null 2>&1 || die "$PY not found"

mkdir -p "$DATA"

# newer A B: A was modified after B (find -newer: POSIX, unlike test -nt).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# gen KIND: make $DATA/KIND.log unless it is there for the same lines and
# seed and is newer than gen.py.
gen() {
	f=$DATA/$1.log
	want="lines=$LINES seed=$SEED"
	if [ -f "$f" ] && [ -f "$f.stamp" ] && [ "$(cat "$f.stamp")" = "$want" ] &&
	   ! newer bench/gen.py "$f"; then
		echo "bench: $f: cached ($want)" >&2
		return 0
	fi
	echo "bench: $f: generating ($want)" >&2
	rm -f "$f.stamp"
	"$PY" bench/gen.py "$1" -n "$LINES" -s "$SEED" >"$f.tmp" || die "gen.py $1 failed"
	mv "$f.tmp" "$f"
	echo "$want" >"$f.stamp"
}

if part event-decode; then
	gen combined
	gen sshd
fi
gen ndjson

# The slice of the ndjson file that jq gets (jq is slow).
slice=$DATA/ndjson.slice.log
[ "$JQ_LINES" -lt "$LINES" ] || JQ_LINES=$LINES
want="lines=$JQ_LINES of $(cat "$DATA/ndjson.log.stamp")"
if [ ! -f "$slice" ] || [ ! -f "$slice.stamp" ] || [ "$(cat "$slice.stamp")" != "$want" ] ||
   newer "$DATA/ndjson.log" "$slice"; then
	head -n "$JQ_LINES" "$DATA/ndjson.log" >"$slice.tmp"
	mv "$slice.tmp" "$slice"
	echo "$want" >"$slice.stamp"
fi

# The ndjson events with every url.original made distinct (a query
# parameter holding the line number): anomaly-detect remembers what its
# conditions said of each value seen, and this shows what an event costs
# when the busiest matched field never repeats.
unique=$DATA/ndjson.unique.log
if [ ! -f "$unique" ] || newer "$DATA/ndjson.log" "$unique"; then
	awk '{
		if (match($0, /"url":\{"original":"[^"]*/)) {
			u = substr($0, RSTART, RLENGTH)
			$0 = substr($0, 1, RSTART - 1) u (index(u, "?") ? "&r=" : "?r=") NR \
			    substr($0, RSTART + RLENGTH)
		}
		print
	}' "$DATA/ndjson.log" >"$unique.tmp" && mv "$unique.tmp" "$unique"
fi

# Pinning: only when taskset exists and can pin to that CPU here.
pin=
if [ -n "$CPU" ]; then
	if ! command -v taskset >/dev/null 2>&1; then
		echo "bench: taskset not found (util-linux): processes are not pinned" >&2
	elif ! taskset -c "$CPU" true 2>/dev/null; then
		echo "bench: taskset -c $CPU fails here: processes are not pinned" >&2
	else
		pin="-c $CPU"
	fi
fi

results=$(mktemp "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -f "$results"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# measure LABEL FORMAT FILE [measure.py options --] CMD...
measure() {
	label=$1 fmt=$2 file=$3
	shift 3
	# shellcheck disable=SC2086
	"$PY" bench/measure.py run -r "$results" -n "$RUNS" $pin -l "$label" -f "$fmt" \
		-i "$file" "$@" || true
}

# Throughput targets for event-decode (lines/s by wall clock) and its RSS cap.
RSS_MIB=20

have_ed=1
case $ED in
*/*) [ -f "$ED" ] && [ -x "$ED" ] ;;
*) command -v "$ED" >/dev/null 2>&1 ;;
esac || {
	echo "bench: $ED not found or not executable: its rows are skipped" >&2
	have_ed=0
}
have_mawk=1; command -v mawk >/dev/null 2>&1 || { have_mawk=0; echo "bench: mawk not found (make deps): its rows are skipped" >&2; }
have_jq=1; command -v jq >/dev/null 2>&1 || { have_jq=0; echo "bench: jq not found (make deps): its row is skipped" >&2; }

edname=$(basename "$ED")
part event-decode || have_ed=skip

if [ $have_ed = 1 ]; then
	measure "$edname" combined "$DATA/combined.log" \
		--target-lps 1000000 --target-rss-mib $RSS_MIB -- "$ED" -f combined
fi
if [ $have_mawk = 1 ] && part event-decode; then
	measure "mawk -f combined.awk" combined "$DATA/combined.log" -- mawk -f bench/combined.awk
	measure "mawk {print}" combined "$DATA/combined.log" -- mawk '{print}'
fi

if [ $have_ed = 1 ]; then
	measure "$edname" sshd "$DATA/sshd.log" \
		--target-lps 1000000 --target-rss-mib $RSS_MIB -- "$ED" -f sshd
fi
if [ $have_mawk = 1 ] && part event-decode; then
	measure "mawk -f sshd.awk" sshd "$DATA/sshd.log" -- mawk -f bench/sshd.awk
	measure "mawk {print}" sshd "$DATA/sshd.log" -- mawk '{print}'
fi

if [ $have_ed = 1 ]; then
	measure "$edname" json "$DATA/ndjson.log" \
		--target-lps 1500000 --target-rss-mib $RSS_MIB -- "$ED" -f json
fi
if [ $have_jq = 1 ] && part event-decode; then
	measure "jq -c . (slice)" json "$slice" \
		--note "jq ran on the first $JQ_LINES lines only; its per-line figures (lines/s, MB/s) compare directly, its wall and CPU s are for the slice" \
		-- jq -c .
fi
if [ $have_mawk = 1 ]; then
	# The floor of line I/O on ndjson.log, for both programs' rows.
	measure "mawk {print}" json "$DATA/ndjson.log" -- mawk '{print}'
fi

# anomaly-detect over the same events: 30 hand-written rules and 500
# (bench/rules.py), beside jq doing the work of one of the 30 (health-down).
AD=${ANOMALY_DETECT:-bin/anomaly-detect}
if ! part anomaly-detect; then
	:
elif [ -x "$AD" ]; then
	"$PY" bench/rules.py 30 >"$DATA/rules30.yaml" || die "rules.py failed"
	"$PY" bench/rules.py 500 >"$DATA/rules500.yaml" || die "rules.py failed"
	measure "anomaly-detect, 30 rules" events "$DATA/ndjson.log" --any-lines \
		--target-lps 1000000 --target-rss-mib 50 -- "$AD" -r "$DATA/rules30.yaml"
	measure "anomaly-detect, 500 rules" events "$DATA/ndjson.log" --any-lines \
		--target-lps 300000 --target-rss-mib 50 -- "$AD" -r "$DATA/rules500.yaml"
	measure "anomaly-detect, 30, paths unique" events "$unique" --any-lines \
		--note "every url.original made distinct (bench/run.sh): no remembered result for that field" \
		-- "$AD" -r "$DATA/rules30.yaml"
else
	echo "bench: $AD not found or not executable: its rows are skipped" >&2
fi
if part anomaly-detect && [ $have_jq = 1 ]; then
	measure "jq select, 1 rule (slice)" events "$slice" --any-lines \
		--note "jq ran on the first $JQ_LINES lines only: select(.url.original == \"/healthz\" and .http.response.status_code != 200)" \
		-- jq -c 'select(.url.original == "/healthz" and .http.response.status_code != 200)'
fi

# rate-gate: its rows, the Redis ceiling and the latency lines ($extra).
extra=$(mktemp "${TMPDIR:-/tmp}/sluice-bench-extra.XXXXXX")
trap 'rm -f "$results" "$extra"' EXIT
if part rate-gate; then
	. bench/rate-gate.sh
fi
if part webhook-send; then
	. bench/webhook-send.sh
fi

# Report.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
ed_version=$("$ED" --version 2>/dev/null | head -n 1) || ed_version=
echo
echo "sluice bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), ${cpu_model:-unknown CPU}, $(nproc 2>/dev/null || echo '?') CPUs"
rss_how="peak RSS from GNU time"
[ -x /usr/bin/time ] || rss_how="no GNU time: RSS is an upper bound"
echo "runs: $RUNS timed (+1 untimed check) per row, median shown; $([ -n "$pin" ] && echo "pinned with taskset $pin" || echo "not pinned"); input on stdin from bench/data (page cache), output to /dev/null; $rss_how"
ed_state=${ed_version:+ ($ed_version)}
[ $have_ed = 1 ] || ed_state=" (NOT FOUND: its rows are missing)"
if part event-decode; then
	echo "program under test: $ED$ed_state; peers: $(mawk -W version 2>&1 | head -n 1), $(jq --version 2>&1)"
	echo "files: $(for k in combined sshd ndjson; do printf '%s.log %s MB  ' "$k" $(( $(wc -c <"$DATA/$k.log") / 1000000 )); done)"
	echo "targets (event-decode): combined, sshd >= 1,000,000 lines/s; json >= 1,500,000 lines/s (by wall clock); max RSS < $RSS_MIB MiB"
fi
if part rate-gate; then
	echo "program under test: $RG${rg_version:+ ($rg_version)}; $(redis-server --version 2>/dev/null | cut -d' ' -f1-3); file: ndjson.log $(( $(wc -c <"$DATA/ndjson.log") / 1000000 )) MB"
	echo "targets (rate-gate, one core): embedded >= 1,000,000 records/s; through Redis >= 100,000 records/s; one record at a time p99 < 1 ms"
fi
if part anomaly-detect; then
	echo "program under test: $AD; peer: $(jq --version 2>&1) doing one of the 30 rules"
	echo "targets (anomaly-detect): 30 rules >= 1,000,000 events/s, 500 rules >= 300,000 events/s; max RSS < 50 MiB"
fi
echo
[ -s "$results" ] || [ -s "$extra" ] || die "nothing was measured"
status=0
: >"$DATA/results.txt"
if [ -s "$results" ]; then
	"$PY" bench/measure.py report "$results" >"$DATA/results.txt" || status=$?
fi
if [ -s "$extra" ]; then
	{ echo; cat "$extra"; } >>"$DATA/results.txt"
	if grep -q 'ERROR' "$extra"; then
		status=2
	elif grep -q 'FAIL' "$extra" && [ "$status" -eq 0 ]; then
		status=1
	fi
fi
cat "$DATA/results.txt"
case $status in
0) ;;
1) echo; echo "bench: a target was missed (exit status 1 only with BENCH_STRICT=1)"
   [ "${BENCH_STRICT:-0}" = 1 ] || status=0 ;;
*) echo; echo "bench: a measured program failed or wrote the wrong number of lines"; status=1 ;;
esac
if [ $have_ed = 0 ]; then
	echo; echo "bench: $ED was not found, so it was not measured"; status=1
fi
if [ "${have_rg:-1}" = 0 ]; then
	echo; echo "bench: $RG was not found, so it was not measured"; status=1
fi
exit $status
