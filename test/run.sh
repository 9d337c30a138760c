#!/bin/sh
# Runs each test program given and prints one closing summary line.
passed=0; failed=0; failures=""
for t in "$@"; do
	echo "=== $t"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures="$failures ${t##*/}"
	fi
done
[ -n "$failures" ] && echo "failed programs:$failures"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
