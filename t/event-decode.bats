#!/usr/bin/env bats
# event-decode: raw lines in, events out.

load helpers/common

APACHE_RE='^\[(?<timestamp>[^\]]+)\] \[(?<level>\w+)\] (?<message>.*)$'

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# --- the command line -------------------------------------------------------

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr event-decode --help
	assert_output --partial 'usage: event-decode'
	[ -z "$stderr" ]
}

@test "every option in --help is in the man page" {
	options_in_man event-decode
}

@test "--version names the program and the version" {
	run -0 event-decode --version
	assert_output --regexp '^event-decode \(sluice\) [0-9]+\.[0-9]+'
}

@test "an unknown option is a usage error (64)" {
	run -64 --separate-stderr event-decode --no-such-option </dev/null
	assert_equal "$output" ""
	[[ $stderr == *"--help"* ]]
}

@test "an unknown format is a usage error (64) naming the choices" {
	run -64 --separate-stderr event-decode -f xml </dev/null
	[[ $stderr == *'unknown format "xml"'* ]]
}

@test "-f regex without a pattern is a usage error (64)" {
	run -64 event-decode -f regex </dev/null
}

@test "a pattern that does not compile is a configuration error (78) with its column" {
	run -78 --separate-stderr event-decode -p 'a(?<x>b' </dev/null
	[[ $stderr == *"--pattern 1:1:"*"missing closing parenthesis"* ]]
}

@test "a patterns file with a bad pattern names file:line:column (78)" {
	printf '# comment\n\n^(?<a>x)$\n^(?<b>[y$\n' > pats
	run -78 --separate-stderr event-decode -P pats </dev/null
	[[ $stderr == *"pats:4:"*"missing terminating ]"* ]]
}

@test "an unknown time zone is a configuration error (78)" {
	run -78 --separate-stderr event-decode -z Mars/Olympus </dev/null
	[[ $stderr == *"Mars/Olympus"* ]]
}

@test "a missing file operand exits 66 after reading the files that exist" {
	printf 'a=1\n' > one
	run -66 --separate-stderr event-decode -f logfmt one missing one
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	[[ $stderr == *"missing: No such file or directory"* ]]
}

@test "empty input gives no output and exit 0" {
	run -0 --separate-stderr event-decode </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

# --- the real logs ----------------------------------------------------------

@test "OpenSSH_2k.log with -f sshd: every line decodes and agrees with loghub's ground truth" {
	run -0 --separate-stderr event-decode -f sshd -z UTC -r rej "$DATA/loghub/OpenSSH_2k.log"
	printf '%s\n' "$output" > events
	[ ! -s rej ]
	[ "$(wc -l < events)" -eq 2000 ]
	run -0 /usr/bin/python3 "$ROOT/t/helpers/groundtruth.py" openssh "$DATA/loghub/OpenSSH_2k.log_structured.csv" events
	assert_output "2000 lines agree"
	run -0 validate event events
}

@test "OpenSSH_2k.log: login failures and their addresses match an independent count" {
	event-decode -f sshd -z UTC "$DATA/loghub/OpenSSH_2k.log" > events
	want=$(tr -d '\r' < "$DATA/loghub/OpenSSH_2k.log" |
		grep -E 'sshd\[[0-9]+\]: (Failed [a-z/-]+ for .* from [0-9.]+ port [0-9]+|Invalid user .* from [0-9.]+|pam_unix\(sshd:auth\): authentication failure;)' |
		wc -l)
	got=$(jq -r 'select(.event.outcome == "failure") | .source.ip // .source.domain' events | wc -l)
	[ "$want" -eq "$got" ]
	# Per source address, for the Failed/Invalid lines.
	tr -d '\r' < "$DATA/loghub/OpenSSH_2k.log" |
		sed -nE 's/.*sshd\[[0-9]+\]: (Failed [a-z/-]+ for .* from|Invalid user .* from) ([0-9.]+)( port [0-9]+.*)?$/\2/p' |
		sort | uniq -c | sort -k2 > want
	jq -r 'select(.event.action == "ssh_login" or .event.action == "invalid_user") | select(.event.outcome == "failure") | .source.ip' events |
		sort | uniq -c | sort -k2 > got
	diff want got
	run jq -r 'select(.event.outcome == "success") | [.user.name, .source.ip, .source.port, .ssh.method] | @tsv' events
	assert_output $'fztu\t119.137.62.142\t49116\tpassword'
}

@test "Linux_2k.log with -f syslog: every line decodes and agrees with loghub's ground truth" {
	run -0 --separate-stderr event-decode -f syslog -z UTC -r rej "$DATA/loghub/Linux_2k.log"
	printf '%s\n' "$output" > events
	[ ! -s rej ]
	run -0 /usr/bin/python3 "$ROOT/t/helpers/groundtruth.py" linux "$DATA/loghub/Linux_2k.log_structured.csv" events
	assert_output "2000 lines agree"
	run -0 validate event events
}

@test "Apache_2k.log with -f regex: every line decodes and agrees with loghub's ground truth" {
	run -0 --separate-stderr event-decode -z UTC -r rej -p "$APACHE_RE" "$DATA/loghub/Apache_2k.log"
	printf '%s\n' "$output" > events
	[ ! -s rej ]
	run -0 /usr/bin/python3 "$ROOT/t/helpers/groundtruth.py" apache "$DATA/loghub/Apache_2k.log_structured.csv" events
	assert_output "2000 lines agree"
	run jq -r '."@timestamp"' events
	assert_line --index 0 '2005-12-04T04:47:44.000Z'
	run -0 validate event events
}

@test "auto detects the format of every line of the three real logs" {
	run -0 --separate-stderr event-decode -f auto -z UTC -r rej "$DATA/loghub/OpenSSH_2k.log" \
		"$DATA/loghub/Linux_2k.log" -p "$APACHE_RE" "$DATA/loghub/Apache_2k.log"
	[ ! -s rej ]
	# Linux_2k.log's sshd(pam_unix) lines are sshd's too.
	sshd=$(( 2000 + $(grep -c ' sshd(pam_unix)\[' "$DATA/loghub/Linux_2k.log") ))
	run jq -r '.event.dataset' <<<"$output"
	[ "$(grep -c '^sshd.auth$' <<<"$output")" -eq "$sshd" ]
	[ "$(grep -c '^syslog$' <<<"$output")" -eq $(( 4000 - sshd )) ]
	[ "$(grep -c '^regex$' <<<"$output")" -eq 2000 ]
}

# --- line ends and bad input ------------------------------------------------

@test "LF, CRLF and bare CR all end lines, also across read boundaries" {
	printf 'a=1\nb=2\r\nc=3\rd=4\r\r\ne=5' > mixed
	run -0 --separate-stderr event-decode -f logfmt mixed
	[ "$(printf '%s\n' "$output" | jq -c 'del(."@timestamp", .event, .log)' | tr -d '\n')" = \
	  '{"a":1}{"b":2}{"c":3}{"d":4}{"e":5}' ]
}

@test "a line of invalid UTF-8 is rejected as raw_b64 with its line number and the stream goes on" {
	printf 'a=1\nb=\xff\xfe\nc=3\n' > in
	run -0 --separate-stderr event-decode -f logfmt -r rej in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	run jq -r '.reject | [.program, .line, .error, .raw_b64] | @tsv' rej
	assert_output $'event-decode\t2\tnot valid UTF-8\tYj3//g=='
}

@test "a line holding a NUL byte is rejected, not cut at the NUL" {
	printf 'a=1\nb=2\0c=3\nd=4\n' > in
	run -0 event-decode -f logfmt -r rej in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	run jq -r '.reject.line, .reject.error, (.reject.raw_b64 | @base64d | length)' rej
	assert_output $'2\nNUL byte in line\n7'
}

@test "a 5 MiB line is rejected whole with its exact bytes, and the lines around it survive" {
	{ echo 'a=1'; head -c 5242880 /dev/zero | tr '\0' x; echo; echo 'c=3'; } > in
	run -0 --separate-stderr event-decode -f logfmt -r rej in
	[ "$(printf '%s\n' "$output" | jq -r '.a // .c' | tr '\n' ' ')" = "1 3 " ]
	[ "$(jq -r '.reject.line' rej)" = 2 ]
	[ "$(jq -r '.reject.bytes' rej)" = 5242880 ]
	[ "$(jq -r '.reject.raw_b64' rej | base64 -d | tr -d x | wc -c)" -eq 0 ]
	[ "$(jq -r '.reject.raw_b64' rej | base64 -d | wc -c)" -eq 5242880 ]
}

@test "--max-line sets the limit: a line one byte over it is rejected" {
	printf 'a=%s\na=%s\n' "$(head -c 63 /dev/zero | tr '\0' 1)" "$(head -c 62 /dev/zero | tr '\0' 1)" > in
	run -0 event-decode -f logfmt -M 64 -r rej in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ "$(jq -r '.reject.line' rej)" = 1 ]
}

@test "empty lines are skipped and counted, not rejected" {
	printf '\n\na=1\n\r\n\n' > in
	run -0 --separate-stderr event-decode -v -f logfmt -r rej in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	[ ! -s rej ]
	[[ $stderr == *"empty 4"* ]]
}

@test "without --reject a rejected line warns on stderr with its line number" {
	printf 'a=1\nnot logfmt at all\n' > in
	run -0 --separate-stderr event-decode -f logfmt in
	[[ $stderr == *"line 2: not logfmt"* ]]
}

@test "stderr warnings are rate-limited" {
	seq -f 'garbage %.0f' 100 > in
	run -0 --separate-stderr event-decode -f logfmt in
	[ "$(printf '%s\n' "$stderr" | wc -l)" -le 12 ]
}

@test "--strict exits 65 at the first rejected line, after writing the events before it" {
	printf 'a=1\nb=2\nnope\nc=3\n' > in
	run -65 --separate-stderr event-decode -f logfmt --strict in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	[[ $stderr == *"line 3:"* ]]
}

@test "--keep-unparsed passes undecodable lines on with error.message" {
	printf 'a=1\nnope\n' > in
	run -0 event-decode -f logfmt -u in
	run jq -r 'select(.error) | [.message, .error.message] | @tsv' <<<"$output"
	assert_output $'nope\tnot logfmt (key=value pairs)'
}

# --- formats ----------------------------------------------------------------

@test "syslog RFC 5424: NILVALUE fields are omitted and structured data keeps escaped ]" {
	printf '%s\n' '<165>1 2003-10-11T22:14:15.003Z - - - - [exampleSDID@32473 iut="3" eventSource="Appl\]ic\"ation"][x@1 a="b"] An application event' > in
	run -0 event-decode -f syslog in
	run jq -c '[.host, .process, .log.syslog.msgid, .log.syslog.structured_data, .message, ."@timestamp", .log.syslog.facility.name, .log.level]' <<<"$output"
	assert_output '[null,null,null,{"exampleSDID@32473":{"eventSource":"Appl]ic\"ation","iut":"3"},"x@1":{"a":"b"}},"An application event","2003-10-11T22:14:15.003Z","local4","notice"]'
}

@test "syslog RFC 5424 with all header fields and no message" {
	printf '%s\n' '<34>1 2003-10-11T22:14:15.003+02:00 mymachine.example.com su 1234 ID47 -' > in
	run -0 event-decode -f syslog in
	run jq -c '[.host.name, .process.name, .process.pid, .log.syslog.msgid, .message, ."@timestamp"]' <<<"$output"
	assert_output '["mymachine.example.com","su",1234,"ID47",null,"2003-10-11T20:14:15.003Z"]'
}

@test "syslog RFC 3164 with and without PID, with a priority, and with an IP as host name" {
	printf '%s\n' \
		'<13>Feb  5 17:32:18 10.0.0.99 myprog[42]: hello world' \
		'Feb  5 17:32:18 web1 CRON: (root) CMD (true)' \
		'Feb 15 07:02:03 web1 kernel:  indented' > in
	run -0 event-decode -f syslog -y 2024 -z UTC in
	run jq -c '[.host.name, .process.name, .process.pid, .message, ."@timestamp", .log.syslog.priority]' <<<"$output"
	assert_line --index 0 '["10.0.0.99","myprog",42,"hello world","2024-02-05T17:32:18.000Z",13]'
	assert_line --index 1 '["web1","CRON",null,"(root) CMD (true)","2024-02-05T17:32:18.000Z",null]'
	assert_line --index 2 '["web1","kernel",null,"indented","2024-02-15T07:02:03.000Z",null]'
}

@test "syslog with an RFC 3339 stamp (rsyslog) and a bad priority" {
	printf '%s\n' '2026-11-22T01:02:03.456+01:00 host app[7]: x' '<999>Feb  5 17:32:18 h p: x' > in
	run -0 event-decode -f syslog -r rej in
	[ "$(jq -r '."@timestamp"' <<<"$output")" = 2026-11-22T00:02:03.456Z ]
	[ "$(jq -r .reject.error rej)" = "bad syslog priority" ]
}

@test "year-less stamps roll over at New Year and --tz converts zone-less stamps" {
	printf '%s\n' 'Dec 31 23:59:59 h p: a' 'Jan  1 00:00:01 h p: b' > in
	run -0 event-decode -f syslog -y 2025 -z Europe/Berlin in
	run jq -r '."@timestamp"' <<<"$output"
	assert_line --index 0 '2025-12-31T22:59:59.000Z'
	assert_line --index 1 '2025-12-31T23:00:01.000Z'
	printf '%s\n' 'Jul  1 12:00:00 h p: summer' > in
	run -0 event-decode -f syslog -y 2025 -z Europe/Berlin in
	[ "$(jq -r '."@timestamp"' <<<"$output")" = 2025-07-01T10:00:00.000Z ]
}

@test "sshd messages become authentication events with user, address and port" {
	printf '%s\n' \
		'Nov 22 01:00:00 h sshd[1]: Failed password for invalid user admin from 2001:db8::7 port 51234 ssh2' \
		'Nov 22 01:00:01 h sshd[1]: Accepted publickey for alice from 192.0.2.9 port 22 ssh2: RSA SHA256:abc' \
		'Nov 22 01:00:02 h sshd[1]: Invalid user  from 192.0.2.10 port 4000' \
		'Nov 22 01:00:03 h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=bad.example  user=root' \
		'Nov 22 01:00:04 h sshd[1]: Received disconnect from 192.0.2.11 port 5555:11: Bye Bye [preauth]' \
		'Nov 22 01:00:05 h sshd[1]: Connection closed by authenticating user bob 192.0.2.12 port 6666 [preauth]' \
		'Nov 22 01:00:06 h sshd[1]: reverse mapping checking getaddrinfo for x.example [192.0.2.13] failed - POSSIBLE BREAK-IN ATTEMPT!' \
		'Nov 22 01:00:07 h CRON[2]: not sshd' > in
	run -0 event-decode -f sshd -y 2026 in
	run jq -c '[.event.dataset, .event.action, .event.outcome, .user.name, (.source.ip // .source.domain), .source.port]' <<<"$output"
	assert_line --index 0 '["sshd.auth","ssh_login","failure","admin","2001:db8::7",51234]'
	assert_line --index 1 '["sshd.auth","ssh_login","success","alice","192.0.2.9",22]'
	assert_line --index 2 '["sshd.auth","invalid_user","failure","","192.0.2.10",4000]'
	assert_line --index 3 '["sshd.auth","auth_failure","failure","root","bad.example",null]'
	assert_line --index 4 '["sshd.auth","disconnect",null,null,"192.0.2.11",5555]'
	assert_line --index 5 '["sshd.auth","disconnect",null,"bob","192.0.2.12",6666]'
	assert_line --index 6 '["sshd.auth","break_in_attempt",null,null,"192.0.2.13",null]'
	assert_line --index 7 '["syslog",null,null,null,null,null]'
}

@test "combined and common access logs, IPv6 clients, a virtual host and a request time" {
	printf '%s\n' \
		'2001:db8::1 - - [10/Oct/2000:13:55:36 -0700] "GET /index.html?a=1&b=2 HTTP/1.1" 200 2326 "http://ref/" "Mozilla/5.0"' \
		'192.0.2.1 - frank [10/Oct/2000:13:55:36 +0000] "POST /form HTTP/1.0" 404 -' \
		'example.com:443 192.0.2.2 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/2.0" 301 0 "-" "-" 0.250' > in
	run -0 event-decode -f combined in
	run jq -c '[.source.ip, .user.name, .http.request.method, .url.path, .url.query, .http.version, .http.response.status_code, .http.response.body.bytes, .http.request.referrer, .user_agent.original, .url.domain, .event.duration, ."@timestamp"]' <<<"$output"
	assert_line --index 0 '["2001:db8::1",null,"GET","/index.html","a=1&b=2","1.1",200,2326,"http://ref/","Mozilla/5.0",null,null,"2000-10-10T20:55:36.000Z"]'
	assert_line --index 1 '["192.0.2.1","frank","POST","/form",null,"1.0",404,null,null,null,null,null,"2000-10-10T13:55:36.000Z"]'
	assert_line --index 2 '["192.0.2.2",null,"GET","/",null,"2.0",301,0,null,null,"example.com:443",250000000,"2000-10-10T13:55:36.000Z"]'
	run -0 validate event <<<"$(event-decode -f combined in)"
}

@test "a garbage request line is kept in url.original and escaped quotes are unescaped" {
	printf '%s\n' \
		'192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01" 400 150 "-" "-"' \
		'192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a HTTP/1.1" 200 1 "-" "say \"hi\" \\o/"' \
		'192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "-" 408 0' > in
	run -0 event-decode -f combined in
	run jq -c '[.url.original, .http.request.method, .user_agent.original, .http.response.status_code]' <<<"$output"
	assert_line --index 0 '["\\x16\\x03\\x01",null,null,400]'
	assert_line --index 1 '["/a","GET","say \"hi\" \\o/",200]'
	assert_line --index 2 '[null,null,null,408]'
}

@test "logfmt: bare keys, quoted values with escapes, typed numbers, dotted keys" {
	printf '%s\n' 'ts=2026-11-22T01:02:03.5Z level=warn msg="disk \"almost\" full" free=1.5 n=007 source.ip=192.0.2.1 debug' > in
	run -0 event-decode -f logfmt in
	run jq -c '[."@timestamp", .log.level, .message, .free, .n, .source.ip, .debug]' <<<"$output"
	assert_output '["2026-11-22T01:02:03.500Z","warn","disk \"almost\" full",1.5,"007","192.0.2.1",true]'
}

@test "json: objects pass through byte for byte with the missing fields added" {
	printf '%s\n' '{"b":1.10,"a":"x\u00e9","event":{"kind":"k"},"@timestamp":"2020-01-01T00:00:00Z"}' '{}' > in
	run -0 event-decode -f json -s app.log -H web1 in
	[[ ${lines[0]} == '{"b":1.10,"a":"x\u00e9","event":{"id":"'*'","dataset":"app.log","kind":"k"},"@timestamp":"2020-01-01T00:00:00Z","host":{"name":"web1"},"log":{"file":{"path":"in"}}}' ]]
	[[ ${lines[1]} == '{"@timestamp":"'*'","event":{"id":"'*'","dataset":"app.log"},"host":{"name":"web1"},"log":{"file":{"path":"in"}}}' ]]
	run -0 validate event <<<"$(event-decode -f json -s app.log in | tail -1)"
}

@test "json: arrays, scalars and broken JSON are rejected with a reason; deep nesting is fine" {
	deep=$(printf '{"a":%.0s' $(seq 500))1$(printf '}%.0s' $(seq 500))
	printf '%s\n' '[1,2]' '"text"' '{"a":}' "$deep" '{"a":1} x' > in
	run -0 --separate-stderr event-decode -f json -r rej in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
	run jq -r '"\(.reject.line) \(.reject.error)"' rej
	assert_line --index 0 '1 not a JSON object (an array)'
	assert_line --index 1 '2 not a JSON object'
	assert_line --index 2 '3 invalid number'
	assert_line --index 3 '5 trailing characters after the value'
}

@test "regex: captures become fields, __ nests, numbers are typed, the first matching pattern wins" {
	printf '%s\n' '^(?<source__ip>\S+) (?<http__response__status_code>\d+) (?<message>.*)$' '^(?<word>\w+)$' > pats
	printf '%s\n' '192.0.2.1 503 upstream down' 'hello' 'two words!' > in
	run -0 --separate-stderr event-decode -P pats -r rej in
	run jq -c '[.source.ip, .http.response.status_code, .message, .word]' <<<"$output"
	assert_line --index 0 '["192.0.2.1",503,"upstream down",null]'
	assert_line --index 1 '[null,null,"hello","hello"]'
	[ "$(jq -r .reject.error rej)" = "no pattern matched" ]
}

@test "event.id is deterministic, and identical lines get different ids" {
	printf 'a=1\na=1\n' > in
	run -0 event-decode -f logfmt in
	first=$(jq -r .event.id <<<"$output")
	run -0 event-decode -f logfmt in
	[ "$(jq -r .event.id <<<"$output")" = "$first" ]
	[ "$(jq -r .event.id <<<"$output" | sort -u | wc -l)" -eq 2 ]
	[[ $(jq -r .event.id <<<"$output" | head -1) =~ ^[0-9a-f]{32}$ ]]
}

@test "--keep-raw keeps the line in event.original; --host fills host.name only when missing" {
	printf '%s\n' 'a=1' 'Nov 22 01:00:00 realhost p: x' > in
	run -0 event-decode -k -H fallback in
	run jq -c '[.event.original, .host.name]' <<<"$output"
	assert_line --index 0 '["a=1","fallback"]'
	assert_line --index 1 '["Nov 22 01:00:00 realhost p: x","realhost"]'
}

# --- multiline --------------------------------------------------------------

@test "--multiline joins a stack trace to the event before it" {
	printf '%s\n' \
		'Nov 22 01:00:00 h app[1]: Exception in thread "main" java.lang.RuntimeException: boom' \
		'	at com.example.Main.run(Main.java:10)' \
		'	at com.example.Main.main(Main.java:5)' \
		'Caused by: java.io.IOException: disk' \
		'Nov 22 01:00:01 h app[1]: next' > in
	run -0 event-decode -f syslog -m in
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
	run jq -r 'select(.message | startswith("Exception")) | .message' <<<"$output"
	assert_output "$(printf 'Exception in thread "main" java.lang.RuntimeException: boom\n\tat com.example.Main.run(Main.java:10)\n\tat com.example.Main.main(Main.java:5)\nCaused by: java.io.IOException: disk')"
}

@test "--multiline-lines caps how many lines join one event" {
	{ echo 'Nov 22 01:00:00 h app[1]: start'; for i in $(seq 10); do echo "  line $i"; done; } > in
	run -0 --separate-stderr event-decode -f syslog -m --multiline-lines 4 -r rej in
	[ "$(jq -r '.message | split("\n") | length' <<<"$output")" = 4 ]
	# What is past the cap cannot stand alone: rejected whole, not lost.
	run jq -r '"\(.reject.line) \(.reject.error) \(.reject.raw | split("\n") | length)"' rej
	assert_line --index 0 '5 continuation past --multiline-lines or --max-line 4'
	assert_line --index 1 '9 continuation past --multiline-lines or --max-line 3'
}

@test "--multiline writes a pending event after the input goes idle" {
	mkfifo fifo
	event-decode -f syslog -m < fifo > out &
	pid=$!
	exec 7>fifo
	printf 'Nov 22 01:00:00 h app[1]: first\n  more\n' > /dev/fd/7
	for i in $(seq 40); do [ -s out ] && break; sleep 0.05; done
	[ "$(jq -r .message out)" = "$(printf 'first\n  more')" ]
	exec 7>&-
	wait "$pid"
}

# --- flushing and signals ---------------------------------------------------

@test "a line written into a FIFO whose writer stays open comes out within 100 ms" {
	run -0 /usr/bin/python3 "$ROOT/t/helpers/latency.py" event-decode -f logfmt
	assert_output --regexp '^latency [0-9.]+ ms$'
}

@test "SIGTERM while waiting for input flushes and exits 0" {
	mkfifo fifo
	event-decode -f logfmt < fifo > out 2> err &
	pid=$!
	exec 7>fifo
	echo 'a=1' > /dev/fd/7
	for i in $(seq 40); do [ -s out ] && break; sleep 0.05; done
	kill -TERM "$pid"
	wait "$pid"	# exit status 0, or the test fails
	exec 7>&-
	[ "$(jq -r .a out)" = 1 ]
}

@test "SIGUSR1 prints one stats line on stderr and the program goes on" {
	mkfifo fifo
	event-decode -f logfmt < fifo > out 2> err &
	pid=$!
	exec 7>fifo
	printf 'a=1\nbad\n' > /dev/fd/7
	for i in $(seq 40); do [ -s out ] && break; sleep 0.05; done
	kill -USR1 "$pid"
	for i in $(seq 40); do grep -q 'lines 2' err && break; sleep 0.05; done
	echo 'b=2' > /dev/fd/7
	exec 7>&-
	wait "$pid"
	grep -q 'event-decode: lines 2 events 1 rejected 1' err
	[ "$(wc -l < out)" -eq 2 ]
}

@test "SIGHUP reopens the reject file so logrotate can move it" {
	mkfifo fifo
	event-decode -f logfmt -r rej < fifo > out &
	pid=$!
	exec 7>fifo
	echo 'bad one' > /dev/fd/7
	echo 'a=1' > /dev/fd/7
	for i in $(seq 40); do [ -s rej ] && break; sleep 0.05; done
	mv rej rej.1
	kill -HUP "$pid"
	sleep 0.2
	echo 'bad two' > /dev/fd/7
	exec 7>&-
	wait "$pid"
	[ "$(jq -r .reject.raw rej.1)" = "bad one" ]
	[ "$(jq -r .reject.raw rej)" = "bad two" ]
}

@test "a closed pipe downstream ends the program quietly" {
	seq -f 'a=%.0f' 200000 > in
	run --separate-stderr bash -c 'event-decode -f logfmt in | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
}

# --- --test -----------------------------------------------------------------

@test "--test reports what each format decodes and samples what the chosen one does not" {
	{ head -3 "$DATA/loghub/OpenSSH_2k.log"; echo 'not a log line'; } > in
	run -1 event-decode --test -f sshd in
	assert_line --regexp '^sshd +3 +4 +75.0%  <- chosen$'
	assert_line --partial '1 of 4 lines not decoded by sshd'
	assert_line --partial 'line 4: no syslog timestamp'
	assert_line --partial 'not a log line'
}

@test "--test with patterns counts each pattern and exits 0 when all lines decode" {
	run -0 event-decode --test -p "$APACHE_RE" "$DATA/loghub/Apache_2k.log"
	assert_line --regexp '^regex +2000 +2000 +100.0%  <- chosen$'
	assert_line --partial 'pattern 1: 2000 lines'
}

# --- memory -----------------------------------------------------------------

@test "every format, rejects and --multiline run clean under valgrind, all memory freed" {
	if ldd "$BIN/event-decode" | grep -q libasan; then
		skip "AddressSanitizer build: valgrind cannot run it (ASan checks it instead)"
	fi
	{
		head -20 "$DATA/loghub/OpenSSH_2k.log"
		printf '%s\n' 'a=1 b="x y"' '{"j":[1,{"k":null}]}' 'garbage line'
		printf '%s\n' '192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"'
		printf 'bad \xff\n  continued\n'
	} > in
	run -0 --separate-stderr valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=9 \
		event-decode -m -r rej -p '^(?<word>\w+) line$' -f auto in
	[[ $stderr == *"All heap blocks were freed"* ]]
	# --test: exit 1 (some lines decode with no format), not valgrind's 9.
	run -1 --separate-stderr valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=9 \
		event-decode --test -p '^(?<word>\w+) line$' in
	[[ $stderr == *"All heap blocks were freed"* ]]
}

# --- found in review --------------------------------------------------------

@test "--multiline past --max-line rejects the continuation and reads nothing beyond it" {
	python3 -c 'print("a="+"1"*62); print("  x"); print("b=2")' > in
	run -0 --separate-stderr event-decode -m -M 64 -f logfmt -r rej in
	[ "$(printf '%s\n' "$output" | jq -r '.b // .a' | tr '\n' ' ')" = "11111111111111111111111111111111111111111111111111111111111111 2 " ]
	[ "$(jq -r '"\(.reject.line) \(.reject.raw)"' rej)" = "2   x" ]
}

@test "--multiline does not move the year when it looks ahead at the next line" {
	printf '%s\n' 'Dec 30 10:00:00 h app: a' 'Dec 31 23:59:59 h app: b' 'Jan  1 00:00:01 h app: c' > in
	run -0 event-decode -f syslog -z UTC -y 2025 -m in
	run jq -r '."@timestamp"' <<<"$output"
	assert_output "$(printf '2025-12-30T10:00:00.000Z\n2025-12-31T23:59:59.000Z\n2026-01-01T00:00:01.000Z')"
}

@test "an IPv6 zone that is not an interface name makes the host a domain, and the JSON stays valid" {
	printf '%s\n' 'fe80::1%x"y - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1' \
		'fe80::1%eth0 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1' > in
	run -0 event-decode -f combined in
	run jq -c '.source' <<<"$output"
	assert_line --index 0 '{"domain":"fe80::1%x\"y"}'
	assert_line --index 1 '{"ip":"fe80::1%eth0"}'
}

@test "a request time too large for nanoseconds is kept as text, not overflowed" {
	printf '%s\n' '192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 rt=999999999999999999' > in
	run -0 event-decode -f combined in
	[ "$(jq -c '[.message, .event.duration]' <<<"$output")" = '["rt=999999999999999999",null]' ]
}

@test "a repeated key that is also a parent becomes an array under _" {
	echo 'a=1 a=2 a.b=3' > in
	run -0 event-decode -f logfmt in
	[ "$(jq -c '.a' <<<"$output")" = '{"_":[1,2],"b":3}' ]
}

@test "numbers that readers cannot hold (beyond int64, huge exponents) stay strings" {
	echo 'x=1e400 y=123456789012345678901 z=1e5 w=-12.5' > in
	run -0 event-decode -f logfmt in
	[ "$(jq -c '[.x, .y, .z, .w]' <<<"$output")" = '["1e400","123456789012345678901",100000,-12.5]' ]
}

@test "event.id differs between files whose lines are the same" {
	echo 'a=1' > f1
	cp f1 f2
	run -0 event-decode -f logfmt f1 f2
	[ "$(jq -r .event.id <<<"$output" | sort -u | wc -l)" -eq 2 ]
}

@test "json: a record with more than 512 members and its own @timestamp gets no second one" {
	python3 -c 'import json; d={"k%d"%i: i for i in range(600)}; d["@timestamp"]="2020-01-01T00:00:00Z"; print(json.dumps(d))' > in
	run -0 event-decode -f json in
	[ "$(grep -o '"@timestamp"' <<<"$output" | wc -l)" -eq 1 ]
	[ "$(jq -r '.event.id | length' <<<"$output")" -eq 32 ]
}

@test "a wall time in a daylight-saving overlap is the earlier instant; gaps move forward" {
	printf '%s\n' 'time=2021-10-31T02:30:00 x=1' 'time=2021-03-28T02:30:00 x=2' > in
	run -0 event-decode -f logfmt -z Europe/Berlin in
	run jq -r '."@timestamp"' <<<"$output"
	assert_line --index 0 '2021-10-31T00:30:00.000Z'
	assert_line --index 1 '2021-03-28T01:30:00.000Z'
}

@test "a zone with a half-hour daylight shift converts at the right minute" {
	echo 'time=2021-10-03T02:30:00 x=1' > in
	run -0 event-decode -f logfmt -z Australia/Lord_Howe in
	[ "$(jq -r '."@timestamp"' <<<"$output")" = 2021-10-02T15:30:00.000Z ]
}

@test "with neither --tz nor TZ, zone-less stamps are UTC" {
	echo 'time=2021-06-01T12:00:00 x=1' > in
	run -0 env -u TZ event-decode -f logfmt in
	[ "$(jq -r '."@timestamp"' <<<"$output")" = 2021-06-01T12:00:00.000Z ]
	run -0 env TZ=Europe/Berlin event-decode -f logfmt in
	[ "$(jq -r '."@timestamp"' <<<"$output")" = 2021-06-01T10:00:00.000Z ]
}

@test "quotes and backslashes in unquoted access-log fields are escaped in the output" {
	printf '%s\n' \
		'192.0.2.1 - us"er [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "ua" "192.0.2.7, 192.0.2.8"' \
		'192.0.2.1 - a\b [10/Oct/2000:13:55:36 -0700] "GET /x\\y HTTP/1.1" 200 1' > in
	run -0 event-decode -f combined in
	run jq -c '[.user.name, .message, .url.original]' <<<"$output"
	assert_line --index 0 '["us\"er","\"192.0.2.7, 192.0.2.8\"","/"]'
	assert_line --index 1 '["a\\b",null,"/x\\y"]'
}
