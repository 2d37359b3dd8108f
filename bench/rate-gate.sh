# rate-gate.sh - the rate-gate part of `make bench`, sourced by bench/run.sh
# (it uses run.sh's measure(), $pin, $CPU, $PY, $DATA, $RUNS and $extra).
#
# Rows: rate-gate in embedded mode, and through a private redis-server on a
# Unix socket (pinned to BENCH_REDIS_CPU, away from rate-gate's CPU), on
# bench/data/ndjson.log keyed by source.ip, limit 100 per minute: the
# usual shape of a flood, most records over the limit.  Beside them, in
# the same run and on the same server: redis-benchmark's pipelined ZADD
# (-P 64) and an EVALSHA of rate-gate's own script deciding one record
# per call, as the ceiling of what the server does.  Then the latency of
# one record at a time (bench/latency.py), embedded and through Redis.

RG=${RATE_GATE:-bin/rate-gate}
REDIS_CPU=${BENCH_REDIS_CPU-1}
LAT_N=${BENCH_LAT_N:-2000}
rgname=$(basename "$RG")
have_rg=1
case $RG in
*/*) [ -f "$RG" ] && [ -x "$RG" ] ;;
*) command -v "$RG" >/dev/null 2>&1 ;;
esac || {
	echo "bench: $RG not found or not executable: its rows are skipped" >&2
	have_rg=0
}
rg_version=$("$RG" --version 2>/dev/null | head -n 1) || rg_version=
lat_cpu=
[ -n "$pin" ] && lat_cpu="-c $CPU"
RG_ARGS="-k {source.ip} -l 100 -w 1m"

# latency LABEL ARGS...: one line into $extra.
latency() {
	label=$1
	shift
	# shellcheck disable=SC2086
	line=$("$PY" bench/latency.py -i "$DATA/ndjson.log" -n "$LAT_N" $lat_cpu -l "$label" \
		--target-p99-ms 1 -- "$@") || { [ $? -eq 1 ] || line="$label: ERROR: $line"; }
	echo "$line" >>"$extra"
	echo "bench: $line" >&2
}

if [ $have_rg = 1 ]; then
	# shellcheck disable=SC2086
	measure "$rgname embedded -e tag" json "$DATA/ndjson.log" --target-lps 1000000 -- \
		"$RG" $RG_ARGS -e tag
	# shellcheck disable=SC2086
	measure "$rgname embedded" json "$DATA/ndjson.log" --target-lps 1000000 --any-lines -- \
		"$RG" $RG_ARGS
fi

# stop_redis: stop the private server (if it runs) and remove its directory.
stop_redis() {
	if [ -n "${rdir:-}" ] && [ -f "$rdir/redis.pid" ]; then
		kill "$(cat "$rdir/redis.pid")" 2>/dev/null || true
		i=0
		while [ $i -lt 100 ] && [ -f "$rdir/redis.pid" ]; do sleep 0.05; i=$((i + 1)); done
	fi
	[ -z "${rdir:-}" ] || rm -rf "$rdir"
}

redis_ok=0
if ! command -v redis-server >/dev/null 2>&1; then
	echo "bench: redis-server not found (make deps): the Redis rows are skipped" >&2
elif [ $have_rg = 1 ]; then
	rdir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-redis.XXXXXX")
	sock=$rdir/redis.sock
	rpin=
	if [ -n "$REDIS_CPU" ] && command -v taskset >/dev/null 2>&1 && taskset -c "$REDIS_CPU" true 2>/dev/null; then
		rpin="taskset -c $REDIS_CPU"
	fi
	# shellcheck disable=SC2086
	$rpin redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' \
		--appendonly no --daemonize yes --pidfile "$rdir/redis.pid" --dir "$rdir" \
		--logfile "$rdir/redis.log" >/dev/null
	i=0
	while [ $i -lt 100 ] && ! redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; do
		sleep 0.05; i=$((i + 1))
	done
	if redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; then
		redis_ok=1
	else
		echo "bench: the private redis-server did not start: the Redis rows are skipped" >&2
	fi
fi
if [ $redis_ok = 1 ]; then
	# shellcheck disable=SC2064
	trap "stop_redis; rm -f '$results' '$extra'" EXIT
	url=unix://$sock
	# shellcheck disable=SC2086
	measure "$rgname redis -e tag" json "$DATA/ndjson.log" --target-lps 100000 \
		--note "through redis-server on ${rpin:+CPU $REDIS_CPU, }a Unix socket; rate.retry_after_ms is asked for" -- \
		"$RG" $RG_ARGS -R "$url" -p tag: -e tag
	# shellcheck disable=SC2086
	measure "$rgname redis" json "$DATA/ndjson.log" --target-lps 100000 --any-lines -- \
		"$RG" $RG_ARGS -R "$url" -p drop:

	# The server's ceiling, in the same run.
	n=$((LINES < 1000000 ? LINES : 1000000))
	zadd=$(redis-benchmark -s "$sock" -P 64 -n "$n" -q -t zadd 2>/dev/null | tr '\r' '\n' |
		sed -n 's/^ZADD: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)
	script=$(sed -n '/^static const char SCRIPT\[\] =/,/;$/p' filters/rate-gate/remote.c |
		sed -n 's/^"\(.*\)\\n";\{0,1\}$/\1/p')
	sha=$(redis-cli -s "$sock" script load "$script")
	evalsha=$(redis-benchmark -s "$sock" -P 64 -n "$n" -r 4000 -q evalsha "$sha" 1 \
		'ceil:{key:__rand_int__}' 100 60000000 bench 0 wall 1 2>/dev/null | tr '\r' '\n' |
		sed -n 's/.* \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)
	{
		echo "redis ceiling (same server, same run): redis-benchmark -s SOCK -P 64 -t zadd -n $n: ${zadd:-?} requests/s"
		echo "redis ceiling: redis-benchmark -P 64 EVALSHA of rate-gate's script, one record per call, 4000 keys: ${evalsha:-?} calls/s"
	} >>"$extra"
	sed 's/^/bench: /' "$extra" >&2
	redis-cli -s "$sock" flushall >/dev/null
fi

if [ $have_rg = 1 ]; then
	# The floor: the same two pipe hops through cat, which does nothing.
	# On a shared VM its p99 alone can pass 1 ms; what rate-gate adds is
	# its own p99 beside this one, measured in the same run.
	latency "cat (the pipe floor)" cat
	# shellcheck disable=SC2086
	latency "$rgname embedded" "$RG" $RG_ARGS -e tag
	if [ $redis_ok = 1 ]; then
		# shellcheck disable=SC2086
		latency "$rgname redis" "$RG" $RG_ARGS -R "$url" -p lat: -e tag
	fi
fi
stop_redis
