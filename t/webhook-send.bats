#!/usr/bin/env bats
# webhook-send: signed, retried, concurrent delivery to real HTTP receivers
# (t/helpers/receiver.py on 127.0.0.1, one per test).

load helpers/common
load helpers/receiver

SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
SECRET2=whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=

setup() {
	cd "$BATS_TEST_TMPDIR"
	export WH_SECRET=$SECRET WH_SECRET2=$SECRET2
}

teardown() {
	[ -z "${WS_PID:-}" ] || kill "$WS_PID" 2>/dev/null || true
	receiver_stop
}

# hook NAME URL [EXTRA YAML LINES...]: one webhook entry, to be appended to
# a file that starts with "webhooks:".  Tests reach 127.0.0.1, so entries
# allow private addresses unless EXTRA says otherwise.
hook() {
	local name=$1 url=$2
	shift 2
	printf '  - name: %s\n    url: %s\n    secret: env:WH_SECRET\n' "$name" "$url"
	printf '    backoff: {base: 50ms, cap: 5s}\n'
	local l allow=1
	for l in "$@"; do
		[[ $l == allow_private:* ]] && allow=0
		printf '    %s\n' "$l"
	done
	[ "$allow" -eq 0 ] || printf '    allow_private: true\n'
}

# one_hook [SCRIPT]: a receiver (scripted by the file SCRIPT, see
# receiver.bash) and w.yaml holding one webhook, a, posting to its /a.
one_hook() {
	receiver_start "$@" || return
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a"; } > w.yaml
}

# finals FILE: "webhook event_id" of every final delivery record, sorted.
finals() {
	jq -r 'select(.delivery.final) | "\(.delivery.webhook) \(.delivery.event_id)"' "$1" | sort
}

# free_port: a loopback TCP port nothing listens on.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- command line ---------------------------------------------------------

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr webhook-send --help
	assert_output --partial "usage: webhook-send -c file"
	assert_equal "$stderr" ""
}

@test "every option in --help is in the man page" {
	options_in_man webhook-send
}

@test "the man pages are clean under mandoc -Tlint -Wwarning" {
	run -0 mandoc -Tlint -Wwarning "$ROOT/man/man1/webhook-send.1" "$ROOT/man/man5/sluice-webhooks.5"
	assert_output ""
}

@test "--version names the program and the version" {
	run -0 webhook-send --version
	assert_output --regexp '^webhook-send \(sluice\) [0-9]+\.[0-9]+'
}

@test "usage errors exit 64: no -c, bad numbers, unknown options, operands" {
	run -64 --separate-stderr webhook-send </dev/null
	[[ $stderr == *"-c FILE"* ]]
	printf 'webhooks: []\n' > w.yaml
	run -64 --separate-stderr webhook-send -c w.yaml --concurrency 0 </dev/null
	[[ $stderr == *"--concurrency 0"* ]]
	run -64 --separate-stderr webhook-send -c w.yaml --linger soon </dev/null
	run -64 --separate-stderr webhook-send -c w.yaml --no-such-option </dev/null
	run -64 --separate-stderr webhook-send -c w.yaml extra </dev/null
}

@test "--check counts the webhooks and checks the schema's example" {
	{ echo 'webhooks:'; hook a http://example.com/a; hook b https://example.com/b 'format: slack'; } > w.yaml
	run -0 webhook-send -c w.yaml --check
	assert_output "2 webhooks ok"
}

@test "the configuration schema accepts a full file converted to JSON" {
	{
		echo 'webhooks:'
		hook alerts https://alerts.example.com/in 'format: standard' 'enabled: true' \
			'events: {event.kind: alert, alert.severity: [high, critical]}' \
			'retry_count: 3' 'timeout_seconds: 15' 'connect_timeout_seconds: 5' \
			'headers: {X-Team: ops}'
		hook chat https://hooks.slack.com/services/T/B/x 'format: slack'
	} > w.yaml
	run -0 webhook-send -c w.yaml --check
	python3 -c 'import json, sys, yaml' 2>/dev/null || skip "python3-yaml is not installed"
	python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open("w.yaml")), sys.stdout)' > w.json
	run -0 /usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.validate(json.load(open(sys.argv[2])), schema)' "$ROOT/schema/webhooks.schema.json" w.json
}

# conf_error LINE:COL MESSAGE-PART: the webhooks in w.yaml are refused with
# exit 78 and a message naming w.yaml:LINE:COL.
conf_error() {
	run -78 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr == *"w.yaml:$1:"* ]] || fail "expected w.yaml:$1 in: $stderr"
	[[ $stderr == *"$2"* ]] || fail "expected \"$2\" in: $stderr"
	assert_equal "$output" ""
}

@test "configuration mistakes exit 78 naming file:line:column" {
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    retries: 3\n' > w.yaml
	conf_error 5:5 'unknown key "retries"'
	printf 'webhooks:\n  - name: a\n    url: ftp://x.example/\n    secret: env:WH_SECRET\n' > w.yaml
	conf_error 3:10 'http:// or https://'
	printf 'webhooks:\n  - name: a\n    url: https://u:pw@x.example/\n    secret: env:WH_SECRET\n' > w.yaml
	conf_error 3:10 'credentials'
	run -78 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr != *"pw@"* ]]
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    retry_count: 11\n' > w.yaml
	conf_error 5:18 'retry_count must be a whole number from 0 to 10'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    timeout_seconds: 4\n' > w.yaml
	conf_error 5:22 'from 5 to 120'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n  - name: a\n    url: http://y.example/\n    secret: env:WH_SECRET\n' > w.yaml
	conf_error 5:5 'a second webhook named a'
	printf 'webhooks:\n  - name: a b\n    url: http://x.example/\n    secret: env:WH_SECRET\n' > w.yaml
	conf_error 2:11 'name must be'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:NO_SUCH_VARIABLE_HERE\n' > w.yaml
	conf_error 4:13 'NO_SUCH_VARIABLE_HERE is not set'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: file:/nonexistent/secret\n' > w.yaml
	conf_error 4:13 '/nonexistent/secret'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: whsec_***\n' > w.yaml
	conf_error 4:13 'not base64'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: hunter2\n' > w.yaml
	conf_error 4:13 'env:NAME, file:PATH or whsec_'
	run -78 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr != *hunter2* ]] || fail "the secret was printed"
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n' > w.yaml
	conf_error 2:5 'needs a secret'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    format: email\n' > w.yaml
	conf_error 5:13 'standard, slack or teams'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    headers: {webhook-id: x}\n' > w.yaml
	conf_error 5:15 'set by webhook-send itself'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    headers: {Content-Type: text/plain}\n' > w.yaml
	conf_error 5:15 'set by webhook-send itself'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    events: {message|nosuch: x}\n' > w.yaml
	conf_error 5:22 'unknown modifier "nosuch"'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: env:WH_SECRET\n    backoff: {base: 10s, cap: 1s}\n' > w.yaml
	conf_error 5:14 'cap must not be below'
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: [env:WH_SECRET, "v1,zzz"]\n' > w.yaml
	conf_error 4:29 'env:NAME, file:PATH or whsec_'
	printf 'hooks: []\n' > w.yaml
	conf_error 1:1 'unknown key "hooks"'
	printf 'webhooks:\n  - name: a\n    url: "http://x.example/\n' > w.yaml
	run -78 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr == *"w.yaml:"*":"* ]]
	run -78 --separate-stderr webhook-send -c nonexistent.yaml --check
	[[ $stderr == *"nonexistent.yaml"* ]]
}

@test "an inline secret works but draws a warning naming file:line:column, never the secret" {
	printf 'webhooks:\n  - name: a\n    url: http://x.example/\n    secret: %s\n' "$SECRET" > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr == *"w.yaml:4:13:"*"env:NAME or file:PATH"* ]]
	[[ $stderr != *"MfKQ9r8"* ]]
}

@test "a secret from a file: its first line, white space trimmed" {
	printf '  %s  \nignored\n' "$SECRET" > secret
	receiver_start
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" | sed "s|env:WH_SECRET|file:$PWD/secret|"; } > w.yaml
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	run -0 python3 "$ROOT/t/helpers/whverify.py" "$RECEIVER_LOG" "$SECRET"
	assert_output 1
}

# --- signing ----------------------------------------------------------------

@test "deliveries are signed as Standard Webhooks says: an independent HMAC verifies them" {
	one_hook
	python3 -c 'for i in range(1, 21): print("{\"event\":{\"id\":\"e%d\"},\"message\":\"h\u00e9llo \\\"%d\\\" \\\\u00e9\"}" % (i, i))' > in
	[ "$(jq -c . in | wc -l)" -eq 20 ]
	run -0 --separate-stderr webhook-send -c w.yaml < in
	run -0 python3 "$ROOT/t/helpers/whverify.py" "$RECEIVER_LOG" "$SECRET"
	assert_output 20
	# The body is the record, byte for byte.
	diff <(jq -r .body "$RECEIVER_LOG" | sort) <(sort in)
	# JSON content type, and the id is msg_ plus 32 hex digits.
	[ "$(jq -r '.headers["content-type"]' "$RECEIVER_LOG" | sort -u)" = application/json ]
	[ "$(jq -r '.headers["webhook-id"]' "$RECEIVER_LOG" | grep -cE '^msg_[0-9a-f]{32}$')" -eq 20 ]
}

@test "several secrets (rotation) sign with each, space-separated" {
	receiver_start
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" 'secret: [env:WH_SECRET, env:WH_SECRET2]' | grep -v 'secret: env:WH_SECRET$'; } > w.yaml
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	run -0 python3 "$ROOT/t/helpers/whverify.py" "$RECEIVER_LOG" "$SECRET" "$SECRET2"
	assert_output 1
}

@test "the delivery id depends only on event.id and the webhook: the same for every attempt and a replay" {
	receiver_start
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a"; hook b "$RECEIVER_URL/b"; } > w.yaml
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"},"n":1}'
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"},"n":2}'
	ids_a=$(jq -r 'select(.path == "/a") | .headers["webhook-id"]' "$RECEIVER_LOG" | sort -u | wc -l)
	ids=$(jq -r '.headers["webhook-id"]' "$RECEIVER_LOG" | sort -u | wc -l)
	[ "$ids_a" -eq 1 ]
	[ "$ids" -eq 2 ]
}

@test "--dry-run writes the signed requests and sends nothing; no secret is written" {
	receiver_start
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" 'headers: {X-Team: ops}'; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --dry-run <<<'{"event":{"id":"e1"},"message":"m"}'
	sleep 0.3
	[ "$(receiver_count)" -eq 0 ]
	[ "$(jq -r .request.url <<<"$output")" = "$RECEIVER_URL/a" ]
	[ "$(jq -r '.request.headers["X-Team"]' <<<"$output")" = ops ]
	[ "$(jq -r .request.body <<<"$output")" = '{"event":{"id":"e1"},"message":"m"}' ]
	[[ $output != *MfKQ9r8* && $stderr != *MfKQ9r8* ]]
	# The signature is valid over what would be sent.
	jq -c '{t: (.request.headers["webhook-timestamp"] | tonumber), headers: .request.headers, body: .request.body}' \
		<<<"$output" > req.log
	run -0 python3 "$ROOT/t/helpers/whverify.py" req.log "$SECRET"
}

# --- retries ---------------------------------------------------------------------

@test "503, 503, 200: three attempts, one webhook-id, a final success" {
	echo '{"/a": [{"status": 503}, {"status": 503}, {"status": 200}]}' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 3 ]
	[ "$(jq -r '.headers["webhook-id"]' "$RECEIVER_LOG" | sort -u | wc -l)" -eq 1 ]
	echo "$output" > out
	[ "$(jq -c '[.delivery.attempt, .delivery.status, .delivery.final, .delivery.success]' out | tr -d '\n')" = \
		'[1,503,false,false][2,503,false,false][3,200,true,true]' ]
	[ "$(jq -r .delivery.id out | sort -u)" = "$(jq -r '.headers["webhook-id"]' "$RECEIVER_LOG" | sort -u)" ]
	[ "$(jq -r 'select(.delivery.final | not) | .delivery.next_retry' out | grep -cE '^[0-9-]{10}T[0-9:.]{12}Z$')" -eq 2 ]
	run -0 validate delivery out
}

@test "400: one attempt and a final failure carrying the payload" {
	echo '{"/a": [{"status": 400, "body": "bad request: no"}]}' > s.json
	one_hook s.json
	rec='{"event":{"id":"e1"},"message":"x"}'
	run -0 --separate-stderr webhook-send -c w.yaml --linger 5s <<<"$rec"
	[ "$(receiver_count /a)" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c '[.delivery.attempt, .delivery.status, .delivery.final, .delivery.success, .delivery.error, .delivery.response]' <<<"$output")" = \
		'[1,400,true,false,"HTTP 400","bad request: no"]' ]
	[ "$(jq -c .delivery.payload <<<"$output")" = "$rec" ]
	validate delivery <<<"$output"
}

@test "3xx is a failure and is not followed" {
	echo '{"/a": [{"status": 302, "headers": {"Location": "/b"}}]}' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml --linger 5s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count)" -eq 1 ]
	[ "$(jq -c '[.delivery.status, .delivery.final, .delivery.success]' <<<"$output")" = '[302,true,false]' ]
	[[ $(jq -r .delivery.error <<<"$output") == *"not followed"* ]]
}

@test "408, 425 and 429 are retried; other 4xx are not" {
	echo '{"/a": [{"status": 408}, {"status": 425}, {"status": 429}, {"status": 200}], "/b": [{"status": 404}], "/c": [{"status": 422}]}' > s.json
	receiver_start s.json
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a"; hook b "$RECEIVER_URL/b"; hook c "$RECEIVER_URL/c"; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 4 ]
	[ "$(receiver_count /b)" -eq 1 ]
	[ "$(receiver_count /c)" -eq 1 ]
	[ "$(finals <(echo "$output") | wc -l)" -eq 3 ]
}

@test "429 with Retry-After: 2 waits at least 2 s before the next attempt" {
	echo '{"/a": [{"status": 429, "retry_after": "2"}, {"status": 200}]}' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 2 ]
	run -0 jq -s '.[1].t - .[0].t >= 2' "$RECEIVER_LOG"
	assert_output true
}

@test "Retry-After as an HTTP date is honoured too" {
	# A date 3 s ahead, whole seconds; the retry must not come before it
	# (however long the receiver took to start).
	when=$(( $(date +%s) + 3 ))
	printf '{"/a": [{"status": 503, "retry_after": "%s"}, {"status": 200}]}\n' \
		"$(date -u -d "@$when" '+%a, %d %b %Y %H:%M:%S GMT')" > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 2 ]
	run -0 jq -s --argjson when "$when" '.[0].t < $when and .[1].t >= $when' "$RECEIVER_LOG"
	assert_output true
}

@test "Retry-After longer than the backoff cap waits only the cap" {
	echo '{"/a": [{"status": 503, "retry_after": "3600"}, {"status": 200}]}' > s.json
	receiver_start s.json
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" | sed 's/cap: 5s/cap: 1s/'; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 2 ]
	run -0 jq -s '.[1].t - .[0].t | . >= 0.9 and . < 3' "$RECEIVER_LOG"
	assert_output true
}

@test "connection refused is retried, then fails finally with the payload" {
	port=$(free_port)
	{ echo 'webhooks:'; hook a "http://127.0.0.1:$port/a" 'retry_count: 2'; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -c '[.delivery.attempt, .delivery.status, .delivery.final]' <<<"$output" | tr -d '\n')" = \
		'[1,null,false][2,null,false][3,null,true]' ]
	[[ $(jq -r .delivery.error <<<"${lines[0]}") == *"onnect"* ]]
	jq -e .delivery.payload.event <<<"${lines[2]}"
	validate delivery <<<"$output"
}

@test "a connection closed without a response is retried" {
	echo '{"/a": [{"close": true}, {"status": 200}]}' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 2 ]
	[ "$(jq -c '[.delivery.status, .delivery.success]' <<<"$output" | tr -d '\n')" = '[null,false][200,true]' ]
}

@test "a timeout is retried (timeout_seconds: 5)" {
	echo '{"/a": [{"delay": 7}, {"status": 200}]}' > s.json
	receiver_start s.json
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" 'timeout_seconds: 5'; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 15s <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 2 ]
	[[ $(jq -r .delivery.error <<<"${lines[0]}") == *"imed out"* ]]
	[ "$(jq -r .delivery.latency_ms <<<"${lines[0]}")" -ge 4900 ]
	[ "$(jq -c '[.delivery.final, .delivery.success]' <<<"${lines[1]}")" = '[true,true]' ]
}

@test "a slow endpoint does not delay a fast one" {
	echo '{"/slow": [{"delay": 3}]}' > s.json
	RECEIVER_NAME=slow receiver_start s.json
	SLOW=$RECEIVER_URL SLOW_LOG=$RECEIVER_LOG
	RECEIVER_NAME=fast receiver_start
	{ echo 'webhooks:'; hook slow "$SLOW/slow"; hook fast "$RECEIVER_URL/fast"; } > w.yaml
	seq -f '{"event":{"id":"e%g"}}' 1 30 > in
	run -0 --separate-stderr webhook-send -c w.yaml --concurrency 8 --per-host 4 < in
	echo "$output" > out
	[ "$(receiver_count /fast)" -eq 30 ]
	[ "$(RECEIVER_LOG=$SLOW_LOG receiver_count /slow)" -eq 30 ]
	# Every fast request arrived before the first slow one was answered.
	first_slow=$(jq -s 'map(.t) | min' "$SLOW_LOG")
	last_fast=$(jq -s 'map(.t) | max' "$RECEIVER_LOG")
	run -0 jq -n "$last_fast < $first_slow + 3"
	assert_output true
	# And at most --per-host slow requests were ever open at once: the
	# second four arrived 3 s after the first.
	run -0 jq -s 'map(.t) | sort | .[4] - .[0] >= 2.5' "$SLOW_LOG"
	assert_output true
	[ "$(finals out | wc -l)" -eq 60 ]
}

@test "waiting on a host at its --per-host limit does not spin the CPU" {
	echo '{"/slow": [{"delay": 1}]}' > s.json
	receiver_start s.json
	{ echo 'webhooks:'; hook slow "$RECEIVER_URL/slow"; } > w.yaml
	seq -f '{"event":{"id":"e%g"}}' 1 3 > in
	# Three deliveries one after another, 3 s of waiting: a busy loop
	# would spend about that much CPU, a poll almost none.
	TIMEFORMAT='%U %S'
	{ time webhook-send -c w.yaml --per-host 1 < in > out 2>/dev/null; } 2> cpu
	[ "$(receiver_count /slow)" -eq 3 ]
	[ "$(finals out | wc -l)" -eq 3 ]
	run -0 awk '{ print ($1 + $2 < 0.5) ? "idle" : "busy " $1 "+" $2 }' cpu
	assert_output idle
}

@test "TLS is verified: a self-signed receiver is never sent the record" {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
	cat cert.pem key.pem > tls.pem
	RECEIVER_TLS=tls.pem receiver_start
	[[ $RECEIVER_URL == https://* ]]
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" 'retry_count: 1'; } > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e1"}}'
	echo "$output" > out
	[ "$(jq -c '[.delivery.attempt, .delivery.final, .delivery.success, .delivery.status]' out | tr -d '\n')" = \
		'[1,false,false,null][2,true,false,null]' ]
	jq -r .delivery.error out | grep -qi certificate
	[ "$(receiver_count)" -eq 0 ]
	# The receiver does serve HTTPS: a client that trusts the certificate
	# gets through.
	curl -sf --cacert cert.pem -d '{}' "$RECEIVER_URL/a" >/dev/null
	[ "$(receiver_count /a)" -eq 1 ]
}

@test "connections are reused" {
	one_hook
	seq -f '{"event":{"id":"e%g"}}' 1 200 > in
	run -0 --separate-stderr webhook-send -c w.yaml --concurrency 4 < in
	[ "$(receiver_count)" -eq 200 ]
	conns=$(jq -r .conn "$RECEIVER_LOG" | sort -u | wc -l)
	[ "$conns" -le 4 ] || fail "$conns connections for 200 requests"
}

# --- SSRF ---------------------------------------------------------------------

@test "loopback, private, link-local and mapped addresses are refused unless allowed" {
	receiver_start
	{
		echo 'webhooks:'
		hook lo "http://127.0.0.1:$RECEIVER_PORT/lo" 'allow_private: false'
		hook name "http://localhost:$RECEIVER_PORT/name" 'allow_private: false'
		hook v6 "http://[::1]:$RECEIVER_PORT/v6" 'allow_private: false'
		hook mapped "http://[::ffff:127.0.0.1]:$RECEIVER_PORT/mapped" 'allow_private: false'
		hook ten "http://10.0.0.1:9/ten" 'allow_private: false' 'timeout_seconds: 5'
		hook meta "http://169.254.169.254/latest/meta-data" 'allow_private: false' 'timeout_seconds: 5'
	} > w.yaml
	run -0 --separate-stderr webhook-send -c w.yaml --linger 5s <<<'{"event":{"id":"e1"}}'
	echo "$output" > out
	[ "$(wc -l < out)" -eq 6 ]
	# One attempt each, final, refused, with the payload to replay.
	[ "$(jq -c 'select(.delivery.attempt == 1 and .delivery.final and (.delivery.success | not) and .delivery.payload != null and (.delivery.error | startswith("refused:")))' out | wc -l)" -eq 6 ]
	jq -r .delivery.error out | grep -q 'is a loopback address'
	jq -r .delivery.error out | grep -q '10.0.0.1 is a private address'
	jq -r .delivery.error out | grep -q '169.254.169.254 is a link-local address'
	sleep 0.2
	[ "$(receiver_count)" -eq 0 ]
}

@test "allow_private: true or --allow-private let a webhook reach loopback" {
	receiver_start
	{ echo 'webhooks:'; hook a "http://localhost:$RECEIVER_PORT/a" 'allow_private: true'; } > w.yaml
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	{ echo 'webhooks:'; hook b "http://127.0.0.1:$RECEIVER_PORT/b" 'allow_private: false'; } > w2.yaml
	run -0 webhook-send -c w2.yaml --allow-private <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 1 ]
	[ "$(receiver_count /b)" -eq 1 ]
}

@test "webhooks sharing a host must agree on allow_private" {
	{ echo 'webhooks:'; hook a "http://x.example/a" 'allow_private: true'; hook b "http://x.example/b" 'allow_private: false'; } > w.yaml
	run -78 --separate-stderr webhook-send -c w.yaml --check
	[[ $stderr == *"share http://x.example:80 but not allow_private"* ]]
}

# --- selection and formats ---------------------------------------------------------

@test "events selects the records a webhook receives; disabled webhooks receive none" {
	receiver_start
	{
		echo 'webhooks:'
		hook high "$RECEIVER_URL/high" 'events: {event.kind: alert, alert.severity: [high, critical]}'
		hook all "$RECEIVER_URL/all"
		hook off "$RECEIVER_URL/off" 'enabled: false'
	} > w.yaml
	{
		echo '{"event":{"id":"1","kind":"alert"},"alert":{"severity":"high"}}'
		echo '{"event":{"id":"2","kind":"alert"},"alert":{"severity":"low"}}'
		echo '{"event":{"id":"3","kind":"alert"},"alert":{"severity":"CRITICAL"}}'
		echo '{"event":{"id":"4"},"alert":{"severity":"high"}}'
	} > in
	run -0 --separate-stderr webhook-send -c w.yaml < in
	[ "$(receiver_count /high)" -eq 2 ]
	[ "$(receiver_count /all)" -eq 4 ]
	[ "$(receiver_count /off)" -eq 0 ]
	[ "$(jq -r 'select(.delivery.webhook == "high") | .delivery.event_id' <<<"$output" | sort | tr -d '\n')" = 13 ]
}

@test "slack and teams bodies are built from the alert, and the signature covers them" {
	receiver_start
	{ echo 'webhooks:'; hook s "$RECEIVER_URL/s" 'format: slack'; hook t "$RECEIVER_URL/t" 'format: teams'; } > w.yaml
	echo '{"event":{"id":"e1","kind":"alert"},"message":"5 failures from <10.0.0.1> & more","alert":{"severity":"high","group":{"source.ip":"10.0.0.1"}},"rule":{"id":"ssh-brute","name":"SSH brute force"}}' > in
	run -0 --separate-stderr webhook-send -c w.yaml < in
	s=$(jq -r 'select(.path == "/s") | .body' "$RECEIVER_LOG")
	t=$(jq -r 'select(.path == "/t") | .body' "$RECEIVER_LOG")
	[ "$(jq -r .text <<<"$s")" = '[high] 5 failures from &lt;10.0.0.1&gt; &amp; more' ]
	[ "$(jq -r '.blocks[0].text.text' <<<"$s")" = $'*SSH brute force*\n5 failures from &lt;10.0.0.1&gt; &amp; more' ]
	[[ $(jq -r '.blocks[1].elements[0].text' <<<"$s") == *"rule: ssh-brute"*"source.ip"* ]]
	[ "$(jq -r '.["@type"]' <<<"$t")" = MessageCard ]
	[ "$(jq -r .title <<<"$t")" = '[high] SSH brute force' ]
	[ "$(jq -r .text <<<"$t")" = '5 failures from <10.0.0.1> & more' ]
	[ "$(jq -r '.sections[0].facts[] | select(.name == "Rule") | .value' <<<"$t")" = ssh-brute ]
	run -0 python3 "$ROOT/t/helpers/whverify.py" "$RECEIVER_LOG" "$SECRET"
	assert_output 2
}

@test "custom headers are sent" {
	receiver_start
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" 'headers: {X-Team: ops, Authorization: "Bearer abc"}'; } > w.yaml
	run -0 webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	[ "$(jq -r '.headers["x-team"]' "$RECEIVER_LOG")" = ops ]
	[ "$(jq -r '.headers.authorization' "$RECEIVER_LOG")" = "Bearer abc" ]
	[[ $(jq -r '.headers["user-agent"]' "$RECEIVER_LOG") == sluice-webhook-send/* ]]
}

@test "a response body over the 1 MiB cap is not read, but its 2xx still counts" {
	python3 -c 'import json; print(json.dumps({"/a": [{"status": 200, "body": "x" * (3 << 20)}]}))' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	[ "$(receiver_count /a)" -eq 1 ]
	run -0 jq -c '.delivery | [.final, .success, .status, .attempt]' <<<"$output"
	assert_output '[true,true,200,1]'
}

# --- bad input ------------------------------------------------------------------------

@test "bad lines are rejected with line numbers and never delivered; the stream goes on" {
	one_hook
	{
		echo '{"event":{"id":"ok1"}}'
		echo 'not json'
		echo '[1,2]'
		printf '{"bad":"\xff"}\n'
		printf '{"nul":"a\0b"}\n'
		python3 -c 'print("{\"big\":\"" + "x" * 3000 + "\"}")'
		echo '{"event":{"id":"ok2"}}'
		echo '{"truncated":'
		echo '{"event":{"id":"ok3"}}'
	} > in
	run -0 --separate-stderr webhook-send -c w.yaml -M 1K -r rej < in
	[ "$(receiver_count)" -eq 3 ]
	[ "$(jq -r .delivery.event_id <<<"$output" | sort | tr '\n' ' ')" = "ok1 ok2 ok3 " ]
	[ "$(jq -r .reject.line rej | tr '\n' ' ')" = "2 3 4 5 6 8 " ]
	jq -r 'select(.reject.raw_b64) | .reject.line' rej | grep -qx 4
	[ "$(jq -r .reject.program rej | sort -u)" = webhook-send ]
}

@test "without --reject, bad lines are warned about on stderr; --strict exits 65" {
	one_hook
	printf '{"event":{"id":"a"}}\nnope\n{"event":{"id":"b"}}\n' > in
	run -0 --separate-stderr webhook-send -c w.yaml < in
	[[ $stderr == *"line 2"* ]]
	[ "$(receiver_count)" -eq 2 ]
	run -65 --separate-stderr webhook-send -c w.yaml --strict < in
	# The record before the bad line is still delivered (or written as a
	# shutdown failure): nothing is lost.
	[ "$(finals <(echo "$output") | wc -l)" -eq 1 ]
}

@test "CRLF and CR line ends; empty lines skipped; empty input is fine" {
	one_hook
	printf '{"event":{"id":"a"}}\r\n\r\n{"event":{"id":"b"}}\r{"event":{"id":"c"}}\n\n' > in
	run -0 --separate-stderr webhook-send -c w.yaml < in
	[ "$(receiver_count)" -eq 3 ]
	# No line end reaches the body.
	[ "$(jq -r .body "$RECEIVER_LOG" | grep -c $'\r')" -eq 0 ]
	run -0 --separate-stderr webhook-send -c w.yaml </dev/null
	assert_output ""
}

@test "a record without event.id is delivered; its id comes from the record" {
	one_hook
	run -0 --separate-stderr webhook-send -c w.yaml <<<'{"message":"no id"}'
	[ "$(jq -r .delivery.event_id <<<"$output")" = null ]
	id1=$(jq -r .delivery.id <<<"$output")
	run -0 --separate-stderr webhook-send -c w.yaml <<<'{"message":"no id"}'
	[ "$(jq -r .delivery.id <<<"$output")" = "$id1" ]
	run -0 --separate-stderr webhook-send -c w.yaml <<<'{"message":"other"}'
	[ "$(jq -r .delivery.id <<<"$output")" != "$id1" ]
	validate delivery <<<"$output"
}

# --- ending -------------------------------------------------------------------------

@test "at end of input, retries still waiting are written as shutdown failures with their payload" {
	echo '{"/a": [{"status": 503}]}' > s.json
	receiver_start s.json
	{ echo 'webhooks:'; hook a "$RECEIVER_URL/a" | sed 's/base: 50ms, cap: 5s/base: 30s, cap: 1m/'; } > w.yaml
	seq -f '{"event":{"id":"e%g"}}' 1 5 > in
	run -0 --separate-stderr webhook-send -c w.yaml < in
	echo "$output" > out
	[ "$(jq -c 'select(.delivery.final)' out | wc -l)" -eq 5 ]
	[ "$(jq -c 'select(.delivery.final and .delivery.error == "shutdown" and .delivery.payload.event.id != null)' out | wc -l)" -eq 5 ]
	[ "$(receiver_count)" -ge 5 ]
	validate delivery out
}

@test "SIGTERM with deliveries in flight and retries waiting: exactly one final record per record and webhook" {
	echo '{"/slow": [{"delay": 1.5}]}' > slow.json
	RECEIVER_NAME=slow receiver_start slow.json
	SLOW=$RECEIVER_URL SLOW_LOG=$RECEIVER_LOG
	echo '{"/fail": [{"status": 503}]}' > s.json
	RECEIVER_NAME=main receiver_start s.json
	{
		echo 'webhooks:'
		hook slow "$SLOW/slow"
		hook fail "$RECEIVER_URL/fail" | sed 's/base: 50ms, cap: 5s/base: 20s, cap: 1m/'
		hook ok "$RECEIVER_URL/ok"
	} > w.yaml
	mkfifo fifo
	webhook-send -c w.yaml --concurrency 4 --per-host 2 < fifo > out 2> err &
	WS_PID=$!
	exec 7> fifo
	wait_handlers "$WS_PID"
	seq -f '{"event":{"id":"e%g"}}' 1 20 >&7
	receiver_wait 20 /ok
	receiver_wait 20 /fail
	RECEIVER_LOG=$SLOW_LOG receiver_wait 2 /slow
	kill -TERM "$WS_PID"
	rc=0
	wait "$WS_PID" || rc=$?
	exec 7>&-
	[ "$rc" -eq 0 ] || fail "exit $rc: $(cat err)"
	# 20 records × 3 webhooks: 60 final records, one each.
	[ "$(finals out | wc -l)" -eq 60 ]
	[ "$(finals out | sort -u | wc -l)" -eq 60 ]
	# The ones that could not finish say so and carry their payload.
	[ "$(jq -c 'select(.delivery.final and (.delivery.success | not)) | select(.delivery.error != "shutdown" or .delivery.payload == null)' out | wc -l)" -eq 0 ]
	[ "$(jq -c 'select(.delivery.webhook == "ok" and .delivery.success)' out | wc -l)" -eq 20 ]
	validate delivery out
}

@test "--linger keeps retrying after end of input" {
	echo '{"/a": [{"status": 503}, {"status": 503}, {"status": 200}]}' > s.json
	one_hook s.json
	run -0 --separate-stderr webhook-send -c w.yaml <<<'{"event":{"id":"e1"}}'
	[ "$(jq -r .delivery.error <<<"${lines[-1]}")" = shutdown ]
	: > "$RECEIVER_LOG"
	run -0 --separate-stderr webhook-send -c w.yaml --linger 10s <<<'{"event":{"id":"e2"}}'
	[ "$(jq -c '[.delivery.final, .delivery.success]' <<<"${lines[-1]}")" = '[true,true]' ]
}

@test "a delivery record reaches stdout while the input stays open" {
	one_hook
	mkfifo fifo
	webhook-send -c w.yaml < fifo > out 2> err &
	WS_PID=$!
	exec 7> fifo
	echo '{"event":{"id":"e1"}}' >&7
	for i in $(seq 100); do [ -s out ] && break; sleep 0.05; done
	[ "$(jq -r .delivery.success out)" = true ]
	exec 7>&-
	wait "$WS_PID"
}

# --- signals ---------------------------------------------------------------------

@test "SIGHUP reloads: new records go to the new webhooks; a bad file keeps the old" {
	RECEIVER_NAME=one receiver_start
	ONE=$RECEIVER_URL ONE_LOG=$RECEIVER_LOG
	RECEIVER_NAME=two receiver_start
	{ echo 'webhooks:'; hook a "$ONE/a"; } > w.yaml
	mkfifo fifo
	webhook-send -c w.yaml < fifo > out 2> err &
	WS_PID=$!
	exec 7> fifo
	wait_handlers "$WS_PID"
	echo '{"event":{"id":"e1"}}' >&7
	RECEIVER_LOG=$ONE_LOG receiver_wait 1
	{ echo 'webhooks:'; hook b "$RECEIVER_URL/b"; } > w.yaml
	kill -HUP "$WS_PID"
	sleep 0.5
	echo '{"event":{"id":"e2"}}' >&7
	receiver_wait 1 /b
	printf 'webhooks:\n  - name: c\n    nope: 1\n' > w.yaml
	kill -HUP "$WS_PID"
	sleep 0.5
	echo '{"event":{"id":"e3"}}' >&7
	receiver_wait 2 /b
	exec 7>&-
	wait "$WS_PID"
	grep -q 'w.yaml:3:5: unknown key "nope"' err
	grep -q 'not reloaded' err
	[ "$(RECEIVER_LOG=$ONE_LOG receiver_count)" -eq 1 ]
	[ "$(jq -r 'select(.delivery.webhook == "b") | .delivery.event_id' out | tr -d '\n')" = e2e3 ]
}

@test "SIGUSR1 prints one stats line and the stream goes on" {
	one_hook
	mkfifo fifo
	webhook-send -c w.yaml < fifo > out 2> err &
	WS_PID=$!
	exec 7> fifo
	wait_handlers "$WS_PID"
	seq -f '{"event":{"id":"e%g"}}' 1 3 >&7
	receiver_wait 3
	kill -USR1 "$WS_PID"
	for i in $(seq 100); do grep -q 'delivered 3' err && break; sleep 0.05; done
	echo '{"event":{"id":"e4"}}' >&7
	exec 7>&-
	wait "$WS_PID"
	grep -q 'lines 3 rejected 0 deliveries 3 attempts 3 delivered 3 failed 0' err
	[ "$(wc -l < out)" -eq 4 ]
}

@test "a closed stdout ends the program quietly" {
	one_hook
	seq -f '{"event":{"id":"e%g"}}' 1 2000 > in
	run --separate-stderr bash -c 'webhook-send -c w.yaml < in | head -1'
	[ "$status" -eq 0 ]
	assert_equal "$stderr" ""
}

@test "deliveries, retries, refusals, a reload and bad lines run clean under valgrind, all memory freed" {
	if ldd "$BIN/webhook-send" | grep -q libasan; then
		skip "AddressSanitizer build: valgrind cannot run it (ASan checks it instead)"
	fi
	echo '{"/r": [{"status": 503}, {"status": 200}]}' > s.json
	receiver_start s.json
	{
		echo 'webhooks:'
		hook a "$RECEIVER_URL/a"
		hook r "$RECEIVER_URL/r"
		hook s "$RECEIVER_URL/s" 'format: slack'
		hook lo "http://localhost:$RECEIVER_PORT/lo" 'allow_private: false'
	} > w.yaml
	{ seq -f '{"event":{"id":"e%g"}}' 1 20; echo nope; printf '{"x":"\xff"}\n'; } > in
	vg() { valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=9 "$@"; }
	run -0 --separate-stderr vg webhook-send -c w.yaml --linger 5s -r rej < in
	[[ $stderr == *"All heap blocks were freed"* ]] || [[ $stderr == *"definitely lost: 0 bytes"*"indirectly lost: 0 bytes"*"possibly lost: 0 bytes"* ]] || fail "$stderr"
	[ "$(finals <(echo "$output") | wc -l)" -eq 80 ]
	run -0 --separate-stderr vg webhook-send -c w.yaml --dry-run < in
	run -78 --separate-stderr vg webhook-send -c nonexistent.yaml
}
