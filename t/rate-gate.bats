#!/usr/bin/env bats
# rate-gate: sliding-window limits per key, in process or shared through Redis.

load helpers/common
load helpers/redis

setup_file() {
	redis_start "$BATS_FILE_TMPDIR" --enable-debug-command local
}

teardown_file() {
	redis_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	# Each test its own key space on the shared server.
	P="t$BATS_TEST_NUMBER:"
	# Embedded mode unless a test asks for Redis: REDIS_URL from
	# redis_start would otherwise select it.
	RURL=$REDIS_URL
	unset REDIS_URL
}

teardown() {
	# A test that started a process in the background stops it here too
	# when it failed half way.
	[ -z "${RG_PID:-}" ] || kill "$RG_PID" 2>/dev/null || true
	[ -z "${PW_DIR:-}" ] || { kill "$(cat "$PW_DIR/redis.pid")" 2>/dev/null || true; }
}

# records N [KEY]: N records {"n":i,"k":KEY} (i from 1).
records() {
	seq -f "{\"n\":%g,\"k\":\"${2:-a}\"}" 1 "$1"
}

# wait_lines FILE N: until FILE has at least N lines (10 s at most).
wait_lines() {
	local i
	for i in $(seq 200); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "# $1 has $(wc -l <"$1" 2>/dev/null || echo no) lines, wanted $2" >&3
	return 1
}

# start_fifo ARGS...: rate-gate ARGS reading the FIFO "in" (held open on
# fd 7), writing "out" and "err"; RG_PID is its pid.
start_fifo() {
	mkfifo in
	rate-gate "$@" <in >out 2>err &
	RG_PID=$!
	exec 7>in
}

# stop_fifo: close the input and wait for the exit status (in $status).
stop_fifo() {
	exec 7>&-
	status=0
	wait "$RG_PID" || status=$?
	RG_PID=
}

# --- the command line -------------------------------------------------------

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr rate-gate --help
	assert_output --partial 'usage: rate-gate'
	[ -z "$stderr" ]
}

@test "every option in --help is in the man page" {
	options_in_man rate-gate
}

@test "the man page is clean under mandoc -Tlint -Wwarning" {
	run -0 mandoc -Tlint -Wwarning "$ROOT/man/man1/rate-gate.1"
	assert_output ""
}

@test "--version names the program and the version" {
	run -0 rate-gate --version
	assert_output --regexp '^rate-gate \(sluice\) [0-9]+\.[0-9]+'
}

@test "an unknown option is a usage error (64)" {
	run -64 --separate-stderr rate-gate --no-such-option </dev/null
	assert_equal "$output" ""
	[[ $stderr == *"--help"* ]]
}

@test "--limit and --window are required (64)" {
	run -64 --separate-stderr rate-gate -l 5 </dev/null
	[[ $stderr == *"--limit and --window are required"* ]]
	run -64 rate-gate -w 1m </dev/null
}

@test "bad numbers and durations are usage errors that name the value (64)" {
	run -64 --separate-stderr rate-gate -l 0 -w 1m </dev/null
	[[ $stderr == *"--limit 0: too small"* ]]
	run -64 --separate-stderr rate-gate -l 5 -w 10 </dev/null
	[[ $stderr == *"--window 10"* ]]
	run -64 --separate-stderr rate-gate -l 5 -w 1m --exceed maybe </dev/null
	[[ $stderr == *"drop, tag or divert"* ]]
	run -64 --separate-stderr rate-gate -l 5 -w 1m --fail sometimes </dev/null
	[[ $stderr == *"open, closed or local"* ]]
}

@test "a key template with an unclosed brace is a usage error naming the column (64)" {
	run -64 --separate-stderr rate-gate -l 5 -w 1m -k 'x:{rule.id' </dev/null
	[[ $stderr == *"column 3"*"unclosed"* ]]
}

@test "--exceed divert without --divert is a usage error (64)" {
	run -64 --separate-stderr rate-gate -l 5 -w 1m -e divert </dev/null
	[[ $stderr == *"needs --divert"* ]]
}

@test "a bad --redis URL is a configuration error (78) saying what is wrong" {
	run -78 --separate-stderr rate-gate -l 5 -w 1m --redis http://localhost </dev/null
	[[ $stderr == *'bad Redis URL "http://localhost"'* ]]
	run -78 --separate-stderr rate-gate -l 5 -w 1m --redis redis://host:99999 </dev/null
	[[ $stderr == *"port"* ]]
	run -78 --separate-stderr rate-gate -l 5 -w 1m --redis unix://relative.sock </dev/null
	[[ $stderr == *"absolute"* ]]
	REDIS_URL=redis://h/notanumber run -78 --separate-stderr rate-gate -l 5 -w 1m </dev/null
	[[ $stderr == *"database"* ]]
}

@test "--state with Redis is a usage error (64)" {
	run -64 --separate-stderr rate-gate -l 5 -w 1m -R "$RURL" -s st </dev/null
	[[ $stderr == *"--state"* ]]
}

# --- embedded mode ----------------------------------------------------------

@test "empty input gives no output and exit 0" {
	run -0 --separate-stderr rate-gate -l 5 -w 1m </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "the first N records of each key pass byte for byte, in input order" {
	printf '%s\n' '{"n":1,"k":"a"}' '{"n":2,"k":"b"}' '{"n":3,"k":"a"}' '{"n":4,"k":"a"}' \
		'{"n" : 5,   "k":"b"}' '{"n":6,"k":"a"}' '{"n":7,"k":"b"}' > in
	run -0 --separate-stderr rate-gate -l 2 -w 1m -k '{k}' < in
	assert_output "$(sed -n '1,3p;5p' in)"
	assert_equal "$stderr" ""
}

@test "without --key every record shares one key" {
	run -0 rate-gate -l 4 -w 1m < <(records 10 a; records 10 b)
	[ "$(wc -l <<<"$output")" -eq 4 ]
}

@test "--exceed tag passes everything and marks the excess rate.allowed false" {
	records 6 > in
	run -0 --separate-stderr rate-gate -l 2 -w 1m -e tag < in
	[ "$(wc -l <<<"$output")" -eq 6 ]
	# The allowed ones are untouched.
	assert_equal "$(head -2 <<<"$output")" "$(head -2 in)"
	run jq -c '[.n, .rate.allowed, .rate.count, .rate.remaining]' <<<"$(tail -4 <<<"$output")"
	assert_output $'[3,false,2,0]\n[4,false,2,0]\n[5,false,2,0]\n[6,false,2,0]'
}

@test "--annotate adds key, count, limit, window_s, allowed, remaining and retry_after_ms" {
	printf '{"a":{"b":"x\\u0041"},"rate":"old"}\n{"a":{"b":"xA"}}\n{"a":{"b":"xA"}}\n' > in
	run -0 --separate-stderr rate-gate -l 2 -w 90s -k 'k:{a.b}' -a -e tag < in
	printf '%s\n' "$output" > out
	run jq -c '.rate' out
	assert_line --index 0 '{"key":"k:xA","count":1,"limit":2,"window_s":90,"allowed":true,"remaining":1,"retry_after_ms":0}'
	assert_line --index 1 '{"key":"k:xA","count":2,"limit":2,"window_s":90,"allowed":true,"remaining":0,"retry_after_ms":0}'
	retry=$(jq -r 'select(.rate.allowed == false) | .rate.retry_after_ms' out)
	[ "$retry" -gt 85000 ] && [ "$retry" -le 90000 ]
	# An existing "rate" member is replaced, not duplicated; the rest of
	# the record is as it was, escapes included.
	[ "$(head -1 out | grep -o '"rate"' | wc -l)" -eq 1 ]
	[[ $(head -1 out) == '{"a":{"b":"x\u0041"},"rate":{"key":"k:xA",'* ]]
}

@test "annotated records, tagged and degraded ones included, match schema/rate.schema.json" {
	records 5 > in
	rate-gate -l 2 -w 1500ms -a -e tag < in > out
	rate-gate -l 2 -w 1m -k '{k}' -R "unix://$BATS_TEST_TMPDIR/none.sock" -F local --local-limit 1 -e tag < in >> out 2>/dev/null
	rate-gate -l 2 -w 1m -R "unix://$BATS_TEST_TMPDIR/none.sock" < in >> out 2>/dev/null
	[ "$(wc -l < out)" -eq 15 ]
	run -0 validate rate out
	assert_output "15 valid"
}

@test "window_s is fractional for windows that are not whole seconds" {
	run -0 rate-gate -l 1 -w 1500ms -a < <(records 1)
	[ "$(jq -c .rate.window_s <<<"$output")" = 1.5 ]
}

@test "an object key renders as canonical JSON: key order does not matter" {
	printf '%s\n' '{"alert":{"group":{"b":1,"a":"x"}}}' '{"alert":{"group":{"a":"x", "b":1}}}' \
		'{"alert":{"group":{"a":"y","b":1}}}' > in
	run -0 rate-gate -l 1 -w 1m -k '{alert.group}' -a < in
	[ "$(wc -l <<<"$output")" -eq 2 ]
	run jq -r .rate.key <<<"$output"
	assert_line --index 0 '{"a":"x","b":1}'
	assert_line --index 1 '{"a":"y","b":1}'
}

@test "flat dotted keys are found like nested ones" {
	printf '%s\n' '{"rule.id":"r1"}' '{"rule":{"id":"r1"}}' '{"rule":{"id":"r2"}}' > in
	run -0 rate-gate -l 1 -w 1m -k '{rule.id}' -a < in
	run jq -r .rate.key <<<"$output"
	assert_output $'r1\nr2'
}

@test "a missing key field renders empty and is counted" {
	printf '%s\n' '{"k":"a"}' '{"other":1}' '{"other":2}' > in
	run -0 --separate-stderr rate-gate -v -l 1 -w 1m -k 'x{k}' -a < in
	run jq -r .rate.key <<<"$output"
	assert_output $'xa\nx'
	[[ $stderr == *"missing-key 2"* ]]
	[[ $stderr == *"allowed 2 exceeded 1"* ]]
}

@test "sliding window on event time: half-open, exceeded records do not count" {
	# limit 2 per 10 s.  Expected verdicts worked out by hand:
	#  0.0 y  1.0 y  2.0 n  9.9 n  10.0 y (0.0 is exactly 10 s old: out)
	#  10.5 n  11.0 y (1.0 out)  11.5 n  20.0 y  20.0 n  25.0 y
	#  30.0 y (20.0 out)  30.1 n
	python3 - <<-'EOF' > in
	import datetime
	base = datetime.datetime(2026, 11, 22, 0, 0, 0, tzinfo=datetime.timezone.utc)
	for i, s in enumerate([0, 1, 2, 9.9, 10, 10.5, 11, 11.5, 20, 20, 25, 30, 30.1]):
	    t = base + datetime.timedelta(seconds=s)
	    print('{"@timestamp":"%s","i":%d}' % (t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000), i))
	EOF
	run -0 --separate-stderr rate-gate -c event -l 2 -w 10s -e tag -a < in
	run jq -r '.rate.allowed' <<<"$output"
	assert_equal "$(tr '\n' ' ' <<<"$output")" "true true false false true false true false true false true true false "
	# The same through Redis.
	run -0 --separate-stderr rate-gate -c event -l 2 -w 10s -e tag -a -R "$RURL" -p "$P" < in
	run jq -r '.rate.allowed' <<<"$output"
	assert_equal "$(tr '\n' ' ' <<<"$output")" "true true false false true false true false true false true true false "
}

@test "embedded and Redis modes agree on a random event-time stream, retry_after_ms included" {
	python3 - <<-'EOF' > in
	import random, datetime
	r = random.Random(7)
	base = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
	t = 0.0
	for i in range(3000):
	    t += r.expovariate(40)          # ~40 records/s over 3 keys
	    s = base + datetime.timedelta(seconds=t)
	    print('{"@timestamp":"%s.%03dZ","k":"%s"}' % (s.strftime("%Y-%m-%dT%H:%M:%S"), s.microsecond // 1000, r.choice("abc")))
	EOF
	rate-gate -c event -l 7 -w 2s -k '{k}' -e tag -a < in | jq -c .rate > embedded
	rate-gate -c event -l 7 -w 2s -k '{k}' -e tag -a -R "$RURL" -p "$P" -b 50 < in | jq -c .rate > redis
	[ "$(wc -l < embedded)" -eq 3000 ]
	diff embedded redis
	# Not trivially all-pass or all-exceeded.
	grep -q '"allowed":false' embedded
	grep -q '"allowed":true' embedded
}

@test "embedded memory stays bounded: keys idle for a window are dropped" {
	# 20,000 keys, one record each, 10 ms apart, window 1 s: about 100 keys
	# are in the window at any time.
	python3 - <<-'EOF' > in
	import datetime
	b = datetime.datetime(2026, 11, 22, tzinfo=datetime.timezone.utc)
	for i in range(20000):
	    t = b + datetime.timedelta(milliseconds=10 * i)
	    print('{"@timestamp":"%s.%03dZ","k":%d}' % (t.strftime("%Y-%m-%dT%H:%M:%S"), t.microsecond // 1000, i))
	EOF
	run -0 --separate-stderr rate-gate -v -c event -l 1 -w 1s -k '{k}' < in
	[ "$(wc -l <<<"$output")" -eq 20000 ]
	keys=$(grep -o 'keys [0-9]*' <<<"$stderr" | cut -d' ' -f2)
	[ "$keys" -le 300 ] || fail "$keys keys held"
}

@test "--clock event rejects a record without a usable @timestamp" {
	printf '%s\n' '{"@timestamp":"2026-11-22T00:00:00.000Z"}' '{"x":1}' '{"@timestamp":"yesterday"}' > in
	run -0 --separate-stderr rate-gate -c event -l 5 -w 1m -r rej < in
	[ "$(wc -l <<<"$output")" -eq 1 ]
	run jq -r '.reject | "\(.line) \(.error)"' rej
	assert_line --index 0 --partial '2 no @timestamp'
	assert_line --index 1 --partial '3 @timestamp is not an RFC 3339 time'
}

# --- bad input --------------------------------------------------------------

@test "invalid JSON, non-objects and invalid UTF-8 are rejected with line numbers and the stream goes on" {
	printf '{"n":1}\n{"n":\n[1,2]\n{"s":"\xff"}\n{"n":5}\n' > in
	run -0 --separate-stderr rate-gate -l 10 -w 1m -r rej < in
	assert_output $'{"n":1}\n{"n":5}'
	run jq -r '.reject | "\(.line) \(.program) \(.raw_b64 != null)"' rej
	assert_output $'2 rate-gate false\n3 rate-gate false\n4 rate-gate true'
}

@test "without --reject, bad lines are warned about on stderr" {
	run -0 --separate-stderr rate-gate -l 10 -w 1m < <(printf 'nope\n{"n":2}\n')
	assert_output '{"n":2}'
	[[ $stderr == *"line 1"* ]]
}

@test "--strict exits 65 at the first rejected line" {
	run -65 --separate-stderr rate-gate -l 10 -w 1m --strict < <(printf '{"n":1}\nnope\n{"n":3}\n')
	assert_output '{"n":1}'
}

@test "LF, CRLF and bare CR all end records" {
	printf '{"n":1}\r\n{"n":2}\r{"n":3}\n{"n":4}' > in
	run -0 --separate-stderr rate-gate -l 10 -w 1m < in
	assert_output $'{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}'
}

@test "a line over --max-line is rejected whole and the next line passes" {
	python3 -c 'print("{\"big\":\"" + "x" * 5000 + "\"}"); print("{\"n\":2}")' > in
	run -0 --separate-stderr rate-gate -l 10 -w 1m -M 1K -r rej < in
	assert_output '{"n":2}'
	run jq -r '.reject | "\(.line) \(.error) \(.bytes)"' rej
	assert_output '1 line longer than --max-line 5010'
}

@test "empty lines are skipped, not rejected" {
	run -0 --separate-stderr rate-gate -l 10 -w 1m -r rej < <(printf '\n{"n":1}\n\n')
	assert_output '{"n":1}'
	[ ! -s rej ]
}

# --- divert, state, signals -------------------------------------------------

@test "--divert writes the excess to a file: stdout and the file together are the input" {
	records 10 > in
	run -0 --separate-stderr rate-gate -l 4 -w 1m -d div < in
	assert_equal "$output" "$(head -4 in)"
	assert_equal "$(cat div)" "$(tail -6 in)"
}

@test "--state keeps the windows across a restart" {
	records 3 > in
	run -0 rate-gate -l 5 -w 1h -s st < in
	[ "$(wc -l <<<"$output")" -eq 3 ]
	[ -s st ]
	run -0 rate-gate -l 5 -w 1h -s st < in
	[ "$(wc -l <<<"$output")" -eq 2 ]
	run -0 rate-gate -l 5 -w 1h -s st < in
	assert_equal "$output" ""
	# Without the state file the limit starts over.
	run -0 rate-gate -l 5 -w 1h < in
	[ "$(wc -l <<<"$output")" -eq 3 ]
}

@test "--state keeps each key apart and drops stamps that left the window" {
	printf '%s\n' '{"@timestamp":"2026-11-22T00:00:00.000Z","k":"a"}' \
		'{"@timestamp":"2026-11-22T00:00:00.000Z","k":"b"}' > one
	rate-gate -c event -l 1 -w 10s -k '{k}' -s st < one > /dev/null
	printf '%s\n' '{"@timestamp":"2026-11-22T00:00:05.000Z","k":"a"}' \
		'{"@timestamp":"2026-11-22T00:00:10.000Z","k":"b"}' > two
	run -0 rate-gate -c event -l 1 -w 10s -k '{k}' -s st < two
	# a is still inside its window; b's stamp is exactly 10 s old: out.
	assert_output '{"@timestamp":"2026-11-22T00:00:10.000Z","k":"b"}'
}

@test "a corrupt or foreign state file is warned about and ignored" {
	echo 'not json' > st
	run -0 --separate-stderr rate-gate -l 5 -w 1h -s st < <(records 2)
	[ "$(wc -l <<<"$output")" -eq 2 ]
	[[ $stderr == *"st:"*"starting with empty windows"* ]]
	echo '{"format":"something else","version":1,"clock":"wall","keys":[]}' > st
	run -0 --separate-stderr rate-gate -l 5 -w 1h -s st < <(records 2)
	[[ $stderr == *"not a rate-gate state file"* ]]
	# The file written at exit is a good one again.
	run -0 --separate-stderr rate-gate -l 5 -w 1h -s st < <(records 9)
	[ "$(wc -l <<<"$output")" -eq 3 ]
	[ -z "$stderr" ]
	# A state file of the other clock is not mixed in.
	run -0 --separate-stderr rate-gate -c event -l 5 -w 1h -s st < <(printf '{"@timestamp":"2026-11-22T00:00:00Z"}\n')
	[[ $stderr == *"--clock wall"* ]]
}

@test "a record reaches stdout while the input stays open (flush on idle)" {
	start_fifo -l 5 -w 1m
	echo '{"n":1}' >&7
	wait_lines out 1
	assert_equal "$(cat out)" '{"n":1}'
	stop_fifo
	[ "$status" -eq 0 ]
}

@test "SIGHUP reopens the divert file (logrotate)" {
	start_fifo -l 1 -w 1m -d div
	records 3 >&7
	wait_lines div 2
	mv div div.1
	kill -HUP "$RG_PID"
	sleep 0.2
	records 2 >&7
	wait_lines div 2
	stop_fifo
	[ "$status" -eq 0 ]
	[ "$(wc -l < div.1)" -eq 2 ]
	[ "$(wc -l < div)" -eq 2 ]
	[ "$(wc -l < out)" -eq 1 ]
}

@test "SIGUSR1 prints one stats line and the stream goes on" {
	start_fifo -l 2 -w 1m
	records 5 >&7
	wait_lines out 2
	kill -USR1 "$RG_PID"
	for i in $(seq 100); do grep -q 'allowed' err && break; sleep 0.05; done
	run cat err
	assert_output --regexp '^rate-gate: lines 5 allowed 2 exceeded 3 degraded 0 rejected 0 .*redis-errors 0 reconnects 0'
	stop_fifo
	[ "$status" -eq 0 ]
}

@test "SIGTERM drains: records waiting for Redis are decided and written, exit 0" {
	start_fifo -l 100 -w 1m -R "$RURL" -p "$P" -t 5s -a
	records 1 >&7
	wait_lines out 1
	# Redis is busy for a second: the next records wait in their batch.
	redis-cli -s "$REDIS_SOCK" debug sleep 1 >/dev/null &
	sleeper=$!
	sleep 0.2
	records 7 >&7
	sleep 0.2
	kill -TERM "$RG_PID"
	status=0
	wait "$RG_PID" || status=$?
	RG_PID=
	exec 7>&-
	wait "$sleeper"
	[ "$status" -eq 0 ]
	[ "$(wc -l < out)" -eq 8 ]
	run jq -r '.rate.count' out
	assert_output "$(seq 8)"
}

@test "a closed stdout ends the program quietly" {
	run --separate-stderr bash -c 'seq -f "{\"n\":%g}" 1 200000 | rate-gate -l 1000000 -w 1m | head -1'
	assert_output '{"n":1}'
	assert_equal "$stderr" ""
}

# --- Redis ------------------------------------------------------------------

@test "4 processes on one Redis let exactly the limit pass; another --prefix is independent" {
	records 1000 > in
	for i in 1 2 3 4; do
		rate-gate -l 100 -w 1m -k 'k:{k}' -R "$RURL" -p "$P" -b 7 < in > out$i &
	done
	wait
	[ "$(cat out1 out2 out3 out4 | wc -l)" -eq 100 ]
	for i in 1 2 3 4; do
		rate-gate -l 100 -w 1m -k 'k:{k}' -R "$RURL" -p "${P}other:" < in > other$i &
	done
	wait
	[ "$(cat other1 other2 other3 other4 | wc -l)" -eq 100 ]
	# The first prefix stays full.
	run -0 rate-gate -l 100 -w 1m -k 'k:{k}' -R "$RURL" -p "$P" < in
	assert_output ""
}

@test "REDIS_URL in the environment is used when --redis is not given" {
	records 5 > in
	REDIS_URL="$RURL" run -0 rate-gate -l 2 -w 1m -p "$P" < in
	[ "$(wc -l <<<"$output")" -eq 2 ]
	run redis-cli -s "$REDIS_SOCK" zcard "$P{}"
	assert_output 2
}

@test "keys are hash-tagged, expire with the window, and long keys are hashed" {
	long=$(printf 'x%.0s' $(seq 200))
	printf '{"k":"short"}\n{"k":"%s"}\n' "$long" > in
	run -0 rate-gate -l 5 -w 30s -k '{k}' -R "$RURL" -p "$P" < in
	run redis-cli -s "$REDIS_SOCK" --scan --pattern "$P*"
	assert_line "$P{short}"
	assert_line --regexp "^$P\{#[0-9a-f]{32}\}\$"
	ttl=$(redis-cli -s "$REDIS_SOCK" pttl "$P{short}")
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 30000 ]
}

@test "two admissions in one instant are two members (server time, unique members)" {
	records 50 > in
	run -0 rate-gate -l 1000 -w 1m -R "$RURL" -p "$P" -b 1000 < in
	run redis-cli -s "$REDIS_SOCK" zcard "$P{}"
	assert_output 50
}

@test "--require-redis: an unreachable Redis at start exits 69" {
	run -69 --separate-stderr rate-gate -l 5 -w 1m -R "unix://$BATS_TEST_TMPDIR/none.sock" --require-redis < <(records 1)
	[[ $stderr == *"unreachable"* ]]
}

@test "a wrong password is a configuration error (78) with a clear message" {
	PW_DIR=$BATS_TEST_TMPDIR/pw
	mkdir -p "$PW_DIR"
	redis-server --port 0 --unixsocket "$PW_DIR/s.sock" --save '' --appendonly no \
		--daemonize yes --pidfile "$PW_DIR/redis.pid" --dir "$PW_DIR" \
		--logfile "$PW_DIR/log" --requirepass sesame >/dev/null
	for i in $(seq 100); do [ -S "$PW_DIR/s.sock" ] && break; sleep 0.05; done
	run -78 --separate-stderr rate-gate -l 5 -w 1m -R "unix://:wrong@$PW_DIR/s.sock" < <(records 1)
	[[ $stderr == *"authentication failed"*"wrong user or password"* ]]
	run -78 --separate-stderr rate-gate -l 5 -w 1m -R "unix://$PW_DIR/s.sock" < <(records 1)
	[[ $stderr == *"needs a password"* ]]
	run -0 --separate-stderr rate-gate -l 5 -w 1m -R "unix://$PW_DIR/s.sock?password=sesame" < <(records 3)
	[ "$(wc -l <<<"$output")" -eq 3 ]
	# The same server: its key already holds 3, so a limit of 2 is full.
	run -0 --separate-stderr rate-gate -l 2 -w 1m -R "unix://:sesame@$PW_DIR/s.sock" < <(records 3)
	assert_output ""
}

@test "--fail closed with --divert: Redis down, stdout and the divert file together are the input" {
	records 20 > in
	run -0 --separate-stderr rate-gate -l 100 -w 1m -R "unix://$BATS_TEST_TMPDIR/none.sock" -F closed -d div < in
	assert_equal "$output" ""
	assert_equal "$(cat div)" "$(cat in)"
	[[ $stderr == *"unavailable"*"treated as exceeding"* ]]
}

@test "--fail closed with --divert, Redis killed mid-stream: stdout and the divert file together are the input" {
	start_fifo -l 3 -w 1m -R "$RURL" -p "$P" -F closed -d div
	seq -f '{"n":%g}' 1 5 >&7
	wait_lines div 2
	redis_kill9
	seq -f '{"n":%g}' 6 10 >&7
	wait_lines div 7
	redis_restart
	stop_fifo
	[ "$status" -eq 0 ]
	assert_equal "$(cat out)" "$(seq -f '{"n":%g}' 1 3)"
	assert_equal "$(cat div)" "$(seq -f '{"n":%g}' 4 10)"
	grep -q 'treated as exceeding' err
}

@test "--fail local limits in process with --local-limit while Redis is down" {
	run -0 --separate-stderr rate-gate -l 100 -w 1m -R "unix://$BATS_TEST_TMPDIR/none.sock" -F local --local-limit 3 -e tag -a < <(records 5)
	run jq -c '[.rate.allowed, .rate.degraded, .rate.limit]' <<<"$output"
	assert_output $'[true,true,3]\n[true,true,3]\n[true,true,3]\n[false,true,3]\n[false,true,3]'
}

@test "the script is loaded again after SCRIPT FLUSH and nothing is degraded" {
	start_fifo -l 100 -w 1m -R "$RURL" -p "$P" -a
	records 1 >&7
	wait_lines out 1
	redis-cli -s "$REDIS_SOCK" script flush >/dev/null
	records 1 >&7
	wait_lines out 2
	stop_fifo
	[ "$status" -eq 0 ]
	run jq -c '[.rate.count, .rate.degraded]' out
	assert_output $'[1,null]\n[2,null]'
}

@test "SCRIPT FLUSH again and again under a fast stream with two batches in flight: still exact, nothing degraded" {
	seq -f '{"n":%g}' 1 20000 > in
	( for i in $(seq 40); do redis-cli -s "$REDIS_SOCK" script flush >/dev/null; sleep 0.01; done ) &
	flusher=$!
	run -0 --separate-stderr rate-gate -l 5000 -w 1m -R "$RURL" -p "$P" -b 5 -e tag -a < in
	wait "$flusher"
	printf '%s\n' "$output" > out
	[ "$(wc -l < out)" -eq 20000 ]
	[ "$(jq -r 'select(.rate.allowed) | .n' out | wc -l)" -eq 5000 ]
	[ "$(jq -r 'select(.rate.degraded) | .n' out | wc -l)" -eq 0 ]
	# In order, and the first 5000 are the ones that passed.
	assert_equal "$(jq -r .n out | head -1)" 1
	assert_equal "$(jq -r 'select(.rate.allowed) | .n' out | tail -1)" 5000
	assert_equal "$stderr" ""
}

@test "error replies (OOM) degrade under --fail open and say why; nothing is half written" {
	redis-cli -s "$REDIS_SOCK" config set maxmemory 1 >/dev/null
	run -0 --separate-stderr rate-gate -l 100 -w 1m -R "$RURL" -p "$P" < <(records 3)
	redis-cli -s "$REDIS_SOCK" config set maxmemory 0 >/dev/null
	[ "$(wc -l <<<"$output")" -eq 3 ]
	run jq -r '.rate.degraded' <<<"$output"
	assert_output $'true\ntrue\ntrue'
	[[ $stderr == *"OOM"* ]]
	run redis-cli -s "$REDIS_SOCK" exists "$P{}"
	assert_output 0
}

@test "a read-only replica's refusal degrades under --fail closed and is counted" {
	redis-cli -s "$REDIS_SOCK" replicaof 127.0.0.1 1 >/dev/null
	run -0 --separate-stderr rate-gate -v -l 100 -w 1m -R "$RURL" -p "$P" -F closed -e tag < <(records 2)
	redis-cli -s "$REDIS_SOCK" replicaof no one >/dev/null
	run jq -c '[.rate.allowed, .rate.degraded]' <<<"$output"
	assert_output $'[false,true]\n[false,true]'
	[[ $stderr == *"READONLY"* ]]
	[[ $stderr == *"degraded 2 "*"redis-errors 1 "* ]]
}

@test "DEBUG SLEEP longer than --redis-timeout does not stall the stream" {
	start_fifo -l 100 -w 1m -R "$RURL" -p "$P" -t 200ms -a
	records 1 >&7
	wait_lines out 1
	redis-cli -s "$REDIS_SOCK" debug sleep 4 >/dev/null &
	sleeper=$!
	sleep 0.3
	start=$(date +%s%N)
	records 3 >&7
	wait_lines out 4
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	wait "$sleeper"
	# One batch waits the 200 ms timeout; then Redis is skipped while it
	# backs off.  Far less than the 4 s sleep.
	[ "$elapsed" -lt 1500 ] || fail "took $elapsed ms"
	stop_fifo
	[ "$status" -eq 0 ]
	run jq -r '.rate.degraded' <(tail -3 out)
	assert_output $'true\ntrue\ntrue'
	grep -q 'unavailable' err
}

@test "kill -9 Redis mid-stream under --fail open: nothing lost, outage marked degraded, limiting resumes after restart" {
	start_fifo -l 5 -w 1m -R "$RURL" -p "$P" -e tag -a
	records 3 >&7
	wait_lines out 3
	redis_kill9
	# While it is down: one record at a time, each decided at once.
	for i in 1 2 3 4 5 6 7 8; do
		echo "{\"down\":$i}" >&7
		wait_lines out $((3 + i))
	done
	redis_restart
	# Feed until a record is decided by Redis again (reconnect after backoff).
	n=11
	for i in $(seq 60); do
		n=$((n + 1))
		echo "{\"after\":$i}" >&7
		wait_lines out $n
		tail -1 out | jq -e '.rate.degraded != true' >/dev/null && break
		sleep 0.1
	done
	tail -1 out | jq -e '.rate.degraded != true' >/dev/null
	# The restarted server knows nothing: 5 pass, then the limit holds.
	for i in $(seq 6); do echo '{"more":1}' >&7; done
	wait_lines out $((n + 6))
	stop_fifo
	[ "$status" -eq 0 ]
	[ "$(wc -l < out)" -eq $((n + 6)) ]
	# Records decided while it was down are all marked degraded and passed.
	run jq -r 'select(.down) | "\(.rate.allowed) \(.rate.degraded)"' out
	[ "$(grep -c '^true true$' <<<"$output")" -eq 8 ]
	# After the restart: limit 5 again, counted from the first Redis answer.
	run jq -r 'select(.rate.degraded != true) | .rate.allowed' <(tail -n 7 out)
	assert_equal "$(tr '\n' ' ' <<<"$output")" "true true true true true false false "
	grep -q 'unavailable' err
	grep -q 'back' err
}

# --- memory -----------------------------------------------------------------

@test "embedded, Redis, state and every kind of bad line run clean under valgrind, all memory freed" {
	if ldd "$BIN/rate-gate" | grep -q libasan; then
		skip "AddressSanitizer build: valgrind cannot run it (ASan checks it instead)"
	fi
	{
		seq -f '{"n":%g,"g":{"b":1,"a":[1,2]},"rate":0}' 1 300
		printf '%s\n' 'nope' '[1]' '{"g":"x"}' ''
		printf '{"bad":"\xff"}\n'
		python3 -c 'print("{\"big\":\"" + "x" * 3000 + "\"}")'
		seq 1 2000 | awk '{ printf "{\"n\":%d,\"g\":\"k%d\"}\n", $1, $1 % 300 }'
	} > in
	vg() { valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=9 "$@"; }
	run -0 --separate-stderr vg rate-gate -l 5 -w 1m -k '{g}' -a -e tag -M 1K -r rej -s st < in
	[[ $stderr == *"All heap blocks were freed"* ]]
	run -0 --separate-stderr vg rate-gate -l 5 -w 1m -k '{g}' -a -M 1K -s st < in
	[[ $stderr == *"All heap blocks were freed"* ]]
	run -0 --separate-stderr vg rate-gate -l 5 -w 1m -k '{g}' -d div -M 1K -R "$RURL" -p "$P" -b 64 < in
	[[ $stderr == *"All heap blocks were freed"* ]]
	run -0 --separate-stderr vg rate-gate -l 5 -w 1m -k '{g}' -e tag -M 1K -R "unix://$BATS_TEST_TMPDIR/none.sock" -F local < in
	[[ $stderr == *"All heap blocks were freed"* ]]
	run -78 --separate-stderr vg rate-gate -l 5 -w 1m -R "redis://bad:port" < in
	[[ $stderr == *"All heap blocks were freed"* ]]
}
