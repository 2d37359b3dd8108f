#!/bin/sh
# demo.sh - the main job on bundled real logs: decode the OpenSSH sample
# from loghub (t/data/loghub/OpenSSH_2k.log) into events and summarise what
# they say.  Run by `make demo` after the build.
set -eu
cd "$(dirname "$0")/.."
log=t/data/loghub/OpenSSH_2k.log
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "demo: bin/event-decode -f sshd $log"
bin/event-decode -f sshd --tz UTC "$log" > "$out"

echo
echo "first event:"
head -n 1 "$out" | jq .
echo
printf 'lines read:        %s\n' "$(grep -c '' "$log")"
printf 'events written:    %s\n' "$(wc -l < "$out" | tr -d ' ')"
printf 'failed logins:     %s\n' "$(jq -r 'select(.event.outcome == "failure")' "$out" | jq -s length)"
printf 'successful logins: %s\n' "$(jq -r 'select(.event.outcome == "success")' "$out" | jq -s length)"
echo
echo "events by action:"
jq -r '.event.action // "(other sshd message)"' "$out" | sort | uniq -c | sort -rn
echo
echo "top 5 addresses with failed logins:"
jq -r 'select(.event.outcome == "failure") | .source.ip // .source.domain // "?"' "$out" |
	sort | uniq -c | sort -rn | head -n 5
echo
echo "most tried user names:"
jq -r 'select(.event.outcome == "failure") | .user.name // empty' "$out" |
	sort | uniq -c | sort -rn | head -n 5
