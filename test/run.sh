#!/bin/sh
# Runs each test program given and prints one closing summary line.
# Each program gets TEST_TIMEOUT seconds (default 300), then is killed: a
# hang fails the run instead of stopping it. TEST_LAUNCHER, if set, is put
# in front of every program (e.g. test/seccomp-run --profile docker --).
limit=${TEST_TIMEOUT:-300}
passed=0; failed=0; failures=""
for t in "$@"; do
	echo "=== $t"
	# shellcheck disable=SC2086 # the launcher is a command line
	timeout -k 5 "$limit" $TEST_LAUNCHER "$t"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		continue
	fi
	failed=$((failed + 1)); failures="$failures ${t##*/}"
	# timeout says 124, or 137 when the program ignored SIGTERM.
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "=== TIMEOUT: ${t##*/} still running after ${limit}s, killed"
		failures="$failures(timeout)"
	fi
done
[ -n "$failures" ] && echo "failed programs:$failures"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
