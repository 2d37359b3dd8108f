#!/usr/bin/env bats
# The test helpers themselves: later issues build on them.

load helpers/common
load helpers/redis

teardown() {
	redis_stop
}

@test "redis_start runs a private redis-server on a Unix socket with no TCP port" {
	redis_start "$BATS_TEST_TMPDIR"
	[ -S "$REDIS_SOCK" ]
	run redis-cli -s "$REDIS_SOCK" set k v
	assert_output OK
	run redis-cli -s "$REDIS_SOCK" config get port
	assert_line --index 1 0
	run redis-cli -s "$REDIS_SOCK" config get save
	assert_line --index 1 ''
	[ "$REDIS_URL" = "unix://$REDIS_SOCK" ]
}

@test "redis_stop stops the server it started" {
	redis_start "$BATS_TEST_TMPDIR"
	pid=$(cat "$REDIS_DIR/redis.pid")
	redis_stop
	run kill -0 "$pid"
	assert_failure
}
