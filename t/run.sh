#!/usr/bin/env bash
# run.sh - run every bats file in t/ and every C unit test, then print the
# one closing line "N passed, N failed, N skipped".  Called by `make check`,
# which sets SLUICE_BIN (the programs under test) and SLUICE_UNITS.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 70
log=$(mktemp) || exit 70
trap 'rm -f "$log" "$log.unit"' EXIT
status=0

# shellcheck disable=SC2046
bats --tap $(ls t/*.bats) 2>&1 | tee -a "$log" || status=1

for u in "${SLUICE_UNITS:-build/t}"/*; do
	[ -f "$u" ] && [ -x "$u" ] || continue
	name=$(basename "$u")
	"$u" >"$log.unit" 2>&1
	rc=$?
	sed "s/^\(not \)\{0,1\}ok [0-9]* /&$name: /" "$log.unit" | tee -a "$log"
	# A unit test that crashed says so in its exit status, not in TAP.
	if [ $rc -ne 0 ]; then
		echo "not ok - $name exited with status $rc" | tee -a "$log"
		status=1
	fi
done

# Fuzzers (make check builds them when clang is installed): a few
# seconds each over their corpus.
if [ -n "${SLUICE_FUZZ:-}" ]; then
	FUZZ_SECONDS=${FUZZ_CHECK_SECONDS:-3} sh t/fuzz/run.sh "$SLUICE_FUZZ"/fuzz-* 2>&1 |
		tee -a "$log" || status=1
else
	echo "ok - fuzzers # skip clang is not installed (make deps)" | tee -a "$log"
fi

passed=$(grep -c '^ok ' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
failed=$(grep -c '^not ok ' "$log")
passed=$((passed - skipped))
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
