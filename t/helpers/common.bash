# common.bash - loaded by every t/*.bats file: assertions, paths, helpers.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SLUICE_BIN:-$ROOT/bin}
DATA=$ROOT/t/data
PATH="$BIN:$PATH"
export ROOT BIN DATA PATH

# validate KIND [FILE]: every NDJSON line of FILE (or stdin) against
# schema/KIND.schema.json, with Debian's python3-jsonschema.
validate() {
	/usr/bin/python3 "$ROOT/t/helpers/validate.py" "$ROOT/schema/$1.schema.json" ${2:+"$2"}
}

# options_in_man PROG: every long option PROG --help lists (and it lists
# some) appears in man/man1/PROG.1.
options_in_man() {
	local help opt n=0
	help=$("$1" --help) || { fail "$1 --help exited $?" || return; }
	for opt in $(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$help" | sort -u); do
		n=$((n + 1))
		grep -qF -- "${opt#--}" "$ROOT/man/man1/$1.1" ||
			{ fail "$opt missing from the man page" || return; }
	done
	[ "$n" -gt 0 ] || { fail "$1 --help lists no long options" || return; }
}

# json_lines FILE: how many lines of FILE are valid JSON objects.
json_lines() {
	jq -c 'select(type == "object")' "$1" | wc -l
}

# wait_handlers PID: wait (up to 5 s) until process PID catches SIGHUP, so a
# test's signal meets the program's handler and not the default action
# (an AddressSanitizer build can take a while to get there).
wait_handlers() {
	local i mask
	for i in $(seq 100); do
		mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$mask" ] && (( (16#$mask & 1) != 0 )) && return 0
		sleep 0.05
	done
	echo "process $1 never installed its signal handlers" >&2
	return 1
}
