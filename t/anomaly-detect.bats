#!/usr/bin/env bats
# anomaly-detect: events in, alerts out.

load helpers/common

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# ev TS [FIELDS]: one event at second TS of 2026-11-22T00:00, FIELDS a JSON
# members list ('"source":{"ip":"10.0.0.1"}').
ev() {
	printf '{"@timestamp":"2026-11-22T00:%02d:%02d.000Z","event":{"id":"e%s"}%s}\n' \
		$(($1 / 60)) $(($1 % 60)) "$1" "${2:+,$2}"
}

threshold_rule() {	# threshold_rule THRESHOLD WINDOW [EXTRA YAML LINES]
	cat > rules.yaml <<-EOF
	rules:
	  - id: many
	    type: threshold
	    where: {kind: hit}
	    group_by: [ip]
	    threshold: $1
	    window: $2
	$3
	EOF
}

# --- the command line -------------------------------------------------------

@test "--help prints usage on stdout and exits 0" {
	run -0 --separate-stderr anomaly-detect --help
	assert_output --partial 'usage: anomaly-detect'
	[ -z "$stderr" ]
}

@test "every option in --help is in the man page" {
	options_in_man anomaly-detect
}

@test "--version names the program and the version" {
	run -0 anomaly-detect --version
	assert_output --regexp '^anomaly-detect \(sluice\) [0-9]+\.[0-9]+'
}

@test "an unknown option, a bad --emit and no rules are usage errors (64)" {
	run -64 --separate-stderr anomaly-detect --no-such-option </dev/null
	run -64 --separate-stderr anomaly-detect -r x --emit some </dev/null
	[[ $stderr == *"--emit some"* ]]
	run -64 --separate-stderr anomaly-detect </dev/null
	[[ $stderr == *"no rules"* ]]
}

@test "a missing rules file is a configuration error (78) naming it" {
	run -78 --separate-stderr anomaly-detect -r nope.yaml </dev/null
	[[ $stderr == *"nope.yaml: No such file"* ]]
}

@test "--check prints N rules ok for the rules of a directory, disabled ones included" {
	mkdir rules
	printf 'rules:\n  - {id: a, type: match, where: {x: 1}}\n' > rules/10-a.yaml
	printf 'rules:\n  - {id: b, type: match, enabled: false, where: {x: 2}}\n' > rules/20-b.yml
	echo 'not a rules file' > rules/README
	run -0 anomaly-detect --check -r rules
	assert_output '2 rules ok'
}

# --- bad rules: each a file:line:column ----------------------------------------

bad_rule() {	# bad_rule 'YAML' 'expected file:line:col: message part'
	printf '%s\n' "$1" > bad.yaml
	run -78 --separate-stderr anomaly-detect --check -r bad.yaml
	[[ $output == *"$2"* ]] || fail "--check: wanted '$2', got: $output"
	run -78 --separate-stderr anomaly-detect -r bad.yaml </dev/null
	[[ $stderr == *"$2"* ]] || fail "start: wanted '$2', got: $stderr"
	[ -z "$output" ]
}

@test "an unknown rule type is named with its position" {
	bad_rule $'rules:\n  - id: a\n    type: thresold\n    where: {x: 1}' \
		'bad.yaml:3:11: unknown type "thresold"'
}

@test "an unknown key in a rule is named with its position" {
	bad_rule $'rules:\n  - id: a\n    type: match\n    wher: {x: 1}' \
		'bad.yaml:4:5: unknown key "wher" in a rule'
}

@test "a rule without an id is an error at the rule" {
	bad_rule $'rules:\n  - type: match\n    where: {x: 1}' 'bad.yaml:2:5: a rule needs an id'
}

@test "a duplicate id is an error at the second one" {
	bad_rule $'rules:\n  - {id: a, type: match, where: {x: 1}}\n  - {id: a, type: match, where: {x: 2}}' \
		'bad.yaml:3:10: duplicate rule id "a" (first in bad.yaml:2)'
}

@test "a bad duration is named with its position" {
	bad_rule $'rules:\n  - {id: a, type: threshold, where: {x: 1}, threshold: 2, window: 5 minutes}' \
		'bad.yaml:2:67: window "5 minutes"'
}

@test "a bad regex is named at the column of the problem" {
	bad_rule $'rules:\n  - id: a\n    type: match\n    where: {x|re: "a(b"}' \
		'bad.yaml:4:23: bad regular expression: missing closing parenthesis'
}

@test "an unknown modifier is named at its column" {
	bad_rule $'rules:\n  - id: a\n    type: match\n    where: {x|contians: b}' \
		'bad.yaml:4:15: unknown modifier "contians"'
}

@test "a value of the wrong YAML type is named with its position" {
	bad_rule $'rules:\n  - id: a\n    type: threshold\n    where: {x: 1}\n    threshold: [1]\n    window: 1m' \
		'bad.yaml:5:16: threshold must be a whole number'
	bad_rule $'rules: {id: a}' 'bad.yaml:1:8: rules must be a list of rules, not a mapping'
	bad_rule $'rules:\n  - {id: a, type: threshold, where: {x: 1}, threshold: 01, window: 1m}' \
		'bad.yaml:2:56: threshold must be a whole number'
}

@test "a condition naming an unknown selection is named at its column" {
	bad_rule $'rules:\n  - id: a\n    type: match\n    detection:\n      sel: {x: 1}\n      condition: sel and filter' \
		'bad.yaml:6:26: condition: unknown selection "filter"'
}

@test "a YAML syntax error is named with its position" {
	bad_rule $'rules:\n  - id: a\n    type: match\n    where: {x: [1, 2}' 'bad.yaml:4:'
}

@test "--check reports every error of every file, not just the first" {
	printf 'rules:\n  - {id: a, type: nope, where: {x: 1}}\n' > one.yaml
	printf 'rules:\n  - {id: b, type: match, where: {x|bad: 1}}\n' > two.yaml
	run -78 anomaly-detect --check -r one.yaml -r two.yaml
	[[ $output == *'one.yaml:2:'*'unknown type "nope"'* ]]
	[[ $output == *'two.yaml:2:'*'unknown modifier "bad"'* ]]
	[[ $output == *'2 errors'* ]]
}

# --- match and threshold ----------------------------------------------------------

@test "a match rule fires once per matching event with the event's id" {
	printf 'rules:\n  - {id: m, name: Root, type: match, severity: critical, where: {user: root}, message: "login by {user} at {host}"}\n' > r.yaml
	{ ev 1 '"user":"ROOT","host":"a"'; ev 2 '"user":"bob"'; ev 3 '"user":"root"'; } > in
	run -0 anomaly-detect -r r.yaml < in
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r '.message' <<<"${lines[0]}")" = "login by ROOT at a" ]
	[ "$(jq -r '.message' <<<"${lines[1]}")" = "login by root at " ]
	[ "$(jq -c '[.alert.severity, .alert.count, .alert.threshold, .alert.window_s, .alert.events, .rule.type]' <<<"${lines[0]}")" = '["critical",1,1,0,["e1"],"match"]' ]
	echo "$output" | validate alert
}

@test "threshold: threshold - 1 events do not fire, the threshold-th does" {
	threshold_rule 3 1m
	{ ev 0 '"kind":"hit","ip":"a"'; ev 10 '"kind":"hit","ip":"a"'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ -z "$output" ]
	ev 20 '"kind":"hit","ip":"a"' >> in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c '[.alert.count, .alert.threshold, .alert.window_s, .alert.first, .alert.last, .alert.group]' <<<"$output")" = \
		'[3,3,60,"2026-11-22T00:00:00.000Z","2026-11-22T00:00:20.000Z",{"ip":"a"}]' ]
	[ "$(jq -r '."@timestamp"' <<<"$output")" = "2026-11-22T00:00:20.000Z" ]
}

@test "threshold: an event exactly one window old is out of the window; a millisecond younger is in" {
	threshold_rule 2 1m
	{ ev 0 '"kind":"hit","ip":"a"'; ev 60 '"kind":"hit","ip":"a"'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ -z "$output" ]
	printf '%s\n' '{"@timestamp":"2026-11-22T00:00:00.001Z","kind":"hit","ip":"b"}' \
		'{"@timestamp":"2026-11-22T00:01:00.000Z","kind":"hit","ip":"b"}' > in2
	run -0 anomaly-detect -r rules.yaml < in2
	[ "${#lines[@]}" -eq 1 ]
}

@test "threshold: firing empties the window, so the next alert needs threshold new events" {
	threshold_rule 2 10m
	for t in 1 2 3 4 5; do ev $t '"kind":"hit","ip":"a"'; done > in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -r .alert.last <<<"${lines[1]}")" = "2026-11-22T00:00:04.000Z" ]
}

@test "threshold: groups are counted apart, and a missing group field is a group of its own" {
	threshold_rule 2 10m
	{ ev 1 '"kind":"hit","ip":"a"'; ev 2 '"kind":"hit","ip":"b"'; ev 3 '"kind":"hit"'
	  ev 4 '"kind":"hit"'; ev 5 '"kind":"miss","ip":"a"'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c .alert.group <<<"$output")" = '{"ip":null}' ]
}

@test "suppress holds repeats back, counts them, and releases the first one due after it" {
	threshold_rule 1 1m '    suppress: 30s'
	for t in 0 10 20 29 30 35 70; do ev $t '"kind":"hit","ip":"a"'; done > in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -r '[."@timestamp", .alert.suppressed] | join(" ")' <<<"$output")" = \
		"$(printf '%s\n' '2026-11-22T00:00:00.000Z 0' '2026-11-22T00:00:30.000Z 3' '2026-11-22T00:01:10.000Z 1')" ]
}

@test "exceptions: an event matching any exception never counts" {
	threshold_rule 2 10m $'    exceptions:\n      - {ip|cidr: 10.0.0.0/8}\n      - {ip: trusted}'
	{ ev 1 '"kind":"hit","ip":"10.1.1.1"'; ev 2 '"kind":"hit","ip":"10.1.1.1"'
	  ev 3 '"kind":"hit","ip":"TRUSTED"'; ev 4 '"kind":"hit","ip":"trusted"'
	  ev 5 '"kind":"hit","ip":"192.0.2.1"'; ev 6 '"kind":"hit","ip":"192.0.2.1"'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.alert.group.ip' <<<"$output")" = 192.0.2.1 ]
}

@test "late events within --lateness count; later ones are rejected as late" {
	threshold_rule 2 10m
	{ ev 100 '"kind":"hit","ip":"a"'; ev 50 '"kind":"hit","ip":"a"'
	  ev 101 '"kind":"hit","ip":"b"'; ev 20 '"kind":"hit","ip":"b"'; } > in
	run -0 --separate-stderr anomaly-detect -r rules.yaml --lateness 60s --reject rej < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .alert.group.ip <<<"$output")" = a ]
	[ "$(jq -r .alert.first <<<"$output")" = "2026-11-22T00:00:50.000Z" ]
	[ "$(jq -r '[.reject.line, .reject.error] | join(" ")' rej)" = \
		"4 late: older than the newest event by more than --lateness" ]
}

@test "after firing, the window still ends at the newest time: late events a window older never count" {
	threshold_rule 3 10s
	for t in 100 101 102 85 86 87; do ev $t '"kind":"hit","ip":"a"'; done > in
	run -0 anomaly-detect -r rules.yaml --lateness 1m < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .alert.first <<<"$output")" = "2026-11-22T00:01:40.000Z" ]
}

@test "events without @timestamp do not make the later events of a replay late" {
	threshold_rule 2 10m
	{ ev 1 '"kind":"hit","ip":"a"'; echo '{"kind":"other"}'; ev 2 '"kind":"hit","ip":"a"'; } > in
	run -0 --separate-stderr anomaly-detect -r rules.yaml --reject rej < in
	[ "${#lines[@]}" -eq 1 ]
	[ ! -s rej ]
}

@test "--clock wall counts by arrival, whatever @timestamp says" {
	threshold_rule 3 1m
	{ ev 0 '"kind":"hit","ip":"a"'; ev 3000 '"kind":"hit","ip":"a"'; ev 6000 '"kind":"hit","ip":"a"'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ -z "$output" ]
	run -0 anomaly-detect -r rules.yaml --clock wall < in
	[ "${#lines[@]}" -eq 1 ]
}

@test "an event without a parseable @timestamp counts at its arrival time" {
	threshold_rule 2 1m
	printf '%s\n' '{"kind":"hit","ip":"a"}' '{"@timestamp":"yesterday","kind":"hit","ip":"a"}' > in
	run -0 --separate-stderr anomaly-detect -v -r rules.yaml < in
	[ "${#lines[@]}" -eq 1 ]
	[[ $stderr == *"no_timestamp 2"* ]]
}

@test "OpenSSH_2k.log: failed logins per source.ip give exactly the alerts an independent count gives" {
	cat > ssh.yaml <<-'EOF'
	rules:
	  - id: ssh-bruteforce
	    name: SSH password guessing from one address
	    severity: high
	    type: threshold
	    where:
	      event.dataset: sshd.auth
	      event.outcome: failure
	    group_by: [source.ip]
	    threshold: 10
	    window: 5m
	    message: "{alert.count} failed SSH logins from {source.ip}"
	EOF
	event-decode -f sshd "$DATA/loghub/OpenSSH_2k.log" > events
	/usr/bin/python3 "$ROOT/t/helpers/threshold.py" source.ip 10 300 \
		event.dataset=sshd.auth event.outcome=failure < events > want
	[ "$(wc -l < want)" -gt 50 ]
	anomaly-detect -r ssh.yaml < events > alerts
	jq -r '[.alert.group."source.ip", .alert.count,
		(.alert.first | sub("\\.000Z$"; "Z") | fromdate * 1000),
		(.alert.last | sub("\\.000Z$"; "Z") | fromdate * 1000)] | map(tostring) | join(" ")' alerts > got
	diff want got
	validate alert alerts
	[ "$(jq -r .message alerts | head -1)" = "10 failed SSH logins from $(head -1 want | cut -d' ' -f1)" ]
}

@test "alert ids are deterministic: the same input gives the same alerts" {
	threshold_rule 2 10m
	for t in 1 2 3 4; do ev $t '"kind":"hit","ip":"a"'; done > in
	anomaly-detect -r rules.yaml < in > a
	anomaly-detect -r rules.yaml < in > b
	cmp a b
	[ "$(jq -r .event.id a | sort -u | wc -l)" -eq 2 ]
}

@test "rules filed under their guard values still meet every event that matches them" {
	cat > r.yaml <<-'EOF'
	rules:
	  - {id: s-eq, type: match, where: {user: Alice}}
	  - {id: s-cased, type: match, where: {user|cased: Bob}}
	  - {id: n-eq, type: match, where: {code: 404}}
	  - {id: q-eq, type: match, where: {code: '500'}}
	  - {id: any-of, type: match, where: {user: [carol, dave], code|gte: 0}}
	  - {id: prefix, type: match, where: {path|startswith: /Admin/}}
	  - {id: prefix2, type: match, where: {path|startswith: [/api/v1/, /api/v2/users]}}
	  - {id: unguarded, type: match, where: {path|contains: secret}}
	EOF
	{ echo '{"n":1,"user":"ALICE"}'
	  echo '{"n":2,"user":"bob"}'
	  echo '{"n":3,"user":"Bob"}'
	  echo '{"n":4,"code":"404"}'
	  echo '{"n":5,"code":404.0}'
	  echo '{"n":6,"code":500}'
	  echo '{"n":7,"user":["x","Dave"],"code":1}'
	  echo '{"n":8,"path":"/admin/users"}'
	  echo '{"n":9,"path":"/api/v2/users/7"}'
	  echo '{"n":10,"path":"/api/v2/user"}'
	  echo '{"n":11,"path":"/ADMIN"}'
	  echo '{"n":12,"path":["/x","/api/v1/"]}'
	  echo '{"n":13,"user":null,"path":"/api/v1/secret"}'; } > in
	run -0 anomaly-detect -r r.yaml --emit all --clock wall < in
	got=$(jq -r '[.n, ([.alerts[]?.rule.id] | join(","))] | map(tostring) | join(" ")' <<<"$output")
	want=$(printf '%s\n' '1 s-eq' '2 ' '3 s-cased' '4 n-eq' '5 n-eq' '6 q-eq' '7 any-of' \
		'8 prefix' '9 prefix2' '10 ' '11 ' '12 prefix2' '13 prefix2,unguarded')
	[ "$got" = "$want" ] || fail "got: $got"
}

# --- found in review ------------------------------------------------------------------

@test "a replay gives the same alerts whatever number of lines comes between late events" {
	printf 'rules:\n  - {id: t, type: threshold, where: {act: x}, group_by: [user], threshold: 2, window: 10s}\n' > r.yaml
	for filler in 100 4200; do
		{ echo '{"@timestamp":"2026-11-22T00:00:00.000Z","act":"x","user":"a"}'
		  seq -f '{"@timestamp":"2026-11-22T00:00:30.000Z","act":"x","user":"b%.0f"}' "$filler"
		  echo '{"@timestamp":"2026-11-22T00:00:05.000Z","act":"x","user":"a"}'; } > in
		run -0 anomaly-detect -r r.yaml --lateness 1h < in
		[ "${#lines[@]}" -eq 1 ] || fail "$filler lines between: ${#lines[@]} alerts"
	done
}

@test "an event without @timestamp in a replay does not shut its group out of the events after it" {
	threshold_rule 3 1m
	{ echo '{"@timestamp":"2020-01-01T00:00:01.000Z","kind":"hit","ip":"a"}'
	  echo '{"kind":"hit","ip":"a"}'
	  echo '{"@timestamp":"2020-01-01T00:00:02.000Z","kind":"hit","ip":"a"}'
	  echo '{"@timestamp":"2020-01-01T00:00:03.000Z","kind":"hit","ip":"a"}'; } > in
	run -0 anomaly-detect -r rules.yaml < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .alert.count <<<"$output")" = 3 ]
}

@test "array elements match however many rules compare them, and long escaped ones are decoded" {
	for i in $(seq 30); do printf '  - {id: r%d, type: match, where: {tags|contains: q%dq}}\n' "$i" "$i"; done |
		sed '1i rules:' > r.yaml
	echo '{"tags":["Q30Q"]}' > in
	run -0 anomaly-detect -r r.yaml --clock wall < in
	[ "$(jq -r .rule.id <<<"$output")" = r30 ]
	printf 'rules:\n  - {id: w, type: match, where: {args|contains: "c:\\\\windows"}}\n' > w.yaml
	printf '{"args":["C:\\\\Windows\\\\x%s"]}\n' "$(head -c 300 /dev/zero | tr '\0' y)" > in2
	run -0 anomaly-detect -r w.yaml --clock wall < in2
	[ "$(jq -r .rule.id <<<"$output")" = w ]
}

@test "a list that expands to nothing is an error, not a condition that matches everything" {
	bad_rule $'lists: {e: []}\nrules:\n  - {id: a, type: match, where: {user|all|expand: "%e%"}}' \
		'bad.yaml:3:51: the lists named here are empty'
}

@test "events before 1970 are not late" {
	threshold_rule 1 1m
	echo '{"@timestamp":"1969-12-31T23:00:00.000Z","kind":"hit","ip":"a"}' > in
	run -0 --separate-stderr anomaly-detect -r rules.yaml < in
	[ "$(jq -r .alert.first <<<"$output")" = "1969-12-31T23:00:00.000Z" ]
}

@test "--emit all adds to an alerts array the record has, and never writes the key twice" {
	threshold_rule 1 1m
	{ ev 1 '"kind":"hit","ip":"a","alerts":[{"old":1}]'
	  ev 2 '"kind":"hit","ip":"b","alerts":[ ]'
	  ev 3 '"kind":"hit","ip":"c","alerts":"x"'; } > in
	run -0 anomaly-detect -r rules.yaml --emit all < in
	[ "$(jq -c '[.alerts[0].old, (.alerts | length)]' <<<"${lines[0]}")" = '[1,2]' ]
	[ "$(jq -c '.alerts | length' <<<"${lines[1]}")" = 1 ]
	[ "$(jq -c '.alerts[0].alert.group.ip' <<<"${lines[2]}")" = '"c"' ]
	printf '%s\n' "${lines[@]}" | /usr/bin/python3 "$ROOT/t/helpers/validate.py" "$ROOT/schema/event.schema.json" >/dev/null 2>dupes || true
	! grep -q "duplicate" dupes
}

# --- --emit all ------------------------------------------------------------------

@test "--emit all passes every line through byte for byte and splices alerts where rules fired" {
	threshold_rule 2 10m
	{ printf '{"@timestamp":"2026-11-22T00:00:01.000Z", "kind":"hit","ip":"a" ,"n":1.50}\n'
	  printf '{ "@timestamp" : "2026-11-22T00:00:02.000Z","kind":"hit","ip":"a"}  \n'
	  printf '{"x":{}}\n'; } > in
	run -0 anomaly-detect -r rules.yaml --emit all < in
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "$(sed -n 1p in)" ]
	[ "${lines[2]}" = '{"x":{}}' ]
	[[ ${lines[1]} == '{ "@timestamp" : "2026-11-22T00:00:02.000Z","kind":"hit","ip":"a","alerts":[{'* ]]
	[ "$(jq -c '[.alerts[].alert.count]' <<<"${lines[1]}")" = '[2]' ]
	jq -c '.alerts[]' <<<"${lines[1]}" | validate alert
}

# --- bad input --------------------------------------------------------------------

@test "bad lines are rejected with their line numbers and the stream goes on" {
	threshold_rule 1 1m
	{ printf 'not json\n{"a":\n[1,2]\n\xff\xfe\n\n'
	  ev 1 '"kind":"hit","ip":"a"' | tr -d '\n'; printf '\r\n'
	  ev 2 '"kind":"hit","ip":"b"' | tr -d '\n'; printf '\r'
	  printf '{"kind":"hit","ip":"c","@timestamp":"2026-11-22T00:00:03.000Z"}'; } > in
	run -0 --separate-stderr anomaly-detect -r rules.yaml --reject rej < in
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -r '.reject.line' rej | tr '\n' ' ')" = "1 2 3 4 " ]
	[ "$(jq -r 'select(.reject.line == 4) | .reject | has("raw_b64")' rej)" = true ]
	[[ $(jq -r 'select(.reject.line == 3) | .reject.error' rej) == "not a JSON object"* ]]
}

@test "empty input gives no output and exit 0" {
	threshold_rule 1 1m
	run -0 --separate-stderr anomaly-detect -r rules.yaml </dev/null
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "a line over --max-line is rejected whole and the next line is evaluated" {
	threshold_rule 1 1m
	{ printf '{"kind":"hit","ip":"x","pad":"'; head -c 300000 /dev/zero | tr '\0' a; printf '"}\n'
	  ev 1 '"kind":"hit","ip":"a"'; } > in
	run -0 --separate-stderr anomaly-detect -r rules.yaml --max-line 64K --reject rej < in
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r '.reject.bytes' rej)" -gt 300000 ]
}

@test "--strict exits 65 at the first rejected line" {
	threshold_rule 1 1m
	{ ev 1 '"kind":"hit","ip":"a"'; echo 'bad'; ev 2 '"kind":"hit","ip":"b"'; } > in
	run -65 --separate-stderr anomaly-detect -r rules.yaml --strict < in
	[ "${#lines[@]}" -eq 1 ]
}

# --- reload, state, signals --------------------------------------------------------

# start_fifo ARGS...: anomaly-detect reading the FIFO "fifo" (writer fd 7).
start_fifo() {
	mkfifo fifo
	anomaly-detect "$@" < fifo > out 2> err &
	pid=$!
	exec 7>fifo
	wait_handlers "$pid"
}

wait_for() {	# wait_for FILE PATTERN: up to 4 s
	for i in $(seq 80); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	fail "no '$2' in $1: $(cat "$1")"
}

@test "SIGHUP: a broken file keeps the old rules firing and writes a pipeline_error record" {
	threshold_rule 2 10m
	cp rules.yaml good.yaml
	start_fifo -r rules.yaml
	ev 1 '"kind":"hit","ip":"a"' >&7
	printf 'rules:\n  - id: many\n    type: threshold\n    where: {kind: [hit}\n' > rules.yaml
	kill -HUP "$pid"
	wait_for out pipeline_error
	ev 2 '"kind":"hit","ip":"a"' >&7
	wait_for out '"rule":{"id":"many"'
	exec 7>&-
	wait "$pid"
	[ "$(jq -r 'select(.event.kind == "pipeline_error") | .error.message' out)" != "" ]
	[[ $(jq -r 'select(.event.kind == "pipeline_error") | .error.message' out) == "rules.yaml:4:"* ]]
	[ "$(jq -r 'select(.event.kind == "pipeline_error") | .file.path' out)" = rules.yaml ]
	[ "$(jq -r 'select(.event.kind == "alert") | .alert.count' out)" = 2 ]
	validate alert out
	grep -q 'rules.yaml:4:' err
}

@test "SIGHUP: a changed threshold takes effect and unchanged rules keep their counts" {
	cat > rules.yaml <<-'EOF'
	rules:
	  - {id: keep, type: threshold, where: {kind: hit}, threshold: 3, window: 1h}
	  - {id: change, type: threshold, where: {kind: hit}, threshold: 3, window: 1h}
	EOF
	start_fifo -r rules.yaml
	ev 1 '"kind":"hit"' >&7
	ev 2 '"kind":"hit"' >&7
	sed -i 's/id: change, type: threshold, where: {kind: hit}, threshold: 3/id: change, type: threshold, where: {kind: hit}, threshold: 1/' rules.yaml
	kill -HUP "$pid"
	wait_for err 'reload (SIGHUP): 2 rules, 1 kept'
	ev 3 '"kind":"hit"' >&7
	exec 7>&-
	wait "$pid"
	# keep: 1, 2 and 3 make three; change starts afresh and fires on 3 alone.
	[ "$(jq -r '[.rule.id, .alert.count] | join(" ")' out | sort | tr '\n' ' ')" = "change 1 keep 3 " ]
}

@test "--watch reloads when a rules file changes, without a signal" {
	threshold_rule 3 1h
	start_fifo -r rules.yaml --watch
	ev 1 '"kind":"hit","ip":"a"' >&7
	sleep 1.1	# a new mtime second
	threshold_rule 1 1h
	wait_for err 'reload (a rules file changed)'
	ev 2 '"kind":"hit","ip":"a"' >&7
	exec 7>&-
	wait "$pid"
	[ "$(jq -r .alert.count out)" = 1 ]
}

@test "--state keeps counts across a restart; a corrupt state file is ignored with a warning" {
	threshold_rule 3 1h
	{ ev 1 '"kind":"hit","ip":"a"'; ev 2 '"kind":"hit","ip":"a"'; } | anomaly-detect -r rules.yaml --state st
	[ -s st ]
	run -0 anomaly-detect -r rules.yaml --state st < <(ev 3 '"kind":"hit","ip":"a"')
	[ "$(jq -r '[.alert.count, .alert.first] | join(" ")' <<<"$output")" = "3 2026-11-22T00:00:01.000Z" ]
	# Without the state, one event is not enough.
	run -0 anomaly-detect -r rules.yaml < <(ev 4 '"kind":"hit","ip":"a"')
	[ -z "$output" ]
	head -c 20 st > st.cut && mv st.cut st
	run -0 --separate-stderr anomaly-detect -r rules.yaml --state st < <(ev 5 '"kind":"hit","ip":"a"')
	[ -z "$output" ]
	[[ $stderr == *"st:"*"starting without saved state"* ]]
	echo '{"format":"something else"}' > st
	run -0 --separate-stderr anomaly-detect -r rules.yaml --state st </dev/null
	[[ $stderr == *"not an anomaly-detect state file"* ]]
}

@test "--state: a rule whose list changed starts afresh; one whose list did not keeps its counts" {
	cat > rules.yaml <<-'EOF'
	lists: {users: [bob]}
	rules:
	  - {id: l, type: threshold, where: {user|expand: '%users%'}, threshold: 2, window: 1h}
	EOF
	ev 1 '"user":"bob"' | anomaly-detect -r rules.yaml --state st
	run -0 anomaly-detect -r rules.yaml --state st < <(ev 2 '"user":"bob"')
	[ "$(jq -r .alert.count <<<"$output")" = 2 ]
	ev 3 '"user":"bob"' | anomaly-detect -r rules.yaml --state st
	sed -i 's/\[bob\]/[bob, eve]/' rules.yaml
	run -0 anomaly-detect -r rules.yaml --state st < <(ev 4 '"user":"bob"')
	[ -z "$output" ]
}

@test "--state: a rule whose definition changed starts afresh" {
	threshold_rule 3 1h
	{ ev 1 '"kind":"hit","ip":"a"'; ev 2 '"kind":"hit","ip":"a"'; } | anomaly-detect -r rules.yaml --state st
	threshold_rule 3 2h
	run -0 anomaly-detect -r rules.yaml --state st < <(ev 3 '"kind":"hit","ip":"a"')
	[ -z "$output" ]
}

@test "SIGTERM while waiting for input saves the state, flushes and exits 0" {
	threshold_rule 1 1h
	start_fifo -r rules.yaml --state st
	ev 1 '"kind":"hit","ip":"a"' >&7
	wait_for out '"count":1'
	kill -TERM "$pid"
	wait "$pid"
	exec 7>&-
	[ -s st ]
	[ "$(jq -r '.rules.many.groups | length' st)" = 1 ]
}

@test "--clock wall: time passes on a timer with no input, without a busy loop" {
	threshold_rule 5 1s
	start_fifo -r rules.yaml --clock wall
	ev 1 '"kind":"hit","ip":"a"' >&7
	kill -USR1 "$pid"
	wait_for err 'groups 1 '
	sleep 2.5	# the window ends and the timer forgets the group
	kill -USR1 "$pid"
	wait_for err 'groups 0 '
	# utime + stime in clock ticks (fields 14 and 15): well under a second.
	ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	exec 7>&-
	wait "$pid"
	[ "$ticks" -lt 50 ] || fail "$ticks ticks of CPU while idle"
}

@test "SIGUSR1 prints one stats line with events, alerts, groups and RSS" {
	threshold_rule 1 1h
	start_fifo -r rules.yaml
	{ ev 1 '"kind":"hit","ip":"a"'; ev 2 '"kind":"hit","ip":"b"'; echo bad; } >&7
	wait_for out '"ip":"b"'
	kill -USR1 "$pid"
	wait_for err 'events 2 alerts 2'
	exec 7>&-
	wait "$pid"
	grep -qE 'events 2 alerts 2 suppressed 0 rejected 1 .*groups 2 evictions 0 .*rss_kb [0-9]+ by_rule many=2$' err
}

@test "a closed pipe downstream ends the program quietly" {
	printf 'rules:\n  - {id: m, type: match, where: {a: 1}}\n' > r.yaml
	seq -f '{"a":1,"n":%.0f}' 100000 > in
	run --separate-stderr bash -c 'anomaly-detect -r r.yaml < in | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
}

# --- memory -------------------------------------------------------------------------

@test "1M distinct group keys: groups stay capped by --max-groups, evictions are counted" {
	threshold_rule 2 1h
	/usr/bin/python3 -c '
import sys
w = sys.stdout.write
for i in range(1000000):
    w("{\"@timestamp\":\"2026-11-22T00:00:00.000Z\",\"kind\":\"hit\",\"ip\":\"k%d\"}\n" % i)
' > in
	run -0 --separate-stderr anomaly-detect -v -r rules.yaml < in
	[ -z "$output" ]
	[[ $stderr =~ groups\ 100000\ evictions\ 900000 ]] || fail "$stderr"
	if ! ldd "$BIN/anomaly-detect" | grep -q libasan; then
		rss=$(grep -oE 'rss_kb [0-9]+' <<<"$stderr" | cut -d' ' -f2)
		[ "$rss" -lt 51200 ] || fail "RSS $rss KiB at 100,000 groups (bound: 50 MiB)"
	fi
}

@test "rules, rejects, reload and state run clean under valgrind, all memory freed" {
	if ldd "$BIN/anomaly-detect" | grep -q libasan; then
		skip "AddressSanitizer build: valgrind cannot run it (ASan checks it instead)"
	fi
	cat > rules.yaml <<-'EOF'
	lists:
	  admins: [root, admin]
	rules:
	  - id: t
	    type: threshold
	    detection:
	      sel: {kind: hit, ip|cidr: 0.0.0.0/0}
	      not_admin: {user|expand: '%admins%'}
	      condition: sel and not not_admin
	    group_by: [ip, user]
	    threshold: 2
	    window: 1m
	    suppress: 10s
	    message: "{alert.count} from {ip}"
	  - {id: m, type: match, where: {user|re|i: '^ro+t$'}, tags: [a, b]}
	EOF
	{ ev 1 '"kind":"hit","ip":"10.0.0.1","user":"bob"'; ev 2 '"kind":"hit","ip":"10.0.0.1","user":"bob"'
	  ev 3 '"user":"root"'; echo '{bad'; ev 4 '"kind":"hit","ip":"10.0.0.1","user":"bob"'; } > in
	run -0 --separate-stderr valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=9 \
		anomaly-detect -r rules.yaml --state st --emit all --reject rej < in
	[[ $stderr == *"All heap blocks were freed"* ]]
	[ "${#lines[@]}" -eq 4 ]
	run -78 --separate-stderr valgrind --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all --error-exitcode=9 \
		anomaly-detect --check -r rules.yaml -r "$DATA/../anomaly-detect.bats"
	[[ $stderr == *"All heap blocks were freed"* ]]
}
