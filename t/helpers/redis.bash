# redis.bash - a private redis-server for one test file: Unix socket in a
# temp dir, no TCP port, no persistence.  The daemon gets none of the
# test's descriptors above 2 (bats' fd 3, a test's FIFO on fd 7), so it
# never holds a pipe open that someone waits on.  Use from setup_file/teardown_file:
#   setup_file()    { redis_start; }
#   teardown_file() { redis_stop; }
# Sets REDIS_SOCK and REDIS_URL (unix:///path/redis.sock).
# redis_start [DIR [SERVER-ARGS...]]: arguments after DIR go to
# redis-server (e.g. --enable-debug-command local); the same ones are used
# again by redis_restart.

redis_start() {
	local dir=${1:-${BATS_FILE_TMPDIR:?}}/redis
	[ $# -gt 0 ] && shift
	mkdir -p "$dir"
	# Kept in a file, not an array: arrays set in setup_file do not reach
	# the tests, and redis_restart runs in a test.
	: > "$dir/args"
	[ $# -eq 0 ] || printf '%s\n' "$@" > "$dir/args"
	REDIS_DIR=$dir
	REDIS_SOCK=$dir/redis.sock
	REDIS_URL=unix://$REDIS_SOCK
	export REDIS_DIR REDIS_SOCK REDIS_URL
	redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
		--save '' --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
		"$@" >/dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- || return 1
	redis_wait
}

# redis_wait: until the server answers PING (5 s at most).
redis_wait() {
	local i
	for i in $(seq 100); do
		redis-cli -s "$REDIS_SOCK" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	echo "redis-server did not start; log:" >&2
	cat "$REDIS_DIR/redis.log" >&2
	return 1
}

# redis_kill9: kill the server the hard way (a crash), leaving its socket
# file behind as a crash does.
redis_kill9() {
	local pid
	pid=$(cat "$REDIS_DIR/redis.pid") || return 1
	kill -9 "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
	rm -f "$REDIS_DIR/redis.pid"
}

# redis_restart: start again on the same socket, with the same arguments.
redis_restart() {
	local args=()
	mapfile -t args < "$REDIS_DIR/args"
	redis_start "$(dirname "$REDIS_DIR")" "${args[@]}"
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
