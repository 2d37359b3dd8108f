# webhook-send.sh - the webhook-send part of `make bench`, sourced by
# bench/run.sh (it uses run.sh's $PY, $RUNS, $DATA and $extra).
#
# The sink is Debian's nginx, started here in a temp dir on 127.0.0.1 (one
# worker, pinned to BENCH_SINK_CPU), answering every POST with 204 and
# logging each request's connection serial number, so the rows can say how
# many TCP connections the deliveries took.  Rows:
#   - webhook-send at --concurrency 1, 32, 64 and 128, WS_N records each,
#     deliveries/s as the median of $RUNS runs (wall clock, whole process);
#   - the naive peer in the same run: `xargs -P 32 curl`, one curl process
#     (and one connection) per POST, over WS_PEER_N records;
#   - memory: WS_WAIT records to a location answering 503, with a backoff
#     long enough that all of them wait for a retry at once; the peak RSS
#     (VmHWM) read while they wait.
# Targets: >= 5,000 deliveries/s at --concurrency 64 with connection reuse,
# RSS < 50 MB with 10,000 retries waiting.

WS=${WEBHOOK_SEND:-bin/webhook-send}
WS_N=${BENCH_WS_N:-20000}
WS_PEER_N=${BENCH_WS_PEER_N:-2000}
WS_WAIT=${BENCH_WS_WAIT:-10000}
SINK_CPU=${BENCH_SINK_CPU-1}

ws_line() { echo "$1" >>"$extra"; echo "bench: $1" >&2; }

ws_bench() {
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
		ws_line "webhook-send: ERROR: nginx is not installed (make deps)"; return; }
	[ -x "$WS" ] || { ws_line "webhook-send: ERROR: $WS not found"; return; }
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-ws.XXXXXX")
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
	log_format conn '\$connection';
	access_log $dir/access.log conn;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port;
		location / { return 204; }
		location /retry { access_log off; return 503; }
	}
}
EOF
	sink_pin=
	[ -n "$SINK_CPU" ] && command -v taskset >/dev/null 2>&1 && sink_pin="taskset -c $SINK_CPU"
	$sink_pin "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" 2>"$dir/start.err" || {
		ws_line "webhook-send: ERROR: nginx did not start: $(cat "$dir/start.err")"; rm -rf "$dir"; return; }
	i=0
	while ! curl -s -o /dev/null "http://127.0.0.1:$port/"; do
		i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.05
	done
	cat >"$dir/w.yaml" <<EOF
webhooks:
  - name: sink
    url: http://127.0.0.1:$port/hook
    secret: env:WS_BENCH_SECRET
    allow_private: true
  - name: retry
    url: http://127.0.0.1:$port/retry
    secret: env:WS_BENCH_SECRET
    allow_private: true
    events: {bench.retry: true}
    retry_count: 10
    backoff: {base: 10m, cap: 10m}
EOF
	export WS_BENCH_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
	head -n "$WS_N" "$DATA/ndjson.log" >"$dir/in"
	n=$(wc -l <"$dir/in")

	ws_line "webhook-send: sink nginx $("$nginx" -v 2>&1 | sed 's/.*: //') on 127.0.0.1 (204, 1 worker${sink_pin:+, $sink_pin}); $n records of bench/data/ndjson.log ($(( $(wc -c <"$dir/in") / n )) bytes each), median of $RUNS runs"
	for c in 1 32 64 128; do
		times=
		conns=
		for r in $(seq "$RUNS"); do
			: >"$dir/access.log"
			t0=$(date +%s%N)
			"$WS" -c "$dir/w.yaml" -C "$c" <"$dir/in" >"$dir/out" 2>"$dir/err" || {
				ws_line "webhook-send -C $c: ERROR: exit $?: $(head -3 "$dir/err")"; break; }
			t1=$(date +%s%N)
			ok=$(grep -c '"success":true' "$dir/out")
			[ "$ok" -eq "$n" ] || ws_line "webhook-send -C $c: ERROR: $ok of $n delivered"
			times="$times $(( (t1 - t0) / 1000 ))"
			conns="$conns $(sort -u "$dir/access.log" | wc -l)"
		done
		med=$(echo $times | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
		cmed=$(echo $conns | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
		rate=$(( n * 1000000 / med ))
		verdict=
		if [ "$c" = 64 ]; then
			if [ "$rate" -ge 5000 ] && [ "$cmed" -le 64 ]; then verdict=" (target >= 5,000/s with reuse: met)"
			else verdict=" (target >= 5,000/s with reuse: FAIL)"; fi
		fi
		ws_line "webhook-send --concurrency $c: $rate deliveries/s, $cmed TCP connections for $n deliveries$verdict"
	done

	# The naive peer: a curl process per POST, 32 at a time.
	head -n "$WS_PEER_N" "$dir/in" >"$dir/peer"
	: >"$dir/access.log"
	t0=$(date +%s%N)
	xargs -d '\n' -P 32 -I{} curl -s -o /dev/null -H 'Content-Type: application/json' \
		--data-raw {} "http://127.0.0.1:$port/hook" <"$dir/peer"
	t1=$(date +%s%N)
	pn=$(wc -l <"$dir/access.log")
	ws_line "xargs -P 32 curl (peer, $WS_PEER_N records): $(( pn * 1000000 / ((t1 - t0) / 1000) )) deliveries/s, $(sort -u "$dir/access.log" | wc -l) TCP connections"

	# Memory with WS_WAIT retries waiting.
	seq -f '{"event":{"id":"w%g"},"bench":{"retry":true},"message":"a retry that waits ten minutes, as an alert would"}' 1 "$WS_WAIT" >"$dir/wait"
	mkfifo "$dir/fifo"
	"$WS" -c "$dir/w.yaml" -C 64 <"$dir/fifo" >/dev/null 2>"$dir/werr" &
	wpid=$!
	exec 8>"$dir/fifo"
	cat "$dir/wait" >&8
	waiting=0
	for i in $(seq 600); do
		kill -USR1 $wpid 2>/dev/null || break
		sleep 0.1
		waiting=$(sed -n 's/.* waiting \([0-9]*\)$/\1/p' "$dir/werr" | tail -n 1)
		[ "${waiting:-0}" -ge "$WS_WAIT" ] && break
	done
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$wpid/status")
	exec 8>&-
	kill -TERM $wpid 2>/dev/null
	wait $wpid 2>/dev/null || true
	mb=$(( hwm * 1024 / 1000000 ))
	if [ "${waiting:-0}" -ge "$WS_WAIT" ] && [ "$mb" -lt 50 ]; then v="target < 50 MB: met"; else v="target < 50 MB: FAIL"; fi
	ws_line "webhook-send with ${waiting:-0} retries waiting: peak RSS $mb MB ($v)"

	kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
	sleep 0.2
	rm -rf "$dir"
}

ws_bench
