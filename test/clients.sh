#!/bin/sh
# test/clients.sh BUILD_DIR  (make test-clients)
#
# Real programs from Debian, never rebuilt, checked through uring-alike-run
# inside the Docker-like seccomp profile (which denies the kernel's
# io_uring) against their answers on the kernel's io_uring. One script per
# program in test/clients/, run as `sh SCRIPT LAUNCHER`, with in its
# environment:
#   UA_RUN       the launcher (LAUNCHER)
#   SECCOMP_RUN  test/seccomp-run
#   UA_DOCKER    the command prefix that applies the Docker-like profile
#   UA_DROPIN    the drop-in directory
#   UA_TMP       a scratch directory of its own, removed afterwards
# It prints what it checked and exits non-zero on a failure, or 77 when its
# program is not installed (test/clients/lib.sh has what that takes). A
# new program is one more script, and its package in CLIENT_PACKAGES
# (Makefile).
set -u
O=${1:-build}
UA_RUN=$(cd "$O" && pwd -P)/uring-alike-run
SECCOMP_RUN=$(cd "$O" && pwd -P)/test/seccomp-run
UA_DOCKER="$SECCOMP_RUN --profile docker --"
UA_DROPIN=$(cd "$O/uring-alike" && pwd -P)
export UA_RUN SECCOMP_RUN UA_DOCKER UA_DROPIN
passed=0 failed=0 skipped=0 failures=""
for t in "$(dirname "$0")"/clients/*.sh; do
	name=${t##*/}
	[ "$name" = lib.sh ] && continue
	echo "=== ${name%.sh}"
	UA_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ua-client.XXXXXX")
	export UA_TMP
	timeout -k 5 "${TEST_TIMEOUT:-300}" sh "$t" "$UA_RUN"
	rc=$?
	rm -rf "$UA_TMP"
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)); echo "=== ${name%.sh}: not installed, skipped" ;;
	*) failed=$((failed + 1)); failures="$failures ${name%.sh}" ;;
	esac
done
[ -n "$failures" ] && echo "failed clients:$failures"
echo "clients: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
