# receiver.bash - scriptable HTTP receivers (t/helpers/receiver.py) for the
# webhook-send tests: 127.0.0.1, a port the kernel picks, one NDJSON line
# per request in a log.  The server gets none of the test's descriptors
# above 2 (bats' fd 3, a test's FIFO on fd 7), so it never holds a pipe
# open that someone waits on.  Use from a test, and stop them in teardown:
#   teardown() { receiver_stop; }
#   receiver_start script.json   # sets RECEIVER_URL, RECEIVER_LOG, ...
#   receiver_wait 3 /hook
#   [ "$(receiver_count /hook)" -eq 3 ]
# receiver_start [SCRIPT]: SCRIPT is receiver.py's --script (see its
# header for the format).  RECEIVER_NAME (default "receiver") names the
# files in the test's temp dir: NAME.log, NAME.port, NAME.pid, NAME.err
# (the server's stderr).  Exports RECEIVER_PORT, RECEIVER_URL
# (http://127.0.0.1:PORT), RECEIVER_LOG and RECEIVER_PID for the last
# one started; start a second one under another name to have two:
#   RECEIVER_NAME=a receiver_start; A=$RECEIVER_URL A_LOG=$RECEIVER_LOG
#   RECEIVER_NAME=b receiver_start
# RECEIVER_TLS=FILE (a PEM file with certificate and key) serves HTTPS,
# and RECEIVER_URL starts with https://.
# receiver_count and receiver_wait read RECEIVER_LOG, so for the first:
#   RECEIVER_LOG=$A_LOG receiver_count

RECEIVER_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/receiver.py
_receiver_pids=()

receiver_start() {
	local name=${RECEIVER_NAME:-receiver}
	local dir=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:?}}
	local log=$dir/$name.log port=$dir/$name.port err=$dir/$name.err
	local pid i
	: > "$log"
	rm -f "$port"
	python3 "$RECEIVER_PY" --log "$log" --port-file "$port" ${1:+--script "$1"} \
		${RECEIVER_TLS:+--tls "$RECEIVER_TLS"} \
		</dev/null >/dev/null 2>"$err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	_receiver_pids+=("$pid")
	echo "$pid" > "$dir/$name.pid"
	for i in $(seq 100); do
		if [ -s "$port" ]; then
			RECEIVER_PORT=$(cat "$port")
			RECEIVER_URL=http${RECEIVER_TLS:+s}://127.0.0.1:$RECEIVER_PORT
			RECEIVER_LOG=$log
			RECEIVER_PID=$pid
			export RECEIVER_PORT RECEIVER_URL RECEIVER_LOG RECEIVER_PID
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "receiver $name did not start${1:+ (script $1)}; its stderr:" >&2
	cat "$err" >&2
	return 1
}

# receiver_stop: every receiver this test started, gone (SIGTERM, then
# SIGKILL after 5 s).  Nothing running is fine.
receiver_stop() {
	local pid i state
	for pid in "${_receiver_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		for i in $(seq 100); do
			# Gone, or a zombie waiting for the wait below.
			state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)
			[ -z "$state" ] || [ "$state" = Z ] && break
			sleep 0.05
		done
		[ "$i" -lt 100 ] || kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	_receiver_pids=()
	return 0
}

# receiver_count [PATH]: how many requests RECEIVER_LOG holds (to PATH
# only, if given and not empty).
receiver_count() {
	jq -nR --arg p "${1:-}" \
		'[inputs | fromjson? | select($p == "" or .path == $p)] | length' \
		"${RECEIVER_LOG:?no receiver started}"
}

# receiver_wait N [PATH [SECONDS]]: until RECEIVER_LOG holds N requests
# (to PATH, if not empty) or more; SECONDS (default 10, may be a fraction)
# at most, then fail with the log.
receiver_wait() {
	local want=$1 path=${2:-} secs=${3:-10} now deadline count
	now=${EPOCHREALTIME//[!0-9]/}
	deadline=$((now + $(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000000 }')))
	while :; do
		count=$(receiver_count "$path") || return 1
		[ "$count" -ge "$want" ] && return 0
		now=${EPOCHREALTIME//[!0-9]/}
		[ "$now" -lt "$deadline" ] || break
		sleep 0.05
	done
	echo "receiver: $count requests${path:+ to $path}, not $want, after ${secs} s; log:" >&2
	cat "$RECEIVER_LOG" >&2
	return 1
}
