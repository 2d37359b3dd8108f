# redis.bash - a private redis-server for one test file: Unix socket in a
# temp dir, no TCP port, no persistence.  Use from setup_file/teardown_file:
#   setup_file()    { redis_start; }
#   teardown_file() { redis_stop; }
# Sets REDIS_SOCK and REDIS_URL (unix:///path/redis.sock).

redis_start() {
	local dir=${1:-${BATS_FILE_TMPDIR:?}}/redis
	mkdir -p "$dir"
	REDIS_DIR=$dir
	REDIS_SOCK=$dir/redis.sock
	REDIS_URL=unix://$REDIS_SOCK
	export REDIS_DIR REDIS_SOCK REDIS_URL
	redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
		--save '' --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
		>/dev/null || return 1
	local i
	for i in $(seq 100); do
		redis-cli -s "$REDIS_SOCK" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	echo "redis-server did not start; log:" >&2
	cat "$dir/redis.log" >&2
	return 1
}

redis_stop() {
	[ -n "${REDIS_DIR:-}" ] && [ -f "$REDIS_DIR/redis.pid" ] || return 0
	local pid i
	pid=$(cat "$REDIS_DIR/redis.pid")
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
